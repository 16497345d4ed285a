import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, type AccountId } from '../core/index.js';
import type { Authenticator, Principal } from '../iam/index.js';
import type { Registry, RegistrySettings, Repository } from '../registry/index.js';
import type { RepoTarget } from './route.js';

export interface OciDeps {
  registry: Registry;
  /** Account settings the door acts on (BLOB_MOUNTING). */
  settings: RegistrySettings;
  auth: Authenticator;
  defaultAccount: AccountId;
  maxManifestBytes: number;
}

/** What every OCI handler receives: the request, the reply, the caller, and the services. */
export interface OciCall {
  req: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  deps: OciDeps;
  query: URLSearchParams;
}

/**
 * Authorize `action` on the target repository and load it. Authorization comes first, so a caller
 * without access learns nothing about whether the repository exists.
 */
export async function openRepository(call: OciCall, target: RepoTarget, action: string, opts: { forPush?: boolean } = {}): Promise<Repository> {
  call.deps.auth.authorize(call.principal, action, { accountId: target.accountId, repositoryName: target.name });
  return call.deps.registry.repository(target.accountId, target.name, opts);
}

/** A query parameter that must be a whole number, as `n` in the listing APIs. */
export function pageSize(query: URLSearchParams, max: number): number {
  const raw = query.get('n');
  if (raw === null) return max;
  if (!/^\d{1,9}$/.test(raw)) throw new BerthError('PAGINATION_INVALID', `n must be a non-negative integer, got "${raw.slice(0, 20)}"`);
  return Math.min(Number(raw), max);
}
