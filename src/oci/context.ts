import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, isBerthError, type AccountId, type Digest, type ManifestRef, type RepositoryName, type RequestContext } from '../core/index.js';
import type { Authenticator, Authorizer, Principal, ResourceRef } from '../iam/index.js';
import type { RateLimiter } from '../limits/index.js';
import type { BlobReader, Registry, RegistrySettings, Repository } from '../registry/index.js';
import type { RepoTarget } from './route.js';

export interface OciDeps {
  registry: Registry;
  /** Account settings the door acts on (BLOB_MOUNTING). */
  settings: RegistrySettings;
  auth: Authenticator;
  /** Decides every request with the policies (docs/access-control.md lists each route's action). */
  authorizer: Authorizer;
  /** Whether clients reach this listener over TLS (the `aws:SecureTransport` condition key). */
  isTls?: boolean;
  defaultAccount: AccountId;
  maxManifestBytes: number;
  /** ECR's request-rate quotas, counted per caller account; absent when rate limiting is off. */
  rateLimits?: RateLimiter;
  /** The pull-through cache (src/cache/): asked on a manifest or blob pull that misses. */
  pullThrough?: PullThroughHook;
}

/**
 * What the OCI door asks the pull-through cache. `access.authorize` decides an action for the
 * caller on the target repository; the cache decides which ones it needs (ECR's rules).
 */
/** The caller, as the pull-through cache sees it: what it may do, and the request (events of what the cache stores carry it). */
export interface CacheAccess {
  authorize(action: string): Promise<void>;
  readonly origin?: RequestContext | undefined;
}

export interface PullThroughHook {
  /** Make manifest `ref` available when a cache rule covers the repository (no-op otherwise). */
  ensureManifest(access: CacheAccess, accountId: AccountId, name: RepositoryName, ref: ManifestRef): Promise<void>;
  /** A reader for a blob the repository lacks but a cached manifest references, or undefined. */
  openBlob(access: CacheAccess, repo: Repository, digest: Digest, opts: { range?: { start?: number; end?: number } }): Promise<BlobReader | undefined>;
  /** Size of such a blob (HEAD), or undefined. */
  statBlob(access: CacheAccess, repo: Repository, digest: Digest): Promise<{ size: number } | undefined>;
}

/** The caller's access to the target repository, as the pull-through cache asks about it. */
export function cacheAccess(call: OciCall, target: RepoTarget): CacheAccess {
  return { authorize: (action) => authorize(call, action, { accountId: target.accountId, repositoryName: target.name }), origin: call.origin };
}

/** What every OCI handler receives: the request, the reply, the caller, and the services. */
export interface OciCall {
  req: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  deps: OciDeps;
  query: URLSearchParams;
  /** The request's context: the authorizer records its decisions there, events of its changes carry it. */
  origin?: RequestContext;
}

/**
 * Authorize `action` on the target repository and load it. Authorization comes first, so a caller
 * without access learns nothing about whether the repository exists.
 */
export async function openRepository(call: OciCall, target: RepoTarget, action: string, opts: { forPush?: boolean } = {}): Promise<Repository> {
  const resource = { accountId: target.accountId, repositoryName: target.name };
  await authorize(call, action, resource);
  try {
    return await call.deps.registry.repository(target.accountId, target.name, { origin: call.origin });
  } catch (err) {
    if (!opts.forPush || !isBerthError(err, 'REPOSITORY_NOT_FOUND') || !(await call.deps.registry.createsOnPushFor(target.accountId, target.name))) throw err;
    // A push that would create the repository (create-on-push) needs ecr:CreateRepository too.
    await authorize(call, 'ecr:CreateRepository', resource);
    return call.deps.registry.repository(target.accountId, target.name, { ...opts, origin: call.origin });
  }
}

/** Authorize `action` for the caller, with what the request tells the policy conditions. */
export function authorize(call: OciCall, action: string, resource: ResourceRef): Promise<void> {
  return call.deps.authorizer.authorize(call.principal, action, resource, {
    sourceIp: call.req.ip,
    secureTransport: call.deps.isTls ?? false,
    request: call.origin,
  });
}

/** A query parameter that must be a whole number, as `n` in the listing APIs. */
export function pageSize(query: URLSearchParams, max: number): number {
  const raw = query.get('n');
  if (raw === null) return max;
  if (!/^\d{1,9}$/.test(raw)) throw new BerthError('PAGINATION_INVALID', `n must be a non-negative integer, got "${raw.slice(0, 20)}"`);
  return Math.min(Number(raw), max);
}
