import { CompiledQuery } from 'kysely';
import type { Db, Dialect } from '../storage/metadata/index.js';
import type { AuditRecord } from './record.js';

/** What `berth audit` (and tests) ask the trail for. All filters are optional and combine with AND. */
export interface AuditQuery {
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  accountId?: string;
  eventName?: string;
  userArn?: string;
  repository?: string;
  deniedOnly?: boolean;
  /** Newest first, at most this many (default 100). */
  limit?: number;
}

/** Rows per INSERT: 12 parameters a row stay far below SQLite's (32,766) and PostgreSQL's (65,535) limits. */
const BATCH = 200;
/** The INSERT of n rows as Kysely compiled it for a dialect, by `<dialect>:<n>`. */
const insertSql = new Map<string, string>();

/** The `audit_events` table. Portable Kysely: the same queries on SQLite and PostgreSQL. */
export class AuditStore {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Every pull writes a record, so this is on the hot path: Kysely builds and compiles an INSERT
   * of n rows once per dialect and n (building its operation tree cost more than SQLite's
   * insert), and later batches reuse that SQL with their own parameters.
   */
  async insert(records: readonly AuditRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += BATCH) {
      const rows = records.slice(i, i + BATCH).map(toRow);
      const key = `${this.dialect}:${rows.length}`;
      let text = insertSql.get(key);
      if (text === undefined) {
        text = this.db.insertInto('audit_events').values(rows).compile().sql;
        insertSql.set(key, text);
      }
      const parameters: unknown[] = [];
      for (const row of rows) for (const column of COLUMNS) parameters.push(row[column]);
      await this.db.executeQuery(CompiledQuery.raw(text, parameters));
    }
  }

  async query(q: AuditQuery = {}): Promise<AuditRecord[]> {
    let query = this.db.selectFrom('audit_events').select('record');
    if (q.since !== undefined) query = query.where('event_time', '>=', q.since);
    if (q.until !== undefined) query = query.where('event_time', '<', q.until);
    if (q.accountId !== undefined) query = query.where('account_id', '=', q.accountId);
    if (q.eventName !== undefined) query = query.where('event_name', '=', q.eventName);
    if (q.userArn !== undefined) query = query.where('user_arn', '=', q.userArn);
    if (q.repository !== undefined) query = query.where('repository', '=', q.repository);
    if (q.deniedOnly) query = query.where('decision', '=', 'deny');
    const rows = await query.orderBy('event_time', 'desc').orderBy('id', 'desc').limit(q.limit ?? 100).execute();
    return rows.map((r) => JSON.parse(r.record) as AuditRecord);
  }

  /** Delete records older than `before` (epoch ms), at most `limit` per call; returns how many went. */
  async prune(before: number, limit = 5000): Promise<number> {
    const ids = this.db.selectFrom('audit_events').select('id').where('event_time', '<', before).orderBy('id').limit(limit);
    const r = await this.db.deleteFrom('audit_events').where('id', 'in', ids).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

type AuditRow = ReturnType<typeof toRow>;

/** The columns in the order `toRow` lists them, which is the order Kysely compiles them in. */
const COLUMNS = ['event_id', 'event_time', 'account_id', 'event_source', 'event_name', 'user_arn', 'repository', 'decision', 'error_code', 'read_only', 'request_id', 'record'] as const satisfies readonly (keyof AuditRow)[];

function toRow(record: AuditRecord) {
  const repository = record.resources.find((r) => r.type === 'AWS::ECR::Repository')?.ARN.split(':repository/')[1] ?? null;
  return {
    event_id: record.eventID,
    event_time: Date.parse(record.eventTime),
    account_id: record.recipientAccountId || null,
    event_source: record.eventSource,
    event_name: record.eventName,
    user_arn: record.userIdentity.arn ?? null,
    repository,
    decision: record.decision ?? null,
    error_code: record.errorCode ?? null,
    read_only: record.readOnly ? 1 : 0,
    request_id: record.requestID,
    record: JSON.stringify(record),
  };
}
