import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import { AuditStore } from '../audit/index.js';
import { WEBHOOK_JOB } from '../webhooks/index.js';
import { StatusStore, type AccountSummary, type FailedJob } from './status-store.js';

/** What `berth status` reports, from a data folder or from a running server's `/status`. */
export interface DeploymentStatus {
  version: string;
  mode: { metadata: string; blobs: string };
  accounts: AccountSummary[];
  uploadsInProgress: number;
  jobs: { kind: string; state: string; count: number; oldestAgeSeconds: number }[];
  failedJobs: FailedJob[];
  periodic: { name: string; lastRunAt: string | null }[];
  webhookBacklog: number;
  auditRecords: number;
}

let version: string | undefined;

/** berth's version, from package.json (two folders up from src/health/ and from dist/health/). */
export function berthVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export async function collectStatus(meta: MetadataStore, config: Config, now = Date.now()): Promise<DeploymentStatus> {
  const store = new StatusStore(meta.kysely);
  const [accounts, uploadsInProgress, counts, failedJobs, periodic, auditRecords] = await Promise.all([
    store.accounts(),
    store.uploadsInProgress(),
    store.jobCounts(),
    store.failedJobs(),
    store.periodicRuns(),
    new AuditStore(meta.kysely, meta.dialect).count(),
  ]);
  return {
    version: berthVersion(),
    mode: { metadata: meta.dialect, blobs: config.s3 ? 's3' : 'fs' },
    accounts,
    uploadsInProgress,
    jobs: counts
      .map((c) => ({ kind: c.kind, state: c.state, count: c.count, oldestAgeSeconds: c.state === 'queued' ? Math.max(0, Math.round((now - c.oldestRunAt) / 1000)) : 0 }))
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.state.localeCompare(b.state)),
    failedJobs,
    periodic: periodic.map((p) => ({ name: p.name, lastRunAt: p.lastRunAt === null ? null : new Date(p.lastRunAt).toISOString() })),
    webhookBacklog: counts.filter((c) => c.kind === WEBHOOK_JOB && (c.state === 'queued' || c.state === 'running')).reduce((n, c) => n + c.count, 0),
    auditRecords,
  };
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The readable form of a status. */
export function formatStatus(s: DeploymentStatus): string {
  const out: string[] = [];
  out.push(`berth ${s.version}: metadata ${s.mode.metadata}, blobs ${s.mode.blobs}`);
  const totals = s.accounts.reduce((t, a) => ({ r: t.r + a.repositories, i: t.i + a.images }), { r: 0, i: 0 });
  out.push(`${s.accounts.length} account${s.accounts.length === 1 ? '' : 's'}, ${totals.r} repositories, ${totals.i} images, ${s.uploadsInProgress} uploads in progress, ${s.auditRecords} audit records`);
  out.push('');
  out.push(table(['ACCOUNT', 'REPOSITORIES', 'IMAGES', 'STORAGE'], s.accounts.map((a) => [a.accountId, String(a.repositories), String(a.images), bytes(a.storageBytes)])));
  out.push('');
  if (s.jobs.length === 0) out.push('jobs: none');
  else out.push(table(['JOB KIND', 'STATE', 'COUNT', 'OLDEST WAITING'], s.jobs.map((j) => [j.kind, j.state, String(j.count), j.state === 'queued' ? `${j.oldestAgeSeconds}s` : '-'])));
  if (s.failedJobs.length > 0) {
    out.push('');
    out.push('failed jobs (newest first):');
    for (const j of s.failedJobs) out.push(`  #${j.id} ${j.kind} after ${j.attempts} attempts: ${(j.lastError ?? '').replace(/\s+/g, ' ').slice(0, 160)}`);
  }
  out.push('');
  if (s.periodic.length === 0) out.push('periodic tasks: none has run yet');
  else out.push(table(['PERIODIC TASK', 'LAST RUN'], s.periodic.map((p) => [p.name, p.lastRunAt ?? 'never'])));
  out.push('');
  out.push(`webhook backlog: ${s.webhookBacklog} deliver${s.webhookBacklog === 1 ? 'y' : 'ies'} waiting`);
  return `${out.join('\n')}\n`;
}
