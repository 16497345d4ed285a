/**
 * ECR repository policies (SetRepositoryPolicy with `force`, GetRepositoryPolicy,
 * DeleteRepositoryPolicy) and registry policies (PutRegistryPolicy, GetRegistryPolicy,
 * DeleteRegistryPolicy) through the real @aws-sdk/client-ecr against the in-process server.
 * Enforcement of these policies at the doors is tested with the authorizer, not here.
 */
import {
  CreateRepositoryCommand,
  DeleteRegistryPolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  GetRegistryPolicyCommand,
  GetRepositoryPolicyCommand,
  PutRegistryPolicyCommand,
  SetRepositoryPolicyCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountId, RepositoryName } from '../../src/core/index.js';
import { SecretBox } from '../../src/iam/index.js';
import { awsError, ecrClient } from '../helpers/aws-clients.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ACCOUNT = '000000000000';
const OTHER = '444455556666';
const REGION = 'us-east-1';

let server: TestServer;
let ecr: ECRClient;

beforeAll(async () => {
  server = await startTestServer();
  ecr = ecrClient(server);
});
afterAll(() => server.close());

/** A cross-account pull grant, as ECR's documentation shows one; odd spacing to prove the text is kept as sent. */
const PULL_GRANT = `{
  "Version" : "2012-10-17",
  "Statement" : [ {
    "Sid" : "AllowCrossAccountPull",
    "Effect" : "Allow",
    "Principal" : { "AWS" : "arn:aws:iam::${OTHER}:root" },
    "Action" : [ "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability" ]
  } ]
}`;

function doc(statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

async function createRepository(name: string): Promise<void> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
}

/**
 * The policy as stored, read from the database: a policy under test may deny even the root
 * GetRepositoryPolicy, which the authorizer now enforces.
 */
async function storedPolicy(name: string): Promise<string | undefined> {
  const repo = await server.app.meta.repositories.get(ACCOUNT, name);
  return repo ? server.app.meta.policies.getRepositoryPolicy(repo.id) : undefined;
}

describe('SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy', () => {
  it('sets a policy, answers with the text as sent, and reads it back byte for byte', async () => {
    await createRepository('pol/app');
    const out = await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/app', policyText: PULL_GRANT }));
    expect(out).toMatchObject({ registryId: ACCOUNT, repositoryName: 'pol/app', policyText: PULL_GRANT });
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'pol/app', registryId: ACCOUNT }));
    expect(got).toMatchObject({ registryId: ACCOUNT, repositoryName: 'pol/app', policyText: PULL_GRANT });
  });

  it('replaces the policy on a second set', async () => {
    await createRepository('pol/replace');
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/replace', policyText: PULL_GRANT }));
    const second = doc([{ Sid: 'Push', Effect: 'Allow', Principal: { AWS: OTHER }, Action: ['ecr:PutImage', 'ecr:InitiateLayerUpload'] }]);
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/replace', policyText: second }));
    expect(await storedPolicy('pol/replace')).toBe(second);
  });

  it('deletes a policy, answering with the removed text; then there is none', async () => {
    await createRepository('pol/delete');
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/delete', policyText: PULL_GRANT }));
    const out = await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'pol/delete' }));
    expect(out).toMatchObject({ registryId: ACCOUNT, repositoryName: 'pol/delete', policyText: PULL_GRANT });
    const get = await awsError(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'pol/delete' })));
    expect(get.name).toBe('RepositoryPolicyNotFoundException');
    expect(get.status).toBe(400);
    expect(get.message).toContain("'pol/delete'");
    const again = await awsError(ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'pol/delete' })));
    expect(again.name).toBe('RepositoryPolicyNotFoundException');
    expect(again.status).toBe(400);
  });

  it('answers RepositoryNotFoundException for a repository that does not exist', async () => {
    for (const command of [
      new SetRepositoryPolicyCommand({ repositoryName: 'pol/absent', policyText: PULL_GRANT }),
      new GetRepositoryPolicyCommand({ repositoryName: 'pol/absent' }),
      new DeleteRepositoryPolicyCommand({ repositoryName: 'pol/absent' }),
    ]) {
      const err = await awsError(ecr.send(command as SetRepositoryPolicyCommand));
      expect(err.name).toBe('RepositoryNotFoundException');
      expect(err.message).toContain("'pol/absent'");
    }
  });

  it('answers InvalidParameterException for a bad repository name or registry id', async () => {
    const name = await awsError(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'Pol/Upper' })));
    expect(name.name).toBe('InvalidParameterException');
    expect(name.message).toContain("'repositoryName'");
    const registry = await awsError(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'pol/app', registryId: '12' })));
    expect(registry.name).toBe('InvalidParameterException');
    expect(registry.message).toContain("'registryId'");
  });

  it('removes the policy with its repository', async () => {
    await createRepository('pol/gone');
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/gone', policyText: PULL_GRANT }));
    const before = await server.app.registry.repository(ACCOUNT as AccountId, 'pol/gone' as RepositoryName);
    expect(await server.app.meta.policies.getRepositoryPolicy(before.row.id)).toBe(PULL_GRANT);
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'pol/gone' }));
    expect(await server.app.meta.policies.getRepositoryPolicy(before.row.id)).toBeUndefined();
    await createRepository('pol/gone');
    expect((await awsError(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'pol/gone' })))).name).toBe(
      'RepositoryPolicyNotFoundException',
    );
  });
});

describe('malformed repository policies', () => {
  const nested = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Condition":{"StringEquals":{"aws:username":${'['.repeat(2000)}${']'.repeat(2000)}}}}]}`;
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"Version": "2012-10-17", "Statement": [', /JSON/i],
    ['an empty document', '', /empty/],
    ['an unknown top-level element', JSON.stringify({ Version: '2012-10-17', Statment: [] }), /Statment/],
    ['an unknown statement element', doc([{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage', Colour: 'blue' }]), /Colour/],
    ['Effect of the wrong type', doc([{ Effect: 1, Principal: '*', Action: 'ecr:BatchGetImage' }]), /Effect/],
    ['Effect not Allow or Deny', doc([{ Effect: 'Permit', Principal: '*', Action: 'ecr:BatchGetImage' }]), /Effect/],
    ['Action of the wrong type', doc([{ Effect: 'Allow', Principal: '*', Action: 42 }]), /Action/],
    ['no Principal', doc([{ Effect: 'Allow', Action: 'ecr:BatchGetImage' }]), /Principal/],
    ['an unknown condition operator', doc([{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage', Condition: { StringEqualz: { 'aws:username': 'a' } } }]), /StringEqualz/],
    ['a non-ECR action', doc([{ Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage', 's3:GetObject'] }]), /s3:GetObject/],
    ['an ECR action that does not exist', doc([{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImages' }]), /ecr:BatchGetImages/],
    ['deeply nested JSON', nested, /nests deeper/],
  ];

  beforeAll(() => createRepository('bad/policy'));

  it.each(cases)('refuses %s with a clear message and stores nothing', async (_what, policyText, says) => {
    const name = 'bad/policy';
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: name, policyText: PULL_GRANT }));
    const err = await awsError(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: name, policyText })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.status).toBe(400);
    expect(err.message).toContain('Invalid repository policy provided');
    expect(err.message).toMatch(says);
    expect(await storedPolicy(name)).toBe(PULL_GRANT);
  });

  it('refuses a policy over 10,240 characters before parsing it, and stores nothing', async () => {
    await createRepository('bad/size');
    const statement = { Sid: 'x'.repeat(10_300), Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' };
    const err = await awsError(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'bad/size', policyText: doc([statement]) })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain("'policyText'");
    expect(err.message).toContain('10240');
    expect(await storedPolicy('bad/size')).toBeUndefined();
  });

  it('accepts a policy of exactly 10,240 characters', async () => {
    await createRepository('bad/limit');
    const base = doc([{ Sid: '', Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }]);
    const policyText = doc([{ Sid: 'S'.repeat(10_240 - base.length), Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }]);
    expect(policyText.length).toBe(10_240);
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'bad/limit', policyText }));
    expect(await storedPolicy('bad/limit')).toBe(policyText);
  });
});

describe('force: lock-out protection', () => {
  const denySetPolicy = (principal: unknown) =>
    doc([
      { Sid: 'Pull', Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'ecr:BatchGetImage' },
      { Sid: 'NoPolicyChanges', Effect: 'Deny', Principal: principal, Action: ['ecr:SetRepositoryPolicy', 'ecr:DeleteRepositoryPolicy'] },
    ]);

  it('refuses a policy that explicitly denies the caller ecr:SetRepositoryPolicy, and stores it with force', async () => {
    await createRepository('force/root');
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/root', policyText: PULL_GRANT }));
    const lockout = denySetPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:root` });
    const refused = await awsError(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/root', policyText: lockout })));
    expect(refused.name).toBe('InvalidParameterException');
    expect(refused.message).toContain('SetRepositoryPolicy');
    expect(refused.message).toContain('force');
    expect(await storedPolicy('force/root')).toBe(PULL_GRANT);
    const explicitNo = await awsError(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/root', policyText: lockout, force: false })));
    expect(explicitNo.name).toBe('InvalidParameterException');
    const forced = await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/root', policyText: lockout, force: true }));
    expect(forced.policyText).toBe(lockout);
    expect(await storedPolicy('force/root')).toBe(lockout);
  });

  it('counts a Deny to everyone, or of ecr:*, as a lock-out', async () => {
    await createRepository('force/star');
    for (const policyText of [
      denySetPolicy('*'),
      doc([{ Effect: 'Deny', Principal: { AWS: ACCOUNT }, Action: 'ecr:*' }]),
      doc([{ Effect: 'Deny', Principal: '*', Action: 'ecr:Set*' }]),
    ]) {
      const err = await awsError(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/star', policyText })));
      expect(err.name).toBe('InvalidParameterException');
    }
    expect(await storedPolicy('force/star')).toBeUndefined();
  });

  it('accepts denials that do not reach the caller or the action', async () => {
    await createRepository('force/other');
    for (const policyText of [
      denySetPolicy({ AWS: `arn:aws:iam::${OTHER}:root` }),
      denySetPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:user/someone-else` }),
      doc([{ Effect: 'Deny', Principal: '*', Action: ['ecr:PutImage', 'ecr:BatchDeleteImage'] }]),
      doc([{ Effect: 'Deny', Principal: '*', NotAction: 'ecr:SetRepositoryPolicy' }]),
    ]) {
      await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/other', policyText }));
      expect(await storedPolicy('force/other')).toBe(policyText);
    }
  });

  it("evaluates conditions on the caller's real address (aws:SourceIp)", async () => {
    await createRepository('force/network');
    // "Only from the office network": the test client calls from loopback, inside 127.0.0.0/8.
    const fromLoopbackOnly = doc([{ Effect: 'Deny', Principal: '*', Action: 'ecr:*', Condition: { NotIpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }]);
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/network', policyText: fromLoopbackOnly }));
    expect(await storedPolicy('force/network')).toBe(fromLoopbackOnly);
    const notFromLoopback = doc([{ Effect: 'Deny', Principal: '*', Action: 'ecr:SetRepositoryPolicy', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }]);
    const err = await awsError(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/network', policyText: notFromLoopback })));
    expect(err.name).toBe('InvalidParameterException');
    expect(await storedPolicy('force/network')).toBe(fromLoopbackOnly);
  });

  it('decides for the caller: a policy that locks out one user is refused to that user and accepted from root', async () => {
    const iam = new IAMClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    await iam.send(new CreateUserCommand({ UserName: 'policy-admin' }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'policy-admin', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'policy-admin' }));
    const asUser = ecrClient(server, { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! });
    await createRepository('force/user');
    const lockout = denySetPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:user/policy-admin` });
    const refused = await awsError(asUser.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/user', policyText: lockout })));
    expect(refused.name).toBe('InvalidParameterException');
    expect(refused.message).toContain(`arn:aws:iam::${ACCOUNT}:user/policy-admin`);
    expect(await storedPolicy('force/user')).toBeUndefined();
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/user', policyText: lockout }));
    expect(await storedPolicy('force/user')).toBe(lockout);
    // Now in effect, the policy denies the user even with force; the root may still replace it.
    const denied = await awsError(asUser.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/user', policyText: PULL_GRANT, force: true })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toMatch(/explicit deny/);
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'force/user', policyText: PULL_GRANT }));
    expect(await storedPolicy('force/user')).toBe(PULL_GRANT);
  });
});

describe('PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy', () => {
  const REPLICATION = `{
    "Version": "2012-10-17",
    "Statement": [{
      "Sid": "ReplicationFromSource",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::${OTHER}:root"},
      "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
      "Resource": "arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*"
    }]
  }`;
  const PULL_THROUGH = doc([
    {
      Sid: 'PullThroughImport',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${OTHER}:role/builder` },
      Action: ['ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
      Resource: [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/docker-hub/*`],
    },
  ]);

  it('has none at first, then puts, reads back, replaces and deletes it', async () => {
    const none = await awsError(ecr.send(new GetRegistryPolicyCommand({})));
    expect(none.name).toBe('RegistryPolicyNotFoundException');
    expect(none.status).toBe(400);
    expect(none.message).toContain(ACCOUNT);

    expect(await ecr.send(new PutRegistryPolicyCommand({ policyText: REPLICATION }))).toMatchObject({ registryId: ACCOUNT, policyText: REPLICATION });
    expect(await ecr.send(new GetRegistryPolicyCommand({}))).toMatchObject({ registryId: ACCOUNT, policyText: REPLICATION });

    await ecr.send(new PutRegistryPolicyCommand({ policyText: PULL_THROUGH }));
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(PULL_THROUGH);

    expect(await ecr.send(new DeleteRegistryPolicyCommand({}))).toMatchObject({ registryId: ACCOUNT, policyText: PULL_THROUGH });
    expect((await awsError(ecr.send(new GetRegistryPolicyCommand({})))).name).toBe('RegistryPolicyNotFoundException');
    const again = await awsError(ecr.send(new DeleteRegistryPolicyCommand({})));
    expect(again.name).toBe('RegistryPolicyNotFoundException');
    expect(again.status).toBe(400);
  });

  it('accepts any ECR action (registry policy scope V2)', async () => {
    const policyText = doc([
      { Effect: 'Allow', Principal: { AWS: OTHER }, Action: ['ecr:BatchGetImage', 'ecr:Describe*'], Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/prod-*` },
    ]);
    await ecr.send(new PutRegistryPolicyCommand({ policyText }));
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(policyText);
    await ecr.send(new DeleteRegistryPolicyCommand({}));
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"Statement":', /JSON/i],
    ['a non-ECR action', doc([{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'iam:PassRole', Resource: '*' }]), /iam:PassRole/],
    ['a repository of another registry', doc([{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'ecr:ReplicateImage', Resource: `arn:aws:ecr:${REGION}:${OTHER}:repository/*` }]), /Resource/],
    ['a resource that is not a repository', doc([{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'ecr:ReplicateImage', Resource: 'arn:aws:s3:::bucket' }]), /arn:aws:s3:::bucket/],
    ['an unknown element', doc([{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'ecr:ReplicateImage', Resource: '*', Extra: true }]), /Extra/],
    ['a statement without Resource', doc([{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'ecr:ReplicateImage' }]), /Statement\[0\]: needs a Resource/],
  ];

  it.each(bad)('refuses %s and keeps the policy in place', async (_what, policyText, says) => {
    await ecr.send(new PutRegistryPolicyCommand({ policyText: REPLICATION }));
    const err = await awsError(ecr.send(new PutRegistryPolicyCommand({ policyText })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain('Invalid registry policy provided');
    expect(err.message).toMatch(says);
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(REPLICATION);
  });

  it('refuses a policy over 10,240 characters', async () => {
    const policyText = doc([{ Sid: 'x'.repeat(10_300), Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'ecr:ReplicateImage', Resource: '*' }]);
    const err = await awsError(ecr.send(new PutRegistryPolicyCommand({ policyText })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain("'policyText'");
  });

  it('keeps each account to its own registry policy', async () => {
    await ecr.send(new PutRegistryPolicyCommand({ policyText: REPLICATION }));
    // Another account, as `berth account create` makes one.
    const otherRoot = { accessKeyId: 'AKIAOTHERACCOUNT0002', secretAccessKey: 'otherSecretOTHERSECRET0123456789abcdefgh' };
    await server.app.meta.accounts.ensure(OTHER, Date.now());
    await server.app.meta.accessKeys.create({
      ...otherRoot,
      accountId: OTHER,
      userName: null,
      secretEnc: SecretBox.load(server.dataDir).seal(otherRoot.secretAccessKey),
      status: 'Active',
      createdAt: Date.now(),
    });
    const other = ecrClient(server, otherRoot);
    expect((await awsError(other.send(new GetRegistryPolicyCommand({})))).name).toBe('RegistryPolicyNotFoundException');
    // Its policy may only name its own repositories.
    const refused = await awsError(other.send(new PutRegistryPolicyCommand({ policyText: REPLICATION })));
    expect(refused.name).toBe('InvalidParameterException');
    expect(refused.message).toContain(`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*`);
    const own = doc([{ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'ecr:ReplicateImage', Resource: `arn:aws:ecr:${REGION}:${OTHER}:repository/*` }]);
    expect(await other.send(new PutRegistryPolicyCommand({ policyText: own }))).toMatchObject({ registryId: OTHER, policyText: own });
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(REPLICATION);
    expect((await other.send(new DeleteRegistryPolicyCommand({}))).policyText).toBe(own);
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(REPLICATION);
  });
});
