import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.js';
import { CONFIG_FLAGS, ConfigError, loadConfig, type Config } from '../config/index.js';
import { streamProgress, type ImportCounts, type ScanService } from '../scan/index.js';
import { stdio, type Io } from './gc.js';

export const VULNDB_USAGE = `usage: berth vulndb <command> [options of serve]

The vulnerability database: OSV records in the deployment's metadata store, read by every scan.
Safe while the server runs: it opens the data folder the server uses (--data / BERTH_DATA_DIR,
--config, BERTH_MASTER_KEY), and the server sees the new records at once, without a restart.
Continuously scanned images are re-matched by the server after an import that changed records.

commands:
  import SOURCE...   import OSV records from each SOURCE: a folder of *.json records (read
                     recursively), a zip of them (osv.dev's <Ecosystem>/all.zip), a JSON file, or
                     an http(s) URL of a zip or JSON file. Incremental: a record replaces the
                     stored one only when its "modified" is newer; withdrawn records stop matching.
  update             import every source of the configuration (BERTH_VULNDB_SOURCES, comma
                     separated; default the public OSV exports of the ecosystems berth scans).
                     A source not modified since the last update (ETag, Last-Modified) is skipped.
  status             the number of records, per ecosystem, the sources and the last update
                     (--json for JSON)

options:
  --quiet            no progress display
  --json             status as JSON

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

/** `berth vulndb`: returns the exit status. */
export async function vulndbCommand(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h' || rest.includes('--help')) {
    io.out(VULNDB_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!['import', 'update', 'status'].includes(command)) {
    io.err(`berth vulndb: unknown command "${command.slice(0, 40)}"\n\n${VULNDB_USAGE}`);
    return 2;
  }
  let parsed: { positionals: string[]; flags: Record<string, boolean>; config: Config };
  try {
    parsed = parseCommandArgs(rest, ['quiet', 'json']);
    if (command === 'import' && parsed.positionals.length === 0) throw new ConfigError('import needs at least one SOURCE (folder, zip, JSON file or URL)');
    if (command !== 'import' && parsed.positionals.length > 0) throw new ConfigError(`unexpected argument "${parsed.positionals[0]!.slice(0, 40)}"`);
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth vulndb: ${(err as Error).message}\n\n${VULNDB_USAGE}`);
      return 2;
    }
    throw err;
  }
  const { positionals, flags, config } = parsed;
  const missing = missingDeployment(config);
  if (missing) {
    io.err(`berth vulndb: ${missing}\n`);
    return 1;
  }
  // The app without a server or timers: its job queue takes the re-match job for the server to run.
  const app = await buildApp({ ...config, logLevel: 'silent' }, { background: false });
  try {
    const scanning = app.services.scanning;
    if (command === 'status') return await status(scanning, flags['json']!, io);
    const sources = command === 'import' ? positionals : [...config.vulndb.sources];
    if (sources.length === 0) {
      io.err('berth vulndb update: no sources configured (BERTH_VULNDB_SOURCES)\n');
      return 1;
    }
    const progress = flags['quiet'] ? undefined : streamProgress(process.stderr);
    const total: ImportCounts = { read: 0, added: 0, updated: 0, withdrawn: 0, unchanged: 0, invalid: 0 };
    let failed = 0;
    for (const source of sources) {
      try {
        const c = await scanning.importVulnDb(source, progress ? { progress } : {});
        for (const k of Object.keys(total) as (keyof ImportCounts)[]) total[k] += c[k];
      } catch (err) {
        failed++;
        io.err(`berth vulndb: ${source}: ${(err as Error).message}\n`);
      }
    }
    const { generation } = await scanning.vulndb.generation();
    io.out(
      `${total.read} records read: ${total.added} added, ${total.updated} updated, ${total.withdrawn} withdrawn, ${total.unchanged} unchanged${total.invalid ? `, ${total.invalid} invalid` : ''}; database generation ${generation}\n`,
    );
    return failed > 0 ? 1 : 0;
  } catch (err) {
    io.err(`berth vulndb: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await app.close();
  }
}

async function status(scanning: ScanService, json: boolean, io: Io): Promise<number> {
  const s = await scanning.vulndb.status();
  if (json) {
    io.out(`${JSON.stringify(s, null, 2)}\n`);
    return 0;
  }
  io.out(`records: ${s.records} (${s.withdrawn} withdrawn)\n`);
  io.out(`generation: ${s.generation}${s.updatedAt !== null ? `, last changed ${new Date(s.updatedAt).toISOString()}` : ', never imported'}\n`);
  if (s.ecosystems.length > 0) {
    io.out('ecosystems:\n');
    for (const e of s.ecosystems) io.out(`  ${e.ecosystem.padEnd(16)} ${e.records}\n`);
  }
  if (s.sources.length > 0) {
    io.out('sources:\n');
    for (const src of s.sources) io.out(`  ${src.url}  fetched ${new Date(src.fetchedAt).toISOString()}, ${src.records} records\n`);
  }
  return 0;
}

/** Why `config` names no deployment (a data folder without a database), or undefined. */
export function missingDeployment(config: Config): string | undefined {
  if (config.databaseUrl || existsSync(join(config.dataDir, 'metadata.db'))) return undefined;
  return `no berth data in ${config.dataDir}; pass --data DIR (or BERTH_DATA_DIR) with the folder the server uses`;
}

/**
 * The flags of an admin command beside the configuration flags of `serve`, with positional
 * arguments, and the configuration `serve` would load from the same flags and environment.
 */
export function parseCommandArgs(
  argv: readonly string[],
  booleans: readonly string[],
  strings: readonly string[] = [],
): { positionals: string[]; flags: Record<string, boolean>; values: Record<string, string | undefined>; config: Config } {
  const options = {
    ...Object.fromEntries([...CONFIG_FLAGS, 'config'].map((flag) => [flag, { type: flag === 'create-on-push' ? ('boolean' as const) : ('string' as const) }])),
    ...Object.fromEntries(booleans.map((flag) => [flag, { type: 'boolean' as const }])),
    ...Object.fromEntries(strings.map((flag) => [flag, { type: 'string' as const }])),
  };
  const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  const configFlags = Object.fromEntries(Object.entries(values).filter(([k]) => !booleans.includes(k) && !strings.includes(k)));
  const config = loadConfig({ flags: configFlags as Record<string, string | boolean | undefined> });
  return {
    positionals,
    flags: Object.fromEntries(booleans.map((flag) => [flag, values[flag] === true])),
    values: Object.fromEntries(strings.map((flag) => [flag, values[flag] as string | undefined])),
    config,
  };
}
