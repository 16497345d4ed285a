import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * Tables of replication (src/replication/). The row types are added to `Schema` below by declaration merging, so that
 * each capability declares its own tables without editing schema.ts.
 *
 * - `replication_configurations`: an account's replication rules (PutReplicationConfiguration), as JSON.
 * - `replication_statuses`: one row per (image, destination): what DescribeImageReplicationStatus reports.
 * - `replication_inbound`: images that arrived by replication, so that they are not replicated onward (no chaining).
 * - `replication_backfills`: one row per StartReplicationBackfill, with its progress and resume cursor.
 * - `replication_backfill_results`: the image x tag combinations a backfill copied or failed to copy.
 */
export function replicationMigration(dialect: Dialect): Migration {
  void dialect;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('replication_configurations')
        .addColumn('account_id', 'text', (c) => c.primaryKey())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('replication_statuses')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('dest_region', 'text', (c) => c.notNull())
        .addColumn('dest_registry', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_code', 'text')
        .addColumn('failure_reason', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('replication_statuses_pk', ['account_id', 'repository', 'digest', 'dest_region', 'dest_registry'])
        .execute();
      await db.schema
        .createTable('replication_inbound')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('replication_inbound_pk', ['account_id', 'repository', 'digest'])
        .execute();
      await db.schema
        .createTable('replication_backfills')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('dest_region', 'text', (c) => c.notNull())
        .addColumn('dest_registry', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_code', 'text')
        .addColumn('total', 'bigint')
        .addColumn('completed', 'bigint', (c) => c.notNull())
        .addColumn('failed', 'bigint', (c) => c.notNull())
        .addColumn('failure_codes', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema.createIndex('replication_backfills_account').on('replication_backfills').columns(['account_id', 'started_at']).execute();
      await db.schema
        .createTable('replication_backfill_results')
        .addColumn('backfill_id', 'text', (c) => c.notNull().references('replication_backfills.id').onDelete('cascade'))
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_code', 'text')
        .addColumn('sub_failure_codes', 'text')
        .addPrimaryKeyConstraint('replication_backfill_results_pk', ['backfill_id', 'repository', 'digest', 'tag'])
        .execute();
    },
  };
}

declare module '../schema.js' {
  interface Schema {
    replication_configurations: { account_id: string; rules: string; updated_at: number };
    replication_statuses: {
      account_id: string;
      repository: string;
      digest: string;
      dest_region: string;
      dest_registry: string;
      /** IN_PROGRESS | COMPLETE | FAILED */
      status: string;
      failure_code: string | null;
      failure_reason: string | null;
      updated_at: number;
    };
    replication_inbound: { account_id: string; repository: string; digest: string; created_at: number };
    replication_backfills: {
      id: string;
      account_id: string;
      dest_region: string;
      dest_registry: string;
      /** PREPARING | IN_PROGRESS | STOPPING | STOPPED | COMPLETE | FAILED */
      status: string;
      failure_code: string | null;
      /** image x tag combinations to copy; null while PREPARING. */
      total: number | null;
      completed: number;
      failed: number;
      /** JSON array of the distinct failure codes seen. */
      failure_codes: string;
      /** JSON `{repository, digest, tag}` of the last combination handled; null before the first. */
      cursor: string | null;
      started_at: number;
      ended_at: number | null;
    };
    replication_backfill_results: {
      backfill_id: string;
      repository: string;
      digest: string;
      /** '' for an untagged image. */
      tag: string;
      /** COMPLETE | FAILED */
      status: string;
      failure_code: string | null;
      /** JSON array, or null. */
      sub_failure_codes: string | null;
    };
  }
}
