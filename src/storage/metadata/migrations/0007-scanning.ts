import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * Tables of image scanning and the vulnerability database (src/scan/). The row types are added to `Schema` below by declaration merging, so that
 * each capability declares its own tables without editing schema.ts.
 *
 * - `vulndb_records`: one OSV record per id, as imported (the newest `modified` wins).
 * - `vulndb_packages`: the lookup index, (ecosystem without release, normalised package name) -> record id.
 * - `vulndb_sources`: what `berth vulndb update` last fetched from each source (HTTP validators).
 * - `vulndb_state`: one row: the database's generation, bumped by every import that changed something.
 * - `scanning_configurations`: an account's registry scanning configuration (PutRegistryScanningConfiguration).
 * - `image_scans`: one row per (repository, manifest, scan type): status, counts, the stored inventory.
 * - `image_findings`: the findings of a scan, in report order (`seq`), for keyset pages.
 */
export function scanningMigration(dialect: Dialect): Migration {
  void dialect;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('vulndb_records')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('modified', 'bigint', (c) => c.notNull())
        .addColumn('withdrawn', 'bigint')
        .addColumn('aliases', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('imported_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('vulndb_packages')
        .addColumn('ecosystem', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('record_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('vulndb_packages_pk', ['ecosystem', 'name', 'record_id'])
        .execute();
      await db.schema.createIndex('vulndb_packages_record').on('vulndb_packages').column('record_id').execute();
      await db.schema
        .createTable('vulndb_sources')
        .addColumn('url', 'text', (c) => c.primaryKey())
        .addColumn('etag', 'text')
        .addColumn('last_modified', 'text')
        .addColumn('fetched_at', 'bigint', (c) => c.notNull())
        .addColumn('records', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('vulndb_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('scanning_configurations')
        .addColumn('account_id', 'text', (c) => c.primaryKey())
        .addColumn('scan_type', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('image_scans')
        .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('scan_type', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('continuous', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('requested_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .addColumn('source_updated_at', 'bigint')
        .addColumn('generation', 'bigint')
        .addColumn('severity_counts', 'text')
        .addColumn('finding_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('inventory', 'text')
        .addPrimaryKeyConstraint('image_scans_pk', ['repository_id', 'digest', 'scan_type'])
        .execute();
      await db.schema.createIndex('image_scans_continuous').on('image_scans').columns(['continuous', 'generation']).execute();
      await db.schema
        .createTable('image_findings')
        .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('scan_type', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('finding', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_findings_pk', ['repository_id', 'digest', 'scan_type', 'seq'])
        .execute();
    },
  };
}

declare module '../schema.js' {
  interface Schema {
    vulndb_records: { id: string; modified: number; withdrawn: number | null; aliases: string; body: string; imported_at: number };
    vulndb_packages: { ecosystem: string; name: string; record_id: string };
    vulndb_sources: { url: string; etag: string | null; last_modified: string | null; fetched_at: number; records: number };
    vulndb_state: { name: string; generation: number; updated_at: number };
    scanning_configurations: { account_id: string; scan_type: string; rules: string; updated_at: number };
    image_scans: {
      repository_id: number;
      digest: string;
      scan_type: string;
      account_id: string;
      repository: string;
      status: string;
      description: string;
      continuous: number;
      requested_at: number;
      completed_at: number | null;
      source_updated_at: number | null;
      generation: number | null;
      severity_counts: string | null;
      finding_count: number;
      inventory: string | null;
    };
    image_findings: { repository_id: number; digest: string; scan_type: string; seq: number; severity: string; finding: string };
  }
}
