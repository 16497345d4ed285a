import { sql, type Kysely } from 'kysely';
import type { Db } from './db.js';
import type { Dialect } from './migrations.js';
import type { JobState, Schema } from './schema.js';

export interface JobRow {
  id: number;
  kind: string;
  dedupeKey: string | null;
  payload: unknown;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
  result: unknown;
  requestId: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface EnqueueOptions {
  /**
   * At most one queued-or-running job per (kind, key): enqueueing again while one waits returns
   * the waiting job's id (a scan asked for twice runs once).
   */
  key?: string;
  /** Not before this time (epoch ms); default now. */
  runAt?: number;
  /** Runs before the job is marked failed; default 5. */
  maxAttempts?: number;
  requestId?: string;
}

/** Jobs left in a state, by kind: queue depth and the oldest waiting job's age (metrics, `berth status`). */
export interface JobCounts {
  kind: string;
  state: JobState;
  count: number;
  oldestRunAt: number;
}

/**
 * The job table. Written once with Kysely for both engines; only `claim` differs: PostgreSQL locks
 * the rows it takes with FOR UPDATE SKIP LOCKED so that nodes claiming at once never take the same
 * job, while SQLite's writer lock (BEGIN IMMEDIATE) already serialises claims.
 */
export class JobStore {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async enqueue(kind: string, payload: unknown, now: number, opts: EnqueueOptions = {}): Promise<{ id: number; created: boolean }> {
    if (opts.key !== undefined && this.dialect === 'postgres') {
      // Nodes enqueueing the same key at once would each find none waiting (READ COMMITTED):
      // one at a time per key, under a transaction-scoped advisory lock.
      if (!this.db.isTransaction) {
        return (this.db as Kysely<Schema>).transaction().execute((trx) => new JobStore(trx, this.dialect).enqueue(kind, payload, now, opts));
      }
      await sql`select pg_advisory_xact_lock(hashtextextended(${`berth:job:${kind}:${opts.key}`}, 0))`.execute(this.db);
    }
    if (opts.key !== undefined) {
      const waiting = await this.db
        .selectFrom('jobs')
        .select('id')
        .where('kind', '=', kind)
        .where('dedupe_key', '=', opts.key)
        .where('state', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (waiting) return { id: Number(waiting.id), created: false };
    }
    const row = await this.db
      .insertInto('jobs')
      .values({
        kind,
        dedupe_key: opts.key ?? null,
        payload: JSON.stringify(payload ?? null),
        state: 'queued',
        attempts: 0,
        max_attempts: opts.maxAttempts ?? 5,
        run_at: opts.runAt ?? now,
        request_id: opts.requestId ?? null,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), created: true };
  }

  /**
   * Take up to `limit` jobs of `kinds` that are due: queued ones whose time has come, and running
   * ones whose lease ran out (their node died). Call inside a transaction. Each taken job is
   * `running`, leased to `owner` until `now + leaseMs`, with one more attempt counted.
   */
  async claim(kinds: readonly string[], owner: string, now: number, leaseMs: number, limit: number): Promise<JobRow[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    let query = this.db
      .selectFrom('jobs')
      .select('id')
      .where('kind', 'in', kinds)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
          eb.and([eb('state', '=', 'running'), eb('lease_until', '<', now)]),
        ]),
      )
      .orderBy('run_at')
      .orderBy('id')
      .limit(limit);
    if (this.dialect === 'postgres') query = query.forUpdate().skipLocked();
    const ids = (await query.execute()).map((r) => Number(r.id));
    if (ids.length === 0) return [];
    await this.db
      .updateTable('jobs')
      .set((eb) => ({ state: 'running', lease_owner: owner, lease_until: now + leaseMs, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', 'in', ids)
      .execute();
    const rows = await this.db.selectFrom('jobs').selectAll().where('id', 'in', ids).orderBy('run_at').orderBy('id').execute();
    return rows.map(toJob);
  }

  /** Extend the lease of a job this owner runs; false when the job is no longer this owner's. */
  async heartbeat(id: number, owner: string, until: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_until: until, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async complete(id: number, owner: string, result: unknown, now: number): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({
        state: 'done',
        result: result === undefined ? null : JSON.stringify(result),
        lease_owner: null,
        lease_until: null,
        last_error: null,
        updated_at: now,
        finished_at: now,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /** Record a failed attempt: queued again at `retryAt`, or `failed` for good when `retryAt` is undefined. */
  async fail(id: number, owner: string, error: string, now: number, retryAt: number | undefined): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({
        state: retryAt === undefined ? 'failed' : 'queued',
        run_at: retryAt ?? now,
        last_error: error.slice(0, 2000),
        lease_owner: null,
        lease_until: null,
        updated_at: now,
        finished_at: retryAt === undefined ? now : null,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  async get(id: number): Promise<JobRow | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toJob(row);
  }

  /** Jobs of `kind` with this dedupe key, newest first (the status of one scan or one replication). */
  async byKey(kind: string, key: string, limit = 10): Promise<JobRow[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', kind)
      .where('dedupe_key', '=', key)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  /** Whether any job of `kinds` is queued or running (`berth lifecycle run` waits for none). */
  async pending(kinds: readonly string[]): Promise<number> {
    if (kinds.length === 0) return 0;
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kind', 'in', kinds)
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async counts(): Promise<JobCounts[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => ['kind', 'state', eb.fn.countAll<number>().as('n'), eb.fn.min('run_at').as('oldest')])
      .groupBy(['kind', 'state'])
      .execute();
    return rows.map((r) => ({ kind: r.kind, state: r.state, count: Number(r.n), oldestRunAt: Number(r.oldest) }));
  }

  /** Remove finished jobs older than `before` (done and failed ones are kept for status until then). */
  async prune(before: number): Promise<number> {
    const r = await this.db.deleteFrom('jobs').where('state', 'in', ['done', 'failed']).where('finished_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- leases of periodic tasks ---------------------------------------------------------------

  /**
   * Take or renew the lease `name` for `owner` until `until`, when it is free, expired, or already
   * this owner's. Returns the task's last run time when the lease is taken, or null when another
   * owner holds it. Call inside a transaction.
   */
  async acquireLease(name: string, owner: string, now: number, until: number, opts: { steal?: boolean } = {}): Promise<{ lastRunAt: number | null } | null> {
    await this.db.insertInto('leases').values({ name, owner: null, expires_at: 0, last_run_at: null }).onConflict((oc) => oc.column('name').doNothing()).execute();
    let q = this.db.updateTable('leases').set({ owner, expires_at: until }).where('name', '=', name);
    // `steal`: the caller holds the task's advisory lock (PostgreSQL), so a lease left by a dead node is void.
    if (!opts.steal) q = q.where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('expires_at', '<', now)]));
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return null;
    const row = await this.db.selectFrom('leases').select('last_run_at').where('name', '=', name).executeTakeFirstOrThrow();
    return { lastRunAt: row.last_run_at === null ? null : Number(row.last_run_at) };
  }

  async recordLeaseRun(name: string, owner: string, at: number): Promise<void> {
    await this.db.updateTable('leases').set({ last_run_at: at }).where('name', '=', name).where('owner', '=', owner).execute();
  }

  /** Note that the task `name` ran at `at`, for a task led otherwise than by a lease (garbage collection: an advisory lock). */
  async recordRun(name: string, at: number): Promise<void> {
    await this.db
      .insertInto('leases')
      .values({ name, owner: null, expires_at: 0, last_run_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ last_run_at: at }))
      .execute();
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.db.updateTable('leases').set({ owner: null, expires_at: 0 }).where('name', '=', name).where('owner', '=', owner).execute();
  }
}

function toJob(row: {
  id: number;
  kind: string;
  dedupe_key: string | null;
  payload: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  result: string | null;
  request_id: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}): JobRow {
  return {
    id: Number(row.id),
    kind: row.kind,
    dedupeKey: row.dedupe_key,
    payload: JSON.parse(row.payload),
    state: row.state,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    runAt: Number(row.run_at),
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    lastError: row.last_error,
    result: row.result === null ? undefined : JSON.parse(row.result),
    requestId: row.request_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
