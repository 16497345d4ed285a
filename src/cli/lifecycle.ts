import { readFile } from 'node:fs/promises';
import { buildApp } from '../app.js';
import { isBerthError, parseAccountId, parseRepositoryName, type AccountId } from '../core/index.js';
import { ConfigError } from '../config/index.js';
import { formatBytes } from '../gc/index.js';
import { comparePlans, parseLifecyclePolicy, type LifecyclePolicy, type PlanDifference, type RunReport } from '../lifecycle/index.js';
import { parseMaintenanceArgs, stdio, type Io } from './gc.js';

export const LIFECYCLE_USAGE = `usage: berth lifecycle preview --repository NAME [--account ID] [--policy FILE] [--compare FILE] [options of serve]
       berth lifecycle run [--repository NAME] [--account ID] [options of serve]

preview  prints what a lifecycle policy would do to a repository now, one line per image (digest,
         tags, push time, action, rule and why), and the bytes garbage collection would give back.
         Nothing changes. The policy is the repository's stored one, or FILE with --policy, so a
         policy can be tried before it is put on the repository. With --compare FILE (or with
         --policy while a policy is stored) it also lists the images the two policies treat
         differently.
run      applies the stored policies now (of every repository that has one, or of --repository
         only) and prints what was expired and archived. Images pushed, tagged or pulled since
         the plan was made are left alone. Blobs stay until garbage collection.

  --repository NAME  the repository
  --account ID       its account (default: the deployment's account, BERTH_ACCOUNT_ID)
  --policy FILE      preview this lifecycle policy (JSON) instead of the stored one
  --compare FILE     compare with this policy (JSON)

Safe while the server runs: it opens the data folder the server uses (--data, BERTH_DATA_DIR).
Exit status: 0 done, 1 failed, 2 wrong usage.
`;

const OWN_FLAGS = ['repository', 'account', 'policy', 'compare'] as const;
type OwnFlag = (typeof OWN_FLAGS)[number];

/** `berth lifecycle preview|run`: returns the exit status. */
export async function lifecycleCommand(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    io.out(LIFECYCLE_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'preview' && sub !== 'run') {
    io.err(`berth lifecycle: unknown command "${sub.slice(0, 40)}"\n\n${LIFECYCLE_USAGE}`);
    return 2;
  }
  let own: Partial<Record<OwnFlag, string>>;
  let config;
  try {
    const split = splitOwnFlags(rest);
    own = split.own;
    config = parseMaintenanceArgs(split.others, []).config;
    if (sub === 'preview' && own.repository === undefined) throw new ConfigError('preview needs --repository NAME');
    if (sub === 'run' && (own.policy !== undefined || own.compare !== undefined)) throw new ConfigError('run applies the stored policies; --policy and --compare are for preview');
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth lifecycle: ${(err as Error).message}\n\n${LIFECYCLE_USAGE}`);
      return 2;
    }
    throw err;
  }
  let policy: LifecyclePolicy | undefined;
  let compare: LifecyclePolicy | undefined;
  let accountId: AccountId;
  try {
    accountId = parseAccountId(own.account ?? config.accountId);
    if (own.policy !== undefined) policy = parseLifecyclePolicy(await readFile(own.policy, 'utf8'));
    if (own.compare !== undefined) compare = parseLifecyclePolicy(await readFile(own.compare, 'utf8'));
  } catch (err) {
    io.err(`berth lifecycle: ${(err as Error).message}\n`);
    return isBerthError(err) ? 2 : 1;
  }
  let app;
  try {
    app = await buildApp(config, { background: false });
  } catch (err) {
    io.err(`berth lifecycle: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const lifecycle = app.services.lifecycle;
    if (sub === 'preview') {
      const repo = await app.registry.repository(accountId, parseRepositoryName(own.repository!));
      const stored = await lifecycle.getPolicy(repo);
      const previewed = policy ?? (stored ? parseLifecyclePolicy(stored.text) : undefined);
      if (!previewed) {
        io.err(`berth lifecycle: repository ${repo.name} has no lifecycle policy; give one with --policy FILE\n`);
        return 1;
      }
      const evaluated = await lifecycle.evaluateRepository(repo.row.id, previewed);
      io.out(previewTable(evaluated.plan.actions.map((a) => ({ ...a, image: evaluated.images.get(a.digest)! }))));
      const expiring = evaluated.plan.actions.filter((a) => a.action === 'expire').length;
      const archiving = evaluated.plan.actions.length - expiring;
      io.out(
        `${repo.name}: ${expiring} image${expiring === 1 ? '' : 's'} would expire and ${archiving} would be archived, of ${evaluated.images.size}; ` +
          `${formatBytes(evaluated.bytesFreed)} of blobs only they reference would be freed by garbage collection\n`,
      );
      const against = compare ?? (policy && stored && stored.text !== policy.text ? parseLifecyclePolicy(stored.text) : undefined);
      if (against) {
        const other = await lifecycle.evaluateRepository(repo.row.id, against, evaluated.plan.evaluatedAt);
        const differences = comparePlans(other.plan, evaluated.plan);
        io.out(`\ncompared with ${compare ? own.compare : 'the stored policy'}: ${differences.length} image${differences.length === 1 ? '' : 's'} treated differently\n`);
        if (differences.length > 0) io.out(differenceTable(differences, evaluated.images));
      }
      return 0;
    }
    const targets = own.repository !== undefined
      ? [await app.registry.repository(accountId, parseRepositoryName(own.repository))].map((r) => ({ repositoryId: r.row.id, accountId: r.accountId, name: r.name }))
      : (await lifecycle.repositoriesWithPolicies()).filter((r) => own.account === undefined || r.accountId === accountId);
    let acted = 0;
    for (const target of targets) {
      const report = await lifecycle.runRepository(target);
      if (!report) {
        io.out(`${target.name}: no lifecycle policy\n`);
        continue;
      }
      acted += report.expired.length + report.archived.length;
      io.out(runLines(report));
    }
    io.out(`applied the lifecycle policies of ${targets.length} repositor${targets.length === 1 ? 'y' : 'ies'}: ${acted} image${acted === 1 ? '' : 's'} expired or archived\n`);
    return 0;
  } catch (err) {
    io.err(`berth lifecycle: ${isBerthError(err) ? err.message : ((err as Error).stack ?? String(err))}\n`);
    return 1;
  } finally {
    await app.close();
  }
}

/** `--repository NAME` and friends out of argv; the rest goes to the configuration parser. */
function splitOwnFlags(argv: readonly string[]): { own: Partial<Record<OwnFlag, string>>; others: string[] } {
  const own: Partial<Record<OwnFlag, string>> = {};
  const others: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = m?.[1] as OwnFlag | undefined;
    if (name && (OWN_FLAGS as readonly string[]).includes(name)) {
      const value = m![2] ?? argv[++i];
      if (value === undefined || value === '') throw new ConfigError(`--${name} needs a value`);
      own[name] = value;
    } else {
      others.push(arg);
    }
  }
  return { own, others };
}

interface Row {
  digest: string;
  action: string;
  rulePriority: number;
  reason: string;
  image: { tags: readonly string[]; pushedAt: number };
}

/** One line per planned image, in columns. */
export function previewTable(rows: readonly Row[]): string {
  if (rows.length === 0) return 'nothing to do: no image matches a rule\n';
  return table(
    ['DIGEST', 'TAGS', 'PUSHED', 'ACTION', 'RULE', 'WHY'],
    rows.map((r) => [
      shortDigest(r.digest),
      r.image.tags.length > 0 ? clip(r.image.tags.join(','), 40) : '<untagged>',
      new Date(r.image.pushedAt).toISOString().slice(0, 16).replace('T', ' '),
      r.action,
      String(r.rulePriority),
      r.reason,
    ]),
  );
}

function differenceTable(differences: readonly PlanDifference[], images: Map<string, { tags: readonly string[] }>): string {
  const show = (x: PlanDifference['current']) => (x ? `${x.action} (rule ${x.rulePriority})` : 'keep');
  return table(
    ['DIGEST', 'TAGS', 'COMPARED', 'PREVIEWED'],
    differences.map((d) => [shortDigest(d.digest), clip(images.get(d.digest)?.tags.join(',') || '<untagged>', 40), show(d.current), show(d.proposed)]),
  );
}

function runLines(report: RunReport): string {
  const lines: string[] = [];
  for (const a of report.expired) lines.push(`${report.repository}: expired ${a.digest} [${a.tags.join(',') || 'untagged'}] by rule ${a.rulePriority}: ${a.reason}`);
  for (const a of report.archived) lines.push(`${report.repository}: archived ${a.digest} [${a.tags.join(',') || 'untagged'}] by rule ${a.rulePriority}: ${a.reason}`);
  for (const s of report.skipped) lines.push(`${report.repository}: left ${s.digest}: ${s.reason}`);
  lines.push(
    `${report.repository}: ${report.expired.length} expired, ${report.archived.length} archived, ${report.skipped.length} left alone; ` +
      `about ${formatBytes(report.bytesFreed)} for garbage collection`,
  );
  return `${lines.join('\n')}\n`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function shortDigest(digest: string): string {
  return digest.slice(0, 19);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
