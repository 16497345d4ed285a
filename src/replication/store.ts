import type { MetadataStore } from '../storage/metadata/index.js';
import type { ReplicationConfiguration, ReplicationDestination } from './rules.js';

/** ECR's per-destination replication statuses (ImageReplicationStatus.status). */
export type ReplicationStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

export interface ImageReplicationStatusRow {
  region: string;
  registryId: string;
  status: ReplicationStatus;
  failureCode: string | null;
  failureReason: string | null;
  updatedAt: number;
}

export type BackfillStatus = 'PREPARING' | 'IN_PROGRESS' | 'STOPPING' | 'STOPPED' | 'COMPLETE' | 'FAILED';
export const TERMINAL_BACKFILL: ReadonlySet<BackfillStatus> = new Set(['STOPPED', 'COMPLETE', 'FAILED']);

/** Where a backfill stopped: the last image x tag combination it handled (keyset order: repository, digest, tag). */
export interface BackfillCursor {
  repository: string;
  digest: string;
  tag: string;
}

export interface BackfillRow {
  id: string;
  accountId: string;
  destination: ReplicationDestination;
  status: BackfillStatus;
  failureCode: string | null;
  total: number | null;
  completed: number;
  failed: number;
  failureCodes: string[];
  cursor: BackfillCursor | null;
  startedAt: number;
  endedAt: number | null;
}

export interface BackfillResultRow {
  repository: string;
  digest: string;
  tag: string | null;
  status: 'COMPLETE' | 'FAILED';
  failureCode: string | null;
  subImageFailureCodes: string[] | null;
}

/**
 * Replication's rows: configurations, per-image statuses, inbound markers and backfills. Bound to
 * a MetadataStore (or one of its transactions); every query is portable Kysely (SQLite and
 * PostgreSQL), times are epoch milliseconds.
 */
export class ReplicationStore {
  constructor(private readonly meta: MetadataStore) {}

  /** The same store inside `tx`. */
  in(tx: MetadataStore): ReplicationStore {
    return new ReplicationStore(tx);
  }

  private get db() {
    return this.meta.kysely;
  }

  // ---- configuration -------------------------------------------------------------------------

  async configuration(accountId: string): Promise<ReplicationConfiguration | undefined> {
    const row = await this.db.selectFrom('replication_configurations').select('rules').where('account_id', '=', accountId).executeTakeFirst();
    return row ? (JSON.parse(row.rules) as ReplicationConfiguration) : undefined;
  }

  async putConfiguration(accountId: string, config: ReplicationConfiguration, now: number): Promise<void> {
    const rules = JSON.stringify(config);
    await this.db
      .insertInto('replication_configurations')
      .values({ account_id: accountId, rules, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ rules, updated_at: now }))
      .execute();
  }

  // ---- per-image status ----------------------------------------------------------------------

  async setStatus(
    image: { accountId: string; repository: string; digest: string },
    destination: ReplicationDestination,
    status: ReplicationStatus,
    now: number,
    failure?: { code: string; reason: string },
  ): Promise<void> {
    const values = { status, failure_code: failure?.code ?? null, failure_reason: failure?.reason ?? null, updated_at: now };
    await this.db
      .insertInto('replication_statuses')
      .values({
        account_id: image.accountId,
        repository: image.repository,
        digest: image.digest,
        dest_region: destination.region,
        dest_registry: destination.registryId,
        ...values,
      })
      .onConflict((oc) => oc.columns(['account_id', 'repository', 'digest', 'dest_region', 'dest_registry']).doUpdateSet(values))
      .execute();
  }

  async statuses(accountId: string, repository: string, digest: string): Promise<ImageReplicationStatusRow[]> {
    const rows = await this.db
      .selectFrom('replication_statuses')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .orderBy('dest_region')
      .orderBy('dest_registry')
      .execute();
    return rows.map((r) => ({
      region: r.dest_region,
      registryId: r.dest_registry,
      status: r.status as ReplicationStatus,
      failureCode: r.failure_code,
      failureReason: r.failure_reason,
      updatedAt: Number(r.updated_at),
    }));
  }

  /** Forget the statuses of deleted images (all of the repository without `digest`). */
  async clearStatuses(accountId: string, repository: string, digest?: string): Promise<void> {
    let q = this.db.deleteFrom('replication_statuses').where('account_id', '=', accountId).where('repository', '=', repository);
    if (digest !== undefined) q = q.where('digest', '=', digest);
    await q.execute();
  }

  // ---- inbound markers (no chaining) ---------------------------------------------------------

  async markInbound(accountId: string, repository: string, digests: readonly string[], now: number): Promise<void> {
    for (const digest of new Set(digests)) {
      await this.db
        .insertInto('replication_inbound')
        .values({ account_id: accountId, repository, digest, created_at: now })
        .onConflict((oc) => oc.columns(['account_id', 'repository', 'digest']).doNothing())
        .execute();
    }
  }

  async isInbound(accountId: string, repository: string, digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('replication_inbound')
      .select('digest')
      .where('account_id', '=', accountId)
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Forget that images arrived by replication: those deleted (all of the repository without `digest`). */
  async clearInbound(accountId: string, repository: string, digest?: string): Promise<void> {
    let q = this.db.deleteFrom('replication_inbound').where('account_id', '=', accountId).where('repository', '=', repository);
    if (digest !== undefined) q = q.where('digest', '=', digest);
    await q.execute();
  }

  /** Id of a repository of `accountId` that links the blob, if any (a mount at the destination). */
  async repositoryHolding(accountId: string, digest: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
      .select('repositories.id as id')
      .where('repositories.account_id', '=', accountId)
      .where('repository_blobs.digest', '=', digest)
      .limit(1)
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }

  // ---- backfills -----------------------------------------------------------------------------

  /** Remove an account's backfills that ended before `cutoff` (ECR lists them for 90 days), with their results. */
  async purgeBackfills(accountId: string, cutoff: number): Promise<void> {
    const old = await this.db
      .selectFrom('replication_backfills')
      .select('id')
      .where('account_id', '=', accountId)
      .where('ended_at', '<', cutoff)
      .execute();
    const ids = old.map((r) => r.id);
    if (ids.length === 0) return;
    await this.db.deleteFrom('replication_backfill_results').where('backfill_id', 'in', ids).execute();
    await this.db.deleteFrom('replication_backfills').where('id', 'in', ids).execute();
  }

  async createBackfill(row: { id: string; accountId: string; destination: ReplicationDestination; startedAt: number }): Promise<void> {
    await this.db
      .insertInto('replication_backfills')
      .values({
        id: row.id,
        account_id: row.accountId,
        dest_region: row.destination.region,
        dest_registry: row.destination.registryId,
        status: 'PREPARING',
        failure_code: null,
        total: null,
        completed: 0,
        failed: 0,
        failure_codes: '[]',
        cursor: null,
        started_at: row.startedAt,
        ended_at: null,
      })
      .execute();
  }

  async backfill(id: string): Promise<BackfillRow | undefined> {
    const row = await this.db.selectFrom('replication_backfills').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toBackfill(row) : undefined;
  }

  /** Backfills of an account that have not ended (PREPARING, IN_PROGRESS, STOPPING). */
  async activeBackfills(accountId: string): Promise<BackfillRow[]> {
    const rows = await this.db
      .selectFrom('replication_backfills')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('status', 'in', ['PREPARING', 'IN_PROGRESS', 'STOPPING'])
      .execute();
    return rows.map(toBackfill);
  }

  /** A page of an account's backfills started since `since`, newest first (keyset on started_at, id). */
  async backfillPage(accountId: string, page: { after?: { startedAt: number; id: string }; limit: number; since: number }): Promise<BackfillRow[]> {
    let q = this.db
      .selectFrom('replication_backfills')
      .selectAll()
      .where('account_id', '=', accountId)
      .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', page.since)]));
    const after = page.after;
    if (after) q = q.where((eb) => eb.or([eb('started_at', '<', after.startedAt), eb.and([eb('started_at', '=', after.startedAt), eb('id', '<', after.id)])]));
    const rows = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(toBackfill);
  }

  async updateBackfill(
    id: string,
    change: Partial<Pick<BackfillRow, 'status' | 'failureCode' | 'total' | 'completed' | 'failed' | 'failureCodes' | 'cursor' | 'endedAt'>>,
  ): Promise<void> {
    const set: Record<string, unknown> = {};
    if (change.status !== undefined) set['status'] = change.status;
    if (change.failureCode !== undefined) set['failure_code'] = change.failureCode;
    if (change.total !== undefined) set['total'] = change.total;
    if (change.completed !== undefined) set['completed'] = change.completed;
    if (change.failed !== undefined) set['failed'] = change.failed;
    if (change.failureCodes !== undefined) set['failure_codes'] = JSON.stringify(change.failureCodes);
    if (change.cursor !== undefined) set['cursor'] = change.cursor === null ? null : JSON.stringify(change.cursor);
    if (change.endedAt !== undefined) set['ended_at'] = change.endedAt;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('replication_backfills').set(set).where('id', '=', id).execute();
  }

  /** Record how one combination went; a combination recorded again (a resumed backfill) keeps one row. */
  async putResult(backfillId: string, result: BackfillResultRow): Promise<void> {
    const values = {
      status: result.status,
      failure_code: result.failureCode,
      sub_failure_codes: result.subImageFailureCodes ? JSON.stringify(result.subImageFailureCodes) : null,
    };
    await this.db
      .insertInto('replication_backfill_results')
      .values({ backfill_id: backfillId, repository: result.repository, digest: result.digest, tag: result.tag ?? '', ...values })
      .onConflict((oc) => oc.columns(['backfill_id', 'repository', 'digest', 'tag']).doUpdateSet(values))
      .execute();
  }

  /** Counts of the recorded results, for progress that stays right when a combination is handled twice. */
  async resultCounts(backfillId: string): Promise<{ completed: number; failed: number; codes: string[] }> {
    const rows = await this.db
      .selectFrom('replication_backfill_results')
      .select(['status', 'failure_code'])
      .where('backfill_id', '=', backfillId)
      .execute();
    let completed = 0;
    let failed = 0;
    const codes = new Set<string>();
    for (const r of rows) {
      if (r.status === 'COMPLETE') completed++;
      else {
        failed++;
        if (r.failure_code) codes.add(r.failure_code);
      }
    }
    return { completed, failed, codes: [...codes].sort() };
  }

  async resultPage(
    backfillId: string,
    page: { after?: BackfillCursor; limit: number; status?: 'COMPLETE' | 'FAILED' },
  ): Promise<BackfillResultRow[]> {
    let q = this.db.selectFrom('replication_backfill_results').selectAll().where('backfill_id', '=', backfillId);
    if (page.status) q = q.where('status', '=', page.status);
    const after = page.after;
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb('repository', '>', after.repository),
          eb.and([eb('repository', '=', after.repository), eb('digest', '>', after.digest)]),
          eb.and([eb('repository', '=', after.repository), eb('digest', '=', after.digest), eb('tag', '>', after.tag)]),
        ]),
      );
    }
    const rows = await q.orderBy('repository').orderBy('digest').orderBy('tag').limit(page.limit).execute();
    return rows.map((r) => ({
      repository: r.repository,
      digest: r.digest,
      tag: r.tag === '' ? null : r.tag,
      status: r.status as 'COMPLETE' | 'FAILED',
      failureCode: r.failure_code,
      subImageFailureCodes: r.sub_failure_codes ? (JSON.parse(r.sub_failure_codes) as string[]) : null,
    }));
  }
}

function toBackfill(r: {
  id: string;
  account_id: string;
  dest_region: string;
  dest_registry: string;
  status: string;
  failure_code: string | null;
  total: number | null;
  completed: number;
  failed: number;
  failure_codes: string;
  cursor: string | null;
  started_at: number;
  ended_at: number | null;
}): BackfillRow {
  return {
    id: r.id,
    accountId: r.account_id,
    destination: { region: r.dest_region, registryId: r.dest_registry },
    status: r.status as BackfillStatus,
    failureCode: r.failure_code,
    total: r.total === null ? null : Number(r.total),
    completed: Number(r.completed),
    failed: Number(r.failed),
    failureCodes: JSON.parse(r.failure_codes) as string[],
    cursor: r.cursor ? (JSON.parse(r.cursor) as BackfillCursor) : null,
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
  };
}
