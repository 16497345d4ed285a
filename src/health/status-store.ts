import type { Db, JobCounts } from '../storage/metadata/index.js';

/** One account's share of a deployment. */
export interface AccountSummary {
  accountId: string;
  repositories: number;
  images: number;
  /** Bytes of the distinct blobs its repositories link. */
  storageBytes: number;
}

/** A failed job, for `berth status`. */
export interface FailedJob {
  id: number;
  kind: string;
  attempts: number;
  lastError: string | null;
  finishedAt: number | null;
}

/**
 * The read-only queries behind `/metrics` gauges and `berth status`, over the core tables. Portable
 * Kysely; each is one grouped query, cheap enough to run on a scrape (storage is cached above).
 */
export class StatusStore {
  constructor(private readonly db: Db) {}

  async storageByAccount(): Promise<{ accountId: string; bytes: number }[]> {
    const linked = this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select(['r.account_id as account_id', 'b.digest as digest', 'b.size as size'])
      .distinct()
      .as('linked');
    const rows = await this.db
      .selectFrom(linked)
      .select((eb) => ['linked.account_id', eb.fn.sum<number>('linked.size').as('bytes')])
      .groupBy('linked.account_id')
      .execute();
    return rows.map((r) => ({ accountId: r.account_id, bytes: Number(r.bytes ?? 0) }));
  }

  async uploadsInProgress(): Promise<number> {
    const row = await this.db.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async accounts(): Promise<AccountSummary[]> {
    const [accounts, repos, images, storage] = await Promise.all([
      this.db.selectFrom('accounts').select('id').orderBy('id').execute(),
      this.db.selectFrom('repositories').select((eb) => ['account_id', eb.fn.countAll<number>().as('n')]).groupBy('account_id').execute(),
      this.db
        .selectFrom('manifests as m')
        .innerJoin('repositories as r', 'r.id', 'm.repository_id')
        .select((eb) => ['r.account_id as account_id', eb.fn.countAll<number>().as('n')])
        .groupBy('r.account_id')
        .execute(),
      this.storageByAccount(),
    ]);
    const count = (rows: { account_id: string; n: number | string | bigint }[], id: string) => Number(rows.find((r) => r.account_id === id)?.n ?? 0);
    return accounts.map(({ id }) => ({
      accountId: id,
      repositories: count(repos, id),
      images: count(images, id),
      storageBytes: storage.find((s) => s.accountId === id)?.bytes ?? 0,
    }));
  }

  async jobCounts(): Promise<JobCounts[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => ['kind', 'state', eb.fn.countAll<number>().as('n'), eb.fn.min('run_at').as('oldest')])
      .groupBy(['kind', 'state'])
      .execute();
    return rows.map((r) => ({ kind: r.kind, state: r.state, count: Number(r.n), oldestRunAt: Number(r.oldest) }));
  }

  async failedJobs(limit = 10): Promise<FailedJob[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'attempts', 'last_error', 'finished_at'])
      .where('state', '=', 'failed')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), kind: r.kind, attempts: Number(r.attempts), lastError: r.last_error, finishedAt: r.finished_at === null ? null : Number(r.finished_at) }));
  }

  /** When each periodic task (lifecycle runs, audit pruning, ...) last ran. */
  async periodicRuns(): Promise<{ name: string; lastRunAt: number | null }[]> {
    const rows = await this.db.selectFrom('leases').select(['name', 'last_run_at']).where('name', 'like', 'periodic:%').orderBy('name').execute();
    return rows.map((r) => ({ name: r.name.slice('periodic:'.length), lastRunAt: r.last_run_at === null ? null : Number(r.last_run_at) }));
  }

  /** A cheap query that proves the database answers. */
  async ping(): Promise<void> {
    await this.db.selectFrom('accounts').select('id').limit(1).execute();
  }
}
