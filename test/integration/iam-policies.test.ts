/**
 * IAM identity policies, roles and STS AssumeRole through the Query door, driven by the real
 * @aws-sdk/client-iam and @aws-sdk/client-sts against the in-process server: each operation's
 * answer and documented errors as the SDK parses them, AWS's ECR managed policies, who may assume
 * a role, and what `identityPoliciesOf` hands the authorizer.
 */
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, type Principal } from '../../src/iam/index.js';
import { authorize, parsePolicy, type RequestContext } from '../../src/iam/policy/index.js';
import { identityPoliciesOf, invalidateIdentityPolicies, requestPrincipalOf } from '../../src/iam-api/index.js';
import { awsError } from '../helpers/aws-clients.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ACCOUNT = '000000000000';
const OTHER_ACCOUNT = '222233334444';
const AWS_POLICY = (name: string) => `arn:aws:iam::aws:policy/${name}`;
const READ_ONLY = AWS_POLICY('AmazonEC2ContainerRegistryReadOnly');
const POWER_USER = AWS_POLICY('AmazonEC2ContainerRegistryPowerUser');
const FULL_ACCESS = AWS_POLICY('AmazonEC2ContainerRegistryFullAccess');
const PULL_ONLY = AWS_POLICY('AmazonEC2ContainerRegistryPullOnly');

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

let server: TestServer;
let root: Credentials;
let iam: IAMClient;
let otherRoot: Credentials;

const iamAs = (credentials: Credentials) => new IAMClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
const stsAs = (credentials: Credentials) => new STSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });

/** A policy document as callers write them. */
function doc(statements: object | object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}
const allow = (action: string | string[], resource: string | string[] = '*') => doc({ Effect: 'Allow', Action: action, Resource: resource });
const trust = (principal: unknown, extra: object = {}) => doc({ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...extra });

/** What the policy engine says about a document: the message IAM must answer MalformedPolicyDocument with. */
function engineMessage(text: string, kind: 'identity' | 'trust'): string {
  try {
    parsePolicy(text, kind);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`the engine accepts ${text}`);
}

async function userWithKey(userName: string, path?: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: userName, ...(path ? { Path: path } : {}) }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

async function assume(credentials: Credentials, roleArn: string, extra: { DurationSeconds?: number; ExternalId?: string; RoleSessionName?: string } = {}) {
  return stsAs(credentials).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'session-1', ...extra }));
}

function sessionCredentials(res: Awaited<ReturnType<typeof assume>>): Credentials {
  const c = res.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

beforeAll(async () => {
  server = await startTestServer();
  root = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  iam = iamAs(root);
  // A second account, as `berth account create` makes one.
  otherRoot = { accessKeyId: 'AKIAOTHERACCOUNT0001', secretAccessKey: 'otherSecretOTHERSECRET0123456789abcdefgh' };
  const box = SecretBox.load(server.dataDir);
  await server.app.meta.accounts.ensure(OTHER_ACCOUNT, Date.now());
  await server.app.meta.accessKeys.create({
    ...otherRoot,
    accountId: OTHER_ACCOUNT,
    userName: null,
    secretEnc: box.seal(otherRoot.secretAccessKey),
    status: 'Active',
    createdAt: Date.now(),
  });
});
afterAll(() => server.close());

describe('inline user policies', () => {
  it('puts, reads (URL-encoded, as IAM), lists, replaces and deletes', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'inline-user' }));
    const pull = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Pull', Effect: 'Allow', Action: ['ecr:BatchGetImage'], Resource: '*' }] }, null, 2);
    await iam.send(new PutUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Pull', PolicyDocument: pull }));
    await iam.send(new PutUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Describe', PolicyDocument: allow('ecr:Describe*') }));

    const got = await iam.send(new GetUserPolicyCommand({ UserName: 'INLINE-USER', PolicyName: 'Pull' }));
    expect(got).toMatchObject({ UserName: 'inline-user', PolicyName: 'Pull' });
    expect(got.PolicyDocument).toMatch(/^%7B%0A%20%20%22Version%22/);
    expect(decodeURIComponent(got.PolicyDocument!)).toBe(pull);

    const listed = await iam.send(new ListUserPoliciesCommand({ UserName: 'inline-user' }));
    expect(listed).toMatchObject({ PolicyNames: ['Describe', 'Pull'], IsTruncated: false });

    // Put with the same name replaces.
    await iam.send(new PutUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Pull', PolicyDocument: allow('ecr:GetDownloadUrlForLayer') }));
    const replaced = await iam.send(new GetUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Pull' }));
    expect(decodeURIComponent(replaced.PolicyDocument!)).toBe(allow('ecr:GetDownloadUrlForLayer'));
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'inline-user' }))).PolicyNames).toHaveLength(2);

    await iam.send(new DeleteUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Pull' }));
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'inline-user' }))).PolicyNames).toEqual(['Describe']);
    const gone = await awsError(iam.send(new GetUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Pull' })));
    expect(gone).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: 'The user policy with name Pull cannot be found.' });
    expect((await awsError(iam.send(new DeleteUserPolicyCommand({ UserName: 'inline-user', PolicyName: 'Pull' })))).name).toBe('NoSuchEntityException');
  });

  it('pages ListUserPolicies with MaxItems and Marker', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'many-inline' }));
    for (const name of ['c', 'a', 'b']) {
      await iam.send(new PutUserPolicyCommand({ UserName: 'many-inline', PolicyName: name, PolicyDocument: allow('ecr:ListImages') }));
    }
    const first = await iam.send(new ListUserPoliciesCommand({ UserName: 'many-inline', MaxItems: 2 }));
    expect(first).toMatchObject({ PolicyNames: ['a', 'b'], IsTruncated: true });
    const rest = await iam.send(new ListUserPoliciesCommand({ UserName: 'many-inline', MaxItems: 2, Marker: first.Marker }));
    expect(rest).toMatchObject({ PolicyNames: ['c'], IsTruncated: false });
    expect(rest.Marker).toBeUndefined();
  });

  it('answers NoSuchEntity for a user that does not exist', async () => {
    const put = await awsError(iam.send(new PutUserPolicyCommand({ UserName: 'ghost', PolicyName: 'p', PolicyDocument: allow('ecr:ListImages') })));
    expect(put).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: 'The user with name ghost cannot be found.' });
    expect((await awsError(iam.send(new GetUserPolicyCommand({ UserName: 'ghost', PolicyName: 'p' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new ListUserPoliciesCommand({ UserName: 'ghost' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new DeleteUserPolicyCommand({ UserName: 'ghost', PolicyName: 'p' })))).name).toBe('NoSuchEntityException');
  });

  it.each<[string, string]>([
    ['not JSON', '{"Version": "2012-10-17", "Statement": '],
    ['an unknown element', doc({ Effect: 'Allow', Action: 'ecr:ListImages', Resource: '*', Actions: 'x' })],
    ['a Principal', doc({ Effect: 'Allow', Principal: '*', Action: 'ecr:ListImages', Resource: '*' })],
    ['an unknown condition operator', doc({ Effect: 'Allow', Action: 'ecr:ListImages', Resource: '*', Condition: { StringEqualz: { 'aws:username': 'x' } } })],
    ['no Resource', doc({ Effect: 'Allow', Action: 'ecr:ListImages' })],
    ['a wrong Effect', doc({ Effect: 'Permit', Action: 'ecr:ListImages', Resource: '*' })],
  ])('refuses a document with %s: MalformedPolicyDocument (400) with the engine message, nothing stored', async (what, text) => {
    const userName = `bad-doc-${what.replace(/\W/g, '')}`;
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const err = await awsError(iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: 'p', PolicyDocument: text })));
    expect(err).toMatchObject({ name: 'MalformedPolicyDocumentException', status: 400, message: engineMessage(text, 'identity') });
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames).toEqual([]);
  });

  it("limits a user's inline policies to 2,048 characters in all, white space not counted: LimitExceeded (409)", async () => {
    await iam.send(new CreateUserCommand({ UserName: 'big-inline' }));
    const actions = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `ecr:${prefix}${String(i).padStart(4, '0')}`);
    // ~1,160 characters without white space, far more with it: accepted.
    const spacious = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions(90, 'A'), Resource: '*' }] }, null, 10);
    expect(spacious.length).toBeGreaterThan(2048);
    await iam.send(new PutUserPolicyCommand({ UserName: 'big-inline', PolicyName: 'first', PolicyDocument: spacious }));
    // Another ~1,160: the total passes 2,048.
    const second = allow(actions(90, 'B'));
    const err = await awsError(iam.send(new PutUserPolicyCommand({ UserName: 'big-inline', PolicyName: 'second', PolicyDocument: second })));
    expect(err).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Maximum policy size of 2048 bytes exceeded for user big-inline' });
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'big-inline' }))).PolicyNames).toEqual(['first']);
    // Replacing the first one counts only the new text.
    await iam.send(new PutUserPolicyCommand({ UserName: 'big-inline', PolicyName: 'first', PolicyDocument: second }));
  });

  it('refuses bad names with ValidationError', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'named-badly' }));
    const err = await awsError(iam.send(new PutUserPolicyCommand({ UserName: 'named-badly', PolicyName: 'bad name', PolicyDocument: allow('ecr:ListImages') })));
    expect(err).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(err.message).toContain("at 'policyName' failed to satisfy constraint");
  });
});

describe('customer managed policies', () => {
  it('creates v1 as the default version and reads it back with GetPolicy and GetPolicyVersion', async () => {
    const text = allow(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/team/*`);
    const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: 'TeamPull', Path: '/team/', PolicyDocument: text, Description: 'pull team images' }));
    expect(Policy).toMatchObject({
      PolicyName: 'TeamPull',
      Arn: `arn:aws:iam::${ACCOUNT}:policy/team/TeamPull`,
      Path: '/team/',
      DefaultVersionId: 'v1',
      AttachmentCount: 0,
      IsAttachable: true,
    });
    expect(Policy?.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
    expect(Policy?.CreateDate).toBeInstanceOf(Date);

    const got = await iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }));
    expect(got.Policy).toMatchObject({ ...Policy, Description: 'pull team images' });

    const { PolicyVersion } = await iam.send(new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn, VersionId: 'v1' }));
    expect(PolicyVersion).toMatchObject({ VersionId: 'v1', IsDefaultVersion: true });
    expect(decodeURIComponent(PolicyVersion!.Document!)).toBe(text);
    const v2 = await awsError(iam.send(new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn, VersionId: 'v2' })));
    expect(v2).toMatchObject({ name: 'NoSuchEntityException', status: 404 });
    expect((await awsError(iam.send(new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn, VersionId: 'version2' })))).name).toBe('ValidationError');
  });

  it('refuses a duplicate name in any case (EntityAlreadyExists), a bad document and an oversize one', async () => {
    await iam.send(new CreatePolicyCommand({ PolicyName: 'Unique', PolicyDocument: allow('ecr:ListImages') }));
    const dup = await awsError(iam.send(new CreatePolicyCommand({ PolicyName: 'UNIQUE', Path: '/elsewhere/', PolicyDocument: allow('ecr:ListImages') })));
    expect(dup).toMatchObject({ name: 'EntityAlreadyExistsException', status: 409, message: 'A policy called UNIQUE already exists. Duplicate names are not allowed.' });

    const bad = doc({ Effect: 'Allow', Action: 'ListImages', Resource: '*' });
    const malformed = await awsError(iam.send(new CreatePolicyCommand({ PolicyName: 'Malformed', PolicyDocument: bad })));
    expect(malformed).toMatchObject({ name: 'MalformedPolicyDocumentException', status: 400, message: engineMessage(bad, 'identity') });

    const huge = allow(Array.from({ length: 400 }, (_, i) => `ecr:Action${String(i).padStart(6, '0')}`));
    const limit = await awsError(iam.send(new CreatePolicyCommand({ PolicyName: 'Huge', PolicyDocument: huge })));
    expect(limit).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Cannot exceed quota for PolicySize: 6144' });
    for (const name of ['Malformed', 'Huge']) {
      const arn = `arn:aws:iam::${ACCOUNT}:policy/${name}`;
      expect((await awsError(iam.send(new GetPolicyCommand({ PolicyArn: arn })))).name).toBe('NoSuchEntityException');
    }
  });

  it('attaches to users, lists, counts, refuses deletion while attached (DeleteConflict), detaches and deletes', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'attached-user' }));
    const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: 'Pushers', PolicyDocument: allow('ecr:PutImage') }));
    const arn = Policy!.Arn!;
    await iam.send(new AttachUserPolicyCommand({ UserName: 'attached-user', PolicyArn: arn }));
    // Attaching again changes nothing and succeeds, as in IAM.
    await iam.send(new AttachUserPolicyCommand({ UserName: 'Attached-User', PolicyArn: arn }));
    const listed = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'attached-user' }));
    expect(listed).toMatchObject({ AttachedPolicies: [{ PolicyName: 'Pushers', PolicyArn: arn }], IsTruncated: false });
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.AttachmentCount).toBe(1);

    const conflict = await awsError(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    expect(conflict).toMatchObject({ name: 'DeleteConflictException', status: 409, message: 'Cannot delete a policy attached to entities.' });

    await iam.send(new DetachUserPolicyCommand({ UserName: 'attached-user', PolicyArn: arn }));
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'attached-user' }))).AttachedPolicies).toEqual([]);
    const again = await awsError(iam.send(new DetachUserPolicyCommand({ UserName: 'attached-user', PolicyArn: arn })));
    expect(again).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: `Policy ${arn} was not found.` });

    await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
    expect((await awsError(iam.send(new GetPolicyCommand({ PolicyArn: arn })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new DeletePolicyCommand({ PolicyArn: arn })))).name).toBe('NoSuchEntityException');
    // The name is free again.
    await iam.send(new CreatePolicyCommand({ PolicyName: 'Pushers', PolicyDocument: allow('ecr:PutImage') }));
  });

  it('refuses to attach a policy that does not exist (NoSuchEntity) or an ARN that is not one (InvalidInput)', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'attach-errors' }));
    const missing = `arn:aws:iam::${ACCOUNT}:policy/Nope`;
    const err = await awsError(iam.send(new AttachUserPolicyCommand({ UserName: 'attach-errors', PolicyArn: missing })));
    expect(err).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: `Policy ${missing} does not exist or is not attachable.` });
    const unknownAws = AWS_POLICY('AdministratorAccess');
    expect((await awsError(iam.send(new AttachUserPolicyCommand({ UserName: 'attach-errors', PolicyArn: unknownAws })))).name).toBe('NoSuchEntityException');
    const invalid = await awsError(iam.send(new AttachUserPolicyCommand({ UserName: 'attach-errors', PolicyArn: 'arn:aws:s3:::not-a-policy' })));
    expect(invalid).toMatchObject({ name: 'InvalidInputException', status: 400, message: 'ARN arn:aws:s3:::not-a-policy is not valid.' });
    expect((await awsError(iam.send(new AttachUserPolicyCommand({ UserName: 'ghost', PolicyArn: READ_ONLY })))).name).toBe('NoSuchEntityException');
    // Another account's policy is not attachable here.
    const { Policy } = await iamAs(otherRoot).send(new CreatePolicyCommand({ PolicyName: 'Theirs', PolicyDocument: allow('ecr:ListImages') }));
    expect((await awsError(iam.send(new AttachUserPolicyCommand({ UserName: 'attach-errors', PolicyArn: Policy!.Arn })))).name).toBe('NoSuchEntityException');
    // ...nor readable: it is in another account.
    expect((await awsError(iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn })))).name).toBe('AccessDenied');
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'attach-errors' }))).AttachedPolicies).toEqual([]);
  });

  it('allows 10 managed policies per user; the 11th is LimitExceeded (409)', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'ten-policies' }));
    const arns: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: `Ten${i}`, Path: i % 2 ? '/odd/' : '/', PolicyDocument: allow('ecr:ListImages') }));
      arns.push(Policy!.Arn!);
      await iam.send(new AttachUserPolicyCommand({ UserName: 'ten-policies', PolicyArn: Policy!.Arn }));
    }
    const err = await awsError(iam.send(new AttachUserPolicyCommand({ UserName: 'ten-policies', PolicyArn: READ_ONLY })));
    expect(err).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Cannot exceed quota for PoliciesPerUser: 10' });
    // Re-attaching one already attached is still fine at the limit.
    await iam.send(new AttachUserPolicyCommand({ UserName: 'ten-policies', PolicyArn: arns[0] }));

    // Paging and PathPrefix.
    const page = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'ten-policies', MaxItems: 4 }));
    expect(page.AttachedPolicies).toHaveLength(4);
    expect(page.IsTruncated).toBe(true);
    const seen = [...page.AttachedPolicies!];
    let marker = page.Marker;
    while (marker) {
      const next = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'ten-policies', MaxItems: 4, Marker: marker }));
      seen.push(...next.AttachedPolicies!);
      marker = next.Marker;
    }
    expect(seen.map((p) => p.PolicyArn).sort()).toEqual([...arns].sort());
    const odd = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'ten-policies', PathPrefix: '/odd/' }));
    expect(odd.AttachedPolicies?.map((p) => p.PolicyName).sort()).toEqual(['Ten1', 'Ten3', 'Ten5', 'Ten7', 'Ten9']);
  });

  it('refuses to delete a user with inline or attached policies (DeleteConflict)', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'with-policies' }));
    await iam.send(new PutUserPolicyCommand({ UserName: 'with-policies', PolicyName: 'p', PolicyDocument: allow('ecr:ListImages') }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'with-policies', PolicyArn: READ_ONLY }));
    const inline = await awsError(iam.send(new DeleteUserCommand({ UserName: 'with-policies' })));
    expect(inline).toMatchObject({ name: 'DeleteConflictException', status: 409, message: 'Cannot delete entity, must delete policies first.' });
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'with-policies', PolicyName: 'p' }));
    const attached = await awsError(iam.send(new DeleteUserCommand({ UserName: 'with-policies' })));
    expect(attached).toMatchObject({ name: 'DeleteConflictException', message: 'Cannot delete entity, must detach all policies first.' });
    await iam.send(new DetachUserPolicyCommand({ UserName: 'with-policies', PolicyArn: READ_ONLY }));
    await iam.send(new DeleteUserCommand({ UserName: 'with-policies' }));
    // A user created again under the name starts with nothing.
    await iam.send(new CreateUserCommand({ UserName: 'with-policies' }));
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'with-policies' }))).PolicyNames).toEqual([]);
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'with-policies' }))).AttachedPolicies).toEqual([]);
  });
});

describe("AWS's ECR managed policies", () => {
  const readOnlyActions = [
    'ecr:GetAuthorizationToken',
    'ecr:BatchCheckLayerAvailability',
    'ecr:GetDownloadUrlForLayer',
    'ecr:GetRepositoryPolicy',
    'ecr:DescribeRepositories',
    'ecr:ListImages',
    'ecr:DescribeImages',
    'ecr:BatchGetImage',
    'ecr:GetLifecyclePolicy',
    'ecr:GetLifecyclePolicyPreview',
    'ecr:ListTagsForResource',
    'ecr:DescribeImageScanFindings',
  ];

  async function documentOf(arn: string): Promise<{ Statement: { Effect: string; Action: string[]; Resource: string }[] }> {
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    const { PolicyVersion } = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy!.DefaultVersionId }));
    expect(PolicyVersion?.IsDefaultVersion).toBe(true);
    return JSON.parse(decodeURIComponent(PolicyVersion!.Document!));
  }

  it('are readable by their real ARNs, with their real documents', async () => {
    for (const arn of [READ_ONLY, POWER_USER, FULL_ACCESS, PULL_ONLY]) {
      const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
      expect(Policy).toMatchObject({ Arn: arn, Path: '/', PolicyName: arn.split('/')[1], IsAttachable: true, DefaultVersionId: 'v1' });
      expect(Policy?.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
    }
    const readOnly = await documentOf(READ_ONLY);
    expect(readOnly.Statement).toEqual([{ Effect: 'Allow', Action: readOnlyActions, Resource: '*' }]);
    const powerUser = await documentOf(POWER_USER);
    expect(powerUser.Statement).toEqual([
      { Effect: 'Allow', Action: [...readOnlyActions, 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'], Resource: '*' },
    ]);
    const full = await documentOf(FULL_ACCESS);
    expect(full.Statement[0]).toEqual({ Effect: 'Allow', Action: ['ecr:*', 'cloudtrail:LookupEvents'], Resource: '*' });
    const pull = await documentOf(PULL_ONLY);
    expect(pull.Statement[0]?.Action).toEqual(expect.arrayContaining(['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']));
    expect(pull.Statement[0]?.Action).not.toContain('ecr:PutImage');
    expect((await awsError(iam.send(new GetPolicyVersionCommand({ PolicyArn: READ_ONLY, VersionId: 'v2' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new GetPolicyCommand({ PolicyArn: AWS_POLICY('AdministratorAccess') })))).name).toBe('NoSuchEntityException');
  });

  it('attach to users and roles, counted per account, and cannot be deleted', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'aws-managed-user' }));
    await iam.send(new CreateRoleCommand({ RoleName: 'aws-managed-role', AssumeRolePolicyDocument: trust({ AWS: ACCOUNT }) }));
    const before = (await iam.send(new GetPolicyCommand({ PolicyArn: PULL_ONLY }))).Policy!.AttachmentCount!;
    await iam.send(new AttachUserPolicyCommand({ UserName: 'aws-managed-user', PolicyArn: PULL_ONLY }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'aws-managed-role', PolicyArn: PULL_ONLY }));
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'aws-managed-user' }))).AttachedPolicies).toEqual([
      { PolicyName: 'AmazonEC2ContainerRegistryPullOnly', PolicyArn: PULL_ONLY },
    ]);
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'aws-managed-role' }))).AttachedPolicies).toEqual([
      { PolicyName: 'AmazonEC2ContainerRegistryPullOnly', PolicyArn: PULL_ONLY },
    ]);
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: PULL_ONLY }))).Policy?.AttachmentCount).toBe(before + 2);
    // The other account sees its own count.
    expect((await iamAs(otherRoot).send(new GetPolicyCommand({ PolicyArn: PULL_ONLY }))).Policy?.AttachmentCount).toBe(0);
    const del = await awsError(iam.send(new DeletePolicyCommand({ PolicyArn: PULL_ONLY })));
    expect(del).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: PULL_ONLY }))).Policy?.Arn).toBe(PULL_ONLY);
  });
});

describe('roles', () => {
  it('creates a role with its trust policy and reads it back (trust policy URL-encoded)', async () => {
    const trustPolicy = trust({ AWS: `arn:aws:iam::${ACCOUNT}:root` });
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: 'deployer', Path: '/ci/', AssumeRolePolicyDocument: trustPolicy, Description: 'deploys', MaxSessionDuration: 7200 }),
    );
    expect(Role).toMatchObject({ RoleName: 'deployer', Path: '/ci/', Arn: `arn:aws:iam::${ACCOUNT}:role/ci/deployer`, Description: 'deploys', MaxSessionDuration: 7200 });
    expect(Role?.RoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(Role?.CreateDate).toBeInstanceOf(Date);
    expect(decodeURIComponent(Role!.AssumeRolePolicyDocument!)).toBe(trustPolicy);
    expect((await iam.send(new GetRoleCommand({ RoleName: 'DEPLOYER' }))).Role).toEqual(Role);
    const plain = await iam.send(new CreateRoleCommand({ RoleName: 'plain', AssumeRolePolicyDocument: trustPolicy }));
    expect(plain.Role).toMatchObject({ Path: '/', MaxSessionDuration: 3600 });
  });

  it('refuses a duplicate, a missing or malformed trust policy, an oversize one, and a bad MaxSessionDuration', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'only-once', AssumeRolePolicyDocument: trust('*') }));
    const dup = await awsError(iam.send(new CreateRoleCommand({ RoleName: 'ONLY-ONCE', AssumeRolePolicyDocument: trust('*') })));
    expect(dup).toMatchObject({ name: 'EntityAlreadyExistsException', status: 409, message: 'Role with name ONLY-ONCE already exists.' });

    const missing = await awsError(iam.send(new CreateRoleCommand({ RoleName: 'no-trust' } as never)));
    expect(missing).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(missing.message).toContain("Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null");

    for (const bad of [
      doc({ Effect: 'Allow', Action: 'sts:AssumeRole' }),
      doc({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole', Resource: '*' }),
      doc({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::12:user/x' }, Action: 'sts:AssumeRole' }),
    ]) {
      const err = await awsError(iam.send(new CreateRoleCommand({ RoleName: 'bad-trust', AssumeRolePolicyDocument: bad })));
      expect(err).toMatchObject({ name: 'MalformedPolicyDocumentException', status: 400, message: engineMessage(bad, 'trust') });
    }
    const many = Array.from({ length: 90 }, (_, i) => `arn:aws:iam::${ACCOUNT}:user/u${i}`);
    const oversize = await awsError(iam.send(new CreateRoleCommand({ RoleName: 'bad-trust', AssumeRolePolicyDocument: trust({ AWS: many }) })));
    expect(oversize).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Cannot exceed quota for ACLSizePerRole: 2048' });
    const duration = await awsError(iam.send(new CreateRoleCommand({ RoleName: 'bad-trust', AssumeRolePolicyDocument: trust('*'), MaxSessionDuration: 60 })));
    expect(duration).toMatchObject({ name: 'ValidationError', status: 400 });
    expect((await awsError(iam.send(new GetRoleCommand({ RoleName: 'bad-trust' })))).name).toBe('NoSuchEntityException');
  });

  it('has inline policies up to 10,240 characters in all', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'inline-role', AssumeRolePolicyDocument: trust('*') }));
    // ~2,120 characters: over a user's quota, well within a role's.
    const big = allow(Array.from({ length: 120 }, (_, i) => `ecr:Action${String(i).padStart(4, '0')}`));
    expect(big.length).toBeGreaterThan(2048);
    await iam.send(new PutRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Big', PolicyDocument: big }));
    await iam.send(new PutRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Small', PolicyDocument: allow('ecr:ListImages') }));
    const got = await iam.send(new GetRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Big' }));
    expect(got).toMatchObject({ RoleName: 'inline-role', PolicyName: 'Big' });
    expect(decodeURIComponent(got.PolicyDocument!)).toBe(big);
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'inline-role' }))).PolicyNames).toEqual(['Big', 'Small']);
    // Five of the big one pass 10,240 in all.
    for (const name of ['B2', 'B3', 'B4']) await iam.send(new PutRolePolicyCommand({ RoleName: 'inline-role', PolicyName: name, PolicyDocument: big }));
    const err = await awsError(iam.send(new PutRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'B5', PolicyDocument: big })));
    expect(err).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Maximum policy size of 10240 bytes exceeded for role inline-role' });

    const malformed = doc({ Effect: 'Allow', Principal: '*', Action: 'ecr:ListImages', Resource: '*' });
    const bad = await awsError(iam.send(new PutRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Bad', PolicyDocument: malformed })));
    expect(bad).toMatchObject({ name: 'MalformedPolicyDocumentException', message: engineMessage(malformed, 'identity') });

    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Small' }));
    const gone = await awsError(iam.send(new GetRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Small' })));
    expect(gone).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: 'The role policy with name Small cannot be found.' });
    expect((await awsError(iam.send(new DeleteRolePolicyCommand({ RoleName: 'inline-role', PolicyName: 'Small' })))).name).toBe('NoSuchEntityException');
  });

  it('has managed policies attached, at most 10', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'attached-role', AssumeRolePolicyDocument: trust('*') }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'attached-role', PolicyArn: READ_ONLY }));
    for (let i = 0; i < 9; i++) {
      const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: `RoleTen${i}`, PolicyDocument: allow('ecr:ListImages') }));
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'attached-role', PolicyArn: Policy!.Arn }));
    }
    const err = await awsError(iam.send(new AttachRolePolicyCommand({ RoleName: 'attached-role', PolicyArn: POWER_USER })));
    expect(err).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Cannot exceed quota for PoliciesPerRole: 10' });
    const listed = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'attached-role' }));
    expect(listed.AttachedPolicies).toHaveLength(10);
    expect(listed.AttachedPolicies).toContainEqual({ PolicyName: 'AmazonEC2ContainerRegistryReadOnly', PolicyArn: READ_ONLY });
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'attached-role', PolicyArn: READ_ONLY }));
    expect((await awsError(iam.send(new DetachRolePolicyCommand({ RoleName: 'attached-role', PolicyArn: READ_ONLY })))).name).toBe('NoSuchEntityException');
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'attached-role', PolicyArn: POWER_USER }));
  });

  it('answers NoSuchEntity for a role that does not exist', async () => {
    const calls: Promise<unknown>[] = [
      iam.send(new GetRoleCommand({ RoleName: 'no-role' })),
      iam.send(new DeleteRoleCommand({ RoleName: 'no-role' })),
      iam.send(new PutRolePolicyCommand({ RoleName: 'no-role', PolicyName: 'p', PolicyDocument: allow('ecr:ListImages') })),
      iam.send(new GetRolePolicyCommand({ RoleName: 'no-role', PolicyName: 'p' })),
      iam.send(new ListRolePoliciesCommand({ RoleName: 'no-role' })),
      iam.send(new DeleteRolePolicyCommand({ RoleName: 'no-role', PolicyName: 'p' })),
      iam.send(new AttachRolePolicyCommand({ RoleName: 'no-role', PolicyArn: READ_ONLY })),
      iam.send(new DetachRolePolicyCommand({ RoleName: 'no-role', PolicyArn: READ_ONLY })),
      iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'no-role' })),
    ];
    // Each refusal is caught as soon as it is made: awaiting them one by one would leave the later
    // ones rejected without a handler for a while (an unhandled rejection).
    for (const error of await Promise.all(calls.map((call) => awsError(call)))) {
      expect(error).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: 'The role with name no-role cannot be found.' });
    }
  });

  it('refuses to delete a role with policies (DeleteConflict), then deletes it', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'leaving-role', AssumeRolePolicyDocument: trust('*') }));
    await iam.send(new PutRolePolicyCommand({ RoleName: 'leaving-role', PolicyName: 'p', PolicyDocument: allow('ecr:ListImages') }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'leaving-role', PolicyArn: READ_ONLY }));
    const inline = await awsError(iam.send(new DeleteRoleCommand({ RoleName: 'leaving-role' })));
    expect(inline).toMatchObject({ name: 'DeleteConflictException', status: 409, message: 'Cannot delete entity, must delete policies first.' });
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'leaving-role', PolicyName: 'p' }));
    const attached = await awsError(iam.send(new DeleteRoleCommand({ RoleName: 'leaving-role' })));
    expect(attached).toMatchObject({ name: 'DeleteConflictException', message: 'Cannot delete entity, must detach all policies first.' });
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'leaving-role', PolicyArn: READ_ONLY }));
    await iam.send(new DeleteRoleCommand({ RoleName: 'Leaving-Role' }));
    expect((await awsError(iam.send(new GetRoleCommand({ RoleName: 'leaving-role' })))).name).toBe('NoSuchEntityException');
  });

  it('are managed by the root only: a user without policies is AccessDenied', async () => {
    const key = await userWithKey('role-curious');
    const asUser = iamAs(key);
    // Each refusal is caught as soon as it is made (awaiting them in turn leaves later ones unhandled for a while).
    const refusals = await Promise.all(
      [
        asUser.send(new CreateRoleCommand({ RoleName: 'sneaky', AssumeRolePolicyDocument: trust('*') })),
        asUser.send(new GetRoleCommand({ RoleName: 'deployer' })),
        asUser.send(new PutUserPolicyCommand({ UserName: 'role-curious', PolicyName: 'self', PolicyDocument: allow('*') })),
        asUser.send(new AttachUserPolicyCommand({ UserName: 'role-curious', PolicyArn: FULL_ACCESS })),
        asUser.send(new CreatePolicyCommand({ PolicyName: 'Mine', PolicyDocument: allow('*') })),
      ].map((call) => awsError(call)),
    );
    for (const error of refusals) expect(error).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect((await awsError(iam.send(new GetRoleCommand({ RoleName: 'sneaky' })))).name).toBe('NoSuchEntityException');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'role-curious' }))).PolicyNames).toEqual([]);
  });
});

describe('STS AssumeRole', () => {
  it("gives a user the role's credentials when the trust policy names it, and GetCallerIdentity names the session", async () => {
    const key = await userWithKey('trusted', '/people/');
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: 'trusts-user', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/people/trusted` }) }),
    );
    const res = await assume(key, Role!.Arn!, { RoleSessionName: 'build@42' });
    expect(res.AssumedRoleUser).toEqual({ AssumedRoleId: `${Role!.RoleId}:build@42`, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/trusts-user/build@42` });
    expect(res.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(res.Credentials?.SessionToken).toBeTruthy();
    expect(Math.abs(res.Credentials!.Expiration!.getTime() - (Date.now() + 3600_000))).toBeLessThan(5000);

    const who = await stsAs(sessionCredentials(res)).send(new GetCallerIdentityCommand({}));
    expect(who).toEqual(expect.objectContaining({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/trusts-user/build@42`, UserId: `${Role!.RoleId}:build@42` }));
  });

  it('needs an identity policy too when the trust policy names only the account', async () => {
    const key = await userWithKey('delegated');
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: 'trusts-account', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:root` }) }));
    const denied = await awsError(assume(key, Role!.Arn!));
    expect(denied).toMatchObject({
      name: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:iam::${ACCOUNT}:user/delegated is not authorized to perform: sts:AssumeRole on resource: ${Role!.Arn}`,
    });
    await iam.send(new PutUserPolicyCommand({ UserName: 'delegated', PolicyName: 'AssumeDeployer', PolicyDocument: allow('sts:AssumeRole', Role!.Arn!) }));
    // The policy applies from the next request (the cache is invalidated by the change).
    expect((await assume(key, Role!.Arn!)).AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/trusts-account/session-1`);
  });

  it('is refused when the trust policy does not name the caller, whatever its identity policies allow', async () => {
    const key = await userWithKey('untrusted');
    await iam.send(new PutUserPolicyCommand({ UserName: 'untrusted', PolicyName: 'AssumeAll', PolicyDocument: allow('sts:AssumeRole') }));
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: 'trusts-someone-else', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/someone-else` }) }),
    );
    expect((await awsError(assume(key, Role!.Arn!))).name).toBe('AccessDenied');
  });

  it('is refused by an explicit deny in the caller identity policy or in the trust policy', async () => {
    const key = await userWithKey('denied-assumer');
    const userArn = `arn:aws:iam::${ACCOUNT}:user/denied-assumer`;
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: 'trusts-denied', AssumeRolePolicyDocument: trust({ AWS: userArn }) }));
    expect((await assume(key, Role!.Arn!)).Credentials).toBeDefined();
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'denied-assumer', PolicyName: 'NoRoles', PolicyDocument: doc({ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }) }),
    );
    expect((await awsError(assume(key, Role!.Arn!))).name).toBe('AccessDenied');
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'denied-assumer', PolicyName: 'NoRoles' }));

    const { Role: denying } = await iam.send(
      new CreateRoleCommand({
        RoleName: 'trust-denies',
        AssumeRolePolicyDocument: doc([
          { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' },
          { Effect: 'Deny', Principal: { AWS: userArn }, Action: 'sts:AssumeRole' },
        ]),
      }),
    );
    await iam.send(new PutUserPolicyCommand({ UserName: 'denied-assumer', PolicyName: 'Assume', PolicyDocument: allow('sts:AssumeRole') }));
    expect((await awsError(assume(key, denying!.Arn!))).name).toBe('AccessDenied');
  });

  it('checks conditions of the trust policy: sts:ExternalId', async () => {
    const key = await userWithKey('external');
    const { Role } = await iam.send(
      new CreateRoleCommand({
        RoleName: 'needs-external-id',
        AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/external` }, { Condition: { StringEquals: { 'sts:ExternalId': 'shared-secret' } } }),
      }),
    );
    expect((await awsError(assume(key, Role!.Arn!))).name).toBe('AccessDenied');
    expect((await awsError(assume(key, Role!.Arn!, { ExternalId: 'wrong-secret' }))).name).toBe('AccessDenied');
    expect((await assume(key, Role!.Arn!, { ExternalId: 'shared-secret' })).Credentials).toBeDefined();
  });

  it('crosses accounts only when both the trust policy and the caller identity policy allow', async () => {
    const key = await userWithKey('traveller');
    const { Role } = await iamAs(otherRoot).send(new CreateRoleCommand({ RoleName: 'cross', AssumeRolePolicyDocument: trust({ AWS: ACCOUNT }) }));
    expect(Role?.Arn).toBe(`arn:aws:iam::${OTHER_ACCOUNT}:role/cross`);
    // Trusted (by account), but the caller's own account has not allowed it.
    expect((await awsError(assume(key, Role!.Arn!))).name).toBe('AccessDenied');
    await iam.send(new PutUserPolicyCommand({ UserName: 'traveller', PolicyName: 'Cross', PolicyDocument: allow('sts:AssumeRole', Role!.Arn!) }));
    const res = await assume(key, Role!.Arn!);
    const who = await stsAs(sessionCredentials(res)).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: OTHER_ACCOUNT, Arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/cross/session-1` });

    // A role of the other account that trusts nobody here: the identity allow is not enough.
    const { Role: closed } = await iamAs(otherRoot).send(new CreateRoleCommand({ RoleName: 'closed', AssumeRolePolicyDocument: trust({ AWS: OTHER_ACCOUNT }) }));
    await iam.send(new PutUserPolicyCommand({ UserName: 'traveller', PolicyName: 'All', PolicyDocument: allow('sts:AssumeRole') }));
    expect((await awsError(assume(key, closed!.Arn!))).name).toBe('AccessDenied');
  });

  it('answers a role that does not exist like a role that may not be assumed, and refuses the root', async () => {
    const key = await userWithKey('prober');
    await iam.send(new PutUserPolicyCommand({ UserName: 'prober', PolicyName: 'All', PolicyDocument: allow('sts:AssumeRole') }));
    const arn = `arn:aws:iam::${OTHER_ACCOUNT}:role/does-not-exist`;
    expect(await awsError(assume(key, arn))).toMatchObject({
      name: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:iam::${ACCOUNT}:user/prober is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    });
    // The right name under the wrong path is not the role either.
    await iam.send(new CreateRoleCommand({ RoleName: 'pathed', Path: '/team/', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/prober` }) }));
    expect((await awsError(assume(key, `arn:aws:iam::${ACCOUNT}:role/pathed`))).name).toBe('AccessDenied');
    expect((await assume(key, `arn:aws:iam::${ACCOUNT}:role/team/pathed`)).Credentials).toBeDefined();

    await iam.send(new CreateRoleCommand({ RoleName: 'for-root', AssumeRolePolicyDocument: trust('*') }));
    const rootErr = await awsError(assume(root, `arn:aws:iam::${ACCOUNT}:role/for-root`));
    expect(rootErr).toMatchObject({ name: 'AccessDenied', status: 403, message: 'Roles may not be assumed by root accounts.' });
  });

  it('validates RoleArn, RoleSessionName and DurationSeconds (900 to the role maximum)', async () => {
    const key = await userWithKey('durations');
    await iam.send(
      new CreateRoleCommand({ RoleName: 'two-hours', MaxSessionDuration: 7200, AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/durations` }) }),
    );
    const arn = `arn:aws:iam::${ACCOUNT}:role/two-hours`;
    const long = await assume(key, arn, { DurationSeconds: 7200 });
    expect(Math.abs(long.Credentials!.Expiration!.getTime() - (Date.now() + 7200_000))).toBeLessThan(5000);
    const tooLong = await awsError(assume(key, arn, { DurationSeconds: 7201 }));
    expect(tooLong).toMatchObject({ name: 'ValidationError', status: 400, message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' });
    const short = await awsError(assume(key, arn, { DurationSeconds: 899 }));
    expect(short).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(short.message).toContain("at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
    const badName = await awsError(assume(key, arn, { RoleSessionName: 'has space' }));
    expect(badName.message).toContain("at 'roleSessionName' failed to satisfy constraint");
    expect((await awsError(assume(key, arn, { RoleSessionName: 'x' }))).name).toBe('ValidationError');
    expect((await awsError(assume(key, 'arn:aws:iam::000000000000:user/durations'))).name).toBe('ValidationError');
    const policyParam = await awsError(stsAs(key).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 's1', Policy: allow('ecr:*') })));
    expect(policyParam.name).toBe('ValidationError');
  });

  it('lets a role session assume another role for at most an hour (role chaining)', async () => {
    const key = await userWithKey('chainer');
    const { Role: first } = await iam.send(
      new CreateRoleCommand({ RoleName: 'chain-first', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/chainer` }) }),
    );
    const { Role: second } = await iam.send(
      new CreateRoleCommand({ RoleName: 'chain-second', MaxSessionDuration: 7200, AssumeRolePolicyDocument: trust({ AWS: first!.Arn }) }),
    );
    const session = sessionCredentials(await assume(key, first!.Arn!));
    const chained = await assume(session, second!.Arn!, { RoleSessionName: 'hop' });
    expect(chained.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/chain-second/hop`);
    const tooLong = await awsError(assume(session, second!.Arn!, { DurationSeconds: 7200 }));
    expect(tooLong).toMatchObject({ name: 'ValidationError', message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.' });
    // A role session cannot mint GetSessionToken credentials (as AWS).
    expect((await awsError(stsAs(session).send(new GetSessionTokenCommand({})))).name).toBe('AccessDenied');
    // GetSessionToken credentials of the user may assume the role.
    const { Credentials: c } = await stsAs(key).send(new GetSessionTokenCommand({}));
    const viaSession = { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
    expect((await assume(viaSession, first!.Arn!)).AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/chain-first/session-1`);
  });

  it('ends with the long-term key behind it', async () => {
    const key = await userWithKey('short-lived');
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: 'ends-with-key', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/short-lived` }) }),
    );
    const session = sessionCredentials(await assume(key, Role!.Arn!));
    await stsAs(session).send(new GetCallerIdentityCommand({}));
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'short-lived', AccessKeyId: key.accessKeyId, Status: 'Inactive' }));
    expect((await awsError(stsAs(session).send(new GetCallerIdentityCommand({})))).name).toBe('InvalidClientTokenId');
    await iam.send(new DeleteAccessKeyCommand({ UserName: 'short-lived', AccessKeyId: key.accessKeyId }));
  });
});

describe('identityPoliciesOf', () => {
  const userPrincipal = (userName: string): Principal => ({
    kind: 'user',
    accountId: ACCOUNT,
    arn: `arn:aws:iam::${ACCOUNT}:user/${userName}`,
    accessKeyId: 'AKIAUNUSEDUNUSED0001',
    userName,
  });
  const request = (principal: RequestContext['principal'], action: string, resource = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app`): RequestContext => ({
    principal,
    action,
    resource,
    resourceAccount: ACCOUNT,
    keys: {},
  });

  it("returns a user's inline policies, then its attached customer and AWS managed policies", async () => {
    await iam.send(new CreateUserCommand({ UserName: 'gathered', Path: '/ops/' }));
    const inline = doc({ Effect: 'Deny', Action: 'ecr:PutImage', Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/prod/*` });
    await iam.send(new PutUserPolicyCommand({ UserName: 'gathered', PolicyName: 'NoProdPush', PolicyDocument: inline }));
    const customer = allow('ecr:DeleteRepository');
    const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: 'Deleter', PolicyDocument: customer }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'gathered', PolicyArn: Policy!.Arn }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'gathered', PolicyArn: POWER_USER }));

    const meta = server.app.meta;
    const policies = await identityPoliciesOf(meta, userPrincipal('gathered'));
    // Inline first, then attached in ARN order (an account id sorts before 'aws').
    expect(policies.map((p) => p.name)).toEqual([`arn:aws:iam::${ACCOUNT}:user/ops/gathered/inline/NoProdPush`, Policy!.Arn, POWER_USER]);
    expect(policies.find((p) => p.name.endsWith('/inline/NoProdPush'))?.doc.text).toBe(inline);
    expect(policies.find((p) => p.name === Policy!.Arn)?.doc.text).toBe(customer);
    expect(policies.every((p) => p.doc.kind === 'identity')).toBe(true);

    // What the authorizer will make of them.
    const who = await requestPrincipalOf(meta, userPrincipal('gathered'));
    expect(who).toMatchObject({ arn: `arn:aws:iam::${ACCOUNT}:user/ops/gathered`, type: 'User', userName: 'gathered' });
    expect(who.userId).toMatch(/^AIDA/);
    const decide = (action: string, resource?: string) => authorize({ identityPolicies: policies, ctx: request(who, action, resource) }).effect;
    expect(decide('ecr:PutImage')).toBe('Allow');
    expect(decide('ecr:PutImage', `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/prod/api`)).toBe('Deny');
    expect(decide('ecr:DeleteRepository')).toBe('Allow');
    expect(decide('ecr:SetRepositoryPolicy')).toBe('ImplicitDeny');
  });

  it('returns nothing for the root, and for a user without policies', async () => {
    const rootPrincipal: Principal = { kind: 'root', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accessKeyId: server.accessKeyId };
    expect(await identityPoliciesOf(server.app.meta, rootPrincipal)).toEqual([]);
    expect(await requestPrincipalOf(server.app.meta, rootPrincipal)).toMatchObject({ type: 'Account', arn: `arn:aws:iam::${ACCOUNT}:root`, userId: ACCOUNT });
    await iam.send(new CreateUserCommand({ UserName: 'policyless' }));
    expect(await identityPoliciesOf(server.app.meta, userPrincipal('policyless'))).toEqual([]);
  });

  it("returns a role session the role's policies, and nothing once the role is gone", async () => {
    const key = await userWithKey('role-user');
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: 'gathered-role', Path: '/svc/', AssumeRolePolicyDocument: trust({ AWS: `arn:aws:iam::${ACCOUNT}:user/role-user` }) }),
    );
    const inline = allow('ecr:ListImages');
    await iam.send(new PutRolePolicyCommand({ RoleName: 'gathered-role', PolicyName: 'List', PolicyDocument: inline }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'gathered-role', PolicyArn: READ_ONLY }));
    const res = await assume(key, Role!.Arn!, { RoleSessionName: 'gather' });
    const session: Principal = {
      kind: 'assumed-role',
      accountId: ACCOUNT,
      arn: res.AssumedRoleUser!.Arn!,
      accessKeyId: key.accessKeyId,
      roleName: 'gathered-role',
      roleArn: Role!.Arn!,
      roleId: Role!.RoleId!,
      sessionName: 'gather',
    };
    const policies = await identityPoliciesOf(server.app.meta, session);
    expect(policies.map((p) => p.name)).toEqual([`${Role!.Arn}/inline/List`, READ_ONLY]);
    const who = await requestPrincipalOf(server.app.meta, session);
    expect(who).toEqual({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/gathered-role/gather`, accountId: ACCOUNT, type: 'AssumedRole', userId: `${Role!.RoleId}:gather`, roleArn: Role!.Arn });
    expect(authorize({ identityPolicies: policies, ctx: request(who, 'ecr:BatchGetImage') }).effect).toBe('Allow');
    expect(authorize({ identityPolicies: policies, ctx: request(who, 'ecr:PutImage') }).effect).toBe('ImplicitDeny');

    // The role deleted and created again under the same name: the old session gets nothing.
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'gathered-role', PolicyName: 'List' }));
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'gathered-role', PolicyArn: READ_ONLY }));
    await iam.send(new DeleteRoleCommand({ RoleName: 'gathered-role' }));
    await iam.send(new CreateRoleCommand({ RoleName: 'gathered-role', Path: '/svc/', AssumeRolePolicyDocument: trust('*') }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'gathered-role', PolicyArn: FULL_ACCESS }));
    expect(await identityPoliciesOf(server.app.meta, session)).toEqual([]);
  });

  it('sees a change made through the IAM door at once, and one made elsewhere after invalidation', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'cached' }));
    const meta = server.app.meta;
    expect(await identityPoliciesOf(meta, userPrincipal('cached'))).toEqual([]);
    await iam.send(new PutUserPolicyCommand({ UserName: 'cached', PolicyName: 'One', PolicyDocument: allow('ecr:ListImages') }));
    expect((await identityPoliciesOf(meta, userPrincipal('cached'))).map((p) => p.name)).toEqual([`arn:aws:iam::${ACCOUNT}:user/cached/inline/One`]);

    // Written beside the door (as another node or process would): remembered until invalidated or expired.
    await meta.policies.putInlinePolicy({ accountId: ACCOUNT, kind: 'user', name: 'cached' }, 'Two', allow('ecr:ListImages'));
    expect(await identityPoliciesOf(meta, userPrincipal('cached'))).toHaveLength(1);
    invalidateIdentityPolicies();
    expect(await identityPoliciesOf(meta, userPrincipal('cached'))).toHaveLength(2);
  });

  it('refuses to guess when a stored document no longer parses', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'corrupt' }));
    await server.app.meta.policies.putInlinePolicy({ accountId: ACCOUNT, kind: 'user', name: 'corrupt' }, 'Broken', '{"Statement": 42}');
    invalidateIdentityPolicies();
    await expect(identityPoliciesOf(server.app.meta, userPrincipal('corrupt'))).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
