/**
 * The IAM policy language and AWS's policy evaluation logic, as a pure module: no I/O, and no
 * clock (callers put `aws:CurrentTime`/`aws:EpochTime` in the request, see `requestTimeKeys`).
 * Its only state is caches that do not change answers: parsed documents by text, and per
 * document, the statements about each action.
 *
 * References: the IAM JSON policy reference and "Policy evaluation logic"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 *
 * @example
 * ```ts
 * const repoPolicy = parsePolicy(text, 'resource', { maxLength: 10_240, resourceImplied: true });
 * const decision = authorize({ identityPolicies, resourcePolicy: { name: 'repository policy', doc: repoPolicy }, ctx });
 * if (decision.effect !== 'Allow') throw new BerthError('ACCESS_DENIED', decision.reason);
 * ```
 */
import type { Condition } from './conditions.js';
import { authorize as authorizeAll, evaluatePolicy as evaluateOne } from './evaluate.js';
import { parsePolicy as parse } from './parse-policy.js';
import type { PatternSet } from './patterns.js';
import type { PrincipalSet } from './principals.js';

export type PolicyKind = 'identity' | 'resource' | 'trust';

/**
 * One statement, validated and compiled (wildcards to regexes) at parse time. The matchers are
 * the engine's business; other code needs only `index`, `sid` and `effect`.
 */
export interface Statement {
  /** Position in the policy's Statement list (0 when Statement is a single object). */
  readonly index: number;
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  /** Principal (negated: NotPrincipal); absent in identity policies. */
  readonly principal?: { readonly set: PrincipalSet; readonly negated: boolean };
  /** Action (negated: NotAction). */
  readonly action: { readonly set: PatternSet; readonly negated: boolean };
  /** Resource (negated: NotResource); absent when implied (trust policies, ECR repository policies). */
  readonly resource?: { readonly set: PatternSet; readonly negated: boolean };
  /** AND-ed. */
  readonly conditions: readonly Condition[];
}

/** A parsed, validated policy. Keep the original text too: GetPolicy/GetRepositoryPolicy return it. */
export interface PolicyDocument {
  readonly kind: PolicyKind;
  readonly text: string;
  readonly statements: readonly Statement[];
}

export interface ParseOptions {
  /**
   * Longest accepted text (default 10,240). ECR repository/registry policies: 10,240 characters;
   * IAM managed policies 6,144; IAM inline policies 2,048 per user (10,240 per role); trust 2,048.
   */
  maxLength?: number;
  /** ECR repository policies: a statement without Resource/NotResource applies to the repository. */
  resourceImplied?: boolean;
  /** IAM's way of counting: "IAM doesn't count white space characters" against the limits. */
  lengthExcludesWhitespace?: boolean;
}

export interface RequestContext {
  principal: {
    arn: string;
    accountId: string;
    type: 'Account' | 'User' | 'AssumedRole';
    userName?: string;
    userId?: string;
    /** For assumed roles: arn:aws:iam::acct:role/name (with its path). */
    roleArn?: string;
  };
  /** e.g. 'ecr:BatchGetImage' */
  action: string;
  /** ARN, e.g. arn:aws:ecr:us-east-1:111122223333:repository/team/app */
  resource: string;
  resourceAccount: string;
  /**
   * Condition keys, any case: aws:SourceIp, aws:SecureTransport, aws:CurrentTime, aws:EpochTime,
   * aws:RequestTag/..., aws:TagKeys, aws:ResourceTag/..., ecr:ResourceTag/... The engine fills the
   * principal keys itself from `principal` (aws:PrincipalAccount, aws:PrincipalArn,
   * aws:PrincipalType, aws:username, aws:userid) and ignores any value given for them here.
   */
  keys: Record<string, string | string[] | boolean | number | undefined>;
}

export type Decision = {
  effect: 'Allow' | 'Deny' | 'ImplicitDeny';
  /** e.g. "explicit deny in repository policy statement 'DenyPush'", or "no identity-based or resource-based policy allows ecr:PutImage on arn:..." */
  reason: string;
  /** The statement that decided, for Allow and Deny. */
  statement?: { policy: string; sid?: string; index: number };
};

/**
 * Parse and validate. Throws BerthError('INVALID_PARAMETER') whose message names the wrong part,
 * e.g. "Statement[2].Condition: unknown operator 'StringEqualz'" (and `detail.path`). Identity
 * policies must not have Principal/NotPrincipal; resource and trust policies must have one;
 * trust policies must not have Resource/NotResource.
 *
 * The document comes back frozen, and the same text, kind and options give the same object (a
 * bounded memo), so a caller that stores only the text may call this on every request.
 */
export function parsePolicy(text: string, kind: PolicyKind, opts?: ParseOptions): PolicyDocument {
  return parse(text, kind, opts);
}

/** Evaluate one policy: the first matching Deny wins over Allows within it. */
export function evaluatePolicy(doc: PolicyDocument, ctx: RequestContext, policyName: string): Decision {
  return evaluateOne(doc, ctx, policyName);
}

/**
 * AWS's evaluation logic across policies: explicit deny anywhere wins; within one account an allow
 * in identity policies OR in the resource policy suffices (except that a resource policy naming
 * only the account delegates to identity policies, and a role trust policy must always allow);
 * across accounts (principal.accountId !== resourceAccount) the identity side AND the resource side
 * must both allow. The account root acting in its own account is allowed unless explicitly denied
 * by a resource policy (AWS: roots are not subject to identity policies; an explicit Deny in a
 * resource policy still applies to them).
 */
export function authorize(input: {
  identityPolicies: readonly { name: string; doc: PolicyDocument }[];
  resourcePolicy?: { name: string; doc: PolicyDocument };
  ctx: RequestContext;
}): Decision {
  return authorizeAll(input);
}

export { DEFAULT_MAX_LENGTH } from './parse-policy.js';
export { requestTimeKeys } from './evaluate.js';
export { CONDITION_OPERATORS } from './conditions.js';
