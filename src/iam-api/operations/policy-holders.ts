import type { MetadataStore, PolicyHolder } from '../../storage/metadata/index.js';
import { AWS_MANAGED_POLICIES } from '../aws-managed-policies.js';
import { QueryError, limitExceeded, noSuchEntity } from '../errors.js';
import { ATTACHED_POLICIES_PER_IDENTITY, parsePolicyArn, roleArn, userArn } from '../identities.js';
import { decodeMarker, encodeMarker } from '../operation.js';
import { POLICY_SIZE_LIMITS, policySize } from '../policy-documents.js';

/**
 * What the user and role variants of the policy operations share (PutUserPolicy and PutRolePolicy,
 * AttachUserPolicy and AttachRolePolicy, ...): IAM treats both kinds of identity alike, with their
 * own names in messages and quotas.
 */
export type HolderKind = PolicyHolder['kind'];

const QUOTA_NAME = { user: 'PoliciesPerUser', role: 'PoliciesPerRole' } as const satisfies Record<HolderKind, string>;
const INLINE_LIMIT = { user: POLICY_SIZE_LIMITS.userInlineTotal, role: POLICY_SIZE_LIMITS.roleInlineTotal } as const satisfies Record<HolderKind, number>;

/** The user or role `name` (in any case) of the account, as stored, with its ARN; NoSuchEntity when there is none. */
export async function loadHolder(meta: MetadataStore, kind: HolderKind, accountId: string, name: string): Promise<PolicyHolder & { arn: string }> {
  if (kind === 'user') {
    const user = await meta.users.get(accountId, name);
    if (!user) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return { accountId, kind, name: user.userName, arn: userArn(user) };
  }
  const role = await meta.policies.getRole(accountId, name);
  if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return { accountId, kind, name: role.roleName, arn: roleArn(role) };
}

/**
 * Create or replace an inline policy (already validated by the engine). IAM's quota is on the
 * total of an identity's inline policies: 2,048 characters for a user, 10,240 for a role, white
 * space not counted; over it, LimitExceeded in IAM's words.
 */
export async function putInlinePolicy(meta: MetadataStore, holder: PolicyHolder, policyName: string, document: string): Promise<void> {
  const others = (await meta.policies.listInlinePolicies(holder)).filter((p) => p.policyName !== policyName);
  const total = others.reduce((sum, p) => sum + policySize(p.document), policySize(document));
  const limit = INLINE_LIMIT[holder.kind];
  if (total > limit) throw limitExceeded(`Maximum policy size of ${limit} bytes exceeded for ${holder.kind} ${holder.name}`);
  await meta.policies.putInlinePolicy(holder, policyName, document);
}

export function noSuchInlinePolicy(kind: HolderKind, policyName: string): QueryError {
  return noSuchEntity(`The ${kind} policy with name ${policyName} cannot be found.`);
}

/** IAM's answer to a PolicyArn that is not a managed policy's ARN at all. */
export function invalidArn(arn: string): QueryError {
  return new QueryError('InvalidInput', `ARN ${arn} is not valid.`);
}

/**
 * Attach a managed policy: an AWS managed policy berth knows, or a customer managed policy of the
 * identity's own account (another account's is NoSuchEntity, as IAM answers). Attaching one that
 * is attached already changes nothing and succeeds, as in IAM; an eleventh is LimitExceeded.
 */
export async function attachManagedPolicy(meta: MetadataStore, holder: PolicyHolder, policyArn: string): Promise<void> {
  const parts = parsePolicyArn(policyArn);
  if (!parts) throw invalidArn(policyArn);
  const exists =
    parts.accountId === 'aws'
      ? AWS_MANAGED_POLICIES.has(policyArn)
      : parts.accountId === holder.accountId && (await meta.policies.getManagedPolicy(policyArn)) !== undefined;
  if (!exists) throw noSuchEntity(`Policy ${policyArn} does not exist or is not attachable.`);
  const attached = await meta.policies.listAttachedPolicies(holder);
  if (attached.includes(policyArn)) return;
  if (attached.length >= ATTACHED_POLICIES_PER_IDENTITY) {
    throw limitExceeded(`Cannot exceed quota for ${QUOTA_NAME[holder.kind]}: ${ATTACHED_POLICIES_PER_IDENTITY}`);
  }
  await meta.policies.attachPolicy(holder, policyArn);
}

export async function detachManagedPolicy(meta: MetadataStore, holder: PolicyHolder, policyArn: string): Promise<void> {
  if (!parsePolicyArn(policyArn)) throw invalidArn(policyArn);
  if (!(await meta.policies.detachPolicy(holder, policyArn))) throw noSuchEntity(`Policy ${policyArn} was not found.`);
}

/** IAM's `AttachedPolicy` entries of a holder, optionally only those whose path starts with `pathPrefix`. */
export async function attachedPolicies(meta: MetadataStore, holder: PolicyHolder, pathPrefix: string | undefined): Promise<{ PolicyName: string; PolicyArn: string }[]> {
  const out: { PolicyName: string; PolicyArn: string }[] = [];
  for (const arn of await meta.policies.listAttachedPolicies(holder)) {
    const parts = parsePolicyArn(arn);
    if (!parts || (pathPrefix !== undefined && !parts.path.startsWith(pathPrefix))) continue;
    out.push({ PolicyName: parts.policyName, PolicyArn: arn });
  }
  return out;
}

/**
 * One page of a short sorted list (an identity's policies, never more than a few dozen): the
 * items after the `Marker`'s key, at most `maxItems`, and the Marker of the next page if any.
 */
export function pageOf<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  page: { marker: string | undefined; maxItems: number; isKey: (key: string) => boolean },
): { items: T[]; isTruncated: boolean; marker: string | undefined } {
  let start = 0;
  if (page.marker !== undefined) {
    const after = decodeMarker(page.marker, page.isKey);
    start = items.findIndex((item) => keyOf(item) > after);
    if (start < 0) start = items.length;
  }
  const slice = items.slice(start, start + page.maxItems);
  const isTruncated = start + page.maxItems < items.length;
  return { items: slice, isTruncated, marker: isTruncated ? encodeMarker(keyOf(slice[slice.length - 1]!)) : undefined };
}

/**
 * The target of a call on a managed policy by ARN: the policy in the account its ARN names. An AWS
 * managed policy is readable from every account (the caller's own, for authorization) but belongs
 * to none, so changing it is refused as acting in another account. An ARN that does not parse is
 * the caller's to be told about (InvalidInput) once authorized.
 */
export function managedPolicyTarget(policyArn: string, callerAccountId: string, isChange: boolean) {
  const parts = parsePolicyArn(policyArn);
  const accountId = !parts || (parts.accountId === 'aws' && !isChange) ? callerAccountId : parts.accountId;
  return { kind: 'policy' as const, accountId, policyArn };
}
