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
/** "Access keys assigned to an IAM user" (and to the root): two. */
export const ACCESS_KEYS_PER_IDENTITY = 2;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A user's unique id in AWS's shape: `AIDA` and 17 base32 characters. */
export function generateUserId(): string {
  let id = 'AIDA';
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

/**
 * What an IAM call acts on: one identity of an account (a user by the name the caller gave, or the
 * account root), or the account's users as a whole (ListUsers).
 */
export type IdentityTarget =
  | { readonly kind: 'user'; readonly accountId: string; readonly userName: string }
  | { readonly kind: 'root'; readonly accountId: string }
  | { readonly kind: 'users'; readonly accountId: string };

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
  const resource =
    target.kind === 'user'
      ? `arn:aws:iam::${target.accountId}:user/${target.userName}`
      : target.kind === 'root'
        ? rootArn(target.accountId)
        : `arn:aws:iam::${target.accountId}:user/`;
  throw new BerthError(
    'ACCESS_DENIED',
    `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    { action },
  );
}
