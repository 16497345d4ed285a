import { parseArgs } from 'node:util';
import { openDataDir } from '../app.js';
import { AuditStore, type AuditQuery, type AuditRecord } from '../audit/index.js';
import { CONFIG_FLAGS, ConfigError, loadConfig, parseDuration } from '../config/index.js';
import { stdio, type Io } from './gc.js';

export const AUDIT_USAGE = `usage: berth audit [filters] [--json] [--limit N] [options of serve]

Prints the audit trail, newest first: every mutating call of the ECR, OCI, IAM and STS APIs, every
pull, every denied call, and what berth did by itself (lifecycle expiries, scans, replication,
webhook deliveries). Reads the data folder the server uses (--data / BERTH_DATA_DIR, --config).

  --since WHEN         records at or after WHEN: a duration ago (30m, 24h, 7d) or an ISO time
  --until WHEN         records before WHEN (same forms)
  --account ID         records of this account (recipientAccountId)
  --event-name NAME    e.g. PutImage, BatchGetImage, CreateAccessKey, WebhookDelivery
  --user ARN           records of this caller (userIdentity.arn)
  --repository NAME    records about this repository
  --denied             only the calls that authorization refused
  --json               one CloudTrail-shaped JSON record per line
  --limit N            at most N records (default 100)

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

const OWN = ['since', 'until', 'account', 'event-name', 'user', 'repository', 'limit'] as const;

/** `--since 24h` or `--since 2026-01-02T03:04:05Z` as epoch ms. */
function parseWhen(value: string, flag: string, now: number): number {
  const seconds = parseDuration(value);
  if (seconds !== undefined) return now - seconds * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new ConfigError(`--${flag}: expected a duration ago (30m, 24h, 7d) or an ISO time, got "${value.slice(0, 40)}"`);
  return at;
}

/** `berth audit`: returns the exit status. */
export async function auditCommand(argv: readonly string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    io.out(AUDIT_USAGE);
    return 0;
  }
  let query: AuditQuery;
  let json: boolean;
  let config;
  try {
    const options = {
      ...Object.fromEntries([...CONFIG_FLAGS, 'config'].map((flag) => [flag, { type: flag === 'create-on-push' ? ('boolean' as const) : ('string' as const) }])),
      ...Object.fromEntries(OWN.map((flag) => [flag, { type: 'string' as const }])),
      denied: { type: 'boolean' as const },
      json: { type: 'boolean' as const },
    };
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new ConfigError(`unexpected argument "${positionals[0]!.slice(0, 40)}"`);
    const v = values as Record<string, string | boolean | undefined>;
    const configFlags = Object.fromEntries(Object.entries(v).filter(([k]) => !(OWN as readonly string[]).includes(k) && k !== 'denied' && k !== 'json'));
    config = loadConfig({ flags: configFlags, env });
    const now = Date.now();
    const limit = v['limit'] === undefined ? 100 : Number(v['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new ConfigError(`--limit: expected a whole number from 1 to 100000`);
    const account = v['account'] as string | undefined;
    if (account !== undefined && !/^[0-9]{12}$/.test(account)) throw new ConfigError('--account: an account id is exactly 12 digits');
    query = {
      limit,
      ...(v['since'] ? { since: parseWhen(v['since'] as string, 'since', now) } : {}),
      ...(v['until'] ? { until: parseWhen(v['until'] as string, 'until', now) } : {}),
      ...(account ? { accountId: account } : {}),
      ...(v['event-name'] ? { eventName: v['event-name'] as string } : {}),
      ...(v['user'] ? { userArn: v['user'] as string } : {}),
      ...(v['repository'] ? { repository: v['repository'] as string } : {}),
      ...(v['denied'] ? { deniedOnly: true } : {}),
    };
    json = v['json'] === true;
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth: ${(err as Error).message}\n\n${AUDIT_USAGE}`);
      return 2;
    }
    throw err;
  }
  let data;
  try {
    data = await openDataDir(config, { create: false });
  } catch (err) {
    io.err(`berth: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const records = await new AuditStore(data.meta.kysely, data.meta.dialect).query(query);
    if (json) {
      for (const r of records) io.out(`${JSON.stringify(r)}\n`);
    } else {
      io.out(formatRecords(records));
    }
    return 0;
  } catch (err) {
    io.err(`berth: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await data.close();
  }
}

/** The readable table of `berth audit`. */
export function formatRecords(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'no audit records match\n';
  const header = ['TIME', 'ACCOUNT', 'EVENT', 'WHO', 'REPOSITORY', 'DECISION', 'RESULT', 'SOURCE IP', 'REQUEST ID'];
  const rows = records.map((r) => [
    r.eventTime.replace(/\.\d{3}Z$/, 'Z'),
    r.recipientAccountId || '-',
    r.eventName,
    r.userIdentity.arn ?? r.userIdentity.invokedBy ?? r.userIdentity.type,
    r.resources.find((x) => x.type === 'AWS::ECR::Repository')?.ARN.split(':repository/')[1] ?? '-',
    r.decision ?? '-',
    r.errorCode ?? 'ok',
    r.sourceIPAddress || '-',
    r.requestID,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  // Why a call was denied is the line an operator looks for.
  const denied = records.filter((r) => r.decision === 'deny' && r.decisionReason);
  if (denied.length > 0) {
    lines.push('', 'denied:');
    for (const r of denied) lines.push(`  ${r.requestID} ${r.eventName}: ${r.decisionReason}`);
  }
  return `${lines.join('\n')}\n`;
}
