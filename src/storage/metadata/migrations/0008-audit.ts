import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * Tables of the audit trail (src/audit/): one row per CloudTrail-shaped record. The columns are
 * what `berth audit` filters on; the record itself is JSON text. The row types are added to
 * `Schema` below by declaration merging, so that each capability declares its own tables
 * without editing schema.ts.
 */
export function auditMigration(dialect: Dialect): Migration {
  const serial = dialect === 'sqlite' ? 'integer' : 'bigserial';
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('id', serial, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_time', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('event_source', 'text', (c) => c.notNull())
        .addColumn('event_name', 'text', (c) => c.notNull())
        .addColumn('user_arn', 'text')
        .addColumn('repository', 'text')
        .addColumn('decision', 'text')
        .addColumn('error_code', 'text')
        .addColumn('read_only', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('request_id', 'text')
        .addColumn('record', 'text', (c) => c.notNull())
        .execute();
      // Two indexes only: every pull writes a row, and each index costs each insert. Filters other
      // than the account (user, repository, event name) scan the time range the query names.
      await db.schema.createIndex('audit_events_time').on('audit_events').column('event_time').execute();
      await db.schema.createIndex('audit_events_account_time').on('audit_events').columns(['account_id', 'event_time']).execute();
    },
  };
}

declare module '../schema.js' {
  interface Schema {
    /** The audit trail: CloudTrail-shaped records of requests and background actions. */
    audit_events: {
      id: import('kysely').Generated<number>;
      event_id: string;
      /** Epoch ms. */
      event_time: number;
      /** The account the record belongs to (CloudTrail's recipientAccountId). */
      account_id: string | null;
      event_source: string;
      event_name: string;
      user_arn: string | null;
      repository: string | null;
      /** 'allow' | 'deny' | null (no authorization decision, e.g. a background action). */
      decision: string | null;
      error_code: string | null;
      read_only: number;
      request_id: string | null;
      /** The whole record, JSON. */
      record: string;
    };
  }
}
