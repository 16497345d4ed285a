import { randomInt } from 'node:crypto';
import { BerthError } from '../core/index.js';
import type { Principal } from '../iam/index.js';
import type { UserRow } from '../storage/metadata/index.js';

/** IAM's limits and grammars (IAM API Reference, "CreateUser" and "IAM and AWS STS quotas"). */
export const USER_NAME = { member: 'userName', min: 1, max: 64, pattern: /^[\w+=,.@-]+$/, patternText: '[\\w+=,.@-]+' } as const;
export const USER_PATH = {
  member: 'path',
  min: 1,
  max: 512,
  pattern: /^(?:\/|\/[\u0021-\u007e]+\/)$/,
  patternText: '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
} as const;
export const PATH_PREFIX = { member: 'pathPrefix', min: 1, max: 512, pattern: /^\/[\u0021-\u007f]*$/, patternText: '\\u002F[\\u0021-\\u007F]*' } as const;
export const ACCESS_KEY_ID = { member: 'accessKeyId', min: 16, max: 128, pattern: /^\w+$/, patternText: '[\\w]+' } as const;
export const MARKER = { member: 'marker', min: 1, max: 320, pattern: /^[\u0020-\u00ff]+$/, patternText: '[\\u0020-\\u00FF]+' } as const;
export const MAX_ITEMS = { member: 'maxItems', min: 1, max: 1000 } as const;
export const ROLE_NAME = { member: 'roleName', min: 1, max: 64, pattern: /^[\w+=,.@-]+$/, patternText: '[\\w+=,.@-]+' } as const;
/** Roles take the same paths as users. */
export const ROLE_PATH = USER_PATH;
export const POLICY_NAME = { member: 'policyName', min: 1, max: 128, pattern: /^[\w+=,.@-]+$/, patternText: '[\\w+=,.@-]+' } as const;
/** Managed policies' paths are narrower than users' (IAM's `policyPathType`). */
export const POLICY_PATH = {
  member: 'path',
  min: 1,
  max: 512,
  pattern: /^(?:\/[A-Za-z0-9.,+@=_-]+)*\/$/,
  patternText: '((/[A-Za-z0-9\\.,\\+@=_-]+)*)/',
} as const;
export const POLICY_PATH_PREFIX = { ...POLICY_PATH, member: 'pathPrefix' } as const;
export const POLICY_ARN = { member: 'policyArn', min: 20, max: 2048 } as const;
export const ROLE_ARN = { member: 'roleArn', min: 20, max: 2048 } as const;
export const VERSION_ID = { member: 'versionId', pattern: /^v[1-9][0-9]*(?:\.[A-Za-z0-9-]*)?$/, patternText: 'v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?' } as const;
export const DESCRIPTION = {
  member: 'description',
  min: 0,
  max: 1000,
  pattern: /^[\u0009\u000a\u000d\u0020-\u007e\u00a1-\u00ff]*$/,
  patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*',
} as const;
/** Any policy document parameter: printable text up to 131,072 characters (IAM's `policyDocumentType`). */
export const policyDocumentRule = (member: string) =>
  ({
    member,
    min: 1,
    max: 131072,
    pattern: /^[\u0009\u000a\u000d\u0020-\u007e\u0085\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]+$/u,
    patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+',
  }) as const;
/** "Managed policies attached to an IAM user" and "... to an IAM role": 10 (IAM and AWS STS quotas). */
export const ATTACHED_POLICIES_PER_IDENTITY = 10;
/** "Access keys assigned to an IAM user" (and to the root): two. */
export const ACCESS_KEYS_PER_IDENTITY = 2;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A user's unique id in AWS's shape: `AIDA` and 17 base32 characters. */
export function generateUserId(): string {
  return generateUniqueId('AIDA');
}

/**
 * A unique id in AWS's shape: the prefix of its kind (`AIDA` user, `AROA` role, `ANPA` managed
 * policy) and 17 base32 characters ("IAM identifiers", unique ids).
 */
export function generateUniqueId(prefix: 'AIDA' | 'AROA' | 'ANPA'): string {
  let id = prefix;
  for (let i = 0; i < 17; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** A user's ARN includes its path: `arn:aws:iam::<account>:user/division/Bob` for path `/division/`. */
export function userArn(user: Pick<UserRow, 'accountId' | 'path' | 'userName'>): string {
  return `arn:aws:iam::${user.accountId}:user${user.path}${user.userName}`;
}

export function rootArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/** A role's ARN includes its path, like a user's. */
export function roleArn(role: { accountId: string; path: string; roleName: string }): string {
  return `arn:aws:iam::${role.accountId}:role${role.path}${role.roleName}`;
}

/** A customer managed policy's ARN: `arn:aws:iam::<account>:policy<path><name>`. */
export function policyArn(accountId: string, path: string, policyName: string): string {
  return `arn:aws:iam::${accountId}:policy${path}${policyName}`;
}

/**
 * The parts of a managed policy ARN: the account (`aws` for AWS managed policies), the path and the
 * name, or undefined for anything else (IAM answers InvalidInput, "ARN … is not valid.").
 */
export function parsePolicyArn(arn: string): { accountId: string; path: string; policyName: string } | undefined {
  const match = /^arn:aws:iam::(\d{12}|aws):policy(\/(?:[A-Za-z0-9.,+@=_-]+\/)*)([\w+=,.@-]{1,128})$/.exec(arn);
  return match ? { accountId: match[1]!, path: match[2]!, policyName: match[3]! } : undefined;
}

/** The parts of a role ARN, or undefined for anything else. */
export function parseRoleArn(arn: string): { accountId: string; path: string; roleName: string } | undefined {
  const match = /^arn:aws:iam::(\d{12}):role(\/(?:[\u0021-\u007e]+\/)?)([\w+=,.@-]{1,64})$/.exec(arn);
  return match ? { accountId: match[1]!, path: match[2]!, roleName: match[3]! } : undefined;
}

/**
 * What an IAM call acts on: one identity of an account (a user or a role by the name the caller
 * gave, or the account root), the account's users as a whole (ListUsers), or a managed policy (its
 * account is the caller's for an AWS managed policy that is only read).
 */
export type IdentityTarget =
  | { readonly kind: 'user'; readonly accountId: string; readonly userName: string }
  | { readonly kind: 'root'; readonly accountId: string }
  | { readonly kind: 'users'; readonly accountId: string }
  | { readonly kind: 'role'; readonly accountId: string; readonly roleName: string }
  | { readonly kind: 'policy'; readonly accountId: string; readonly policyArn: string };

/** Actions a user may take on itself without the root: read itself, rotate its own keys. */
const SELF_SERVICE: ReadonlySet<string> = new Set([
  'iam:GetUser',
  'iam:ListAccessKeys',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
]);

/**
 * May `principal` perform the IAM `action` on `target`? Throws ACCESS_DENIED in AWS's words.
 *
 * The rule until policies exist: a principal acts only inside its own account; there the root may
 * do everything, and a user may call the self-service actions on itself only (user names compare
 * without case, as IAM's do). It is checked before anything is looked up, so a caller denied
 * learns nothing about which users exist.
 *
 * TODO(#4): evaluate the caller's identity policies here instead (explicit deny wins).
 */
export function authorizeIdentityCall(principal: Principal, action: string, target: IdentityTarget): void {
  const sameAccount = principal.accountId === target.accountId;
  const isSelf =
    target.kind === 'user' &&
    principal.kind === 'user' &&
    principal.userName !== undefined &&
    principal.userName.toLowerCase() === target.userName.toLowerCase();
  if (sameAccount && (principal.kind === 'root' || (isSelf && SELF_SERVICE.has(action)))) return;
  const resource = resourceOf(target);
  throw new BerthError(
    'ACCESS_DENIED',
    `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    { action },
  );
}

/** The resource an AccessDenied message names (without the path, which is not known before the lookup). */
function resourceOf(target: IdentityTarget): string {
  switch (target.kind) {
    case 'user':
      return `arn:aws:iam::${target.accountId}:user/${target.userName}`;
    case 'root':
      return rootArn(target.accountId);
    case 'users':
      return `arn:aws:iam::${target.accountId}:user/`;
    case 'role':
      return `arn:aws:iam::${target.accountId}:role/${target.roleName}`;
    case 'policy':
      return target.policyArn;
  }
}
