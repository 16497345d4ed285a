import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * Tables of lifecycle policies (src/lifecycle/). The row types are added to `Schema` below by declaration merging, so that
 * each capability declares its own tables without editing schema.ts.
 *
 * - `manifests` gains the archive storage class as image state: `image_status` (ACTIVE,
 *   ARCHIVED, ACTIVATING) with `last_archived_at` / `last_activated_at` (ECR ImageDetail).
 * - `lifecycle_policies`: one policy per repository, with when the evaluator last ran on it.
 * - `lifecycle_previews` and `lifecycle_preview_results`: the last preview of each repository
 *   (StartLifecyclePolicyPreview replaces it) and the images it would act on.
 */
export function lifecycleMigration(dialect: Dialect): Migration {
  void dialect;
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('manifests').addColumn('image_status', 'text', (c) => c.notNull().defaultTo('ACTIVE')).execute();
      await db.schema.alterTable('manifests').addColumn('last_archived_at', 'bigint').execute();
      await db.schema.alterTable('manifests').addColumn('last_activated_at', 'bigint').execute();
      await db.schema
        .createTable('lifecycle_policies')
        .addColumn('repository_id', 'bigint', (c) => c.primaryKey().references('repositories.id').onDelete('cascade'))
        .addColumn('policy_text', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('last_evaluated_at', 'bigint')
        .execute();
      await db.schema
        .createTable('lifecycle_previews')
        .addColumn('repository_id', 'bigint', (c) => c.primaryKey().references('repositories.id').onDelete('cascade'))
        .addColumn('policy_text', 'text', (c) => c.notNull())
        .addColumn('compare_text', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('summary', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createTable('lifecycle_preview_results')
        .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('tagged', 'integer', (c) => c.notNull())
        .addColumn('pushed_at', 'bigint', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('rule_priority', 'integer', (c) => c.notNull())
        .addColumn('storage_class', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('lifecycle_preview_results_pk', ['repository_id', 'digest'])
        .execute();
    },
  };
}

declare module '../schema.js' {
  interface Schema {
    lifecycle_policies: { repository_id: number; policy_text: string; updated_at: number; last_evaluated_at: number | null };
    lifecycle_previews: {
      repository_id: number;
      policy_text: string;
      /** The stored policy when an inline one was previewed: what berth compares it with. */
      compare_text: string | null;
      status: 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';
      started_at: number;
      finished_at: number | null;
      /** JSON: counts, bytes freed and the comparison (src/lifecycle/store.ts PreviewSummary). */
      summary: string | null;
      error: string | null;
    };
    lifecycle_preview_results: {
      repository_id: number;
      digest: string;
      /** JSON array. */
      tags: string;
      tagged: number;
      pushed_at: number;
      action: 'expire' | 'transition';
      rule_priority: number;
      storage_class: 'STANDARD' | 'ARCHIVE';
      reason: string;
    };
  }
}
