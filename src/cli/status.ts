import { parseArgs } from 'node:util';
import { openDataDir } from '../app.js';
import { CONFIG_FLAGS, ConfigError, loadConfig } from '../config/index.js';
import { collectStatus, formatStatus, type DeploymentStatus } from '../health/index.js';
import { stdio, type Io } from './gc.js';

export const STATUS_USAGE = `usage: berth status [--url URL] [--json] [options of serve]

Summarises a deployment: version, storage mode, accounts with their repositories, images and
storage, the job queue by kind and state (failed jobs with their last error), when each periodic
task last ran, and the webhook backlog.

Without --url it reads the data folder (--data / BERTH_DATA_DIR, --config), beside a running
server or not. With --url it asks a running server (GET /status), signing in with the
deployment's root key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.

  --url URL   a running server, e.g. http://127.0.0.1:5000
  --json      print the summary as JSON

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

/** `berth status`: returns the exit status. */
export async function statusCommand(argv: readonly string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    io.out(STATUS_USAGE);
    return 0;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = {
      ...Object.fromEntries([...CONFIG_FLAGS, 'config'].map((flag) => [flag, { type: flag === 'create-on-push' ? ('boolean' as const) : ('string' as const) }])),
      url: { type: 'string' as const },
      json: { type: 'boolean' as const },
    };
    const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    if (parsed.positionals.length > 0) throw new ConfigError(`unexpected argument "${parsed.positionals[0]!.slice(0, 40)}"`);
    values = parsed.values as Record<string, string | boolean | undefined>;
    if (values['url'] !== undefined && !/^https?:\/\/[^/]+\/?$/.test(values['url'] as string)) throw new ConfigError('--url: expected a scheme and host such as http://127.0.0.1:5000');
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth: ${(err as Error).message}\n\n${STATUS_USAGE}`);
      return 2;
    }
    throw err;
  }
  const json = values['json'] === true;
  let status: DeploymentStatus;
  if (values['url'] !== undefined) {
    const id = env['AWS_ACCESS_KEY_ID'];
    const secret = env['AWS_SECRET_ACCESS_KEY'];
    if (!id || !secret) {
      io.err('berth: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the deployment\'s root key to ask a server\n');
      return 2;
    }
    const url = `${(values['url'] as string).replace(/\/$/, '')}/status`;
    try {
      const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } });
      if (res.status !== 200) {
        const body = (await res.json().catch(() => ({}))) as { message?: string };
        io.err(`berth: ${url} answered ${res.status}${body.message ? `: ${body.message}` : ''}\n`);
        return 1;
      }
      status = (await res.json()) as DeploymentStatus;
    } catch (err) {
      io.err(`berth: cannot reach ${url}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}\n`);
      return 1;
    }
  } else {
    const configFlags = Object.fromEntries(Object.entries(values).filter(([k]) => k !== 'url' && k !== 'json'));
    let data;
    try {
      const config = loadConfig({ flags: configFlags, env });
      data = await openDataDir(config, { create: false });
      try {
        status = await collectStatus(data.meta, config);
      } finally {
        await data.close();
      }
    } catch (err) {
      io.err(`berth: ${(err as Error).message}\n`);
      return 1;
    }
  }
  io.out(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return 0;
}
