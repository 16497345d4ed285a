import { Readable, Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  digestAlgorithm,
  digestOf,
  isDigest,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  newHasher,
  type Digest,
} from '../core/index.js';

/**
 * A client for a remote OCI Distribution registry (the pull-through cache's upstreams and
 * replication's peers). Every byte it returns is checked: manifests against the requested digest
 * (or the registry's Docker-Content-Digest), blobs against their digest and size as they stream.
 *
 * Authentication follows the registry's challenge: anonymous first, then Basic, or a Bearer token
 * from the challenge's realm (with the credentials as Basic auth on the token request, and the
 * token cached per scope until it expires). Requests whose body can be replayed are retried with
 * backoff on 429, 5xx and connection errors.
 */

export interface RegistryCredentials {
  username: string;
  password: string;
}

export type CredentialSource = RegistryCredentials | (() => Promise<RegistryCredentials | undefined>);

export interface RegistryClientOptions {
  /** `https://host[:port]` (or `http://` with allowHttp). A path prefix is kept. */
  baseUrl: string;
  credentials?: CredentialSource;
  /** Allow a plain-http baseUrl (off by default; ECR requires https upstreams). */
  allowHttp?: boolean;
  userAgent?: string;
  /** Time to wait for response headers, per attempt. Default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt on 429/5xx/connection errors. Default 3. */
  retries?: number;
  /** First backoff delay; doubles each retry (with jitter). Default 250 ms. */
  retryBaseMs?: number;
  /** For tests: called for every HTTP request sent (method, URL). */
  onRequest?: (method: string, url: string) => void;
}

export type UpstreamErrorKind =
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNREACHABLE'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'PROTOCOL'
  | 'INVALID_URL';

/** What went wrong talking to the upstream. `status` is the HTTP status when there was one. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isUpstreamError(err: unknown, kind?: UpstreamErrorKind): err is UpstreamError {
  return err instanceof UpstreamError && (kind === undefined || err.kind === kind);
}

export interface FetchedManifest {
  body: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface ManifestHead {
  digest: Digest;
  mediaType: string;
  size: number;
}

/** A body that can be sent more than once (so the request can be retried) or a one-shot stream. */
export type BlobBody = Buffer | Readable | (() => Readable | Promise<Readable>);

export interface RequestOptions {
  signal?: AbortSignal;
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const DEFAULT_ACCEPT = [...MANIFEST_MEDIA_TYPES, MediaType.dockerSchema1Signed].join(', ');
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export class RegistryClient {
  readonly baseUrl: string;
  private readonly credentialSource?: CredentialSource;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly onRequest?: (method: string, url: string) => void;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<string>>();

  constructor(opts: RegistryClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new UpstreamError('INVALID_URL', `"${opts.baseUrl}" is not a URL`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && opts.allowHttp)) {
      throw new UpstreamError(
        'INVALID_URL',
        url.protocol === 'http:' ? `plain http upstreams are not allowed (${opts.baseUrl})` : `unsupported URL scheme in ${opts.baseUrl}`,
      );
    }
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.credentialSource = opts.credentials;
    this.userAgent = opts.userAgent ?? 'berth';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.retryBaseMs = opts.retryBaseMs ?? 250;
    this.onRequest = opts.onRequest;
  }

  /** Checks that the registry answers /v2/ and accepts the credentials (a token for `repo` when given). */
  async ping(repo?: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.send('GET', '/v2/', { scope: repo ? scopeFor(repo, 'pull') : undefined, signal: opts.signal });
    await discard(res);
    if (!res.ok) throw await statusError(res, 'registry check');
  }

  /** Fetches a manifest by tag or digest. Throws UpstreamError NOT_FOUND, DIGEST_MISMATCH, ... */
  async getManifest(repo: string, ref: string, accept: string = DEFAULT_ACCEPT, opts: RequestOptions = {}): Promise<FetchedManifest> {
    const res = await this.send('GET', `/v2/${repo}/manifests/${ref}`, {
      scope: scopeFor(repo, 'pull'),
      headers: { accept },
      signal: opts.signal,
    });
    if (!res.ok) throw await statusError(res, `manifest ${repo}:${ref}`);
    const body = await readLimited(res, MAX_MANIFEST_BYTES);
    const header = res.headers.get('docker-content-digest') ?? undefined;
    let digest: Digest;
    if (isDigest(ref)) {
      digest = ref;
      const actual = digestOf(body, digestAlgorithm(ref));
      if (actual !== ref) throw new UpstreamError('DIGEST_MISMATCH', `manifest ${repo}@${ref} has digest ${actual}`);
    } else if (header && isDigest(header)) {
      const actual = digestOf(body, digestAlgorithm(header));
      if (actual !== header) throw new UpstreamError('DIGEST_MISMATCH', `manifest ${repo}:${ref} has digest ${actual}, the registry said ${header}`);
      digest = header;
    } else {
      digest = digestOf(body);
    }
    return { body, mediaType: manifestMediaType(res.headers.get('content-type'), body), digest };
  }

  /** Digest, media type and size of a manifest, or undefined when the registry has none. */
  async headManifest(repo: string, ref: string, accept: string = DEFAULT_ACCEPT, opts: RequestOptions = {}): Promise<ManifestHead | undefined> {
    const res = await this.send('HEAD', `/v2/${repo}/manifests/${ref}`, {
      scope: scopeFor(repo, 'pull'),
      headers: { accept },
      signal: opts.signal,
    });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await statusError(res, `manifest ${repo}:${ref}`);
    const header = res.headers.get('docker-content-digest');
    const contentType = res.headers.get('content-type');
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (header && isDigest(header) && contentType && Number.isFinite(length)) {
      if (isDigest(ref) && header !== ref) throw new UpstreamError('DIGEST_MISMATCH', `manifest ${repo}@${ref} reported as ${header}`);
      return { digest: header, mediaType: manifestMediaType(contentType, undefined), size: length };
    }
    // Some registries leave the digest out of HEAD: fetch the manifest and compute it.
    const got = await this.getManifest(repo, ref, accept, opts);
    return { digest: got.digest, mediaType: got.mediaType, size: got.body.length };
  }

  /** Size of a blob, or undefined when the registry has none. */
  async headBlob(repo: string, digest: Digest, opts: RequestOptions = {}): Promise<{ size: number } | undefined> {
    const res = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`, { scope: scopeFor(repo, 'pull'), signal: opts.signal });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await statusError(res, `blob ${repo}@${digest}`);
    return { size: Number(res.headers.get('content-length') ?? 0) };
  }

  /**
   * Streams a blob. The stream errors at its end (UpstreamError DIGEST_MISMATCH or SIZE_MISMATCH)
   * when the bytes do not match `digest` or the expected size (`opts.size`, else Content-Length).
   */
  async getBlob(repo: string, digest: Digest, opts: RequestOptions & { size?: number } = {}): Promise<Readable & { size?: number }> {
    const res = await this.send('GET', `/v2/${repo}/blobs/${digest}`, { scope: scopeFor(repo, 'pull'), signal: opts.signal });
    if (!res.ok) throw await statusError(res, `blob ${repo}@${digest}`);
    const length = res.headers.get('content-length');
    const size = opts.size ?? (length !== null ? Number(length) : undefined);
    if (opts.size !== undefined && length !== null && Number(length) !== opts.size) {
      await discard(res);
      throw new UpstreamError('SIZE_MISMATCH', `blob ${digest} is ${length} bytes upstream, expected ${opts.size}`);
    }
    const source = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream) : Readable.from([]);
    const verified = source.pipe(new VerifyStream(digest, size));
    source.on('error', (err) => verified.destroy(new UpstreamError('UNREACHABLE', `reading blob ${digest}: ${err.message}`, undefined, { cause: err })));
    // An upstream that stops sending mid-blob fails the stream after timeoutMs without data
    // (time the consumer holds the stream back does not count).
    const timeoutMs = this.timeoutMs;
    const idle = setTimeout(function check() {
      if (source.readableFlowing === false) {
        idle.refresh();
        return;
      }
      verified.destroy(new UpstreamError('UNREACHABLE', `blob ${digest}: no data from the upstream for ${timeoutMs} ms`));
      source.destroy();
    }, timeoutMs);
    idle.unref();
    source.on('data', () => idle.refresh());
    source.once('close', () => clearTimeout(idle));
    verified.once('close', () => clearTimeout(idle));
    // A small blob can fail verification before its consumer attaches: the consumer still sees
    // the error (the stream is destroyed with it), but it must not crash the process meanwhile.
    verified.on('error', () => undefined);
    return Object.assign(verified, { size });
  }

  /** Cross-repository mount. True when the registry mounted the blob; false when it did not (the opened upload is cancelled). */
  async mountBlob(repo: string, digest: Digest, fromRepo: string, opts: RequestOptions = {}): Promise<boolean> {
    const path = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`;
    const res = await this.send('POST', path, {
      scope: `${scopeFor(repo, 'pull,push')} ${scopeFor(fromRepo, 'pull')}`,
      headers: { 'content-length': '0' },
      signal: opts.signal,
    });
    await discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      const location = res.headers.get('location');
      if (location) {
        const cancel = await this.send('DELETE', this.resolveLocation(location), { scope: scopeFor(repo, 'pull,push'), signal: opts.signal }).catch(() => undefined);
        if (cancel) await discard(cancel);
      }
      return false;
    }
    throw await statusError(res, `mount of ${digest} into ${repo}`);
  }

  /**
   * Uploads a blob: POST to open an upload, then one streaming PUT with the digest. A Buffer or a
   * function returning a fresh stream can be retried; a bare Readable is sent once. Resolves when
   * the registry has accepted the blob (it verifies the digest).
   */
  async pushBlob(repo: string, digest: Digest, size: number, body: BlobBody, opts: RequestOptions = {}): Promise<void> {
    const scope = scopeFor(repo, 'pull,push');
    const attempts = typeof body === 'function' || Buffer.isBuffer(body) ? this.retries + 1 : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(this.backoff(attempt), undefined, { signal: opts.signal });
      const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, { scope, headers: { 'content-length': '0' }, signal: opts.signal });
      await discard(start);
      if (start.status !== 202) throw await statusError(start, `upload to ${repo}`);
      const location = start.headers.get('location');
      if (!location) throw new UpstreamError('PROTOCOL', `upload to ${repo}: no Location header`);
      const target = new URL(this.resolveLocation(location), this.baseUrl);
      target.searchParams.set('digest', digest);
      const payload = Buffer.isBuffer(body) ? body : typeof body === 'function' ? await body() : body;
      try {
        const put = await this.send('PUT', target.toString(), {
          scope,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          body: payload,
          retry: false,
          signal: opts.signal,
        });
        if (put.status === 201) {
          await discard(put);
          return;
        }
        lastError = await statusError(put, `upload of ${digest} to ${repo}`);
        if (!RETRY_STATUSES.has(put.status)) throw lastError;
      } catch (err) {
        if (!isUpstreamError(err, 'UNREACHABLE') && !RETRY_STATUSES.has((err as UpstreamError).status ?? 0)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  /** Puts a manifest under a tag or digest; returns its digest (the registry's, checked against the body). */
  async putManifest(repo: string, ref: string, body: Buffer, mediaType: string, opts: RequestOptions = {}): Promise<Digest> {
    const res = await this.send('PUT', `/v2/${repo}/manifests/${ref}`, {
      scope: scopeFor(repo, 'pull,push'),
      headers: { 'content-type': mediaType },
      body,
      signal: opts.signal,
    });
    await discard(res);
    if (res.status !== 201 && res.status !== 200) throw await statusError(res, `manifest ${repo}:${ref}`);
    const computed = digestOf(body);
    const header = res.headers.get('docker-content-digest');
    if (header && isDigest(header) && digestOf(body, digestAlgorithm(header)) !== header) {
      throw new UpstreamError('DIGEST_MISMATCH', `registry stored ${repo}:${ref} as ${header}, the body is ${computed}`);
    }
    return header && isDigest(header) ? header : computed;
  }

  /** All tags of a repository (follows Link pagination). Throws NOT_FOUND when the repository is unknown. */
  async listTags(repo: string, opts: RequestOptions = {}): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list`;
    while (path) {
      const res = await this.send('GET', path, { scope: scopeFor(repo, 'pull'), signal: opts.signal });
      if (!res.ok) throw await statusError(res, `tags of ${repo}`);
      const json = JSON.parse((await readLimited(res, 64 * 1024 * 1024)).toString('utf8')) as { tags?: string[] | null };
      tags.push(...(json.tags ?? []));
      path = nextLink(res.headers.get('link'));
    }
    return tags;
  }

  private resolveLocation(location: string): string {
    return new URL(location, `${this.baseUrl}/`).toString();
  }

  private backoff(attempt: number, retryAfter?: string | null): number {
    const after = retryAfter ? Number(retryAfter) : NaN;
    if (Number.isFinite(after) && after >= 0) return Math.min(after * 1000, 10_000);
    const base = this.retryBaseMs * 2 ** (attempt - 1);
    return base / 2 + Math.random() * base;
  }

  /**
   * One request with authentication and retries. `path` is absolute (`/v2/...`) or a full URL.
   * On 401 it learns the challenge and tries once more with credentials or a token.
   */
  private async send(
    method: string,
    path: string,
    req: { scope?: string; headers?: Record<string, string>; body?: Buffer | Readable; retry?: boolean; signal?: AbortSignal },
  ): Promise<Response> {
    const url = path.startsWith('http:') || path.startsWith('https:') ? path : `${this.baseUrl}${path}`;
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    const maxAttempts = req.retry === false || !replayable ? 1 : this.retries + 1;
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
      const authorization = await this.authorization(req.scope, req.signal);
      if (authorization) headers.authorization = authorization;
      let res: Response;
      try {
        res = await this.fetchOnce(method, url, headers, req.body, req.signal);
      } catch (err) {
        if (req.signal?.aborted) throw err;
        if (attempt + 1 < maxAttempts) {
          await sleep(this.backoff(attempt + 1), undefined, { signal: req.signal });
          continue;
        }
        throw new UpstreamError('UNREACHABLE', `${method} ${url}: ${describeFetchError(err)}`, undefined, { cause: err });
      }
      if (res.status === 401 && !authRetried && replayable) {
        const learned = parseChallenge(res.headers.get('www-authenticate'));
        if (learned && (learned.scheme === 'bearer' || (await this.credentials()) !== undefined)) {
          await discard(res);
          this.challenge = learned;
          if (req.scope) this.tokens.delete(req.scope);
          authRetried = true;
          attempt--;
          continue;
        }
      }
      if (RETRY_STATUSES.has(res.status) && attempt + 1 < maxAttempts) {
        await discard(res);
        await sleep(this.backoff(attempt + 1, res.headers.get('retry-after')), undefined, { signal: req.signal });
        continue;
      }
      return res;
    }
  }

  private async fetchOnce(method: string, url: string, headers: Record<string, string>, body: Buffer | Readable | undefined, signal?: AbortSignal): Promise<Response> {
    this.onRequest?.(method, url);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no response within ${this.timeoutMs} ms`)), this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    try {
      const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: combined, redirect: 'follow' };
      if (body !== undefined) {
        init.body = Buffer.isBuffer(body) ? body : (Readable.toWeb(body) as unknown as ReadableStream);
        if (!Buffer.isBuffer(body)) init.duplex = 'half';
      }
      return await fetch(url, init);
    } finally {
      clearTimeout(timer);
    }
  }

  private async credentials(): Promise<RegistryCredentials | undefined> {
    if (!this.credentialSource) return undefined;
    return typeof this.credentialSource === 'function' ? this.credentialSource() : this.credentialSource;
  }

  private async authorization(scope: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.credentials();
      return creds ? basic(creds) : undefined;
    }
    const key = scope ?? '';
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(challenge, scope, signal).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  private async fetchToken(challenge: Challenge, scope: string | undefined, signal?: AbortSignal): Promise<string> {
    if (!challenge.realm) throw new UpstreamError('PROTOCOL', 'Bearer challenge without a realm');
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const s of (scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', s);
    const creds = await this.credentials();
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (creds) headers.authorization = basic(creds);
    let res: Response | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      try {
        res = await this.fetchOnce('GET', url.toString(), headers, undefined, signal);
      } catch (err) {
        if (signal?.aborted || attempt === this.retries) {
          throw new UpstreamError('UNREACHABLE', `token endpoint ${url.origin}: ${describeFetchError(err)}`, undefined, { cause: err });
        }
        await sleep(this.backoff(attempt + 1), undefined, { signal });
        continue;
      }
      if (!RETRY_STATUSES.has(res.status) || attempt === this.retries) break;
      await discard(res);
      await sleep(this.backoff(attempt + 1, res.headers.get('retry-after')), undefined, { signal });
    }
    if (!res!.ok) {
      await discard(res!);
      throw new UpstreamError(res!.status === 401 ? 'UNAUTHORIZED' : 'DENIED', `token endpoint refused (${res!.status})`, res!.status);
    }
    const json = JSON.parse((await readLimited(res!, 1024 * 1024)).toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const token = json.token ?? json.access_token;
    if (!token) throw new UpstreamError('PROTOCOL', 'token endpoint returned no token');
    const lifetime = Math.max(Number(json.expires_in ?? 60), 10) * 1000;
    // Renew a little before the registry would refuse it.
    this.tokens.set(scope ?? '', { token, expiresAt: Date.now() + lifetime - Math.min(10_000, lifetime / 5) });
    return token;
  }
}

/** Verifies digest and byte count while passing bytes through; fails at the end on a mismatch. */
class VerifyStream extends Transform {
  private readonly hash;
  private seen = 0;
  constructor(
    private readonly digest: Digest,
    private readonly size: number | undefined,
  ) {
    super();
    this.hash = newHasher(digestAlgorithm(digest));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.size !== undefined && this.seen > this.size) {
      cb(new UpstreamError('SIZE_MISMATCH', `blob ${this.digest} is longer than ${this.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.size !== undefined && this.seen !== this.size) {
      cb(new UpstreamError('SIZE_MISMATCH', `blob ${this.digest}: got ${this.seen} of ${this.size} bytes`));
      return;
    }
    const actual = `${digestAlgorithm(this.digest)}:${this.hash.digest('hex')}`;
    if (actual !== this.digest) {
      cb(new UpstreamError('DIGEST_MISMATCH', `blob ${this.digest} arrived with digest ${actual}`));
      return;
    }
    cb();
  }
}

/** `repository:<name>:<actions>` */
export function scopeFor(repo: string, actions: string): string {
  return `repository:${repo}:${actions}`;
}

/** Parses the first challenge of a WWW-Authenticate header (Basic or Bearer with its parameters). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (const m of match[2]!.matchAll(re)) params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: 'bearer', realm: params.realm, service: params.service };
}

function basic(creds: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

function manifestMediaType(contentType: string | null, body: Buffer | undefined): string {
  const header = contentType?.split(';')[0]?.trim();
  if (header && header !== 'application/json' && header !== 'text/plain') return header;
  if (body) {
    try {
      const json = JSON.parse(body.toString('utf8')) as { mediaType?: string; schemaVersion?: number; manifests?: unknown };
      if (typeof json.mediaType === 'string') return json.mediaType;
      if (json.schemaVersion === 1) return MediaType.dockerSchema1Signed;
      return json.manifests ? MediaType.ociIndex : MediaType.ociManifest;
    } catch {
      // fall through
    }
  }
  return header ?? MediaType.ociManifest;
}

function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return m ? m[1] : undefined;
}

async function readLimited(res: Response, limit: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > limit) throw new UpstreamError('PROTOCOL', `response larger than ${limit} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

async function discard(res: Response): Promise<void> {
  if (res.bodyUsed || !res.body) return;
  try {
    await res.body.cancel();
  } catch {
    // already closed
  }
}

async function statusError(res: Response, what: string): Promise<UpstreamError> {
  let detail = '';
  try {
    if (!res.bodyUsed && res.body) detail = (await res.text()).slice(0, 300);
  } catch {
    // ignore
  }
  const suffix = detail ? `: ${detail}` : '';
  if (res.status === 404) return new UpstreamError('NOT_FOUND', `${what} not found upstream${suffix}`, 404);
  if (res.status === 401) return new UpstreamError('UNAUTHORIZED', `${what}: upstream authentication failed${suffix}`, 401);
  if (res.status === 403) return new UpstreamError('DENIED', `${what}: upstream denied access${suffix}`, 403);
  if (res.status >= 500 || res.status === 429) return new UpstreamError('UNREACHABLE', `${what}: upstream answered ${res.status}${suffix}`, res.status);
  return new UpstreamError('PROTOCOL', `${what}: upstream answered ${res.status}${suffix}`, res.status);
}

function describeFetchError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
