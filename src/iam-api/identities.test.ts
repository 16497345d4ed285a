import { describe, expect, it } from 'vitest';
import { BerthError } from '../core/index.js';
import type { Principal } from '../iam/index.js';
import { authorizeIdentityCall, generateUserId, userArn, type IdentityTarget } from './identities.js';

const ACCOUNT = '111122223333';
const root: Principal = { kind: 'root', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accessKeyId: 'AKIAROOT000000000000' };
const alice: Principal = {
  kind: 'user',
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accessKeyId: 'AKIAALICE00000000000',
  userName: 'alice',
};
const otherRoot: Principal = { ...root, accountId: '444455556666', arn: 'arn:aws:iam::444455556666:root' };

const user = (userName: string): IdentityTarget => ({ kind: 'user', accountId: ACCOUNT, userName });
const users: IdentityTarget = { kind: 'users', accountId: ACCOUNT };
const rootTarget: IdentityTarget = { kind: 'root', accountId: ACCOUNT };

describe('authorizeIdentityCall', () => {
  it.each<[string, Principal, string, IdentityTarget, boolean]>([
    ['root creates a user', root, 'iam:CreateUser', user('bob'), true],
    ['root lists users', root, 'iam:ListUsers', users, true],
    ['root deletes a user', root, 'iam:DeleteUser', user('bob'), true],
    ['root manages its own keys', root, 'iam:CreateAccessKey', rootTarget, true],
    ['root of another account', otherRoot, 'iam:GetUser', user('bob'), false],
    ['a user reads itself', alice, 'iam:GetUser', user('alice'), true],
    ['a user reads itself in another case', alice, 'iam:GetUser', user('ALICE'), true],
    ['a user lists its keys', alice, 'iam:ListAccessKeys', user('alice'), true],
    ['a user creates its key', alice, 'iam:CreateAccessKey', user('alice'), true],
    ['a user deactivates its key', alice, 'iam:UpdateAccessKey', user('alice'), true],
    ['a user deletes its key', alice, 'iam:DeleteAccessKey', user('alice'), true],
    ['a user reads another user', alice, 'iam:GetUser', user('bob'), false],
    ['a user creates a key for another', alice, 'iam:CreateAccessKey', user('bob'), false],
    ['a user deletes itself', alice, 'iam:DeleteUser', user('alice'), false],
    ['a user creates a user', alice, 'iam:CreateUser', user('carol'), false],
    ['a user lists users', alice, 'iam:ListUsers', users, false],
    ['a user touches the root keys', alice, 'iam:ListAccessKeys', rootTarget, false],
  ])('%s', (_name, principal, action, target, allowed) => {
    const call = () => authorizeIdentityCall(principal, action, target);
    if (allowed) {
      expect(call).not.toThrow();
    } else {
      expect(call).toThrow(BerthError);
      expect(call).toThrow(new RegExp(`^User: ${principal.arn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not authorized to perform: ${action} on resource: arn:aws:iam::`));
    }
  });
});

describe('identities', () => {
  it('makes AWS-shaped user ids', () => {
    const ids = new Set(Array.from({ length: 100 }, generateUserId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it('puts the path in a user ARN', () => {
    expect(userArn({ accountId: ACCOUNT, path: '/', userName: 'bob' })).toBe(`arn:aws:iam::${ACCOUNT}:user/bob`);
    expect(userArn({ accountId: ACCOUNT, path: '/division/team/', userName: 'bob' })).toBe(`arn:aws:iam::${ACCOUNT}:user/division/team/bob`);
  });
});
