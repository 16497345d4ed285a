import { describe, expect, it } from 'vitest';
import { BerthError } from '../core/index.js';
import { Authorizer, type PolicySources } from './authorizer.js';
import { parsePolicy, type PolicyDocument } from './policy/index.js';
import type { Principal } from './principal.js';

const REGION = 'us-east-1';
const A = '111122223333';
const B = '444455556666';
const root = (account: string): Principal => ({ kind: 'root', accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: 'AKIAROOT' });
const user = (account: string, name: string): Principal => ({ kind: 'user', accountId: account, arn: `arn:aws:iam::${account}:user/${name}`, accessKeyId: 'AKIAUSER', userName: name });

const identity = (statements: object[]) => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'identity');
const repoPolicy = (statements: object[]) => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'resource', { resourceImplied: true });

function authorizer(opts: { identity?: Record<string, PolicyDocument[]>; repository?: PolicyDocument; tags?: { key: string; value: string }[] } = {}): Authorizer {
  const sources: PolicySources = {
    identityPolicies: async (p) => (opts.identity?.[p.arn] ?? []).map((doc, i) => ({ name: `p${i}`, doc })),
    requestPrincipal: async (p) => ({
      arn: p.arn,
      accountId: p.accountId,
      type: p.kind === 'root' ? 'Account' : p.kind === 'user' ? 'User' : 'AssumedRole',
      ...(p.userName ? { userName: p.userName } : {}),
    }),
    repositoryPolicy: async () => opts.repository,
    repositoryTags: async () => opts.tags ?? [],
  };
  return new Authorizer(sources, REGION);
}

async function denied(promise: Promise<void>): Promise<BerthError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
  throw new Error('expected ACCESS_DENIED');
}

describe('Authorizer', () => {
  it('lets an account root act in its own account, and not in another without a policy', async () => {
    await authorizer().authorize(root(A), 'ecr:PutImage', { accountId: A, repositoryName: 'app' });
    const err = await denied(authorizer().authorize(root(A), 'ecr:PutImage', { accountId: B, repositoryName: 'team/app' }));
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toContain(`User: arn:aws:iam::${A}:root is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:${REGION}:${B}:repository/team/app`);
    expect(err.detail).toEqual({ action: 'ecr:PutImage' });
  });

  it('needs an allow for a user: identity policy or repository policy naming the user', async () => {
    const alice = user(A, 'alice');
    await denied(authorizer().authorize(alice, 'ecr:BatchGetImage', { accountId: A, repositoryName: 'app' }));
    const pull = identity([{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: `arn:aws:ecr:${REGION}:${A}:repository/app` }]);
    await authorizer({ identity: { [alice.arn]: [pull] } }).authorize(alice, 'ecr:BatchGetImage', { accountId: A, repositoryName: 'app' });
    await denied(authorizer({ identity: { [alice.arn]: [pull] } }).authorize(alice, 'ecr:BatchGetImage', { accountId: A, repositoryName: 'other' }));
    const byRepo = repoPolicy([{ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'ecr:BatchGetImage' }]);
    await authorizer({ repository: byRepo }).authorize(alice, 'ecr:BatchGetImage', { accountId: A, repositoryName: 'app' });
  });

  it('lets an explicit deny in the repository policy win, even over the root', async () => {
    const deny = repoPolicy([{ Sid: 'NoPush', Effect: 'Deny', Principal: '*', Action: 'ecr:PutImage' }]);
    const err = await denied(authorizer({ repository: deny }).authorize(root(A), 'ecr:PutImage', { accountId: A, repositoryName: 'app' }));
    expect(err.message).toMatch(/deny/i);
  });

  it('needs both sides across accounts', async () => {
    const bob = user(B, 'bob');
    const pull = identity([{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' }]);
    const grant = repoPolicy([{ Effect: 'Allow', Principal: { AWS: B }, Action: 'ecr:BatchGetImage' }]);
    const target = { accountId: A, repositoryName: 'shared' };
    await denied(authorizer({ identity: { [bob.arn]: [pull] } }).authorize(bob, 'ecr:BatchGetImage', target));
    await denied(authorizer({ repository: grant }).authorize(bob, 'ecr:BatchGetImage', target));
    await authorizer({ identity: { [bob.arn]: [pull] }, repository: grant }).authorize(bob, 'ecr:BatchGetImage', target);
  });

  it('decides registry-level actions on "*" and feeds resource tags and request facts to conditions', async () => {
    const alice = user(A, 'alice');
    const token = identity([{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }]);
    await authorizer({ identity: { [alice.arn]: [token] } }).authorize(alice, 'ecr:GetAuthorizationToken', { accountId: A });
    const tagged = identity([
      { Effect: 'Allow', Action: 'ecr:*', Resource: '*', Condition: { StringEquals: { 'ecr:ResourceTag/team': 'blue' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
    ]);
    const az = authorizer({ identity: { [alice.arn]: [tagged] }, tags: [{ key: 'team', value: 'blue' }] });
    await az.authorize(alice, 'ecr:PutImage', { accountId: A, repositoryName: 'app' }, { sourceIp: '10.1.2.3' });
    await denied(az.authorize(alice, 'ecr:PutImage', { accountId: A, repositoryName: 'app' }, { sourceIp: '192.168.1.1' }));
    const other = authorizer({ identity: { [alice.arn]: [tagged] }, tags: [{ key: 'team', value: 'red' }] });
    await denied(other.authorize(alice, 'ecr:PutImage', { accountId: A, repositoryName: 'app' }, { sourceIp: '10.1.2.3' }));
  });

  it('checks a candidate repository policy in place of the stored one', async () => {
    const lockOut = repoPolicy([{ Effect: 'Deny', Principal: '*', Action: 'ecr:SetRepositoryPolicy' }]);
    const { decision } = await authorizer().decide(root(A), 'ecr:SetRepositoryPolicy', { accountId: A, repositoryName: 'app' }, {}, { resourcePolicy: lockOut });
    expect(decision.effect).toBe('Deny');
  });
});
