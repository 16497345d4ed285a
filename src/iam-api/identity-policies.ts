import { BerthError } from '../core/index.js';
import type { Principal } from '../iam/index.js';
import { parsePolicy, type PolicyDocument, type RequestContext } from '../iam/policy/index.js';
import type { MetadataStore, PolicyHolder } from '../storage/metadata/index.js';
import { AWS_MANAGED_POLICIES } from './aws-managed-policies.js';
import { rootArn, roleArn, userArn } from './identities.js';
import { STORED_POLICY_PARSE_OPTIONS } from './policy-documents.js';

/** One identity policy of a principal, named for decisions and logs. */
export interface NamedPolicy {
  /**
   * A managed policy's ARN, or `<identity ARN>/inline/<PolicyName>` for an inline policy (e.g.
   * `arn:aws:iam::111122223333:user/alice/inline/ReadRepos`).
   */
  readonly name: string;
  readonly doc: PolicyDocument;
}

/** What the authorizer needs to know of a principal: its identity policies and how policies see it. */
interface IdentityContext {
  readonly policies: readonly NamedPolicy[];
  readonly principal: RequestContext['principal'];
}

/**
 * How long a principal's policies are remembered: a change made through this process's IAM door
 * takes effect at once (see `invalidateIdentityPolicies`); one made by another process sharing the
 * database (another node, the admin CLI) within this many milliseconds.
 */
export const IDENTITY_POLICY_TTL_MS = 5_000;
const CACHE_MAX = 10_000;

interface Entry {
  readonly value: Promise<IdentityContext>;
  readonly expires: number;
  readonly generation: number;
}

/** One cache per database handle, so that servers sharing a process (tests) never mix. */
const caches = new WeakMap<MetadataStore, Map<string, Entry>>();
/** Bumped by every IAM change; an entry read before the bump is stale. */
let generation = 0;

/**
 * The identity policies that apply to `principal`, parsed, for `authorize()` of the policy engine:
 *
 * - an IAM user: its inline policies, then the managed policies attached to it (customer managed,
 *   at their default version, and AWS managed);
 * - an assumed-role session: the role's inline and attached policies (none once the role is
 *   deleted, even if a role of the same name was created since);
 * - an account root: none (a root is not subject to identity policies).
 *
 * Remembered per principal for `IDENTITY_POLICY_TTL_MS` (at most); concurrent calls for one
 * principal share one read. A stored document that no longer parses throws INTERNAL rather than
 * being skipped: skipping a Deny would widen access.
 *
 * @example
 *   const decision = authorize({ identityPolicies: await identityPoliciesOf(meta, principal), ctx });
 */
export async function identityPoliciesOf(meta: MetadataStore, principal: Principal): Promise<readonly NamedPolicy[]> {
  return (await identityContextOf(meta, principal)).policies;
}

/**
 * The principal as the policy engine's `RequestContext` names it: its ARN with the user's path
 * (which the authenticator's `Principal.arn` lacks), its type, and its unique id (`aws:userid`:
 * the account id for a root, `AIDA…` for a user, `AROA…:<session>` for a role session). Cached
 * with the policies.
 */
export async function requestPrincipalOf(meta: MetadataStore, principal: Principal): Promise<RequestContext['principal']> {
  return (await identityContextOf(meta, principal)).principal;
}

/**
 * Forget every remembered principal: called after each IAM change made through this process
 * (policies, attachments, users, roles), so the change applies from the next request.
 */
export function invalidateIdentityPolicies(): void {
  generation++;
}

function identityContextOf(meta: MetadataStore, principal: Principal): Promise<IdentityContext> {
  let cache = caches.get(meta);
  if (!cache) caches.set(meta, (cache = new Map()));
  const key = cacheKey(principal);
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.expires > now && hit.generation === generation) return hit.value;

  // The generation is read before the database: a change committed during the read bumps it,
  // so what the read saw is never served after the change.
  const entry: Entry = { value: loadIdentityContext(meta, principal), expires: now + IDENTITY_POLICY_TTL_MS, generation };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, entry);
  entry.value.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return entry.value;
}

function cacheKey(p: Principal): string {
  return [p.kind, p.accountId, p.userName ?? '', p.roleName ?? '', p.roleId ?? '', p.sessionName ?? ''].join('\0');
}

async function loadIdentityContext(meta: MetadataStore, principal: Principal): Promise<IdentityContext> {
  const accountId = principal.accountId;
  switch (principal.kind) {
    case 'root':
      return { policies: [], principal: { arn: rootArn(accountId), accountId, type: 'Account', userId: accountId } };
    case 'user': {
      const user = principal.userName === undefined ? undefined : await meta.users.get(accountId, principal.userName);
      if (!user) return { policies: [], principal: { arn: principal.arn, accountId, type: 'User', ...nameOf(principal.userName) } };
      const arn = userArn(user);
      return {
        policies: await policiesOf(meta, { accountId, kind: 'user', name: user.userName }, arn),
        principal: { arn, accountId, type: 'User', userName: user.userName, userId: user.userId },
      };
    }
    case 'assumed-role': {
      const role = principal.roleName === undefined ? undefined : await meta.policies.getRole(accountId, principal.roleName);
      const current = role !== undefined && role.roleId === principal.roleId;
      const userId = `${principal.roleId ?? ''}:${principal.sessionName ?? ''}`;
      const base = { arn: principal.arn, accountId, type: 'AssumedRole' as const, userId };
      if (!current) return { policies: [], principal: { ...base, ...(principal.roleArn ? { roleArn: principal.roleArn } : {}) } };
      const arn = roleArn(role);
      return { policies: await policiesOf(meta, { accountId, kind: 'role', name: role.roleName }, arn), principal: { ...base, roleArn: arn } };
    }
  }
}

function nameOf(userName: string | undefined): { userName?: string } {
  return userName === undefined ? {} : { userName };
}

/** Inline policies in name order, then attached managed policies in ARN order. */
async function policiesOf(meta: MetadataStore, holder: PolicyHolder, holderArn: string): Promise<NamedPolicy[]> {
  const out: NamedPolicy[] = [];
  for (const inline of await meta.policies.listInlinePolicies(holder)) {
    const name = `${holderArn}/inline/${inline.policyName}`;
    out.push({ name, doc: parseStored(inline.document, name) });
  }
  for (const arn of await meta.policies.listAttachedPolicies(holder)) {
    const managed = await managedDocument(meta, arn);
    if (managed) out.push({ name: arn, doc: managed });
  }
  return out;
}

/** AWS managed documents never change: parsed once per process. */
const awsManagedParsed = new Map<string, PolicyDocument>();

async function managedDocument(meta: MetadataStore, arn: string): Promise<PolicyDocument | undefined> {
  const aws = AWS_MANAGED_POLICIES.get(arn);
  if (aws) {
    let doc = awsManagedParsed.get(arn);
    if (!doc) awsManagedParsed.set(arn, (doc = parseStored(aws.document, arn)));
    return doc;
  }
  // A customer managed policy cannot be deleted while attached, so a miss is a race with a
  // detach-then-delete: the policy is gone either way.
  const policy = await meta.policies.getManagedPolicy(arn);
  if (!policy) return undefined;
  const version = await meta.policies.getManagedPolicyVersion(arn, policy.defaultVersionId);
  return version && parseStored(version.document, arn);
}

function parseStored(text: string, name: string): PolicyDocument {
  try {
    return parsePolicy(text, 'identity', STORED_POLICY_PARSE_OPTIONS);
  } catch (err) {
    throw new BerthError('INTERNAL', `stored identity policy ${name} no longer parses: ${(err as Error).message}`, { policy: name }, { cause: err });
  }
}
