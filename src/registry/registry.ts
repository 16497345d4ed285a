import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BerthError,
  MediaType,
  digestAlgorithm,
  digestOf,
  type AccountId,
  type Digest,
  type ManifestRef,
  type RepositoryName,
  type RequestContext,
  type Tag,
} from '../core/index.js';
import { EventBus, type EventInput, type RegistryEvent, type RepositoryCreator } from '../events/index.js';
import type { BlobStore, ByteRange, UploadId } from '../storage/blobs/index.js';
import type { ManifestRow, MetadataStore, RepositoryRow, RepositorySettings } from '../storage/metadata/index.js';
import { DownloadUrlSigner } from './download-url.js';
import { ImageInventory, type ImageId } from './images.js';
import { parseManifest, type Descriptor } from './manifest.js';
import { PullRecorder } from './pull-recorder.js';
import { LocalInvalidator, type CacheInvalidator } from '../cluster/index.js';

export interface RegistryOptions {
  /** A push to a missing repository creates it. */
  createOnPush: boolean;
  maxManifestBytes: number;
  /** Key (32 bytes, `SecretBox.deriveKey`) that signs blob download URLs (ECR GetDownloadUrlForLayer). */
  downloadUrlKey: Buffer;
  /** How long a blob download URL works. Default 3600 seconds. */
  downloadUrlTtlSeconds?: number;
  /** How often recorded pull times are written. Default 5000 ms. */
  pullFlushIntervalMs?: number;
  /** ECR's tags-per-image limit. Default 1000. */
  maxTagsPerImage?: number;
  /** ECR's images-per-repository quota (adjustable in ECR). Default 100,000. */
  maxImagesPerRepository?: number;
  /** ECR's repositories-per-registry quota: repositories of one account. Default 100,000. */
  maxRepositoriesPerRegistry?: number;
  /** ECR's parts-per-upload quota of UploadLayerPart. Default 4,200. */
  maxLayerPartsPerUpload?: number;
  /** Where the registry reports pushes, deletes and pulls; a private bus when absent. */
  events?: EventBus;
  /**
   * Tells the other nodes sharing the database to drop their cached repository rows and resource
   * tags after a change here (PostgreSQL LISTEN/NOTIFY, src/cluster/); one node when absent.
   */
  invalidator?: CacheInvalidator;
  /** Answer blob downloads with a redirect to the blob store's presigned URL when it has one (BERTH_S3_REDIRECT). */
  redirectBlobDownloads?: boolean;
  now?: () => number;
}

/** What a manifest push must also satisfy beyond the OCI door's rules (ECR PutImage). */
export interface PutManifestOptions {
  /** The digest the caller says the manifest has; another one is IMAGE_DIGEST_MISMATCH. */
  expectedDigest?: Digest;
  /** A push that changes nothing (the manifest is stored and the tag, if any, already on it) is IMAGE_EXISTS. */
  refuseUnchanged?: boolean;
  /** A manifest without its own `mediaType` needs `contentType` (ECR's imageManifestMediaType). */
  requireMediaType?: boolean;
  /**
   * Blobs the manifest references may be absent: the pull-through cache stores an upstream
   * manifest first and fetches each blob when it is first pulled (src/cache/). Sizes of the
   * blobs that are present are still checked.
   */
  blobsPending?: boolean;
}

/** How one ECR BatchDeleteImage id went. */
export type DeleteImageResult =
  | { ok: true; digest: Digest; manifestDeleted: boolean }
  | { ok: false; reason: 'not-found' | 'tag-digest-mismatch' }
  | { ok: false; reason: 'referenced'; index: Digest };

/** A repository as the core addresses it: which account, which name, and its stored row. */
export interface Repository {
  readonly accountId: AccountId;
  readonly name: RepositoryName;
  readonly row: RepositoryRow;
  /**
   * The request (or job) the handle was opened for: the events of the changes made through it
   * carry its id and caller (src/core/request-context.ts). Absent for the CLI and for
   * background work that has no cause to name.
   */
  readonly origin?: RequestContext | undefined;
}

export interface BlobReader {
  size: number;
  range?: ByteRange;
  /** A presigned URL of the blob store to redirect the client to instead of sending the bytes (BERTH_S3_REDIRECT). */
  location?: string;
  writeTo: (sink: (chunk: Buffer) => Promise<void>, signal?: AbortSignal) => Promise<void>;
}

export interface PutManifestResult {
  digest: Digest;
  mediaType: string;
  subject?: Digest;
  created: boolean;
}

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: typeof MediaType.ociIndex;
  manifests: Descriptor[];
}

/**
 * The protocol-free domain: repositories, blobs, upload sessions, manifests, tags and referrers.
 * Both front doors call these functions, so a rule (tag immutability, manifest validation, blob
 * links) lives here once. Errors are `BerthError`s; no HTTP types enter or leave.
 */
export class Registry {
  /** Listings and lookups of a repository's images. */
  readonly images: ImageInventory;
  private readonly now: () => number;
  /** Repository rows by `account/name`; repositories change rarely and are read on every request. */
  private readonly repositoryCache = new Map<string, RepositoryRow>();
  private readonly tagCache = new Map<string, { tags: { key: string; value: string }[]; expires: number }>();
  private readonly pulls: PullRecorder;
  private readonly downloads: DownloadUrlSigner;
  /** Pushes, tag moves, deletes, pulls and repository changes, for the background capabilities. */
  readonly events: EventBus;

  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly options: RegistryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.images = new ImageInventory(meta);
    this.pulls = new PullRecorder(meta, { flushIntervalMs: options.pullFlushIntervalMs ?? 5000 });
    this.downloads = new DownloadUrlSigner(options.downloadUrlKey);
    this.events = options.events ?? new EventBus();
    this.invalidator = options.invalidator ?? new LocalInvalidator();
    this.invalidator.on('repository', (key) => (key === undefined ? this.repositoryCache.clear() : this.repositoryCache.delete(key)));
    this.invalidator.on('resource-tags', (arn) => (arn === undefined ? this.tagCache.clear() : this.tagCache.delete(arn)));
  }

  private readonly invalidator: CacheInvalidator;

  /** Drop a cached repository row here and on every other node. */
  private forgetRepository(accountId: string, name: string): void {
    this.invalidator.invalidate('repository', `${accountId}/${name}`);
  }

  /** Drop a resource's cached tags here and on every other node. */
  private forgetTags(arn: string): void {
    this.invalidator.invalidate('resource-tags', arn);
  }

  /**
   * First in every transaction that changes a repository's manifests or tags: serializes them per
   * repository on PostgreSQL (see MetadataStore.lockRepository), and fails cleanly when another
   * node deleted the repository since this one cached its row. Returns the repository with its
   * row as locked (settings such as tag immutability as they are now, not as cached).
   */
  private async lockRepository(tx: MetadataStore, repo: Repository): Promise<Repository> {
    const row = await tx.lockRepository(repo.row.id);
    if (row) return row === repo.row ? repo : { ...repo, row };
    this.forgetRepository(repo.accountId, repo.name);
    throw new BerthError('REPOSITORY_NOT_FOUND', `The repository with name '${repo.name}' does not exist in the registry with id '${repo.accountId}'`, {
      name: repo.name,
    });
  }

  /**
   * Run `fn` in one transaction with `emit`, which reports an event inside that transaction (its
   * transactional listeners write with it) and delivers it to the others once it committed.
   */
  private async inTx<T>(origin: RequestContext | undefined, fn: (tx: MetadataStore, emit: (event: EventInput) => Promise<void>) => Promise<T>): Promise<T> {
    let pending: (() => void)[] = [];
    const result = await this.meta.transaction(async (tx) => {
      pending = [];
      return fn(tx, async (event) => {
        pending.push(await this.events.record(tx, this.stamp(event, origin)));
      });
    });
    for (const deliver of pending) deliver();
    return result;
  }

  private stamp(event: EventInput, origin: RequestContext | undefined): RegistryEvent {
    // Stamped in place: every caller passes a literal of its own, and a pull should not pay a copy.
    const stamped = event as RegistryEvent;
    stamped.at = this.now();
    if (origin) {
      stamped.requestId = origin.requestId;
      if (origin.actor) stamped.actor = origin.actor;
      if (origin.call?.door) stamped.byCall = true;
    }
    return stamped;
  }

  /** ECR's parts-per-upload quota (UploadLayerPart), as configured. */
  get maxLayerPartsPerUpload(): number {
    return this.options.maxLayerPartsPerUpload ?? 4200;
  }

  /** Write what is still held in memory (recorded pull times). Call once, before closing the metadata store. */
  async close(): Promise<void> {
    await this.pulls.close();
  }

  /** Whether a push to a missing repository creates it (the deployment's create-on-push setting). */
  get createsOnPush(): boolean {
    return this.options.createOnPush;
  }

  /**
   * Whether a push to the missing repository `name` creates it: the deployment's create-on-push
   * setting, or a repository creation template with CREATE_ON_PUSH that matches (src/templates/).
   */
  async createsOnPushFor(accountId: AccountId, name: RepositoryName): Promise<boolean> {
    return this.options.createOnPush || ((await this.createOnPushMatcher?.(accountId, name)) ?? false);
  }

  /** Set by the templates capability: whether a CREATE_ON_PUSH template covers a repository name. */
  setCreateOnPushMatcher(matcher: (accountId: AccountId, name: RepositoryName) => Promise<boolean>): void {
    this.createOnPushMatcher = matcher;
  }

  private createOnPushMatcher?: (accountId: AccountId, name: RepositoryName) => Promise<boolean>;

  // ---- repositories ------------------------------------------------------------------------

  /**
   * The repository `name` of `accountId`. With `forPush` and create-on-push enabled, a missing
   * repository is created; otherwise it throws REPOSITORY_NOT_FOUND.
   */
  async repository(accountId: AccountId, name: RepositoryName, opts: { forPush?: boolean; origin?: RequestContext | undefined } = {}): Promise<Repository> {
    const key = `${accountId}/${name}`;
    let row = this.repositoryCache.get(key) ?? (await this.meta.repositories.get(accountId, name));
    if (!row && opts.forPush && (await this.createsOnPushFor(accountId, name))) {
      row = await this.inTx(opts.origin, async (tx, emit) => {
        await tx.accounts.ensure(accountId, this.now());
        const existing = await tx.repositories.get(accountId, name);
        if (existing) return existing;
        await this.checkRepositoryQuota(tx, accountId);
        // Another node's push may have created it meanwhile (PostgreSQL): then it is not ours to announce.
        const { repository: created, created: isNew } = await tx.repositories.create(accountId, name, this.now());
        if (isNew) await emit({ type: 'repository.created', accountId, repository: name, via: 'CREATE_ON_PUSH' });
        // Transactional listeners may have shaped it (a repository creation template): read it back.
        return (await tx.repositories.get(accountId, name)) ?? created;
      });
    }
    if (!row) {
      throw new BerthError('REPOSITORY_NOT_FOUND', `The repository with name '${name}' does not exist in the registry with id '${accountId}'`, { name });
    }
    this.repositoryCache.set(key, row);
    return opts.origin ? { accountId, name, row, origin: opts.origin } : { accountId, name, row };
  }

  /** Change a repository's settings; returns the repository as it is afterwards. */
  async updateRepository(repo: Repository, settings: Partial<RepositorySettings>): Promise<Repository> {
    await this.meta.repositories.update(repo.row.id, settings);
    this.forgetRepository(repo.accountId, repo.name);
    return this.repository(repo.accountId, repo.name, { origin: repo.origin });
  }

  /**
   * Create a repository explicitly (ECR CreateRepository), with its settings and resource tags.
   * Throws REPOSITORY_EXISTS.
   */
  async createRepository(
    accountId: AccountId,
    name: RepositoryName,
    settings: RepositorySettings,
    tags: { arn: string; tags: readonly { key: string; value: string }[] },
    opts: { via?: RepositoryCreator; origin?: RequestContext | undefined } = {},
  ): Promise<Repository> {
    const row = await this.inTx(opts.origin, async (tx, emit) => {
      await tx.accounts.ensure(accountId, this.now());
      if (!(await tx.repositories.get(accountId, name))) await this.checkRepositoryQuota(tx, accountId);
      const { repository, created } = await tx.repositories.create(accountId, name, this.now(), settings);
      if (!created) throw new BerthError('REPOSITORY_EXISTS', `The repository with name '${name}' already exists in the registry with id '${accountId}'`);
      await tx.resourceTags.put(tags.arn, tags.tags);
      this.forgetTags(tags.arn);
      await emit({ type: 'repository.created', accountId, repository: name, via: opts.via ?? 'API' });
      return repository;
    });
    this.repositoryCache.set(`${accountId}/${name}`, row);
    return opts.origin ? { accountId, name, row, origin: opts.origin } : { accountId, name, row };
  }

  /** ECR's repositories-per-registry quota, checked in the transaction that creates one. */
  private async checkRepositoryQuota(tx: MetadataStore, accountId: AccountId): Promise<void> {
    // Creations racing on other nodes count one after the other (PostgreSQL).
    await tx.lock(`repositories:${accountId}`);
    const max = this.options.maxRepositoriesPerRegistry ?? 100_000;
    if ((await tx.repositories.count(accountId)) >= max) {
      throw new BerthError(
        'LIMIT_EXCEEDED',
        `The operation did not succeed because it would have exceeded a service limit for your account: registry ${accountId} already has the maximum of ${max} repositories`,
        { limit: max },
      );
    }
  }

  /**
   * Delete a repository. Without `force`, one that still holds images is refused
   * (REPOSITORY_NOT_EMPTY); with it, its manifests, tags, blob links and sessions go too. Blob
   * bytes stay until garbage collection finds them unreferenced.
   */
  async deleteRepository(repo: Repository, opts: { force: boolean; arn: string }): Promise<RepositoryRow> {
    await this.inTx(repo.origin, async (tx, emit) => {
      await this.lockRepository(tx, repo);
      if (!opts.force && (await tx.manifests.count(repo.row.id)) > 0) {
        throw new BerthError(
          'REPOSITORY_NOT_EMPTY',
          `The repository with name '${repo.name}' in registry with id '${repo.accountId}' cannot be deleted because it still contains images`,
        );
      }
      await tx.repositories.delete(repo.row.id);
      await tx.resourceTags.removeAll(opts.arn);
      await emit({ type: 'repository.deleted', accountId: repo.accountId, repository: repo.name });
    });
    this.forgetRepository(repo.accountId, repo.name);
    this.forgetTags(opts.arn);
    return repo.row;
  }

  /** Repositories of an account by name; throws REPOSITORY_NOT_FOUND naming the first missing one. */
  async repositoriesNamed(accountId: AccountId, names: readonly RepositoryName[]): Promise<RepositoryRow[]> {
    const rows = await this.meta.repositories.getMany(accountId, names);
    const found = new Map(rows.map((r) => [r.name, r]));
    const missing = names.find((n) => !found.has(n));
    if (missing !== undefined) {
      throw new BerthError('REPOSITORY_NOT_FOUND', `The repository with name '${missing}' does not exist in the registry with id '${accountId}'`);
    }
    return names.map((n) => found.get(n)!);
  }

  async repositoryPage(accountId: AccountId, page: { after?: string; limit: number }): Promise<RepositoryRow[]> {
    return this.meta.repositories.list(accountId, page);
  }

  /**
   * A resource's tags. The authorizer reads them on every request for `ecr:ResourceTag/*`
   * conditions, so they are cached for a few seconds; changes through this process drop the entry
   * at once, and other nodes when the notification arrives (src/cluster/), at worst once it expires.
   */
  async resourceTags(arn: string): Promise<{ key: string; value: string }[]> {
    const now = this.now();
    const hit = this.tagCache.get(arn);
    if (hit && hit.expires > now) return hit.tags;
    const tags = await this.meta.resourceTags.list(arn);
    if (this.tagCache.size >= 10_000) this.tagCache.clear();
    this.tagCache.set(arn, { tags, expires: now + TAG_CACHE_TTL_MS });
    return tags;
  }

  /** Merge tags into a resource's; the total may not pass `limit` (TOO_MANY_TAGS). */
  async tagResource(arn: string, tags: readonly { key: string; value: string }[], limit: number): Promise<void> {
    await this.meta.transaction(async (tx) => {
      const existing = new Set((await tx.resourceTags.list(arn)).map((t) => t.key));
      for (const t of tags) existing.add(t.key);
      if (existing.size > limit) throw new BerthError('TOO_MANY_TAGS', `A resource can have at most ${limit} tags; this request would leave ${existing.size}`);
      await tx.resourceTags.put(arn, tags);
    });
    this.forgetTags(arn);
  }

  /** Drop a resource's cached tags (they were written in another component's transaction: a creation template). */
  forgetResourceTags(arn: string): void {
    this.forgetTags(arn);
  }

  async untagResource(arn: string, keys: readonly string[]): Promise<void> {
    await this.meta.resourceTags.remove(arn, keys);
    this.forgetTags(arn);
  }

  async listRepositories(accountId: AccountId, page: { after?: string; limit: number }): Promise<string[]> {
    return (await this.meta.repositories.list(accountId, page)).map((r) => r.name);
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** Size of a blob visible through the repository. Throws BLOB_NOT_FOUND. */
  async statBlob(repo: Repository, digest: Digest): Promise<{ size: number }> {
    const size = await this.meta.blobs.linkedSize(repo.row.id, digest);
    if (size === undefined) throw blobUnknown(digest);
    if (await this.onlyArchivedUse(repo, digest)) {
      throw new BerthError('BLOB_NOT_FOUND', `blob ${digest} belongs only to archived images of repository ${repo.name}; restore one with UpdateImageStorageClass to pull it`, {
        digest,
        archived: true,
      });
    }
    return { size };
  }

  /**
   * Whether the images of the repository that use the blob are all archived (or being restored):
   * ECR's `ARCHIVED` layer, which is not served. A blob that no image uses yet (a push in
   * progress) is not: it is served as uploaded.
   */
  private async onlyArchivedUse(repo: Repository, digest: Digest): Promise<boolean> {
    if (await this.meta.manifests.activeReferencesBlob(repo.row.id, digest)) return false;
    return this.meta.manifests.referencesBlob(repo.row.id, digest);
  }

  /** Of `digests`, the blobs of the repository that only archived images use (ECR layerAvailability ARCHIVED). */
  async archivedBlobs(repo: Repository, digests: readonly Digest[]): Promise<Set<string>> {
    const refs = await this.meta.manifests.blobReferences(repo.row.id, digests);
    return new Set([...refs].filter(([, r]) => !r.active).map(([digest]) => digest));
  }

  /** Of `digests`, the blobs visible through the repository, with their sizes. */
  async linkedBlobSizes(repo: Repository, digests: readonly Digest[]): Promise<Map<string, number>> {
    return this.meta.blobs.linkedSizes(repo.row.id, digests);
  }

  /**
   * A URL path (with query) from which anyone may read the blob, without credentials, until it
   * expires (ECR GetDownloadUrlForLayer). As in ECR, the blob must be a layer or config of some
   * image in the repository: an uploaded blob that no manifest references is LAYER_INACCESSIBLE,
   * and one the repository does not hold is BLOB_NOT_FOUND.
   */
  async grantBlobDownload(repo: Repository, digest: Digest): Promise<{ path: string; expiresAt: number }> {
    if (!(await this.meta.manifests.referencesBlob(repo.row.id, digest))) {
      if ((await this.meta.blobs.linkedSize(repo.row.id, digest)) === undefined) throw blobUnknown(digest);
      throw new BerthError('LAYER_INACCESSIBLE', `blob ${digest} is in repository ${repo.name} but no image references it`, { digest });
    }
    if (!(await this.meta.manifests.activeReferencesBlob(repo.row.id, digest))) {
      throw new BerthError('LAYER_INACCESSIBLE', `blob ${digest} belongs only to archived images of repository ${repo.name}; restore one with UpdateImageStorageClass`, { digest });
    }
    const expiresAt = Math.floor(this.now() / 1000) + (this.options.downloadUrlTtlSeconds ?? 3600);
    return { path: this.downloads.path({ accountId: repo.accountId, repositoryName: repo.name, digest, expiresAt }), expiresAt };
  }

  /**
   * Open a blob through a URL from `grantBlobDownload`: `rawDigest` from its path, `query` its query.
   * A URL that is not one berth signed, was altered, or has expired is ACCESS_DENIED; the blob must
   * still be in the repository.
   */
  async openDownload(rawDigest: string, query: URLSearchParams, opts: { range?: { start?: number; end?: number } } = {}): Promise<BlobReader & { digest: Digest }> {
    const grant = this.downloads.verify(rawDigest, query);
    if (!grant) throw new BerthError('ACCESS_DENIED', 'this download URL is not valid');
    if (grant.expiresAt * 1000 <= this.now()) throw new BerthError('ACCESS_DENIED', 'this download URL has expired; ask GetDownloadUrlForLayer for a new one');
    const repo = await this.repository(grant.accountId, grant.repositoryName);
    return { ...(await this.blobReader(repo, grant.digest, opts)), digest: grant.digest };
  }

  /**
   * Serve a blob visible through the repository into `sink` (see BlobStore.writeTo for the chunk
   * lifetime). `range` is a parsed `Range` header (inclusive start, optional end); it is checked
   * before the first byte (RANGE_INVALID with the size), so the caller can still send an error
   * status when the blob is unknown or the range unsatisfiable.
   */
  async blobReader(repo: Repository, digest: Digest, opts: { range?: { start?: number; end?: number } } = {}): Promise<BlobReader> {
    const { size } = await this.statBlob(repo, digest);
    const range = opts.range ? resolveRange(opts.range, size) : undefined;
    // As ECR sends layer downloads to S3: whole-blob reads go to a presigned URL when configured.
    const location =
      this.options.redirectBlobDownloads && !range && this.blobs.presign ? await this.blobs.presign(digest, REDIRECT_TTL_SECONDS) : undefined;
    return {
      size,
      ...(location ? { location } : {}),
      ...(range ? { range } : {}),
      writeTo: (sink, signal) => this.blobs.writeTo(digest, sink, { ...(range ? { range } : {}), ...(signal ? { signal } : {}) }),
    };
  }

  /** Unlink a blob from the repository. Its bytes go when nothing references them (garbage collection). */
  async deleteBlob(repo: Repository, digest: Digest): Promise<void> {
    if (!(await this.meta.blobs.unlink(repo.row.id, digest))) throw blobUnknown(digest);
  }

  /**
   * Link a blob that `source` holds into `target` without moving bytes. Returns false when the
   * source does not hold it (the caller then falls back to an ordinary upload).
   */
  async mountBlob(target: Repository, source: Repository, digest: Digest): Promise<{ size: number } | undefined> {
    // One transaction: garbage collection re-checks links under the same lock, so it either sees
    // the new link (and keeps the blob) or has already removed the row (and the mount finds nothing).
    return this.meta.transaction(async (tx) => {
      await tx.gc.lockBlobsShared();
      const size = await tx.blobs.linkedSize(source.row.id, digest);
      if (size === undefined || !(await this.blobs.stat(digest))) return undefined;
      await tx.blobs.link(target.row.id, digest, this.now());
      return { size };
    });
  }

  // ---- upload sessions ---------------------------------------------------------------------

  async startUpload(repo: Repository): Promise<UploadId> {
    const id = randomUUID() as UploadId;
    await this.blobs.beginUpload(id);
    await this.meta.uploads.create(id, repo.row.id, this.now());
    return id;
  }

  /** Bytes received so far by an upload session of this repository. Throws UPLOAD_NOT_FOUND. */
  async uploadStatus(repo: Repository, id: string): Promise<{ size: number }> {
    const uploadId = await this.ownUpload(repo, id);
    return { size: await this.blobs.uploadSize(uploadId) };
  }

  /**
   * Append a chunk. `offset` is where the client says it starts (from `Content-Range`), or
   * undefined for a streamed PATCH that continues wherever the session is.
   */
  async appendUpload(
    repo: Repository,
    id: string,
    chunk: Readable,
    opts: { offset?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<{ size: number }> {
    const uploadId = await this.ownUpload(repo, id);
    return this.asWriter(uploadId, () => this.append(uploadId, chunk, opts));
  }

  private async append(uploadId: UploadId, chunk: Readable, opts: { offset?: number; length?: number; signal?: AbortSignal }): Promise<{ size: number }> {
    const offset = opts.offset ?? (await this.blobs.uploadSize(uploadId));
    const size = await this.blobs.append(uploadId, offset, chunk, {
      ...(opts.length !== undefined ? { expectedLength: opts.length } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { size };
  }

  /**
   * Verify and publish an upload session's bytes as `digest`, and link the blob to the repository.
   * The blob is recorded under the lock garbage collection deletes under, after making sure its
   * file is (still, or again) in place: a collection that removed the file between publishing and
   * recording cannot leave a row without its file (docs/architecture.md, "Garbage collection").
   */
  async completeUpload(repo: Repository, id: string, digest: Digest): Promise<{ size: number }> {
    const uploadId = await this.ownUpload(repo, id);
    return this.asWriter(uploadId, () => this.complete(repo, uploadId, digest));
  }

  private async complete(repo: Repository, uploadId: UploadId, digest: Digest): Promise<{ size: number }> {
    return this.blobs.commit(uploadId, digest, async (published) => {
      await this.meta.transaction(async (tx) => {
        await tx.gc.lockBlobsShared();
        await published.ensure();
        const now = this.now();
        await tx.blobs.record(digest, published.size, now);
        await tx.blobs.link(repo.row.id, digest, now);
        await tx.uploads.delete(uploadId);
      });
    });
  }

  /**
   * Run `write` as the one request writing to the session, on any node: the session's row names
   * its writer (a lease renewed while it runs). A second write meanwhile, through this node or
   * another, is refused (UPLOAD_INVALID) instead of both being acknowledged with one of them lost.
   * A node that dies mid-write holds the session until the lease runs out.
   */
  private async asWriter<T>(uploadId: UploadId, write: () => Promise<T>): Promise<T> {
    const writer = randomUUID();
    const claim = () => this.meta.uploads.claimWriter(uploadId, writer, this.now(), this.now() + UPLOAD_WRITER_LEASE_MS);
    if (!(await claim())) {
      throw new BerthError('UPLOAD_INVALID', 'another request is writing to this upload session; wait for it to end, then continue from the size the session reports');
    }
    const renew = setInterval(() => void claim().catch(() => undefined), UPLOAD_WRITER_LEASE_MS / 3);
    renew.unref();
    try {
      return await write();
    } finally {
      clearInterval(renew);
      await this.meta.uploads.releaseWriter(uploadId, writer).catch(() => undefined);
    }
  }

  async cancelUpload(repo: Repository, id: string): Promise<void> {
    const uploadId = await this.ownUpload(repo, id);
    await this.meta.uploads.delete(uploadId);
    await this.blobs.abort(uploadId);
  }

  /** A whole blob in one request (POST with `digest`): stream, verify, publish, link. */
  async putBlob(repo: Repository, digest: Digest, body: Readable, opts: { length?: number; signal?: AbortSignal } = {}): Promise<{ size: number }> {
    // A session of its own that no other request knows of: no writer to claim.
    const id = await this.startUpload(repo);
    try {
      await this.append(id, body, { offset: 0, ...opts });
      return await this.complete(repo, id, digest);
    } catch (err) {
      await this.cancelUpload(repo, id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Remove upload sessions idle for longer than `ttlMs` (a client that never came back, or a
   * session cut off by a crash), and stored bytes with no session, which a crash between storing
   * and recording a session leaves behind. Files younger than `ttlMs` are left alone, so a
   * session being opened right now is never raced.
   */
  async sweepUploads(ttlMs: number): Promise<{ removed: number }> {
    const cutoff = this.now() - ttlMs;
    const sessions = new Map((await this.meta.uploads.list()).map((u) => [u.id, u.createdAt]));
    let removed = 0;
    for (const file of await this.blobs.listUploads()) {
      const createdAt = sessions.get(file.id);
      sessions.delete(file.id);
      if (Math.max(file.modifiedAt, createdAt ?? 0) >= cutoff) continue;
      await this.meta.uploads.delete(file.id);
      await this.blobs.abort(file.id);
      removed++;
    }
    // Sessions whose bytes are gone (never written, or lost) cannot complete.
    for (const [id, createdAt] of sessions) {
      if (createdAt < cutoff) {
        await this.meta.uploads.delete(id);
        removed++;
      }
    }
    return { removed };
  }

  private async ownUpload(repo: Repository, id: string): Promise<UploadId> {
    const upload = /^[0-9a-f-]{36}$/.test(id) ? await this.meta.uploads.get(id) : undefined;
    if (!upload || upload.repositoryId !== repo.row.id) {
      throw new BerthError('UPLOAD_NOT_FOUND', `upload session ${id.slice(0, 64)} does not exist in repository ${repo.name}`);
    }
    return id as UploadId;
  }

  // ---- manifests and tags ------------------------------------------------------------------

  async getManifest(repo: Repository, ref: ManifestRef): Promise<ManifestRow> {
    const row =
      ref.kind === 'tag' ? await this.meta.manifests.getByTag(repo.row.id, ref.tag) : await this.meta.manifests.get(repo.row.id, ref.digest);
    if (!row) {
      throw new BerthError('MANIFEST_NOT_FOUND', `manifest ${ref.kind === 'tag' ? ref.tag : ref.digest} is not in repository ${repo.name}`, {
        ...(ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest }),
      });
    }
    return row;
  }

  /**
   * Store a manifest under its digest and, when `ref` is a tag, point the tag at it; without `ref`
   * (ECR PutImage without imageTag) it is stored untagged. Every blob it references must be linked
   * to the repository with the declared size (else MANIFEST_BLOB_UNKNOWN), and every child of an
   * index must be stored in it (MANIFEST_CHILD_UNKNOWN); the subject need not exist
   * (distribution-spec v1.1). Both doors push through here, so both get the same rules; `opts`
   * adds what only ECR's PutImage checks. Storing the manifest and moving the tag happen in one
   * transaction: a reader sees the old state or the new one. Storing a manifest that exists keeps
   * its first push time. Also throws MANIFEST_INVALID, MANIFEST_TOO_LARGE, DIGEST_INVALID,
   * TAG_IMMUTABLE, LIMIT_EXCEEDED, and with `opts` IMAGE_DIGEST_MISMATCH and IMAGE_EXISTS.
   */
  async putManifest(
    repo: Repository,
    ref: ManifestRef | undefined,
    body: Buffer,
    contentType: string | undefined,
    opts: PutManifestOptions = {},
  ): Promise<PutManifestResult> {
    if (body.length > this.options.maxManifestBytes) {
      throw new BerthError('MANIFEST_TOO_LARGE', `manifest is ${body.length} bytes; the limit is ${this.options.maxManifestBytes}`, {
        limit: this.options.maxManifestBytes,
      });
    }
    const parsed = parseManifest(body, contentType, { requireMediaType: opts.requireMediaType ?? false });
    const named = ref?.kind === 'digest' ? ref.digest : opts.expectedDigest;
    const digest = digestOf(body, named ? digestAlgorithm(named) : 'sha256');
    if (ref?.kind === 'digest' && ref.digest !== digest) {
      throw new BerthError('DIGEST_INVALID', `manifest body has digest ${digest}, not ${ref.digest}`);
    }
    if (opts.expectedDigest !== undefined && opts.expectedDigest !== digest) {
      throw new BerthError('IMAGE_DIGEST_MISMATCH', `The manifest has digest '${digest}', not the imageDigest '${opts.expectedDigest}' given`, {
        digest,
      });
    }
    const now = this.now();
    return this.inTx(repo.origin, async (tx, emit) => {
      // Pushes, tag moves and deletes of this repository one at a time; garbage collection's
      // deletions wait for the push (or it for them) so it never sees a half-checked manifest.
      const locked = await this.lockRepository(tx, repo);
      await tx.gc.lockBlobsShared();
      const sizes = await tx.blobs.linkedSizes(
        repo.row.id,
        parsed.blobs.map((d) => d.digest),
      );
      for (const blob of parsed.blobs) {
        const size = sizes.get(blob.digest);
        if (size === undefined && opts.blobsPending) continue;
        if (size === undefined) {
          throw new BerthError('MANIFEST_BLOB_UNKNOWN', `blob ${blob.digest} is not in repository ${repo.name}; push it before the manifest`, {
            digest: blob.digest,
          });
        }
        if (size !== blob.size) {
          throw new BerthError('MANIFEST_INVALID', `descriptor of ${blob.digest} says ${blob.size} bytes; the blob has ${size}`, {
            digest: blob.digest,
          });
        }
      }
      const present = await tx.manifests.existing(
        repo.row.id,
        parsed.children.map((d) => d.digest),
      );
      for (const child of parsed.children) {
        if (!present.has(child.digest)) {
          throw new BerthError('MANIFEST_CHILD_UNKNOWN', `manifest ${child.digest} listed by the index is not in repository ${repo.name}; push it first`, {
            digest: child.digest,
          });
        }
      }
      const imageSize =
        parsed.children.length > 0
          ? Math.max(0, ...(await tx.manifests.imageSizes(repo.row.id, parsed.children.map((d) => d.digest))).values())
          : parsed.layers.reduce((sum, d) => sum + d.size, 0);
      const created = await tx.manifests.put(
        {
          repositoryId: repo.row.id,
          digest,
          mediaType: parsed.mediaType,
          artifactType: parsed.artifactType ?? null,
          subject: parsed.subject?.digest ?? null,
          size: body.length,
          body,
          annotations: parsed.annotations ?? null,
          pushedAt: now,
          imageSize,
          configMediaType: parsed.config?.mediaType ?? null,
          lastPulledAt: null,
        },
        [
          ...parsed.blobs.map((d) => ({ childDigest: d.digest, childKind: 'blob' as const })),
          ...parsed.children.map((d) => ({ childDigest: d.digest, childKind: 'manifest' as const })),
        ],
      );
      const maxImages = this.options.maxImagesPerRepository ?? 100_000;
      if (created && (await tx.manifests.count(repo.row.id)) > maxImages) {
        throw new BerthError('LIMIT_EXCEEDED', `repository ${repo.name} already holds the maximum of ${maxImages} images`, { limit: maxImages });
      }
      const tag = ref?.kind === 'tag' ? ref.tag : undefined;
      // ECR PutImage: "the image has already been pushed, and there were no changes to the manifest
      // or image tag" (ImageAlreadyExistsException). The OCI door accepts such a push as a no-op.
      if (opts.refuseUnchanged && !created && (tag === undefined || (await tx.tags.get(repo.row.id, tag)) === digest)) {
        throw new BerthError(
          'IMAGE_EXISTS',
          `Image with digest '${digest}'${tag !== undefined ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repo.name}' in registry with id '${repo.accountId}'`,
          { digest, ...(tag !== undefined ? { tag } : {}) },
        );
      }
      const previousDigest = tag !== undefined ? await this.moveTag(tx, locked, tag, digest, now) : undefined;
      if (created || (tag !== undefined && previousDigest !== digest)) {
        await emit({
          type: 'image.pushed',
          accountId: repo.accountId,
          repository: repo.name,
          digest,
          mediaType: parsed.mediaType,
          artifactType: parsed.artifactType ?? null,
          created,
          ...(tag !== undefined ? { tag } : {}),
          ...(previousDigest !== undefined && previousDigest !== digest ? { previousDigest } : {}),
          ...(parsed.subject ? { subject: parsed.subject.digest } : {}),
        });
      }
      return { digest, mediaType: parsed.mediaType, created, ...(parsed.subject ? { subject: parsed.subject.digest } : {}) };
    });
  }

  /** Point `tag` at `digest`; returns the digest it pointed at before, if any. */
  private async moveTag(tx: MetadataStore, repo: Repository, tag: Tag, digest: Digest, now: number): Promise<string | undefined> {
    const current = await tx.tags.get(repo.row.id, tag);
    if (current === digest) return current;
    if (current !== undefined && isTagImmutable(repo.row, tag)) {
      throw new BerthError(
        'TAG_IMMUTABLE',
        `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the repository is immutable.`,
        { tag },
      );
    }
    const maxTags = this.options.maxTagsPerImage ?? 1000;
    if ((await tx.tags.countOn(repo.row.id, digest)) >= maxTags) {
      throw new BerthError('LIMIT_EXCEEDED', `manifest ${digest} already has the maximum of ${maxTags} tags`, { limit: maxTags });
    }
    await tx.tags.move(repo.row.id, tag, digest, now);
    return current;
  }

  /**
   * Delete by digest removes the manifest and every tag on it; delete by tag removes only the tag
   * (distribution-spec v1.1). A manifest that an index in the repository lists cannot be deleted
   * before the index (as in ECR).
   */
  async deleteManifest(repo: Repository, ref: ManifestRef): Promise<void> {
    if (ref.kind === 'tag') {
      await this.inTx(repo.origin, async (tx, emit) => {
        await this.lockRepository(tx, repo);
        const digest = await tx.tags.get(repo.row.id, ref.tag);
        if (digest === undefined || !(await tx.tags.delete(repo.row.id, ref.tag))) {
          throw new BerthError('MANIFEST_NOT_FOUND', `tag ${ref.tag} is not in repository ${repo.name}`, { tag: ref.tag });
        }
        await emit({ type: 'tag.deleted', accountId: repo.accountId, repository: repo.name, tag: ref.tag, digest });
      });
      return;
    }
    await this.inTx(repo.origin, async (tx, emit) => {
      await this.lockRepository(tx, repo);
      const parents = await tx.manifests.parents(repo.row.id, ref.digest);
      if (parents.length > 0) {
        throw new BerthError('MANIFEST_REFERENCED', `manifest ${ref.digest} is listed by index ${parents[0]}; delete the index first`, {
          digest: ref.digest,
          index: parents[0],
        });
      }
      const tags = (await tx.tags.forDigests(repo.row.id, [ref.digest])).get(ref.digest) ?? [];
      if (!(await tx.manifests.delete(repo.row.id, ref.digest))) {
        throw new BerthError('MANIFEST_NOT_FOUND', `manifest ${ref.digest} is not in repository ${repo.name}`, { digest: ref.digest });
      }
      await emit({ type: 'image.deleted', accountId: repo.accountId, repository: repo.name, digest: ref.digest, tags });
    });
  }

  /**
   * ECR BatchDeleteImage for one image id. By digest: the manifest and every tag on it go. By tag
   * (with or without its digest): only the tag goes, unless it was the manifest's last tag, in which
   * case the manifest goes with it (ECR API reference, BatchDeleteImage). Either way a manifest that
   * an index in the repository lists stays, and nothing changes (`referenced`): the index must go
   * first. One transaction per id, so a failure leaves that id as it was.
   */
  async deleteImage(repo: Repository, id: ImageId): Promise<DeleteImageResult> {
    return this.inTx(repo.origin, async (tx, emit): Promise<DeleteImageResult> => {
      await this.lockRepository(tx, repo);
      let digest: Digest;
      let lastTag = true;
      if (id.kind === 'tag') {
        const pointed = (await tx.tags.get(repo.row.id, id.tag)) as Digest | undefined;
        if (pointed === undefined) return { ok: false, reason: 'not-found' };
        if (id.digest !== undefined && id.digest !== pointed) return { ok: false, reason: 'tag-digest-mismatch' };
        digest = pointed;
        lastTag = (await tx.tags.countOn(repo.row.id, digest)) === 1;
      } else {
        digest = id.digest;
        if (!(await tx.manifests.existing(repo.row.id, [digest])).has(digest)) return { ok: false, reason: 'not-found' };
      }
      if (!lastTag && id.kind === 'tag') {
        await tx.tags.delete(repo.row.id, id.tag);
        await emit({ type: 'tag.deleted', accountId: repo.accountId, repository: repo.name, tag: id.tag, digest });
        return { ok: true, digest, manifestDeleted: false };
      }
      const parents = await tx.manifests.parents(repo.row.id, digest);
      if (parents.length > 0) return { ok: false, reason: 'referenced', index: parents[0] as Digest };
      const tags = (await tx.tags.forDigests(repo.row.id, [digest])).get(digest) ?? [];
      await tx.manifests.delete(repo.row.id, digest);
      await emit({ type: 'image.deleted', accountId: repo.accountId, repository: repo.name, digest, tags });
      return { ok: true, digest, manifestDeleted: true };
    });
  }

  /** Note a pull of the manifest `digest` by `principalArn` (ECR lastRecordedPullTime); written in batches. */
  recordPull(repo: Repository, digest: Digest, principalArn: string): void {
    this.pulls.record({ accountId: repo.accountId, repositoryId: repo.row.id, digest, principalArn, at: this.now() });
    this.events.emit(this.stamp({ type: 'image.pulled', accountId: repo.accountId, repository: repo.name, digest, principalArn }, repo.origin));
  }

  /** Write the pull times recorded so far now, rather than at the next interval. */
  async flushPullTimes(): Promise<void> {
    await this.pulls.flush();
  }

  async listTags(repo: Repository, page: { after?: string; limit: number }): Promise<string[]> {
    return this.meta.tags.list(repo.row.id, page);
  }

  /** The OCI image index of manifests whose `subject` is `digest` (distribution-spec v1.1, referrers API). */
  async referrers(repo: Repository, digest: Digest, artifactType?: string): Promise<ReferrersIndex> {
    // Archived referrers are not pullable (404), so the OCI listing leaves them out as ECR's
    // ListImageReferrers does by default.
    const rows = (await this.meta.manifests.referrers(repo.row.id, digest, artifactType)).filter((row) => row.imageStatus === undefined || row.imageStatus === 'ACTIVE');
    return {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: rows.map((row) => ({
        mediaType: row.mediaType,
        digest: row.digest as Digest,
        size: row.size,
        ...(row.artifactType ? { artifactType: row.artifactType } : {}),
        ...(row.annotations ? { annotations: row.annotations } : {}),
      })),
    };
  }
}

/**
 * Whether a tag may not move, under the repository's mode and its exclusion filters (WILDCARD:
 * `*` matches any run of characters, the whole tag must match).
 */
export function isTagImmutable(row: RepositoryRow, tag: string): boolean {
  const excluded = () => (row.tagMutabilityExclusions ?? []).some((f) => wildcardMatch(f.filter, tag));
  switch (row.tagMutability) {
    case 'MUTABLE':
      return false;
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded();
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded();
  }
}

export function wildcardMatch(pattern: string, value: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`).test(value);
}

const TAG_CACHE_TTL_MS = 5_000;
/** How long a presigned blob URL of a redirected download works (ECR's are valid for an hour). */
const REDIRECT_TTL_SECONDS = 3600;

/**
 * How long a write holds an upload session (renewed every third of it while it runs): what the
 * write of a node that died blocks the session for, on the other nodes. A single node gives its
 * sessions back when it starts (app.ts).
 */
const UPLOAD_WRITER_LEASE_MS = 60_000;

function blobUnknown(digest: Digest): BerthError {
  return new BerthError('BLOB_NOT_FOUND', `blob ${digest} is not in this repository`, { digest });
}

/** RFC 9110 byte ranges: `start-end`, `start-` and the suffix form `-n`. */
function resolveRange(range: { start?: number; end?: number }, size: number): ByteRange {
  let start: number;
  let end: number;
  if (range.start === undefined) {
    const suffix = range.end ?? 0;
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) throw new BerthError('RANGE_INVALID', 'range is not satisfiable', { size });
  } else {
    start = range.start;
    end = Math.min(range.end ?? size - 1, size - 1);
  }
  if (start >= size || start > end) throw new BerthError('RANGE_INVALID', `range is not satisfiable for a blob of ${size} bytes`, { size });
  return { start, end };
}
