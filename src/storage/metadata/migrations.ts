import { sql, type Kysely, type Migration } from 'kysely';
import { lifecycleMigration } from './migrations/0006-lifecycle.js';
import { scanningMigration } from './migrations/0007-scanning.js';
import { auditMigration } from './migrations/0008-audit.js';
import { replicationMigration } from './migrations/0009-replication.js';
import { pullThroughCacheMigration } from './migrations/0010-pull-through-cache.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Versioned migrations, applied in name order by Kysely's Migrator (which takes a lock, so nodes
 * starting together apply each exactly once). Never edit a released migration: add a new one.
 * Written with the schema builder so that both engines get the same tables.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'sqlite' ? 'integer' : 'bigserial';
  const bytes = dialect === 'sqlite' ? 'blob' : 'bytea';
  return {
    '0001_registry_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('access_keys')
          .addColumn('access_key_id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('user_name', 'text')
          .addColumn('secret_enc', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('repositories')
          .addColumn('id', serial, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('tag_mutability', 'text', (c) => c.notNull().defaultTo('MUTABLE'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('repositories_account_name', ['account_id', 'name'])
          .execute();
        await db.schema
          .createTable('blobs')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('repository_blobs')
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
          .execute();
        await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();
        await db.schema
          .createTable('manifests')
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('artifact_type', 'text')
          .addColumn('subject', 'text')
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('body', sql.raw(bytes), (c) => c.notNull())
          .addColumn('annotations', 'text')
          .addColumn('pushed_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('manifests_pk', ['repository_id', 'digest'])
          .execute();
        await db.schema.createIndex('manifests_subject').on('manifests').columns(['repository_id', 'subject']).execute();
        await db.schema
          .createTable('manifest_references')
          .addColumn('repository_id', 'bigint', (c) => c.notNull())
          .addColumn('parent_digest', 'text', (c) => c.notNull())
          .addColumn('child_digest', 'text', (c) => c.notNull())
          .addColumn('child_kind', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('manifest_references_pk', ['repository_id', 'parent_digest', 'child_digest'])
          .addForeignKeyConstraint('manifest_references_parent', ['repository_id', 'parent_digest'], 'manifests', ['repository_id', 'digest'], (c) =>
            c.onDelete('cascade'),
          )
          .execute();
        await db.schema
          .createIndex('manifest_references_child')
          .on('manifest_references')
          .columns(['repository_id', 'child_digest'])
          .execute();
        await db.schema
          .createTable('tags')
          .addColumn('repository_id', 'bigint', (c) => c.notNull())
          .addColumn('tag', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'tag'])
          .addForeignKeyConstraint('tags_manifest', ['repository_id', 'digest'], 'manifests', ['repository_id', 'digest'], (c) =>
            c.onDelete('cascade'),
          )
          .execute();
        await db.schema.createIndex('tags_digest').on('tags').columns(['repository_id', 'digest']).execute();
        await db.schema
          .createTable('uploads')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_ecr_api': {
      async up(db: Kysely<any>) {
        // Repository settings of CreateRepository and friends.
        await db.schema.alterTable('repositories').addColumn('tag_mutability_exclusions', 'text').execute();
        await db.schema.alterTable('repositories').addColumn('scan_on_push', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('repositories').addColumn('encryption_type', 'text', (c) => c.notNull().defaultTo('AES256')).execute();
        await db.schema.alterTable('repositories').addColumn('kms_key', 'text').execute();
        // What DescribeImages reports without re-reading manifest bodies.
        await db.schema.alterTable('manifests').addColumn('image_size', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('manifests').addColumn('config_media_type', 'text').execute();
        await db.schema.alterTable('manifests').addColumn('last_pulled_at', 'bigint').execute();
        await db.schema
          .createTable('resource_tags')
          .addColumn('resource_arn', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('resource_tags_pk', ['resource_arn', 'key'])
          .execute();
        await db.schema
          .createTable('users')
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('user_name', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull().unique())
          .addColumn('path', 'text', (c) => c.notNull().defaultTo('/'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('users_pk', ['account_id', 'user_name'])
          .execute();
        await db.schema
          .createTable('account_settings')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('account_settings_pk', ['account_id', 'name'])
          .execute();
        await db.schema
          .createTable('pull_time_exclusions')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('principal_arn', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('pull_time_exclusions_pk', ['account_id', 'principal_arn'])
          .execute();
      },
    },
    '0003_policies': {
      async up(db: Kysely<any>) {
        // Customer managed policies and their versions (IAM CreatePolicy, GetPolicyVersion).
        await db.schema
          .createTable('iam_policies')
          .addColumn('arn', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('policy_name', 'text', (c) => c.notNull())
          .addColumn('policy_id', 'text', (c) => c.notNull().unique())
          .addColumn('path', 'text', (c) => c.notNull().defaultTo('/'))
          .addColumn('description', 'text')
          .addColumn('default_version_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('iam_policies_account_name', ['account_id', 'policy_name'])
          .execute();
        await db.schema
          .createTable('iam_policy_versions')
          .addColumn('policy_arn', 'text', (c) => c.notNull().references('iam_policies.arn').onDelete('cascade'))
          .addColumn('version_id', 'text', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('iam_policy_versions_pk', ['policy_arn', 'version_id'])
          .execute();
        // Roles with their trust policies (IAM CreateRole; STS AssumeRole).
        await db.schema
          .createTable('iam_roles')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('role_name', 'text', (c) => c.notNull())
          .addColumn('role_id', 'text', (c) => c.notNull().unique())
          .addColumn('path', 'text', (c) => c.notNull().defaultTo('/'))
          .addColumn('description', 'text')
          .addColumn('trust_policy', 'text', (c) => c.notNull())
          .addColumn('max_session_duration', 'integer', (c) => c.notNull().defaultTo(3600))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('iam_roles_pk', ['account_id', 'role_name'])
          .execute();
        // Inline policies and managed-policy attachments of users and roles: one table each,
        // keyed by the identity's kind ('user' | 'role') and name.
        await db.schema
          .createTable('iam_inline_policies')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('identity_kind', 'text', (c) => c.notNull())
          .addColumn('identity_name', 'text', (c) => c.notNull())
          .addColumn('policy_name', 'text', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('iam_inline_policies_pk', ['account_id', 'identity_kind', 'identity_name', 'policy_name'])
          .execute();
        await db.schema
          .createTable('iam_policy_attachments')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('identity_kind', 'text', (c) => c.notNull())
          .addColumn('identity_name', 'text', (c) => c.notNull())
          .addColumn('policy_arn', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('iam_policy_attachments_pk', ['account_id', 'identity_kind', 'identity_name', 'policy_arn'])
          .execute();
        await db.schema.createIndex('iam_policy_attachments_arn').on('iam_policy_attachments').column('policy_arn').execute();
        // ECR resource policies.
        await db.schema
          .createTable('repository_policies')
          .addColumn('repository_id', 'bigint', (c) => c.primaryKey().references('repositories.id').onDelete('cascade'))
          .addColumn('policy_text', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('registry_policies')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('policy_text', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0004_gc': {
      async up(db: Kysely<any>) {
        // Garbage collection asks "does any manifest, in any repository, reference this blob?";
        // manifest_references_child leads with repository_id and cannot answer that.
        await db.schema.createIndex('manifest_references_child_digest').on('manifest_references').columns(['child_digest', 'child_kind']).execute();
      },
    },
    '0005_jobs': {
      async up(db: Kysely<any>) {
        // The durable job queue (src/jobs/): background work survives restarts and, on PostgreSQL,
        // is shared by every node (claimed with FOR UPDATE SKIP LOCKED).
        await db.schema
          .createTable('jobs')
          .addColumn('id', serial, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('dedupe_key', 'text')
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('run_at', 'bigint', (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('result', 'text')
          .addColumn('request_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        await db.schema.createIndex('jobs_ready').on('jobs').columns(['state', 'run_at']).execute();
        await db.schema.createIndex('jobs_dedupe').on('jobs').columns(['kind', 'dedupe_key', 'state']).execute();
        // Named leases: which node leads a periodic task, and when that task last ran.
        await db.schema
          .createTable('leases')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text')
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('last_run_at', 'bigint')
          .execute();
      },
    },
    '0006_lifecycle': lifecycleMigration(dialect),
    '0007_scanning': scanningMigration(dialect),
    '0008_audit': auditMigration(dialect),
    '0009_replication': replicationMigration(dialect),
    '0010_pull_through_cache': pullThroughCacheMigration(dialect),
    // The request writing to an upload session, on whichever node (Registry.appendUpload): two
    // writes to one session through two nodes would otherwise both be acknowledged.
    '0011_upload_writer': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('uploads').addColumn('writer', 'text').execute();
        await db.schema.alterTable('uploads').addColumn('writer_until', 'bigint').execute();
      },
    },
    // ECR's scans-per-registry-per-day quota counts an account's recent scans (src/scan/service.ts).
    '0012_scan_quota': {
      async up(db: Kysely<any>) {
        await db.schema.createIndex('image_scans_account_time').on('image_scans').columns(['account_id', 'requested_at']).execute();
      },
    },
  };
}
