import type { MetadataStore } from '../storage/metadata/index.js';
import type { ImageStatus, LifecycleImage, PlanDifference } from './evaluate.js';

/** A repository's stored lifecycle policy. */
export interface StoredPolicy {
  text: string;
  updatedAt: number;
  lastEvaluatedAt: number | null;
}

/** An image of the repository with what the evaluator needs and what a preview reports. */
export interface RepositoryImage extends LifecycleImage {
  readonly imageSize: number;
}

export type PreviewStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

/** What a preview found, beyond the result rows (berth's extra fields included). */
export interface PreviewSummary {
  expiringImageTotalCount: number;
  transitioningImageTotalCount: number;
  /** Bytes of blobs that only the expiring images reference (garbage collection gives them back). */
  bytesFreed: number;
  /** When an inline policy was previewed while one is stored: how the two plans differ. */
  comparison?: { against: 'stored'; differences: PlanDifference[] };
}

export interface PreviewRow {
  policyText: string;
  compareText: string | null;
  status: PreviewStatus;
  startedAt: number;
  finishedAt: number | null;
  summary: PreviewSummary | null;
  error: string | null;
}

export interface PreviewResultRow {
  digest: string;
  tags: string[];
  pushedAt: number;
  action: 'expire' | 'transition';
  rulePriority: number;
  storageClass: 'STANDARD' | 'ARCHIVE';
  reason: string;
}

/** IN lists are cut in chunks so that no query passes SQLite's or PostgreSQL's parameter limits. */
const CHUNK = 500;

/**
 * The lifecycle capability's tables (migration 0006) and the reads of a repository's images it
 * evaluates. Every query is portable Kysely (SQLite and PostgreSQL). Bind it to a transaction
 * with `new LifecycleStore(tx)`.
 */
export class LifecycleStore {
  constructor(private readonly meta: MetadataStore) {}

  private get db() {
    return this.meta.kysely;
  }

  async getPolicy(repositoryId: number): Promise<StoredPolicy | undefined> {
    const row = await this.db.selectFrom('lifecycle_policies').selectAll().where('repository_id', '=', repositoryId).executeTakeFirst();
    return (
      row && {
        text: row.policy_text,
        updatedAt: Number(row.updated_at),
        lastEvaluatedAt: row.last_evaluated_at === null ? null : Number(row.last_evaluated_at),
      }
    );
  }

  /** Store (replace) the policy; `lastEvaluatedAt` survives a replacement, as it is the repository's. */
  async putPolicy(repositoryId: number, text: string, now: number): Promise<void> {
    await this.db
      .insertInto('lifecycle_policies')
      .values({ repository_id: repositoryId, policy_text: text, updated_at: now, last_evaluated_at: null })
      .onConflict((oc) => oc.column('repository_id').doUpdateSet({ policy_text: text, updated_at: now }))
      .execute();
  }

  async deletePolicy(repositoryId: number): Promise<boolean> {
    const result = await this.db.deleteFrom('lifecycle_policies').where('repository_id', '=', repositoryId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async markEvaluated(repositoryId: number, now: number): Promise<void> {
    await this.db.updateTable('lifecycle_policies').set({ last_evaluated_at: now }).where('repository_id', '=', repositoryId).execute();
  }

  /** Every repository with a policy, in id order. */
  async repositoriesWithPolicies(): Promise<{ repositoryId: number; accountId: string; name: string }[]> {
    const rows = await this.db
      .selectFrom('lifecycle_policies')
      .innerJoin('repositories', 'repositories.id', 'lifecycle_policies.repository_id')
      .select(['repositories.id as id', 'repositories.account_id as account_id', 'repositories.name as name'])
      .orderBy('repositories.id')
      .execute();
    return rows.map((r) => ({ repositoryId: Number(r.id), accountId: r.account_id, name: r.name }));
  }

  /** Every manifest of the repository with its tags and the indexes that list it (three queries, whatever the size). */
  async images(repositoryId: number): Promise<RepositoryImage[]> {
    const rows = await this.db
      .selectFrom('manifests')
      .select(['digest', 'pushed_at', 'last_pulled_at', 'image_status', 'last_archived_at', 'last_activated_at', 'subject', 'image_size'])
      .where('repository_id', '=', repositoryId)
      .execute();
    const tags = new Map<string, string[]>();
    for (const t of await this.db.selectFrom('tags').select(['digest', 'tag']).where('repository_id', '=', repositoryId).orderBy('tag').execute()) {
      const list = tags.get(t.digest);
      if (list) list.push(t.tag);
      else tags.set(t.digest, [t.tag]);
    }
    const parents = new Map<string, string[]>();
    const refs = await this.db
      .selectFrom('manifest_references')
      .select(['parent_digest', 'child_digest'])
      .where('repository_id', '=', repositoryId)
      .where('child_kind', '=', 'manifest')
      .execute();
    for (const r of refs) {
      const list = parents.get(r.child_digest);
      if (list) list.push(r.parent_digest);
      else parents.set(r.child_digest, [r.parent_digest]);
    }
    return rows.map((r) => ({
      digest: r.digest,
      tags: tags.get(r.digest) ?? [],
      pushedAt: Number(r.pushed_at),
      lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
      status: r.image_status as ImageStatus,
      lastArchivedAt: r.last_archived_at === null ? null : Number(r.last_archived_at),
      lastActivatedAt: r.last_activated_at === null ? null : Number(r.last_activated_at),
      parents: parents.get(r.digest) ?? [],
      subject: r.subject,
      imageSize: Number(r.image_size),
    }));
  }

  /**
   * Bytes of the blobs that only `going` references: no other manifest of the repository and no
   * manifest of any other repository does. What garbage collection gives back once they are gone.
   */
  async bytesOnlyReferencedBy(repositoryId: number, going: ReadonlySet<string>): Promise<number> {
    if (going.size === 0) return 0;
    const refs = await this.db
      .selectFrom('manifest_references')
      .select(['parent_digest', 'child_digest'])
      .where('repository_id', '=', repositoryId)
      .where('child_kind', '=', 'blob')
      .execute();
    const candidates = new Set<string>();
    const kept = new Set<string>();
    for (const r of refs) (going.has(r.parent_digest) ? candidates : kept).add(r.child_digest);
    const unique = [...candidates].filter((d) => !kept.has(d));
    let bytes = 0;
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      const elsewhere = new Set(
        (
          await this.db
            .selectFrom('manifest_references')
            .select('child_digest')
            .where('child_digest', 'in', chunk)
            .where('child_kind', '=', 'blob')
            .where('repository_id', '!=', repositoryId)
            .execute()
        ).map((r) => r.child_digest),
      );
      const sizes = await this.db.selectFrom('blobs').select(['digest', 'size']).where('digest', 'in', chunk).execute();
      for (const s of sizes) if (!elsewhere.has(s.digest)) bytes += Number(s.size);
    }
    return bytes;
  }

  /** The archive state of one manifest, with its tags and how many indexes list it (the re-check before acting). */
  async state(repositoryId: number, digest: string): Promise<{ status: ImageStatus; tags: string[]; lastPulledAt: number | null; parents: string[] } | undefined> {
    const row = await this.db
      .selectFrom('manifests')
      .select(['image_status', 'last_pulled_at'])
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (!row) return undefined;
    const tags = await this.db.selectFrom('tags').select('tag').where('repository_id', '=', repositoryId).where('digest', '=', digest).orderBy('tag').execute();
    const parents = await this.db
      .selectFrom('manifest_references')
      .select('parent_digest')
      .where('repository_id', '=', repositoryId)
      .where('child_digest', '=', digest)
      .where('child_kind', '=', 'manifest')
      .execute();
    return {
      status: row.image_status as ImageStatus,
      tags: tags.map((t) => t.tag),
      lastPulledAt: row.last_pulled_at === null ? null : Number(row.last_pulled_at),
      parents: parents.map((p) => p.parent_digest),
    };
  }

  /** Move manifests to another image state; `archivedAt` / `activatedAt` stamp the matching times. */
  async setStatus(repositoryId: number, digests: readonly string[], status: ImageStatus, times: { archivedAt?: number; activatedAt?: number } = {}): Promise<void> {
    for (let i = 0; i < digests.length; i += CHUNK) {
      await this.db
        .updateTable('manifests')
        .set({
          image_status: status,
          ...(times.archivedAt !== undefined ? { last_archived_at: times.archivedAt } : {}),
          ...(times.activatedAt !== undefined ? { last_activated_at: times.activatedAt } : {}),
        })
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', digests.slice(i, i + CHUNK))
        .execute();
    }
  }

  /**
   * Restore a manifest of `accountId/name` pushed again, with the children it lists (ECR: a push
   * restores an archived image). One statement, as it runs in every push's transaction.
   */
  async activateOnPush(accountId: string, name: string, digest: string, now: number): Promise<void> {
    await this.db
      .updateTable('manifests')
      .set({ image_status: 'ACTIVE', last_activated_at: now })
      .where('image_status', '!=', 'ACTIVE')
      .where('repository_id', '=', (eb) => eb.selectFrom('repositories').select('id').where('account_id', '=', accountId).where('name', '=', name))
      .where((eb) =>
        eb.or([
          eb('digest', '=', digest),
          eb(
            'digest',
            'in',
            eb
              .selectFrom('manifest_references')
              .select('child_digest')
              .whereRef('manifest_references.repository_id', '=', 'manifests.repository_id')
              .where('parent_digest', '=', digest)
              .where('child_kind', '=', 'manifest'),
          ),
        ]),
      )
      .execute();
  }

  // ---- previews ------------------------------------------------------------------------------

  async getPreview(repositoryId: number): Promise<PreviewRow | undefined> {
    const row = await this.db.selectFrom('lifecycle_previews').selectAll().where('repository_id', '=', repositoryId).executeTakeFirst();
    return (
      row && {
        policyText: row.policy_text,
        compareText: row.compare_text,
        status: row.status,
        startedAt: Number(row.started_at),
        finishedAt: row.finished_at === null ? null : Number(row.finished_at),
        summary: row.summary === null ? null : (JSON.parse(row.summary) as PreviewSummary),
        error: row.error,
      }
    );
  }

  /** Replace the repository's preview with a new one in progress (its old results go). */
  async beginPreview(repositoryId: number, policyText: string, compareText: string | null, now: number): Promise<void> {
    await this.db.deleteFrom('lifecycle_preview_results').where('repository_id', '=', repositoryId).execute();
    await this.db.deleteFrom('lifecycle_previews').where('repository_id', '=', repositoryId).execute();
    await this.db
      .insertInto('lifecycle_previews')
      .values({ repository_id: repositoryId, policy_text: policyText, compare_text: compareText, status: 'IN_PROGRESS', started_at: now, finished_at: null, summary: null, error: null })
      .execute();
  }

  /** Record the outcome of the preview started at `startedAt`; false when a newer preview replaced it. */
  async finishPreview(
    repositoryId: number,
    startedAt: number,
    outcome: { status: 'COMPLETE'; summary: PreviewSummary; results: PreviewResultRow[] } | { status: 'FAILED'; error: string },
    now: number,
  ): Promise<boolean> {
    const current = await this.getPreview(repositoryId);
    if (!current || current.startedAt !== startedAt || current.status !== 'IN_PROGRESS') return false;
    await this.db.deleteFrom('lifecycle_preview_results').where('repository_id', '=', repositoryId).execute();
    if (outcome.status === 'COMPLETE') {
      const rows = outcome.results.map((r) => ({
        repository_id: repositoryId,
        digest: r.digest,
        tags: JSON.stringify(r.tags),
        tagged: r.tags.length > 0 ? 1 : 0,
        pushed_at: r.pushedAt,
        action: r.action,
        rule_priority: r.rulePriority,
        storage_class: r.storageClass,
        reason: r.reason,
      }));
      for (let i = 0; i < rows.length; i += 100) await this.db.insertInto('lifecycle_preview_results').values(rows.slice(i, i + 100)).execute();
    }
    await this.db
      .updateTable('lifecycle_previews')
      .set({
        status: outcome.status,
        finished_at: now,
        summary: outcome.status === 'COMPLETE' ? JSON.stringify(outcome.summary) : null,
        error: outcome.status === 'FAILED' ? outcome.error : null,
      })
      .where('repository_id', '=', repositoryId)
      .execute();
    return true;
  }

  /** A page of preview results in digest order after `after`, optionally only tagged or untagged ones. */
  async previewResults(repositoryId: number, page: { after?: string; limit: number; tagged?: boolean; digests?: readonly string[] }): Promise<PreviewResultRow[]> {
    let q = this.db.selectFrom('lifecycle_preview_results').selectAll().where('repository_id', '=', repositoryId);
    if (page.tagged !== undefined) q = q.where('tagged', '=', page.tagged ? 1 : 0);
    if (page.after !== undefined) q = q.where('digest', '>', page.after);
    if (page.digests !== undefined) {
      if (page.digests.length === 0) return [];
      q = q.where('digest', 'in', [...page.digests]);
    }
    const rows = await q.orderBy('digest').limit(page.limit).execute();
    return rows.map((r) => ({
      digest: r.digest,
      tags: JSON.parse(r.tags) as string[],
      pushedAt: Number(r.pushed_at),
      action: r.action,
      rulePriority: Number(r.rule_priority),
      storageClass: r.storage_class,
      reason: r.reason,
    }));
  }

  /** The digests of preview results carrying `tag` (imageIds by tag name the snapshot's tags). */
  async previewDigestsWithTags(repositoryId: number, tags: readonly string[]): Promise<Map<string, string>> {
    const wanted = new Set(tags);
    const out = new Map<string, string>();
    if (wanted.size === 0) return out;
    const rows = await this.db.selectFrom('lifecycle_preview_results').select(['digest', 'tags']).where('repository_id', '=', repositoryId).where('tagged', '=', 1).execute();
    for (const r of rows) for (const t of JSON.parse(r.tags) as string[]) if (wanted.has(t)) out.set(t, r.digest);
    return out;
  }
}
