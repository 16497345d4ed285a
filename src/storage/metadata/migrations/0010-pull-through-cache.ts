import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * Tables of pull-through cache rules, repository creation templates and secrets (src/cache/, src/templates/, src/secrets/). The row types are added to `Schema` below by declaration merging, so that
 * each capability declares its own tables without editing schema.ts.
 *
 * - `cache_rules`: CreatePullThroughCacheRule, one row per (account, prefix).
 * - `cache_tags`: when a cached tag was last checked against its upstream (freshness).
 * - `creation_templates`: CreateRepositoryCreationTemplate, one row per (account, prefix); the template as JSON.
 * - `secrets`: the Secrets Manager subset; `value_enc` is sealed with the master key (SecretBox).
 */
export function pullThroughCacheMigration(dialect: Dialect): Migration {
  void dialect;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('cache_rules')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('upstream_url', 'text', (c) => c.notNull())
        .addColumn('upstream_registry', 'text', (c) => c.notNull())
        .addColumn('upstream_prefix', 'text', (c) => c.notNull())
        .addColumn('credential_arn', 'text')
        .addColumn('custom_role_arn', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('cache_rules_pk', ['account_id', 'prefix'])
        .execute();
      await db.schema
        .createTable('cache_tags')
        .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('cache_tags_pk', ['repository_id', 'tag'])
        .execute();
      await db.schema
        .createTable('creation_templates')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('creation_templates_pk', ['account_id', 'prefix'])
        .execute();
      await db.schema
        .createTable('secrets')
        .addColumn('arn', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('value_enc', 'text')
        .addColumn('version_id', 'text')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('accessed_at', 'bigint')
        .addColumn('deleted_at', 'bigint')
        .addUniqueConstraint('secrets_account_name', ['account_id', 'name'])
        .execute();
    },
  };
}

declare module '../schema.js' {
  interface Schema {
    cache_rules: {
      account_id: string;
      prefix: string;
      upstream_url: string;
      upstream_registry: string;
      upstream_prefix: string;
      credential_arn: string | null;
      custom_role_arn: string | null;
      created_at: number;
      updated_at: number;
    };
    cache_tags: {
      repository_id: number;
      tag: string;
      checked_at: number;
    };
    creation_templates: {
      account_id: string;
      prefix: string;
      template: string;
      created_at: number;
      updated_at: number;
    };
    secrets: {
      arn: string;
      account_id: string;
      name: string;
      description: string | null;
      value_enc: string | null;
      version_id: string | null;
      tags: string;
      created_at: number;
      updated_at: number;
      accessed_at: number | null;
      deleted_at: number | null;
    };
  }
}
