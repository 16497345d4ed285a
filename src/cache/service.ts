import { PassThrough, type Readable } from 'node:stream';
import { BerthError, isBerthError, type AccountId, type Digest, type ManifestRef, type RepositoryName, type RequestContext } from '../core/index.js';
import type { EventBus } from '../events/index.js';
import { parseManifest, type BlobReader, type Registry, type Repository } from '../registry/index.js';
import type { SecretStore } from '../secrets/index.js';
import type { BlobStore } from '../storage/blobs/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import type { TemplateService } from '../templates/index.js';
import { RegistryClient, isUpstreamError, type FetchedManifest, type RegistryCredentials, type UpstreamError } from '../upstream/index.js';
import { CacheRuleStore, matchRule, upstreamBaseUrl, type CacheRule } from './rules.js';

/** What the door lets the cache ask about the caller: may they do `action` on the repository? */
export interface CacheAccess {
  /** Throws ACCESS_DENIED when the caller may not. */
  authorize(action: string): Promise<void>;
  /** The request that pulls: the cached repository is opened for it, so the events of what it stores name it. */
  readonly origin?: RequestContext | undefined;
}

export interface PullThroughCacheOptions {
  meta: MetadataStore;
  registry: Registry;
  blobs: BlobStore;
  templates: TemplateService;
  secrets: SecretStore;
  rules: CacheRuleStore;
  events: EventBus;
  /** Plain-http upstreams allowed (BERTH_ALLOW_HTTP_UPSTREAMS). */
  allowHttp: boolean;
  /** A cached tag is checked upstream again after this long (BERTH_CACHE_FRESHNESS; ECR: 24 h). */
  freshnessMs: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** For tests: every request sent to any upstream. */
  onUpstreamRequest?: (method: string, url: string) => void;
  now?: () => number;
}

const RULE_CACHE_MS = 2000;
const CHILD_CONCURRENCY = 4;
/** After an upstream failed a freshness check, cached tags are served without checks for this long. */
const UNREACHABLE_BACKOFF_MS = 30_000;

function ruleKey(rule: CacheRule): string {
  return `${rule.accountId}/${rule.prefix}`;
}

/**
 * The pull-through cache: on a pull of `<prefix>/<upstream path>` that misses, the repository is
 * created (templates with PULL_THROUGH_CACHE), the manifest is fetched from the rule's upstream
 * (an index with all its child manifests, as ECR does) and stored with its blobs pending; each
 * blob is fetched when first pulled, streamed to that client while it is written to the blob
 * store (with digest verification), once however many clients ask at the same time. Tags are
 * checked upstream again after the freshness period; an unreachable upstream leaves the cached
 * copy in service. The OCI door calls `ensureManifest`, `openBlob` and `statBlob` (src/oci/).
 */
export class PullThroughCache {
  private readonly ruleCache = new Map<string, { rules: CacheRule[]; expires: number }>();
  private readonly clients = new Map<string, RegistryClient>();
  private readonly manifestFlights = new Map<string, Promise<void>>();
  /** Rules whose upstream failed a tag check just now, until when checks are skipped. */
  private readonly unreachableUntil = new Map<string, number>();
  private readonly fills = new Map<string, Promise<BlobFill>>();
  private readonly now: () => number;

  constructor(private readonly o: PullThroughCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Whether rules may name plain-http upstreams (BERTH_ALLOW_HTTP_UPSTREAMS). */
  get allowsHttp(): boolean {
    return this.o.allowHttp;
  }

  /** Forget cached rules of an account (after a rule changed). */
  invalidate(accountId: string): void {
    this.ruleCache.delete(accountId);
    for (const key of this.clients.keys()) if (key.startsWith(`${accountId}/`)) this.clients.delete(key);
  }

  async rulesOf(accountId: string): Promise<CacheRule[]> {
    const hit = this.ruleCache.get(accountId);
    if (hit && hit.expires > this.now()) return hit.rules;
    const rules = await this.o.rules.list(accountId);
    this.ruleCache.set(accountId, { rules, expires: this.now() + RULE_CACHE_MS });
    return rules;
  }

  /** The rule covering `name` and the upstream repository it maps to, or undefined. */
  async resolve(accountId: string, name: string): Promise<{ rule: CacheRule; upstreamRepo: string } | undefined> {
    const rules = await this.rulesOf(accountId);
    return rules.length === 0 ? undefined : matchRule(rules, name);
  }

  /** A client for the rule's upstream with the rule's credentials (read from its secret on each token or Basic use). */
  clientFor(rule: CacheRule): RegistryClient {
    const key = `${rule.accountId}/${rule.prefix}/${rule.updatedAt}`;
    let client = this.clients.get(key);
    if (!client) {
      const credentialArn = rule.credentialArn;
      client = new RegistryClient({
        baseUrl: upstreamBaseUrl(rule),
        allowHttp: this.o.allowHttp,
        userAgent: 'berth-pull-through-cache',
        ...(credentialArn ? { credentials: () => this.credentials(rule.accountId, credentialArn) } : {}),
        ...(this.o.onUpstreamRequest ? { onRequest: this.o.onUpstreamRequest } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** The `{"username","accessToken"}` of a pull-through cache secret (ECR's format). */
  async credentials(accountId: string, arn: string): Promise<RegistryCredentials> {
    const { value } = await this.o.secrets.getValue(accountId, arn);
    if (value.kind !== 'string') throw new BerthError('INVALID_PARAMETER', `secret ${arn} holds a binary value; ECR expects {"username","accessToken"}`);
    let parsed: { username?: unknown; accessToken?: unknown };
    try {
      parsed = JSON.parse(value.value) as typeof parsed;
    } catch {
      throw new BerthError('INVALID_PARAMETER', `secret ${arn} is not JSON; ECR expects {"username","accessToken"}`);
    }
    if (typeof parsed.username !== 'string' || typeof parsed.accessToken !== 'string') {
      throw new BerthError('INVALID_PARAMETER', `secret ${arn} lacks username or accessToken`);
    }
    return { username: parsed.username, password: parsed.accessToken };
  }

  // ---- manifests ------------------------------------------------------------------------------

  /**
   * Make manifest `ref` of `name` available in the registry when a cache rule covers `name`:
   * create the repository (the caller needs ecr:CreateRepository, else REPOSITORY_NOT_FOUND),
   * fetch a missing manifest or re-check a stale tag (the caller needs
   * ecr:BatchImportUpstreamImage, else the image is not found). Does nothing for other names.
   * When the upstream fails and a cached copy exists, the cached copy stays and no error is
   * thrown; without one: MANIFEST_NOT_FOUND (not upstream) or INTERNAL/THROTTLED (unreachable).
   */
  async ensureManifest(access: CacheAccess, accountId: AccountId, name: RepositoryName, ref: ManifestRef): Promise<void> {
    const match = await this.resolve(accountId, name);
    if (!match) return;
    // The pull itself first, so that a caller who may not pull learns nothing about the cache.
    await access.authorize('ecr:BatchGetImage');
    const repo = await this.openOrCreate(access, accountId, name);
    let localDigest: string | undefined;
    if (ref.kind === 'digest') {
      if (await this.o.meta.manifests.get(repo.row.id, ref.digest)) return;
    } else {
      localDigest = await this.o.meta.tags.get(repo.row.id, ref.tag);
      if (localDigest !== undefined) {
        const checked = await this.checkedAt(repo.row.id, ref.tag);
        // A tag pushed to this registry (not imported by the cache) is never replaced from upstream.
        if (checked === undefined || this.now() - checked < this.o.freshnessMs) return;
        // The upstream failed a moment ago: serve the cached tag without waiting on it again.
        if ((this.unreachableUntil.get(ruleKey(match.rule)) ?? 0) > this.now()) return;
      }
    }
    try {
      await access.authorize('ecr:BatchImportUpstreamImage');
    } catch (err) {
      if (localDigest !== undefined || !isBerthError(err, 'ACCESS_DENIED')) return;
      throw new BerthError('MANIFEST_NOT_FOUND', `manifest ${ref.kind === 'tag' ? ref.tag : ref.digest} is not in repository ${name}`);
    }
    const key = `${repo.row.id}@${ref.kind === 'tag' ? ref.tag : ref.digest}`;
    let flight = this.manifestFlights.get(key);
    if (!flight) {
      flight = this.fetchManifest(repo, match, ref, localDigest).finally(() => this.manifestFlights.delete(key));
      this.manifestFlights.set(key, flight);
    }
    await flight;
  }

  private async openOrCreate(access: CacheAccess, accountId: AccountId, name: RepositoryName): Promise<Repository> {
    try {
      return await this.o.registry.repository(accountId, name, { origin: access.origin });
    } catch (err) {
      if (!isBerthError(err, 'REPOSITORY_NOT_FOUND')) throw err;
      // ECR: without ecr:CreateRepository the pull fails as if the repository did not exist.
      try {
        await access.authorize('ecr:CreateRepository');
      } catch (denied) {
        if (isBerthError(denied, 'ACCESS_DENIED')) throw err;
        throw denied;
      }
      try {
        const repo = await this.o.templates.createRepository(accountId, name, 'PULL_THROUGH_CACHE', access.origin);
        this.o.log.info({ accountId, repository: name }, 'pull-through cache repository created');
        return repo;
      } catch (createErr) {
        // Another pull created it at the same time.
        if (isBerthError(createErr, 'REPOSITORY_EXISTS')) return this.o.registry.repository(accountId, name, { origin: access.origin });
        throw createErr;
      }
    }
  }

  private async fetchManifest(repo: Repository, match: { rule: CacheRule; upstreamRepo: string }, ref: ManifestRef, localDigest: string | undefined): Promise<void> {
    const client = this.clientFor(match.rule);
    const upstream = match.upstreamRepo;
    try {
      if (ref.kind === 'tag' && localDigest !== undefined) {
        // A stale tag: a HEAD tells whether it moved, without moving the manifest.
        const head = await client.headManifest(upstream, ref.tag);
        if (!head || head.digest === localDigest) {
          await this.touch(repo.row.id, ref.tag);
          return;
        }
      }
      const got = await client.getManifest(upstream, ref.kind === 'tag' ? ref.tag : ref.digest);
      await this.storeManifest(repo, client, upstream, got, ref);
      if (ref.kind === 'tag') await this.touch(repo.row.id, ref.tag);
      this.o.events.emit({
        type: 'cache.imported',
        accountId: repo.accountId,
        repository: repo.name,
        digest: got.digest,
        at: this.now(),
        detail: { upstream: `${upstreamBaseUrl(match.rule)}/${upstream}`, reference: ref.kind === 'tag' ? ref.tag : ref.digest, previousDigest: localDigest ?? null },
      });
    } catch (err) {
      if (localDigest !== undefined) {
        // ECR: when the upstream cannot be reached or refuses, the cached copy is served.
        if (isUpstreamError(err, 'UNREACHABLE')) this.unreachableUntil.set(ruleKey(match.rule), this.now() + Math.min(UNREACHABLE_BACKOFF_MS, this.o.freshnessMs));
        this.o.log.warn({ err, repository: repo.name, tag: ref.kind === 'tag' ? ref.tag : undefined }, 'upstream check failed; serving the cached image');
        return;
      }
      throw toBerthError(err, ref);
    }
  }

  private async storeManifest(repo: Repository, client: RegistryClient, upstream: string, got: FetchedManifest, ref: ManifestRef): Promise<void> {
    const parsed = parseManifest(got.body, got.mediaType);
    const missing: Digest[] = [];
    for (const child of parsed.children) {
      if (!(await this.o.meta.manifests.get(repo.row.id, child.digest))) missing.push(child.digest);
    }
    // An index comes with every child manifest (ECR fetches them all); their blobs stay pending.
    for (let i = 0; i < missing.length; i += CHILD_CONCURRENCY) {
      await Promise.all(
        missing.slice(i, i + CHILD_CONCURRENCY).map(async (digest) => {
          const child = await client.getManifest(upstream, digest);
          await this.storeManifest(repo, client, upstream, child, { kind: 'digest', digest });
        }),
      );
    }
    const target: ManifestRef = ref.kind === 'tag' ? ref : { kind: 'digest', digest: got.digest };
    await this.o.registry.putManifest(repo, target, got.body, got.mediaType, { blobsPending: true });
  }

  private async checkedAt(repositoryId: number, tag: string): Promise<number | undefined> {
    const row = await this.o.meta.kysely
      .selectFrom('cache_tags')
      .select('checked_at')
      .where('repository_id', '=', repositoryId)
      .where('tag', '=', tag)
      .executeTakeFirst();
    return row ? Number(row.checked_at) : undefined;
  }

  private async touch(repositoryId: number, tag: string): Promise<void> {
    const now = this.now();
    await this.o.meta.kysely
      .insertInto('cache_tags')
      .values({ repository_id: repositoryId, tag, checked_at: now })
      .onConflict((oc) => oc.columns(['repository_id', 'tag']).doUpdateSet({ checked_at: now }))
      .execute();
  }

  // ---- blobs ------------------------------------------------------------------------------------

  /**
   * A blob the repository lacks but one of its cached manifests references: fetch it (or join the
   * fetch in progress) and return a reader that streams it to the client as it arrives, or
   * undefined when the cache has nothing to do with it (the door then answers BLOB_NOT_FOUND).
   */
  async openBlob(access: CacheAccess, repo: Repository, digest: Digest, opts: { range?: { start?: number; end?: number } } = {}): Promise<BlobReader | undefined> {
    if (!(await this.covers(repo, digest, access))) return undefined;
    if (await this.linkStored(repo, digest)) return this.o.registry.blobReader(repo, digest, opts);
    const match = (await this.resolve(repo.accountId, repo.name))!;
    let pending = this.fills.get(digest);
    if (!pending) {
      // Registered before the upstream answers, so that concurrent pulls share one request.
      const client = this.clientFor(match.rule);
      pending = client.getBlob(match.upstreamRepo, digest).then(
        (source) => new BlobFill(digest, source, source.size, repo, this.o.registry, this.o.log),
        (err: unknown) => {
          throw toBerthError(err, undefined, digest);
        },
      );
      this.fills.set(digest, pending);
      pending.then(
        (started) => started.done.then(
          () => this.fills.delete(digest),
          () => this.fills.delete(digest),
        ),
        () => this.fills.delete(digest),
      );
    }
    const fill = await pending;
    const reader = opts.range ? undefined : fill.subscribe();
    if (reader) return reader;
    // A range, or bytes already passed: wait for the whole blob, then serve it from the store.
    await fill.done;
    if (!(await this.linkStored(repo, digest))) throw new BerthError('BLOB_NOT_FOUND', `blob ${digest} could not be fetched from the upstream`, { digest });
    return this.o.registry.blobReader(repo, digest, opts);
  }

  /** Size of a blob the repository lacks but a cached manifest references (HEAD), or undefined. */
  async statBlob(access: CacheAccess, repo: Repository, digest: Digest): Promise<{ size: number } | undefined> {
    if (!(await this.covers(repo, digest, access))) return undefined;
    if (await this.linkStored(repo, digest)) return this.o.registry.statBlob(repo, digest);
    const match = (await this.resolve(repo.accountId, repo.name))!;
    try {
      return await this.clientFor(match.rule).headBlob(match.upstreamRepo, digest);
    } catch (err) {
      throw toBerthError(err, undefined, digest);
    }
  }

  private async covers(repo: Repository, digest: Digest, access: CacheAccess): Promise<boolean> {
    if (!(await this.resolve(repo.accountId, repo.name))) return false;
    if (!(await this.o.meta.manifests.referencesBlob(repo.row.id, digest))) return false;
    try {
      await access.authorize('ecr:BatchImportUpstreamImage');
    } catch (err) {
      if (isBerthError(err, 'ACCESS_DENIED')) return false;
      throw err;
    }
    return true;
  }

  /** Link a blob the store already holds (fetched for another repository) into `repo`. */
  private async linkStored(repo: Repository, digest: Digest): Promise<boolean> {
    return this.o.meta.transaction(async (tx) => {
      if ((await tx.blobs.linkedSize(repo.row.id, digest)) !== undefined) return true;
      await tx.gc.lockBlobs();
      const stat = await this.o.blobs.stat(digest);
      if (!stat) return false;
      const now = this.now();
      await tx.blobs.record(digest, stat.size, now);
      await tx.blobs.link(repo.row.id, digest, now);
      return true;
    });
  }
}

/**
 * One upstream fetch of a blob: bytes go to the blob store's upload path (verified by digest at
 * the commit) and, as they arrive, to every client that subscribed before the first byte. Later
 * clients wait for `done` and read the stored blob.
 */
class BlobFill {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private started = false;
  private readonly subscribers = new Set<{ sink: (chunk: Buffer) => Promise<void>; signal?: AbortSignal }>();
  private readonly fallback: NodeJS.Timeout;

  constructor(
    private readonly digest: Digest,
    private readonly source: Readable,
    private readonly size: number | undefined,
    private readonly repo: Repository,
    private readonly registry: Registry,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
    // Nobody subscribed (the client went away before the body): fill the cache anyway.
    this.fallback = setTimeout(() => this.start(), 1000);
    this.fallback.unref();
  }

  /** A reader that receives the bytes live, or undefined when bytes have already passed. */
  subscribe(): BlobReader | undefined {
    if (this.started || this.size === undefined) return undefined;
    return {
      size: this.size,
      writeTo: (sink, signal) => {
        if (this.started) {
          // Too late for the live stream (possible only between subscribe and writeTo).
          return this.done.then(() => this.registry.blobReader(this.repo, this.digest)).then((r) => r.writeTo(sink, signal));
        }
        const subscriber = { sink, ...(signal ? { signal } : {}) };
        this.subscribers.add(subscriber);
        this.start();
        return this.done;
      },
    };
  }

  /** Send a chunk to every live subscriber; a failed write drops that subscriber only. */
  private deliver(chunk: Buffer): Promise<unknown>[] {
    const waits: Promise<unknown>[] = [];
    for (const s of this.subscribers) {
      if (s.signal?.aborted) {
        this.subscribers.delete(s);
        continue;
      }
      waits.push(
        s.sink(chunk).catch(() => {
          // That client went away; the fill goes on for the cache and the others.
          this.subscribers.delete(s);
        }),
      );
    }
    return waits;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    clearTimeout(this.fallback);
    this.pump().then(this.resolveDone, (err) => {
      this.log.warn({ err, digest: this.digest }, 'pull-through blob fetch failed');
      this.rejectDone(err);
    });
  }

  private async pump(): Promise<void> {
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    // The store may not be reading yet when the fill fails: its read then sees the error; no crash meanwhile.
    body.on('error', () => undefined);
    let storeError: unknown;
    const stored = this.registry.putBlob(this.repo, this.digest, body, this.size !== undefined ? { length: this.size } : {});
    const failed = stored.then(
      () => new Promise<never>(() => undefined),
      (err) => {
        storeError = err;
        throw err;
      },
    );
    failed.catch(() => undefined);
    try {
      // Clients get each chunk one chunk late: the last one only once the whole blob matched its
      // digest, so a client never receives a complete body that was not verified.
      let held: Buffer | undefined;
      for await (const chunk of this.source) {
        if (storeError) throw storeError;
        const waits: Promise<unknown>[] = [];
        if (!body.write(chunk)) waits.push(new Promise((resolve) => body.once('drain', resolve)));
        if (held) waits.push(...this.deliver(held));
        held = chunk as Buffer;
        if (waits.length > 0) await Promise.race([Promise.all(waits), failed]);
      }
      body.end();
      await stored;
      if (held) await Promise.all(this.deliver(held));
    } catch (err) {
      body.destroy(err instanceof Error ? err : new Error(String(err)));
      await stored.catch(() => undefined);
      this.source.destroy();
      throw isUpstreamError(err) ? toBerthError(err, undefined, this.digest) : err;
    }
  }
}

/** An upstream failure as the doors report it. */
function toBerthError(err: unknown, ref?: ManifestRef, digest?: Digest): Error {
  if (!isUpstreamError(err)) return err as Error;
  const e = err as UpstreamError;
  const what = ref ? `manifest ${ref.kind === 'tag' ? ref.tag : ref.digest}` : `blob ${digest}`;
  if (e.kind === 'NOT_FOUND') {
    return ref
      ? new BerthError('MANIFEST_NOT_FOUND', `${what} is not in the upstream registry`, ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest })
      : new BerthError('BLOB_NOT_FOUND', `${what} is not in the upstream registry`, { digest });
  }
  if (e.status === 429) return new BerthError('THROTTLED', `the upstream registry is rate limiting requests for ${what}`);
  return new BerthError('INTERNAL', `the upstream registry could not provide ${what}: ${e.message}`, { upstream: e.kind }, { cause: err });
}
