import type { AccountId, RepositoryName, RequestContext } from '../core/index.js';
import type { RepositoryCreator } from '../events/index.js';
import { parseRepositoryPolicy, type Registry, type Repository, type RepositoryPolicies } from '../registry/index.js';
import {
  DEFAULT_REPOSITORY_SETTINGS,
  type MetadataStore,
  type RepositorySettings,
  type TagMutability,
  type TagMutabilityFilter,
} from '../storage/metadata/index.js';

export type AppliedFor = Exclude<RepositoryCreator, 'API'>;
export const APPLIED_FOR: readonly AppliedFor[] = ['REPLICATION', 'PULL_THROUGH_CACHE', 'CREATE_ON_PUSH'];
/** ECR's quota of repository creation templates per registry. */
export const MAX_TEMPLATES = 50;

/** A repository creation template as stored (the fields of ECR's RepositoryCreationTemplate). */
export interface CreationTemplate {
  prefix: string;
  description?: string;
  encryptionConfiguration?: { encryptionType: 'AES256' | 'KMS' | 'KMS_DSSE'; kmsKey?: string };
  resourceTags: { Key: string; Value: string }[];
  imageTagMutability: TagMutability;
  imageTagMutabilityExclusionFilters?: TagMutabilityFilter[];
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
  appliedFor: AppliedFor[];
  customRoleArn?: string;
  createdAt: number;
  updatedAt: number;
}

/** What a template gives a repository it creates. */
export interface TemplateSettings {
  /** The template's prefix (`ROOT` or a path). */
  prefix: string;
  settings: RepositorySettings;
  tags: { key: string; value: string }[];
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
}

/**
 * Stores lifecycle policy text for a new repository. Set by the lifecycle capability when it
 * exists (`TemplateService.setLifecyclePolicyWriter`); until then a template's lifecycle policy
 * stays in the template and is reported as not applied (logged).
 */
export type LifecyclePolicyWriter = (tx: MetadataStore, repo: { id: number; accountId: string; name: string }, text: string) => Promise<void>;

/**
 * Repository creation templates (ECR CreateRepositoryCreationTemplate and friends), and their
 * application to repositories that berth creates by itself.
 *
 * How other capabilities use it (`ctx.services.templates`):
 * - Replication (src/replication/) creating a destination repository:
 *   `await templates.createRepository(accountId, name, 'REPLICATION')` creates it with the
 *   matching template's settings, resource tags, repository policy and lifecycle policy (or ECR's
 *   defaults when none matches) and returns the Repository; REPOSITORY_EXISTS when it exists.
 *   `templates.settingsFor(accountId, name, 'REPLICATION')` gives the same without creating.
 * - The pull-through cache (src/cache/) creates its repositories with `'PULL_THROUGH_CACHE'`.
 * - A push to a missing repository (create-on-push): the registry creates it and emits
 *   `repository.created` (via CREATE_ON_PUSH) in its transaction; this service's transactional
 *   listener (src/cache/capability.ts) applies the template there. Without the deployment's
 *   BERTH_CREATE_ON_PUSH, a matching CREATE_ON_PUSH template is what allows the creation, as in ECR.
 *
 * Matching: the template prefix `p` covers `p` and `p/...` (a trailing `/` is implied); of the
 * templates whose `appliedFor` lists the creation path, the longest matching prefix wins, and
 * `ROOT` covers every name no other template covers. Templates apply at creation only.
 */
export class TemplateService {
  private lifecycleWriter?: LifecyclePolicyWriter;

  constructor(
    private readonly meta: MetadataStore,
    private readonly registry: Registry,
    private readonly policies: RepositoryPolicies,
    private readonly region: string,
    private readonly log?: { warn(obj: object, msg: string): void },
  ) {}

  setLifecyclePolicyWriter(writer: LifecyclePolicyWriter): void {
    this.lifecycleWriter = writer;
  }

  // ---- the store -------------------------------------------------------------------------------

  async list(accountId: string, db: MetadataStore = this.meta): Promise<CreationTemplate[]> {
    const rows = await db.kysely.selectFrom('creation_templates').selectAll().where('account_id', '=', accountId).orderBy('prefix').execute();
    return rows.map(toTemplate);
  }

  async get(accountId: string, prefix: string): Promise<CreationTemplate | undefined> {
    const row = await this.meta.kysely
      .selectFrom('creation_templates')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('prefix', '=', prefix)
      .executeTakeFirst();
    return row ? toTemplate(row) : undefined;
  }

  /** Throws TemplateAlreadyExists (REPOSITORY_EXISTS-like: see the operation) via `exists: true`. */
  async create(accountId: string, template: CreationTemplate): Promise<'created' | 'exists' | 'limit'> {
    return this.meta.transaction(async (tx) => {
      const existing = await tx.kysely
        .selectFrom('creation_templates')
        .select('prefix')
        .where('account_id', '=', accountId)
        .execute();
      if (existing.some((r) => r.prefix === template.prefix)) return 'exists';
      if (existing.length >= MAX_TEMPLATES) return 'limit';
      await tx.kysely
        .insertInto('creation_templates')
        .values({
          account_id: accountId,
          prefix: template.prefix,
          template: JSON.stringify(stripDates(template)),
          created_at: template.createdAt,
          updated_at: template.updatedAt,
        })
        .execute();
      return 'created';
    });
  }

  async replace(accountId: string, template: CreationTemplate): Promise<void> {
    await this.meta.kysely
      .updateTable('creation_templates')
      .set({ template: JSON.stringify(stripDates(template)), updated_at: template.updatedAt })
      .where('account_id', '=', accountId)
      .where('prefix', '=', template.prefix)
      .execute();
  }

  async delete(accountId: string, prefix: string): Promise<CreationTemplate | undefined> {
    return this.meta.transaction(async (tx) => {
      const row = await tx.kysely
        .selectFrom('creation_templates')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('prefix', '=', prefix)
        .executeTakeFirst();
      if (!row) return undefined;
      await tx.kysely.deleteFrom('creation_templates').where('account_id', '=', accountId).where('prefix', '=', prefix).execute();
      return toTemplate(row);
    });
  }

  // ---- matching and application ------------------------------------------------------------------

  /** The template that applies to creating `name` by `appliedFor`, if any (longest prefix, then ROOT). */
  async match(accountId: string, name: string, appliedFor: AppliedFor, db: MetadataStore = this.meta): Promise<CreationTemplate | undefined> {
    const candidates = (await this.list(accountId, db)).filter((t) => t.appliedFor.includes(appliedFor));
    let best: CreationTemplate | undefined;
    for (const t of candidates) {
      if (t.prefix === 'ROOT') continue;
      if ((name === t.prefix || name.startsWith(`${t.prefix}/`)) && (!best || t.prefix.length > best.prefix.length)) best = t;
    }
    return best ?? candidates.find((t) => t.prefix === 'ROOT');
  }

  /**
   * The settings, resource tags, repository policy and lifecycle policy a repository created by
   * `appliedFor` gets: the matching template's, or undefined (ECR's defaults: MUTABLE, AES256, no
   * policies, no tags).
   */
  async settingsFor(accountId: string, name: string, appliedFor: AppliedFor, db: MetadataStore = this.meta): Promise<TemplateSettings | undefined> {
    const t = await this.match(accountId, name, appliedFor, db);
    if (!t) return undefined;
    const encryptionType = t.encryptionConfiguration?.encryptionType ?? 'AES256';
    return {
      prefix: t.prefix,
      settings: {
        ...DEFAULT_REPOSITORY_SETTINGS,
        tagMutability: t.imageTagMutability,
        tagMutabilityExclusions: t.imageTagMutabilityExclusionFilters ?? null,
        encryptionType,
        kmsKey: encryptionType === 'AES256' ? null : t.encryptionConfiguration?.kmsKey || `arn:aws:kms:${this.region}:${accountId}:alias/aws/ecr`,
      },
      tags: t.resourceTags.map((tag) => ({ key: tag.Key, value: tag.Value })),
      ...(t.repositoryPolicy ? { repositoryPolicy: t.repositoryPolicy } : {}),
      ...(t.lifecyclePolicy ? { lifecyclePolicy: t.lifecyclePolicy } : {}),
    };
  }

  /**
   * Create `name` as `appliedFor` creates it: with the matching template applied, or ECR's
   * defaults. Throws REPOSITORY_EXISTS when it exists (callers racing to create can catch that
   * and open the repository instead).
   */
  async createRepository(accountId: AccountId, name: RepositoryName, appliedFor: AppliedFor, origin?: RequestContext): Promise<Repository> {
    const applied = await this.settingsFor(accountId, name, appliedFor);
    const arn = `arn:aws:ecr:${this.region}:${accountId}:repository/${name}`;
    const repo = await this.registry.createRepository(
      accountId,
      name,
      applied?.settings ?? DEFAULT_REPOSITORY_SETTINGS,
      { arn, tags: applied?.tags ?? [] },
      { via: appliedFor, origin },
    );
    if (applied?.repositoryPolicy) {
      try {
        await this.policies.setRepositoryPolicy(repo, parseRepositoryPolicy(applied.repositoryPolicy));
      } catch (err) {
        this.log?.warn({ err, repository: name, template: applied.prefix }, 'template repository policy not applied');
      }
    }
    if (applied?.lifecyclePolicy) await this.writeLifecycle(this.meta, repo.row, applied);
    return repo;
  }

  /**
   * Apply the matching template to a repository created in `tx` (create-on-push, through the
   * registry's transactional `repository.created` event).
   */
  async applyInTransaction(tx: MetadataStore, accountId: string, name: string, appliedFor: AppliedFor, now: number): Promise<boolean> {
    const applied = await this.settingsFor(accountId, name, appliedFor, tx);
    if (!applied) return false;
    const row = await tx.repositories.get(accountId, name);
    if (!row) return false;
    await tx.repositories.update(row.id, applied.settings);
    if (applied.tags.length > 0) await tx.resourceTags.put(`arn:aws:ecr:${this.region}:${accountId}:repository/${name}`, applied.tags);
    if (applied.repositoryPolicy) {
      try {
        parseRepositoryPolicy(applied.repositoryPolicy);
        await tx.policies.putRepositoryPolicy(row.id, applied.repositoryPolicy, now);
      } catch (err) {
        this.log?.warn({ err, repository: name, template: applied.prefix }, 'template repository policy not applied');
      }
    }
    if (applied.lifecyclePolicy) await this.writeLifecycle(tx, row, applied);
    return true;
  }

  private async writeLifecycle(tx: MetadataStore, row: { id: number; accountId: string; name: string }, applied: TemplateSettings): Promise<void> {
    if (!this.lifecycleWriter) {
      this.log?.warn({ repository: row.name, template: applied.prefix }, 'template lifecycle policy kept in the template: no lifecycle store to write it to');
      return;
    }
    try {
      await this.lifecycleWriter(tx, row, applied.lifecyclePolicy!);
    } catch (err) {
      this.log?.warn({ err, repository: row.name, template: applied.prefix }, 'template lifecycle policy not applied');
    }
  }
}

function stripDates(t: CreationTemplate): Omit<CreationTemplate, 'createdAt' | 'updatedAt'> {
  const { createdAt: _c, updatedAt: _u, ...rest } = t;
  return rest;
}

function toTemplate(row: { prefix: string; template: string; created_at: number | bigint; updated_at: number | bigint }): CreationTemplate {
  const body = JSON.parse(row.template) as Omit<CreationTemplate, 'createdAt' | 'updatedAt'>;
  return { ...body, prefix: row.prefix, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}

