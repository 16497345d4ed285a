/**
 * The Principal and NotPrincipal elements.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
 */

/** A compiled Principal or NotPrincipal element. */
export interface PrincipalSet {
  /** `"*"` or `{"AWS": "*"}`: every principal. */
  readonly everyone: boolean;
  /** Account ids, from `"111122223333"` or `"arn:aws:iam::111122223333:root"`. */
  readonly accounts: ReadonlySet<string>;
  /** User, role, assumed-role session and federated-user ARNs, matched exactly. */
  readonly arns: ReadonlySet<string>;
  /** Unique ids (AIDA..., AROA...): what AWS shows once a named user or role is deleted. */
  readonly uniqueIds: ReadonlySet<string>;
  /** `Service`, `Federated` and `CanonicalUser` entries: valid, but berth has no such callers. */
  readonly others: readonly string[];
}

/** The caller, as the engine sees it for principal matching. */
export interface CallerIdentity {
  readonly arn: string;
  readonly accountId: string;
  readonly type: 'Account' | 'User' | 'AssumedRole';
  readonly userId?: string;
  readonly roleArn?: string;
}

const ACCOUNT_ID = /^\d{12}$/;
const ROOT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;
const IAM_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(?:user|role)\/\S+$/;
const STS_ARN = /^arn:aws[a-z-]*:sts::\d{12}:(?:assumed-role\/[^/\s]+\/\S+|federated-user\/\S+)$/;
const UNIQUE_ID = /^A[A-Z0-9]{15,127}$/;

const PRINCIPAL_TYPES = ['AWS', 'Service', 'Federated', 'CanonicalUser'] as const;

/** Thrown by compilePrincipal; the parser adds the path. */
export class PrincipalError extends Error {}

/** Validate and compile a Principal/NotPrincipal value (already checked to be a string or object). */
export function compilePrincipal(value: unknown): PrincipalSet {
  const accounts = new Set<string>();
  const arns = new Set<string>();
  const uniqueIds = new Set<string>();
  const others: string[] = [];
  let everyone = false;
  if (typeof value === 'string') {
    if (value !== '*') throw new PrincipalError(`must be "*" or an object such as {"AWS": "arn:aws:iam::111122223333:root"}`);
    return { everyone: true, accounts, arns, uniqueIds, others };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PrincipalError('must be "*" or an object with AWS, Service, Federated or CanonicalUser');
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new PrincipalError('must name at least one principal');
  for (const [type, raw] of entries) {
    if (!(PRINCIPAL_TYPES as readonly string[]).includes(type)) {
      throw new PrincipalError(`unknown principal type '${type}' (expected ${PRINCIPAL_TYPES.join(', ')})`);
    }
    const list = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(list) || list.length === 0 || !list.every((v): v is string => typeof v === 'string')) {
      throw new PrincipalError(`.${type}: must be a string or a non-empty list of strings`);
    }
    for (const v of list) {
      if (type !== 'AWS') {
        if (v === '') throw new PrincipalError(`.${type}: must not be empty`);
        others.push(`${type}:${v}`);
        continue;
      }
      if (v === '*') {
        everyone = true;
        continue;
      }
      // AWS rejects wildcards in principal ARNs: "*" alone is the only wildcard Principal takes.
      if (v.includes('*') || v.includes('?')) {
        throw new PrincipalError(`.AWS: wildcards are not allowed in principal '${v}'; use "*" alone or a Condition on aws:PrincipalArn`);
      }
      const root = ROOT_ARN.exec(v);
      if (ACCOUNT_ID.test(v)) accounts.add(v);
      else if (root) accounts.add(root[1]!);
      else if (IAM_ARN.test(v) || STS_ARN.test(v)) arns.add(v);
      else if (UNIQUE_ID.test(v)) uniqueIds.add(v);
      else throw new PrincipalError(`.AWS: invalid principal '${v}' (expected an account id or an IAM user, role or account ARN)`);
    }
  }
  return { everyone, accounts, arns, uniqueIds, others };
}

/**
 * How a Principal element names the caller: `direct` (by its own ARN, its role's ARN, or "*"),
 * `account` (only through its account, which for a resource in the same account delegates to the
 * account's identity policies), or not at all.
 */
export function matchPrincipal(set: PrincipalSet, caller: CallerIdentity): 'direct' | 'account' | undefined {
  if (set.everyone || set.arns.has(caller.arn)) return 'direct';
  // An assumed-role session is named by its own ARN (above) or by its role's ARN.
  if (caller.roleArn !== undefined && set.arns.has(caller.roleArn)) return 'direct';
  if (caller.userId !== undefined && set.uniqueIds.size > 0) {
    // A role session's aws:userid is "AROA...:session"; the role's unique id is the first part.
    const id = caller.type === 'AssumedRole' ? caller.userId.split(':')[0]! : caller.userId;
    if (set.uniqueIds.has(id)) return 'direct';
  }
  if (set.accounts.has(caller.accountId)) return caller.type === 'Account' ? 'direct' : 'account';
  return undefined;
}

/**
 * Does a NotPrincipal element leave the caller out of the statement? Only when it names every
 * link of the caller's chain: its account, and its user, or its role and session. That is the
 * reading AWS's documentation warns about ("if the NotPrincipal element contained only Bob's ARN,
 * the effect of the policy might be to explicitly deny access to the AWS account that contains
 * the user Bob"), and the safe one for the usual Deny + NotPrincipal.
 */
export function isExcludedBy(set: PrincipalSet, caller: CallerIdentity): boolean {
  if (set.everyone) return true;
  if (!set.accounts.has(caller.accountId)) return false;
  if (caller.type === 'Account') return true;
  const names = (arn: string | undefined): boolean => arn !== undefined && set.arns.has(arn);
  if (caller.type === 'User') return names(caller.arn) || (caller.userId !== undefined && set.uniqueIds.has(caller.userId));
  return names(caller.roleArn) && names(caller.arn);
}
