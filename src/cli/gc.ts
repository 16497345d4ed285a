import { parseArgs } from 'node:util';
import { openDataDir, type DataDir } from '../app.js';
import { CONFIG_FLAGS, ConfigError, loadConfig, type Config } from '../config/index.js';
import { GarbageCollector, formatBytes, type GcReport } from '../gc/index.js';

export const GC_USAGE = `usage: berth gc [--dry-run] [--quiet] [--gc-grace DURATION] [options of serve]

Removes the blobs that no manifest in any repository references and that no repository uploaded
or mounted within the grace period, and files in the blob area that have no blob row (left by a
crash). Untagged manifests are not removed, and keep their blobs. Safe while the server runs: it
opens the data folder the server uses (--data / BERTH_DATA_DIR, --config, BERTH_MASTER_KEY).

  --dry-run            list what would go and how many bytes; change nothing
  --quiet              print the summary only, not one line per blob
  --gc-grace DURATION  keep what was uploaded or linked within DURATION: 30s, 15m, 24h, 7d
                       or seconds (BERTH_GC_GRACE, default 24h)

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

/** Output streams, so that tests and main share one path. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/**
 * The flags of a maintenance command (`extra`, all booleans) beside the configuration flags of
 * `serve`, and the configuration `serve` would load from the same flags and environment.
 */
export function parseMaintenanceArgs(argv: readonly string[], extra: readonly string[]): { flags: Record<string, boolean>; config: Config } {
  const options = {
    ...Object.fromEntries([...CONFIG_FLAGS, 'config'].map((flag) => [flag, { type: flag === 'create-on-push' ? ('boolean' as const) : ('string' as const) }])),
    ...Object.fromEntries(extra.map((flag) => [flag, { type: 'boolean' as const }])),
  };
  const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new ConfigError(`unexpected argument "${positionals[0]!.slice(0, 40)}"`);
  const config = loadConfig({ flags: values as Record<string, string | boolean | undefined> });
  return { flags: Object.fromEntries(extra.map((flag) => [flag, values[flag] === true])), config };
}

/** Run `fn` on the data folder, reporting failures as `berth` does; returns the exit status. */
export async function withDataDir(argv: readonly string[], usage: string, extra: readonly string[], io: Io, fn: (data: DataDir, flags: Record<string, boolean>, config: Config) => Promise<number>): Promise<number> {
  if (argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    io.out(usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseMaintenanceArgs(argv, extra);
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth: ${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
  let data: DataDir;
  try {
    data = await openDataDir(parsed.config, { create: false });
  } catch (err) {
    io.err(`berth: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    return await fn(data, parsed.flags, parsed.config);
  } catch (err) {
    io.err(`berth: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await data.close();
  }
}

/** `berth gc [--dry-run]`: returns the exit status. */
export async function gcCommand(argv: readonly string[], io: Io = stdio): Promise<number> {
  return withDataDir(argv, GC_USAGE, ['dry-run', 'quiet'], io, async (data, flags, config) => {
    const dryRun = flags['dry-run']!;
    const verb = dryRun ? 'would remove' : 'removed';
    const collector = new GarbageCollector(data.meta, data.blobs);
    const report = await collector.run({
      graceMs: config.gc.graceSeconds * 1000,
      dryRun,
      onRemove: (item) => {
        if (flags['quiet']) return;
        if (item.kind === 'blob') io.out(`${verb} blob ${item.digest} (${formatBytes(item.size)})\n`);
        else io.out(`${verb} file ${item.name} (${formatBytes(item.size)}, no blob row)\n`);
      },
      onProgress: (r) => io.err(`gc: ${r.scannedBlobs} blobs and ${r.scannedFiles} files looked at, ${r.removedBlobs + r.removedFiles} ${dryRun ? 'to remove' : 'removed'} (${formatBytes(r.removedBytes + r.removedFileBytes)})\n`),
    });
    io.out(gcSummary(report));
    return 0;
  });
}

/** The closing lines of `berth gc`. */
export function gcSummary(r: GcReport): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [
    `${verb} ${r.removedBlobs} blob${r.removedBlobs === 1 ? '' : 's'} (${formatBytes(r.removedBytes)})` +
      (r.removedFiles > 0 ? ` and ${r.removedFiles} file${r.removedFiles === 1 ? '' : 's'} without a blob row (${formatBytes(r.removedFileBytes)})` : '') +
      `: ${formatBytes(r.removedBytes + r.removedFileBytes)} in all`,
    `kept ${r.referencedBlobs} referenced blob${r.referencedBlobs === 1 ? '' : 's'} and ${r.recentBlobs} unreferenced within the grace period (${formatDuration(r.graceMs)})`,
    `looked at ${r.scannedBlobs} blob rows and ${r.scannedFiles} files in ${(r.durationMs / 1000).toFixed(1)} s${r.dryRun ? '; nothing was changed (--dry-run)' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 86_400 === 0 && s > 0) return `${s / 86_400}d`;
  if (s % 3600 === 0 && s > 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s > 0) return `${s / 60}m`;
  return `${s}s`;
}
