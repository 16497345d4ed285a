import { Kysely, type Transaction } from 'kysely';
import type { Schema, TagMutability } from './schema.js';
import type { Db } from './db.js';
import { SettingsStore } from './settings-store.js';
import { UserStore } from './user-store.js';
import type { Dialect } from './migrations.js';


export interface TagMutabilityFilter {
  filterType: 'WILDCARD';
  filter: string;
}

/** A repository's settings, as CreateRepository takes them. */
export interface RepositorySettings {
  tagMutability: TagMutability;
  tagMutabilityExclusions: TagMutabilityFilter[] | null;
  scanOnPush: boolean;
  encryptionType: string;
  kmsKey: string | null;
}

export interface RepositoryRow extends RepositorySettings {
  id: number;
  accountId: string;
  name: string;
  createdAt: number;
}

export const DEFAULT_REPOSITORY_SETTINGS: RepositorySettings = {
  tagMutability: 'MUTABLE',
  tagMutabilityExclusions: null,
  scanOnPush: false,
  encryptionType: 'AES256',
  kmsKey: null,
};

export interface ManifestRow {
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  size: number;
  body: Buffer;
  annotations: Record<string, string> | null;
  pushedAt: number;
  imageSize: number;
  configMediaType: string | null;
  lastPulledAt: number | null;
}

export interface ManifestReference {
  childDigest: string;
  childKind: 'blob' | 'manifest';
}

export interface AccessKeyRow {
  accessKeyId: string;
  accountId: string;
  userName: string | null;
  secretEnc: string;
  status: 'Active' | 'Inactive';
  createdAt: number;
}

export interface Page {
  /** Return entries strictly after this key (exclusive), in ascending order. */
  after?: string;
  limit: number;
}

/**
 * Metadata, split into one small store per aggregate. Every query is written once with Kysely, so
 * the same code runs on SQLite (embedded) and PostgreSQL (scale-out); the dialect is chosen by the
 * caller that opens the database. `transaction(fn)` gives `fn` the same stores bound to one
 * transaction.
 */
export class MetadataStore {
  readonly accounts: AccountStore;
  readonly accessKeys: AccessKeyStore;
  readonly repositories: RepositoryStore;
  readonly blobs: BlobRecordStore;
  readonly manifests: ManifestStore;
  readonly tags: TagStore;
  readonly uploads: UploadStore;
  readonly resourceTags: ResourceTagStore;
  readonly settings: SettingsStore;
  readonly users: UserStore;

  constructor(
    private readonly db: Db,
    readonly dialect: Dialect,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.accounts = new AccountStore(db);
    this.accessKeys = new AccessKeyStore(db);
    this.repositories = new RepositoryStore(db);
    this.blobs = new BlobRecordStore(db);
    this.manifests = new ManifestStore(db);
    this.tags = new TagStore(db);
    this.uploads = new UploadStore(db);
    this.resourceTags = new ResourceTagStore(db);
    this.settings = new SettingsStore(db);
    this.users = new UserStore(db);
  }

  /** Run `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return (this.db as Kysely<Schema>).transaction().execute((trx) => fn(new MetadataStore(trx, this.dialect)));
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}

class AccountStore {
  constructor(private readonly db: Db) {}

  async exists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async ensure(id: string, now: number): Promise<void> {
    await this.db.insertInto('accounts').values({ id, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
  }
}

class AccessKeyStore {
  constructor(private readonly db: Db) {}

  async get(accessKeyId: string): Promise<AccessKeyRow | undefined> {
    const row = await this.db.selectFrom('access_keys').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
    return row && {
      accessKeyId: row.access_key_id,
      accountId: row.account_id,
      userName: row.user_name,
      secretEnc: row.secret_enc,
      status: row.status,
      createdAt: Number(row.created_at),
    };
  }

  async create(row: AccessKeyRow): Promise<void> {
    await this.db
      .insertInto('access_keys')
      .values({
        access_key_id: row.accessKeyId,
        account_id: row.accountId,
        user_name: row.userName,
        secret_enc: row.secretEnc,
        status: row.status,
        created_at: row.createdAt,
      })
      .execute();
  }

  async countRootKeys(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('access_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .where('user_name', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

class RepositoryStore {
  constructor(private readonly db: Db) {}

  async get(accountId: string, name: string): Promise<RepositoryRow | undefined> {
    const row = await this.db
      .selectFrom('repositories')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toRepository(row);
  }

  async getById(id: number): Promise<RepositoryRow | undefined> {
    const row = await this.db.selectFrom('repositories').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRepository(row);
  }

  /** Create the repository, or return the existing one when another request created it first. */
  async create(
    accountId: string,
    name: string,
    now: number,
    settings: RepositorySettings = DEFAULT_REPOSITORY_SETTINGS,
  ): Promise<{ repository: RepositoryRow; created: boolean }> {
    const inserted = await this.db
      .insertInto('repositories')
      .values({ account_id: accountId, name, created_at: now, ...settingsColumns(settings) })
      .onConflict((oc) => oc.columns(['account_id', 'name']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { repository: toRepository(inserted), created: true };
    const existing = await this.get(accountId, name);
    if (!existing) throw new Error(`repository ${accountId}/${name} vanished while being created`);
    return { repository: existing, created: false };
  }

  async update(id: number, settings: Partial<RepositorySettings>): Promise<void> {
    const columns = settingsColumns({ ...DEFAULT_REPOSITORY_SETTINGS, ...settings });
    const changed = Object.fromEntries(
      Object.entries(columns).filter(([column]) => (settings as Record<string, unknown>)[COLUMN_TO_SETTING[column]!] !== undefined),
    );
    if (Object.keys(changed).length === 0) return;
    await this.db.updateTable('repositories').set(changed).where('id', '=', id).execute();
  }

  /** Delete the repository with everything in it (manifests, tags, links and sessions cascade). */
  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('manifest_references').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('tags').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('manifests').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('repository_blobs').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('uploads').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('repositories').where('id', '=', id).execute();
  }

  async count(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('repositories')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async getMany(accountId: string, names: readonly string[]): Promise<RepositoryRow[]> {
    if (names.length === 0) return [];
    const rows = await this.db.selectFrom('repositories').selectAll().where('account_id', '=', accountId).where('name', 'in', [...names]).execute();
    return rows.map(toRepository);
  }

  async list(accountId: string, page: Page): Promise<RepositoryRow[]> {
    let q = this.db.selectFrom('repositories').selectAll().where('account_id', '=', accountId);
    if (page.after !== undefined) q = q.where('name', '>', page.after);
    const rows = await q.orderBy('name').limit(page.limit).execute();
    return rows.map(toRepository);
  }
}

const COLUMN_TO_SETTING: Record<string, keyof RepositorySettings> = {
  tag_mutability: 'tagMutability',
  tag_mutability_exclusions: 'tagMutabilityExclusions',
  scan_on_push: 'scanOnPush',
  encryption_type: 'encryptionType',
  kms_key: 'kmsKey',
};

function settingsColumns(settings: RepositorySettings) {
  return {
    tag_mutability: settings.tagMutability,
    tag_mutability_exclusions: settings.tagMutabilityExclusions ? JSON.stringify(settings.tagMutabilityExclusions) : null,
    scan_on_push: settings.scanOnPush ? 1 : 0,
    encryption_type: settings.encryptionType,
    kms_key: settings.kmsKey,
  };
}

function toRepository(row: Omit<Schema['repositories'], 'id'> & { id: number }): RepositoryRow {
  return {
    id: Number(row.id),
    accountId: row.account_id,
    name: row.name,
    tagMutability: row.tag_mutability,
    tagMutabilityExclusions: row.tag_mutability_exclusions ? (JSON.parse(row.tag_mutability_exclusions) as TagMutabilityFilter[]) : null,
    scanOnPush: Number(row.scan_on_push) === 1,
    encryptionType: row.encryption_type,
    kmsKey: row.kms_key,
    createdAt: Number(row.created_at),
  };
}

class BlobRecordStore {
  constructor(private readonly db: Db) {}

  /** Record a committed blob. Recording one that exists is a no-op. */
  async record(digest: string, size: number, now: number): Promise<void> {
    await this.db.insertInto('blobs').values({ digest, size, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
  }

  async size(digest: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('blobs').select('size').where('digest', '=', digest).executeTakeFirst();
    return row && Number(row.size);
  }

  /** The blob's size if it is linked to the repository, else undefined. */
  async linkedSize(repositoryId: number, digest: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select('blobs.size')
      .where('repository_blobs.repository_id', '=', repositoryId)
      .where('repository_blobs.digest', '=', digest)
      .executeTakeFirst();
    return row && Number(row.size);
  }

  async link(repositoryId: number, digest: string, now: number): Promise<void> {
    await this.db
      .insertInto('repository_blobs')
      .values({ repository_id: repositoryId, digest, created_at: now })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Returns whether a link existed. */
  async unlink(repositoryId: number, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Of `digests`, the ones linked to the repository, with their sizes. */
  async linkedSizes(repositoryId: number, digests: readonly string[]): Promise<Map<string, number>> {
    if (digests.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select(['blobs.digest', 'blobs.size'])
      .where('repository_blobs.repository_id', '=', repositoryId)
      .where('repository_blobs.digest', 'in', [...new Set(digests)])
      .execute();
    return new Map(rows.map((r) => [r.digest, Number(r.size)]));
  }
}

class ManifestStore {
  constructor(private readonly db: Db) {}

  async get(repositoryId: number, digest: string): Promise<ManifestRow | undefined> {
    const row = await this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row && toManifest(row);
  }

  /** The manifest a tag points at, in one query. */
  async getByTag(repositoryId: number, tag: string): Promise<ManifestRow | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .innerJoin('manifests', (join) =>
        join.onRef('manifests.repository_id', '=', 'tags.repository_id').onRef('manifests.digest', '=', 'tags.digest'),
      )
      .selectAll('manifests')
      .where('tags.repository_id', '=', repositoryId)
      .where('tags.tag', '=', tag)
      .executeTakeFirst();
    return row && toManifest(row);
  }

  /** Of `digests`, the ones stored in the repository. */
  async existing(repositoryId: number, digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('manifests')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('digest', 'in', [...new Set(digests)])
      .execute();
    return new Set(rows.map((r) => r.digest));
  }

  /** The image sizes of those of `digests` stored in the repository. */
  async imageSizes(repositoryId: number, digests: readonly string[]): Promise<Map<string, number>> {
    if (digests.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('manifests')
      .select(['digest', 'image_size'])
      .where('repository_id', '=', repositoryId)
      .where('digest', 'in', [...new Set(digests)])
      .execute();
    return new Map(rows.map((r) => [r.digest, Number(r.image_size)]));
  }

  /** Insert the manifest and its references; a manifest that exists is left as it is. Returns whether it was new. */
  async put(row: ManifestRow, references: readonly ManifestReference[]): Promise<boolean> {
    const result = await this.db
      .insertInto('manifests')
      .values({
        repository_id: row.repositoryId,
        digest: row.digest,
        media_type: row.mediaType,
        artifact_type: row.artifactType,
        subject: row.subject,
        size: row.size,
        body: row.body,
        annotations: row.annotations ? JSON.stringify(row.annotations) : null,
        pushed_at: row.pushedAt,
        image_size: row.imageSize,
        config_media_type: row.configMediaType,
        last_pulled_at: row.lastPulledAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    const inserted = Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    if (inserted && references.length > 0) {
      const unique = new Map(references.map((r) => [r.childDigest, r]));
      await this.db
        .insertInto('manifest_references')
        .values(
          [...unique.values()].map((r) => ({
            repository_id: row.repositoryId,
            parent_digest: row.digest,
            child_digest: r.childDigest,
            child_kind: r.childKind,
          })),
        )
        .execute();
    }
    return inserted;
  }

  async delete(repositoryId: number, digest: string): Promise<boolean> {
    await this.db.deleteFrom('tags').where('repository_id', '=', repositoryId).where('digest', '=', digest).execute();
    await this.db
      .deleteFrom('manifest_references')
      .where('repository_id', '=', repositoryId)
      .where('parent_digest', '=', digest)
      .execute();
    const result = await this.db
      .deleteFrom('manifests')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async count(repositoryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('manifests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('repository_id', '=', repositoryId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Manifests in the repository whose index lists `digest` as a child. */
  async parents(repositoryId: number, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_references')
      .select('parent_digest')
      .where('repository_id', '=', repositoryId)
      .where('child_digest', '=', digest)
      .where('child_kind', '=', 'manifest')
      .execute();
    return rows.map((r) => r.parent_digest);
  }

  /** Manifests in the repository whose `subject` is `digest`, optionally of one artifact type. */
  async referrers(repositoryId: number, subject: string, artifactType?: string): Promise<ManifestRow[]> {
    let q = this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('subject', '=', subject);
    if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
    const rows = await q.orderBy('digest').execute();
    return rows.map(toManifest);
  }
}

function toManifest(row: Schema['manifests']): ManifestRow {
  return {
    repositoryId: Number(row.repository_id),
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    subject: row.subject,
    size: Number(row.size),
    body: Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body),
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    pushedAt: Number(row.pushed_at),
    imageSize: Number(row.image_size),
    configMediaType: row.config_media_type,
    lastPulledAt: row.last_pulled_at === null ? null : Number(row.last_pulled_at),
  };
}

class TagStore {
  constructor(private readonly db: Db) {}

  async get(repositoryId: number, tag: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('tag', '=', tag)
      .executeTakeFirst();
    return row?.digest;
  }

  /** Point the tag at `digest`; returns the digest it pointed at before, if any. */
  async move(repositoryId: number, tag: string, digest: string, now: number): Promise<string | undefined> {
    const before = await this.get(repositoryId, tag);
    if (before === digest) return before;
    await this.db
      .insertInto('tags')
      .values({ repository_id: repositoryId, tag, digest, updated_at: now })
      .onConflict((oc) => oc.columns(['repository_id', 'tag']).doUpdateSet({ digest, updated_at: now }))
      .execute();
    return before;
  }

  async delete(repositoryId: number, tag: string): Promise<boolean> {
    const result = await this.db.deleteFrom('tags').where('repository_id', '=', repositoryId).where('tag', '=', tag).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async list(repositoryId: number, page: Page): Promise<string[]> {
    let q = this.db.selectFrom('tags').select('tag').where('repository_id', '=', repositoryId);
    if (page.after !== undefined) q = q.where('tag', '>', page.after);
    const rows = await q.orderBy('tag').limit(page.limit).execute();
    return rows.map((r) => r.tag);
  }
}

class UploadStore {
  constructor(private readonly db: Db) {}

  async create(id: string, repositoryId: number, now: number): Promise<void> {
    await this.db.insertInto('uploads').values({ id, repository_id: repositoryId, created_at: now }).execute();
  }

  async get(id: string): Promise<{ id: string; repositoryId: number; createdAt: number } | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { id: row.id, repositoryId: Number(row.repository_id), createdAt: Number(row.created_at) };
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /** Every session id, with when it began: the sweeper compares them with the stored bytes. */
  async list(): Promise<{ id: string; createdAt: number }[]> {
    const rows = await this.db.selectFrom('uploads').select(['id', 'created_at']).execute();
    return rows.map((r) => ({ id: r.id, createdAt: Number(r.created_at) }));
  }
}

class ResourceTagStore {
  constructor(private readonly db: Db) {}

  async list(resourceArn: string): Promise<{ key: string; value: string }[]> {
    const rows = await this.db.selectFrom('resource_tags').select(['key', 'value']).where('resource_arn', '=', resourceArn).orderBy('key').execute();
    return rows;
  }

  /** Add or overwrite tags; keys not given stay. */
  async put(resourceArn: string, tags: readonly { key: string; value: string }[]): Promise<void> {
    for (const tag of tags) {
      await this.db
        .insertInto('resource_tags')
        .values({ resource_arn: resourceArn, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(['resource_arn', 'key']).doUpdateSet({ value: tag.value }))
        .execute();
    }
  }

  async remove(resourceArn: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.deleteFrom('resource_tags').where('resource_arn', '=', resourceArn).where('key', 'in', [...keys]).execute();
  }

  async removeAll(resourceArn: string): Promise<void> {
    await this.db.deleteFrom('resource_tags').where('resource_arn', '=', resourceArn).execute();
  }
}
