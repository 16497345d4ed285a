import { isBerthError } from '../core/index.js';
import { parsePolicy, type PolicyDocument, type PolicyKind } from '../iam/policy/index.js';
import { QueryError, limitExceeded } from './errors.js';

/**
 * IAM's size quotas for policy documents, in characters without white space ("IAM and AWS STS
 * quotas": "IAM doesn't count white space when calculating the size of a policy against these
 * quotas"). The inline quotas are per identity: the total of all its inline policies.
 */
export const POLICY_SIZE_LIMITS = {
  userInlineTotal: 2048,
  roleInlineTotal: 10240,
  managed: 6144,
  trust: 2048,
} as const;

/**
 * How IAM documents are parsed: the sizes are checked before, with IAM's LimitExceeded (see
 * `POLICY_SIZE_LIMITS`), so the engine's own length check only stops what no quota allows.
 */
export const STORED_POLICY_PARSE_OPTIONS = { maxLength: 131_072, lengthExcludesWhitespace: true } as const;

/** A document's size as IAM counts it against the quotas: characters (code points) other than white space. */
export function policySize(text: string): number {
  let n = 0;
  for (const c of text) if (!/\s/u.test(c)) n++;
  return n;
}

/**
 * Parse and validate a document about to be stored, as IAM does before it stores anything: a
 * document the policy engine refuses is MalformedPolicyDocument (400) with the engine's message,
 * which names the faulty part.
 */
export function validatePolicyDocument(text: string, kind: PolicyKind): PolicyDocument {
  try {
    return parsePolicy(text, kind, STORED_POLICY_PARSE_OPTIONS);
  } catch (err) {
    if (isBerthError(err, 'INVALID_PARAMETER')) throw new QueryError('MalformedPolicyDocument', err.message, 400);
    throw err;
  }
}

/** A managed policy over IAM's 6,144 characters: LimitExceeded, as IAM's CreatePolicy. */
export function checkManagedPolicySize(text: string): void {
  if (policySize(text) > POLICY_SIZE_LIMITS.managed) {
    throw limitExceeded(`Cannot exceed quota for PolicySize: ${POLICY_SIZE_LIMITS.managed}`);
  }
}

/** A trust policy over IAM's 2,048 characters: LimitExceeded, as IAM's CreateRole. */
export function checkTrustPolicySize(text: string): void {
  if (policySize(text) > POLICY_SIZE_LIMITS.trust) {
    throw limitExceeded(`Cannot exceed quota for ACLSizePerRole: ${POLICY_SIZE_LIMITS.trust}`);
  }
}

/**
 * Documents in IAM's answers (GetUserPolicy, GetRolePolicy, GetPolicyVersion, GetRole's
 * AssumeRolePolicyDocument) are URL-encoded per RFC 3986, and the SDKs hand them over as sent:
 * callers decode them (`decodeURIComponent`, `urllib.parse.unquote`).
 */
export function encodePolicyDocument(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
