import { describe, expect, it } from 'vitest';
import { BerthError } from '../core/index.js';
import type { Principal } from '../iam/index.js';
import {
  authorizeIdentityCall,
  generateUniqueId,
  generateUserId,
  parsePolicyArn,
  parseRoleArn,
  policyArn,
  roleArn,
  userArn,
  type IdentityTarget,
} from './identities.js';

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
const role = (roleName: string): IdentityTarget => ({ kind: 'role', accountId: ACCOUNT, roleName });
const policy = (arn: string): IdentityTarget => ({ kind: 'policy', accountId: ACCOUNT, policyArn: arn });

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
    ['root creates a role', root, 'iam:CreateRole', role('builder'), true],
    ['root creates a policy', root, 'iam:CreatePolicy', policy(`arn:aws:iam::${ACCOUNT}:policy/p`), true],
    ['root of another account reads a role', otherRoot, 'iam:GetRole', role('builder'), false],
    ['a user reads a role', alice, 'iam:GetRole', role('builder'), false],
    ['a user puts a policy on itself', alice, 'iam:PutUserPolicy', user('alice'), false],
    ['a user attaches a policy to itself', alice, 'iam:AttachUserPolicy', user('alice'), false],
    ['a user creates a policy', alice, 'iam:CreatePolicy', policy(`arn:aws:iam::${ACCOUNT}:policy/p`), false],
    ['root deletes an AWS managed policy', root, 'iam:DeletePolicy', { kind: 'policy', accountId: 'aws', policyArn: 'arn:aws:iam::aws:policy/X' }, false],
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

describe('roles and managed policies', () => {
  it('makes AWS-shaped role and policy ids', () => {
    expect(generateUniqueId('AROA')).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(generateUniqueId('ANPA')).toMatch(/^ANPA[A-Z2-7]{17}$/);
  });

  it('puts the path in role and policy ARNs, and parses them back', () => {
    const arn = roleArn({ accountId: ACCOUNT, path: '/service/', roleName: 'deployer' });
    expect(arn).toBe(`arn:aws:iam::${ACCOUNT}:role/service/deployer`);
    expect(parseRoleArn(arn)).toEqual({ accountId: ACCOUNT, path: '/service/', roleName: 'deployer' });
    expect(parseRoleArn(`arn:aws:iam::${ACCOUNT}:role/deployer`)).toEqual({ accountId: ACCOUNT, path: '/', roleName: 'deployer' });
    const p = policyArn(ACCOUNT, '/team/', 'ReadRepos');
    expect(p).toBe(`arn:aws:iam::${ACCOUNT}:policy/team/ReadRepos`);
    expect(parsePolicyArn(p)).toEqual({ accountId: ACCOUNT, path: '/team/', policyName: 'ReadRepos' });
    expect(parsePolicyArn('arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly')).toEqual({
      accountId: 'aws',
      path: '/',
      policyName: 'AmazonEC2ContainerRegistryReadOnly',
    });
  });

  it.each([
    'not-an-arn',
    `arn:aws:iam::${ACCOUNT}:user/bob`,
    'arn:aws:iam::12345:role/short-account',
    `arn:aws:iam::${ACCOUNT}:role/`,
    `arn:aws:iam::${ACCOUNT}:role/bad name`,
  ])('refuses %s as a role ARN', (arn) => {
    expect(parseRoleArn(arn)).toBeUndefined();
  });

  it.each(['not-an-arn', `arn:aws:iam::${ACCOUNT}:role/x`, `arn:aws:iam::${ACCOUNT}:policy/`, 'arn:aws:iam::aws:policy/bad name', `arn:aws:s3:::bucket`])(
    'refuses %s as a policy ARN',
    (arn) => {
      expect(parsePolicyArn(arn)).toBeUndefined();
    },
  );

  it('names the role or policy in AccessDenied', () => {
    expect(() => authorizeIdentityCall(alice, 'iam:GetRole', role('builder'))).toThrow(`on resource: arn:aws:iam::${ACCOUNT}:role/builder`);
    expect(() => authorizeIdentityCall(alice, 'iam:GetPolicy', policy(`arn:aws:iam::${ACCOUNT}:policy/p`))).toThrow(
      `on resource: arn:aws:iam::${ACCOUNT}:policy/p`,
    );
  });
});
