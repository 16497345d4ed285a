import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BerthError, type AccountId, type RepositoryName } from '../core/index.js';
import { openSqliteMetadata, type MetadataStore } from '../storage/metadata/index.js';
import { RepositoryPolicies, parseRegistryPolicy, parseRepositoryPolicy } from './policies.js';
import type { Repository } from './registry.js';

const ACCOUNT = '111122223333' as AccountId;
const REGION = 'us-east-1';

function policy(sid: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: ['ecr:BatchGetImage'], ...extra }],
  });
}

function registryPolicy(sid: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: sid,
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::444455556666:root' },
        Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
        Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*`,
      },
    ],
  });
}

describe('RepositoryPolicies cache', () => {
  let dir: string;
  let meta: MetadataStore;
  let repo: Repository;
  let clock: number;
  let policies: RepositoryPolicies;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-policies-'));
    meta = await openSqliteMetadata(join(dir, 'metadata.db'));
    await meta.accounts.ensure(ACCOUNT, 0);
    const row = (await meta.repositories.create(ACCOUNT, 'team/app', 0)).repository;
    repo = { accountId: ACCOUNT, name: 'team/app' as RepositoryName, row };
    clock = 1_000_000;
    policies = new RepositoryPolicies(meta, { ttlMs: 5_000, now: () => clock });
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('remembers that a repository has no policy: one store read within the TTL', async () => {
    const reads = vi.spyOn(meta.policies, 'getRepositoryPolicy');
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(1);
    clock += 5_001;
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('returns the parsed policy with its text as set, and sees its own set and delete at once', async () => {
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    const text = policy('First');
    await policies.setRepositoryPolicy(repo, parseRepositoryPolicy(text));
    expect((await policies.resourcePolicyOf(repo))?.text).toBe(text);
    expect(await policies.repositoryPolicyText(repo)).toBe(text);
    const second = policy('Second');
    await policies.setRepositoryPolicy(repo, parseRepositoryPolicy(second));
    expect((await policies.resourcePolicyOf(repo))?.text).toBe(second);
    expect(await policies.deleteRepositoryPolicy(repo)).toBe(second);
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    expect(await policies.deleteRepositoryPolicy(repo)).toBeUndefined();
  });

  it('sees a change made by another node only after the TTL', async () => {
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    // Another node writes straight to the shared database.
    await meta.policies.putRepositoryPolicy(repo.row.id, policy('Elsewhere'), clock);
    clock += 4_999;
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    clock += 2;
    expect((await policies.resourcePolicyOf(repo))?.text).toBe(policy('Elsewhere'));
  });

  it('shares one read between concurrent misses', async () => {
    await meta.policies.putRepositoryPolicy(repo.row.id, policy('Shared'), clock);
    const reads = vi.spyOn(meta.policies, 'getRepositoryPolicy');
    const docs = await Promise.all([policies.resourcePolicyOf(repo), policies.resourcePolicyOf(repo), policies.resourcePolicyOf(repo)]);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(docs[0]).toBe(docs[1]);
    expect(docs[0]?.text).toBe(policy('Shared'));
  });

  it('does not let a read in flight during a set refill the cache with the old policy', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = meta.policies.getRepositoryPolicy.bind(meta.policies);
    vi.spyOn(meta.policies, 'getRepositoryPolicy').mockImplementationOnce(async (id) => {
      const text = await original(id);
      await gate;
      return text;
    });
    const stale = policies.resourcePolicyOf(repo);
    await policies.setRepositoryPolicy(repo, parseRepositoryPolicy(policy('New')));
    release();
    expect(await stale).toBeUndefined();
    expect((await policies.resourcePolicyOf(repo))?.text).toBe(policy('New'));
  });

  it('does not remember a failed read', async () => {
    const reads = vi.spyOn(meta.policies, 'getRepositoryPolicy').mockRejectedValueOnce(new Error('database is locked'));
    await expect(policies.resourcePolicyOf(repo)).rejects.toThrow('database is locked');
    expect(await policies.resourcePolicyOf(repo)).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('fails closed on a stored policy that no longer parses', async () => {
    await meta.policies.putRepositoryPolicy(repo.row.id, '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}', clock);
    const err = await policies.resourcePolicyOf(repo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INTERNAL');
    expect((err as BerthError).message).toContain('team/app');
  });

  it('keys entries by repository id, so a repository deleted and created again starts without a policy', async () => {
    await policies.setRepositoryPolicy(repo, parseRepositoryPolicy(policy('Old')));
    expect((await policies.resourcePolicyOf(repo))?.text).toBe(policy('Old'));
    await meta.repositories.delete(repo.row.id);
    // The row went with the repository (foreign key cascade).
    expect(await meta.policies.getRepositoryPolicy(repo.row.id)).toBeUndefined();
    const row = (await meta.repositories.create(ACCOUNT, 'team/app', 0)).repository;
    expect(row.id).not.toBe(repo.row.id);
    expect(await policies.resourcePolicyOf({ ...repo, row })).toBeUndefined();
  });

  it('starts over when full', async () => {
    const small = new RepositoryPolicies(meta, { ttlMs: 60_000, maxEntries: 2, now: () => clock });
    const reads = vi.spyOn(meta.policies, 'getRepositoryPolicy');
    const other = async (name: string): Promise<Repository> => {
      const row = (await meta.repositories.create(ACCOUNT, name, 0)).repository;
      return { accountId: ACCOUNT, name: name as RepositoryName, row };
    };
    const [a, b] = [await other('a1'), await other('b1')];
    await small.resourcePolicyOf(repo);
    await small.resourcePolicyOf(a);
    await small.resourcePolicyOf(b); // full: cleared, then b cached
    await small.resourcePolicyOf(b);
    expect(reads).toHaveBeenCalledTimes(3);
    await small.resourcePolicyOf(repo);
    expect(reads).toHaveBeenCalledTimes(4);
  });

  it('caches registry policies per account, invalidated by put and delete', async () => {
    const reads = vi.spyOn(meta.policies, 'getRegistryPolicy');
    expect(await policies.registryPolicyOf(ACCOUNT)).toBeUndefined();
    expect(await policies.registryPolicyOf(ACCOUNT)).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(1);
    const text = registryPolicy('Replication');
    await policies.putRegistryPolicy(ACCOUNT, parseRegistryPolicy(text, { accountId: ACCOUNT, region: REGION }));
    expect((await policies.registryPolicyOf(ACCOUNT))?.text).toBe(text);
    expect(await policies.registryPolicyOf('999988887777')).toBeUndefined();
    expect(await policies.registryPolicyText(ACCOUNT)).toBe(text);
    expect(await policies.deleteRegistryPolicy(ACCOUNT)).toBe(text);
    expect(await policies.registryPolicyOf(ACCOUNT)).toBeUndefined();
    expect(await policies.deleteRegistryPolicy(ACCOUNT)).toBeUndefined();
    // Another node's put is seen after the TTL.
    expect(await policies.registryPolicyOf(ACCOUNT)).toBeUndefined();
    await meta.policies.putRegistryPolicy(ACCOUNT, text, clock);
    expect(await policies.registryPolicyOf(ACCOUNT)).toBeUndefined();
    clock += 5_001;
    expect((await policies.registryPolicyOf(ACCOUNT))?.text).toBe(text);
  });
});

describe('ECR checks beyond the IAM grammar', () => {
  const invalid = (fn: () => unknown): BerthError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof BerthError) return err;
      throw err;
    }
    throw new Error('expected the policy to be refused');
  };

  it.each([
    ['*', true],
    ['ecr:*', true],
    ['ECR:batchgetimage', true],
    ['ecr:Describe*', true],
    ['ecr:Batch?etImage', true],
    ['ecr:ReplicateImage', true],
    ['s3:GetObject', false],
    ['ecr', false],
    ['iam:*', false],
    ['ecr:BatchGetImages', false],
    ['ecr:Pul*', false],
  ])('repository policy action %s accepted: %s', (action, ok) => {
    const text = policy('S', { Action: action });
    if (ok) {
      expect(parseRepositoryPolicy(text).text).toBe(text);
    } else {
      const err = invalid(() => parseRepositoryPolicy(text));
      expect(err.code).toBe('INVALID_PARAMETER');
      expect(err.message).toContain('Statement[0].Action');
      expect(err.message).toContain(action);
    }
  });

  it('checks NotAction too', () => {
    const err = invalid(() => parseRepositoryPolicy(JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Deny', Principal: '*', NotAction: ['ecr:BatchGetImage', 'sts:AssumeRole'] } })));
    expect(err.message).toContain('Statement.NotAction[1]');
    expect(err.message).toContain('sts:AssumeRole');
  });

  it.each([
    ['*', true],
    [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*`, true],
    [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/prod-*`, true],
    [`arn:aws:ecr:*:${ACCOUNT}:repository/team/app`, true],
    [`arn:aws:ecr:${REGION}:444455556666:repository/*`, false],
    [`arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/*`, false],
    [`arn:aws:s3:::bucket/*`, false],
    [`arn:aws:ecr:${REGION}:${ACCOUNT}:pull-through-cache-rule/x`, false],
  ])('registry policy resource %s accepted: %s', (resource, ok) => {
    const text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: '444455556666' }, Action: 'ecr:ReplicateImage', Resource: resource }],
    });
    if (ok) {
      expect(parseRegistryPolicy(text, { accountId: ACCOUNT, region: REGION }).text).toBe(text);
    } else {
      const err = invalid(() => parseRegistryPolicy(text, { accountId: ACCOUNT, region: REGION }));
      expect(err.code).toBe('INVALID_PARAMETER');
      expect(err.message).toContain('Statement[0].Resource');
    }
  });
});
