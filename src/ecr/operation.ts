import type { Services } from '../capabilities.js';
import type { AccountId, RepositoryName, RequestContext } from '../core/index.js';
import type { Authenticator, Principal, ResourceRef } from '../iam/index.js';
import type { Decision, PolicyDocument } from '../iam/policy/index.js';
import type { Registry, RegistrySettings, RepositoryPolicies } from '../registry/index.js';
import type { Input } from './validate.js';

/** What every operation can use: the caller, the deployment, and the services. */
export interface EcrContext {
  readonly principal: Principal;
  readonly region: string;
  readonly registry: Registry;
  /** Registry-level settings: account settings and pull-time update exclusions. */
  readonly settings: RegistrySettings;
  /** Repository and registry policies (SetRepositoryPolicy, PutRegistryPolicy, ...), cached for the authorizer. */
  readonly policies: RepositoryPolicies;
  /** The caller's address (`aws:SourceIp`) and whether the request came over TLS (`aws:SecureTransport`). */
  readonly sourceIp: string;
  readonly isSecureTransport: boolean;
  readonly auth: Authenticator;
  /** The capabilities' services (lifecycle, scanning, replication, cache, ...). */
  readonly services: Services;
  /** Id of this request (x-amzn-RequestId), for jobs and events it causes. */
  readonly requestId: string;
  /**
   * This request's context: open repositories with `{ origin: ctx.origin }` so that the events of
   * the changes made through them name the request and its caller (the audit trail, webhooks).
   */
  readonly origin?: RequestContext;
  /** Authorize another action for this caller (an operation that needs two, as CreateRepository with tags). */
  authorize(action: string, resource: ResourceRef, requestTags?: readonly { key: string; value: string }[]): Promise<void>;
  /** The decision for `action` if `resourcePolicy` were the repository's policy (SetRepositoryPolicy's lock-out check). */
  decide(action: string, resource: ResourceRef, resourcePolicy: PolicyDocument): Promise<Decision>;
  /** Scheme and host that clients reach the registry at, e.g. `https://registry.example.com`. */
  readonly publicUrl: string;
  readonly defaultAccount: AccountId;
  readonly now: () => number;
  readonly signal: AbortSignal;
}

/**
 * One ECR operation: the IAM action it needs, the resource it acts on (both decided from the
 * validated input before anything runs), and what it does. The dispatcher authenticates,
 * authorizes `action` on `resource`, then calls `run`.
 */
export interface EcrOperation<T = unknown> {
  readonly action: string;
  /** Validate the input and name what is acted on. Throws INVALID_PARAMETER. */
  prepare(input: Input, ctx: EcrContext): T & { resource: ResourceRef };
  run(prepared: T & { resource: ResourceRef }, ctx: EcrContext): Promise<unknown>;
}

/** Helper for type inference at definition sites. */
export function operation<T>(op: EcrOperation<T>): EcrOperation<T> {
  return op;
}

/**
 * `prepare` of an operation whose only input is the repository (`registryId`, `repositoryName`):
 * the account, the name, and the repository as the resource that is authorized.
 */
export function prepareRepository(input: Input, ctx: EcrContext): { accountId: AccountId; name: RepositoryName; resource: ResourceRef } {
  const accountId = input.registryId(ctx.principal.accountId);
  const name = input.repositoryName();
  return { accountId, name, resource: { accountId, repositoryName: name } };
}

/** ARN of a repository, as ECR spells it. */
export function repositoryArn(region: string, accountId: string, name: string): string {
  return `arn:aws:ecr:${region}:${accountId}:repository/${name}`;
}

/** Where docker pushes a repository of `accountId`: bare for the default account, `<account>/` otherwise. */
export function repositoryUri(ctx: Pick<EcrContext, 'publicUrl' | 'defaultAccount'>, accountId: string, name: string): string {
  const host = ctx.publicUrl.replace(/^https?:\/\//, '');
  return accountId === ctx.defaultAccount ? `${host}/${name}` : `${host}/${accountId}/${name}`;
}

/** Epoch seconds, as the JSON protocol sends timestamps. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}
