/**
 * The IAM and STS Query doors, driven by the real @aws-sdk/client-iam and @aws-sdk/client-sts
 * against the in-process server: every operation's answer and documented errors as the SDK
 * parses them, and the effect of users' keys at the ECR and OCI doors.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  UpdateAccessKeyCommand,
  paginateListUsers,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, signRequest } from '../../src/iam/index.js';
import { ECR_FULL_ACCESS, awsError, ecrClient, type AwsFailure } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ACCOUNT = '000000000000';
const OTHER_ACCOUNT = '222233334444';
const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

let server: TestServer;
let root: Credentials;
let iam: IAMClient;

function iamClient(url: string, credentials: Credentials, region = 'us-east-1'): IAMClient {
  return new IAMClient({ endpoint: url, region, credentials, maxAttempts: 1 });
}

function stsClient(url: string, credentials: Credentials, region = 'us-east-1'): STSClient {
  return new STSClient({ endpoint: url, region, credentials, maxAttempts: 1 });
}

/** A user with one access key; returns the key. */
async function userWithKey(userName: string, path?: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: userName, ...(path ? { Path: path } : {}) }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

/** A request to the Query door signed like the SDK signs it, for checks of the raw XML. */
async function signedQuery(body: string, credentials: Credentials, service = 'iam', region = 'us-east-1'): Promise<Response> {
  const url = new URL(server.url);
  const headers = { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const signed = signRequest({ method: 'POST', path: '/', headers, body, credentials, region, service, date: new Date() });
  return fetch(`${server.url}/`, { method: 'POST', headers: { ...headers, ...signed.headers }, body });
}

beforeAll(async () => {
  server = await startTestServer();
  root = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  iam = iamClient(server.url, root);
});
afterAll(() => server.close());

describe('CreateUser and GetUser', () => {
  it('creates a user in AWS shape and reads it back, by any case of its name', async () => {
    const { User } = await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    expect(User).toMatchObject({ Path: '/', UserName: 'alice', Arn: `arn:aws:iam::${ACCOUNT}:user/alice` });
    expect(User?.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(User?.CreateDate).toBeInstanceOf(Date);
    expect(Math.abs(User!.CreateDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect((await iam.send(new GetUserCommand({ UserName: 'alice' }))).User).toEqual(User);
    expect((await iam.send(new GetUserCommand({ UserName: 'ALICE' }))).User).toEqual(User);
  });

  it('puts the path in the ARN', async () => {
    const { User } = await iam.send(new CreateUserCommand({ UserName: 'pathy', Path: '/division/team/' }));
    expect(User).toMatchObject({ Path: '/division/team/', Arn: `arn:aws:iam::${ACCOUNT}:user/division/team/pathy` });
  });

  it('refuses a duplicate name, in any case, with EntityAlreadyExists (409)', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'dup' }));
    for (const name of ['dup', 'DUP']) {
      const err = await awsError(iam.send(new CreateUserCommand({ UserName: name })));
      expect(err).toMatchObject({ name: 'EntityAlreadyExistsException', status: 409, message: `User with name ${name} already exists.` });
    }
  });

  it('refuses bad names and paths with ValidationError (400) in AWS words', async () => {
    const bad = await awsError(iam.send(new CreateUserCommand({ UserName: 'bad name' })));
    expect(bad).toMatchObject({ name: 'ValidationError', status: 400, type: 'Sender' });
    expect(bad.message).toBe(
      "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    );
    const long = await awsError(iam.send(new CreateUserCommand({ UserName: 'x'.repeat(65) })));
    expect(long.message).toContain('Member must have length less than or equal to 64');
    const path = await awsError(iam.send(new CreateUserCommand({ UserName: 'ok', Path: 'no-slashes' })));
    expect(path).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(path.message).toContain("at 'path'");
    const tags = await awsError(iam.send(new CreateUserCommand({ UserName: 'tagged', Tags: [{ Key: 'k', Value: 'v' }] })));
    expect(tags).toMatchObject({ name: 'ValidationError', status: 400 });
    // Nothing was created by the refused calls.
    expect((await awsError(iam.send(new GetUserCommand({ UserName: 'tagged' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new GetUserCommand({ UserName: 'ok' })))).name).toBe('NoSuchEntityException');
  });

  it('answers NoSuchEntity (404) for a user that does not exist', async () => {
    const err = await awsError(iam.send(new GetUserCommand({ UserName: 'nobody' })));
    expect(err).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: 'The user with name nobody cannot be found.' });
  });

  it('without UserName describes the caller: the root as AWS shows it, or the user', async () => {
    const { User: rootUser } = await iam.send(new GetUserCommand({}));
    expect(rootUser).toMatchObject({ UserId: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root` });
    expect(rootUser?.UserName).toBeUndefined();
    expect(rootUser?.CreateDate).toBeInstanceOf(Date);
    const key = await userWithKey('self-reader');
    const { User } = await iamClient(server.url, key).send(new GetUserCommand({}));
    expect(User).toMatchObject({ UserName: 'self-reader', Arn: `arn:aws:iam::${ACCOUNT}:user/self-reader` });
  });
});

describe('ListUsers', () => {
  it('pages with MaxItems, Marker and IsTruncated, under a PathPrefix', async () => {
    const names = ['pg-e', 'pg-a', 'pg-d', 'pg-c', 'pg-b'];
    for (const name of names) await iam.send(new CreateUserCommand({ UserName: name, Path: '/paging/' }));
    await iam.send(new CreateUserCommand({ UserName: 'pg-elsewhere', Path: '/other/' }));

    const first = await iam.send(new ListUsersCommand({ PathPrefix: '/paging/', MaxItems: 2 }));
    expect(first.Users?.map((u) => u.UserName)).toEqual(['pg-a', 'pg-b']);
    expect(first.IsTruncated).toBe(true);
    expect(first.Marker).toBeTruthy();
    const second = await iam.send(new ListUsersCommand({ PathPrefix: '/paging/', MaxItems: 2, Marker: first.Marker }));
    expect(second.Users?.map((u) => u.UserName)).toEqual(['pg-c', 'pg-d']);
    expect(second.IsTruncated).toBe(true);
    const last = await iam.send(new ListUsersCommand({ PathPrefix: '/paging/', MaxItems: 2, Marker: second.Marker }));
    expect(last.Users?.map((u) => u.UserName)).toEqual(['pg-e']);
    expect(last.IsTruncated).toBe(false);
    expect(last.Marker).toBeUndefined();

    // The SDK's own paginator follows the markers to the end.
    const seen: string[] = [];
    for await (const page of paginateListUsers({ client: iam, pageSize: 2 }, { PathPrefix: '/paging/' })) {
      seen.push(...(page.Users ?? []).map((u) => u.UserName!));
    }
    expect(seen).toEqual([...names].sort());
    // Without a prefix, every user of the account, each with the full User shape.
    const all = await iam.send(new ListUsersCommand({}));
    expect(all.IsTruncated).toBe(false);
    expect(all.Users?.map((u) => u.UserName)).toEqual(expect.arrayContaining([...names, 'pg-elsewhere']));
    expect(all.Users?.find((u) => u.UserName === 'pg-a')).toMatchObject({ Path: '/paging/', Arn: `arn:aws:iam::${ACCOUNT}:user/paging/pg-a` });
  });

  it('answers an empty page for a prefix nobody is under', async () => {
    const res = await iam.send(new ListUsersCommand({ PathPrefix: '/nobody/' }));
    expect(res.Users).toEqual([]);
    expect(res.IsTruncated).toBe(false);
  });

  it('refuses MaxItems out of range and a forged Marker', async () => {
    const zero = await awsError(iam.send(new ListUsersCommand({ MaxItems: 0 })));
    expect(zero).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(zero.message).toContain('Member must have value greater than or equal to 1');
    expect((await awsError(iam.send(new ListUsersCommand({ MaxItems: 1001 })))).name).toBe('ValidationError');
    expect((await awsError(iam.send(new ListUsersCommand({ Marker: 'not a marker!' })))).name).toBe('ValidationError');
  });
});

describe('access keys', () => {
  it('creates a key whose secret is shown once and stored encrypted', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'keyed' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'keyed' }));
    expect(AccessKey).toMatchObject({ UserName: 'keyed', Status: 'Active' });
    expect(AccessKey?.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(AccessKey?.SecretAccessKey).toHaveLength(40);
    expect(AccessKey?.CreateDate).toBeInstanceOf(Date);

    const stored = await server.app.meta.accessKeys.get(AccessKey!.AccessKeyId!);
    expect(stored?.secretEnc).toMatch(/^v1:/);
    expect(stored?.secretEnc).not.toContain(AccessKey!.SecretAccessKey!);
    // Nowhere in the database files either (the WAL holds the latest writes).
    for (const file of ['metadata.db', 'metadata.db-wal']) {
      const bytes = await readFile(join(server.dataDir, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(Buffer.from(AccessKey!.SecretAccessKey!))).toBe(false);
    }
    // Listing never shows secrets.
    const { AccessKeyMetadata, IsTruncated } = await iam.send(new ListAccessKeysCommand({ UserName: 'keyed' }));
    expect(IsTruncated).toBe(false);
    expect(AccessKeyMetadata).toEqual([{ UserName: 'keyed', AccessKeyId: AccessKey!.AccessKeyId, Status: 'Active', CreateDate: AccessKey!.CreateDate }]);
  });

  it('allows two keys per user and refuses a third with LimitExceeded (409)', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'two-keys' }));
    const a = await iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' }));
    const b = await iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' }));
    const err = await awsError(iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' })));
    expect(err).toMatchObject({ name: 'LimitExceededException', status: 409, message: 'Cannot exceed quota for AccessKeysPerUser: 2' });
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: 'two-keys' }));
    expect(listed.AccessKeyMetadata?.map((k) => k.AccessKeyId).sort()).toEqual([a.AccessKey!.AccessKeyId, b.AccessKey!.AccessKeyId].sort());
    const paged = await iam.send(new ListAccessKeysCommand({ UserName: 'two-keys', MaxItems: 1 }));
    expect(paged.AccessKeyMetadata).toHaveLength(1);
    expect(paged.IsTruncated).toBe(true);
    const rest = await iam.send(new ListAccessKeysCommand({ UserName: 'two-keys', MaxItems: 1, Marker: paged.Marker }));
    expect(rest.AccessKeyMetadata).toHaveLength(1);
    expect(rest.IsTruncated).toBe(false);
    expect(rest.AccessKeyMetadata![0]!.AccessKeyId).not.toBe(paged.AccessKeyMetadata![0]!.AccessKeyId);
  });

  it('answers NoSuchEntity for keys of a user that does not exist, and for keys that do not exist', async () => {
    expect(await awsError(iam.send(new CreateAccessKeyCommand({ UserName: 'ghost' })))).toMatchObject({ name: 'NoSuchEntityException', status: 404 });
    expect((await awsError(iam.send(new ListAccessKeysCommand({ UserName: 'ghost' })))).name).toBe('NoSuchEntityException');
    await iam.send(new CreateUserCommand({ UserName: 'keyless' }));
    const update = await awsError(iam.send(new UpdateAccessKeyCommand({ UserName: 'keyless', AccessKeyId: 'AKIAAAAAAAAAAAAAAAAA', Status: 'Inactive' })));
    expect(update).toMatchObject({ name: 'NoSuchEntityException', status: 404, message: 'The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.' });
    expect((await awsError(iam.send(new DeleteAccessKeyCommand({ UserName: 'keyless', AccessKeyId: 'AKIAAAAAAAAAAAAAAAAA' })))).name).toBe(
      'NoSuchEntityException',
    );
    // Naming a real key under the wrong user is the same answer: keys belong to one identity.
    const key = await userWithKey('key-owner');
    expect((await awsError(iam.send(new UpdateAccessKeyCommand({ UserName: 'keyless', AccessKeyId: key.accessKeyId, Status: 'Inactive' })))).name).toBe(
      'NoSuchEntityException',
    );
  });

  it('refuses a Status other than Active or Inactive', async () => {
    const key = await userWithKey('status-user');
    const err = await awsError(
      iam.send(new UpdateAccessKeyCommand({ UserName: 'status-user', AccessKeyId: key.accessKeyId, Status: 'Expired' as 'Inactive' })),
    );
    expect(err).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(err.message).toContain('Member must satisfy enum value set: [Active, Inactive]');
  });

  it('lists and manages the root keys when the root names no user', async () => {
    const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({}));
    expect(AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([server.accessKeyId]);
    expect(AccessKeyMetadata?.[0]?.UserName).toBeUndefined();
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({}));
    expect(AccessKey?.UserName).toBeUndefined();
    const second: Credentials = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    const who = await stsClient(server.url, second).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect((await awsError(iam.send(new CreateAccessKeyCommand({})))).name).toBe('LimitExceededException');
    await iam.send(new DeleteAccessKeyCommand({ AccessKeyId: second.accessKeyId }));
    expect((await iam.send(new ListAccessKeysCommand({}))).AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([server.accessKeyId]);
  });
});

describe('a user key at the other doors', () => {
  it('works for ECR calls, fails at once when deactivated, and works again when reactivated', async () => {
    const key = await userWithKey('pusher');
    // A user may do only what its policies allow.
    await iam.send(new AttachUserPolicyCommand({ UserName: 'pusher', PolicyArn: ECR_FULL_ACCESS }));
    const ecr = ecrClient(server, key);
    const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pusher/app' }));
    expect(repository?.registryId).toBe(ACCOUNT);
    // A registry token issued while the key is active...
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const basic = `Basic ${authorizationData![0]!.authorizationToken!}`;

    await iam.send(new UpdateAccessKeyCommand({ UserName: 'pusher', AccessKeyId: key.accessKeyId, Status: 'Inactive' }));
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: 'pusher' }));
    expect(listed.AccessKeyMetadata?.[0]?.Status).toBe('Inactive');
    // ...and every door refuses from the very next request: no cache keeps SigV4 alive.
    const ecrErr = await awsError(ecr.send(new DescribeRepositoriesCommand({})));
    expect(ecrErr).toMatchObject({ name: 'UnrecognizedClientException', status: 403, message: 'The security token included in the request is invalid.' });
    const stsErr = await awsError(stsClient(server.url, key).send(new GetCallerIdentityCommand({})));
    expect(stsErr).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
    expect((await awsError(iamClient(server.url, key).send(new GetUserCommand({})))).name).toBe('InvalidClientTokenId');
    // ...the token issued for the key too.
    expect((await new OciTestClient(server.url, basic).request('GET', '/v2/')).status).toBe(401);

    await iam.send(new UpdateAccessKeyCommand({ UserName: 'pusher', AccessKeyId: key.accessKeyId, Status: 'Active' }));
    expect((await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['pusher/app'] }))).repositories).toHaveLength(1);
  });

  it('stops working at once when deleted', async () => {
    const key = await userWithKey('deleted-key');
    await iam.send(new AttachUserPolicyCommand({ UserName: 'deleted-key', PolicyArn: ECR_FULL_ACCESS }));
    const ecr = ecrClient(server, key);
    await ecr.send(new DescribeRepositoriesCommand({}));
    await iam.send(new DeleteAccessKeyCommand({ UserName: 'deleted-key', AccessKeyId: key.accessKeyId }));
    expect((await awsError(ecr.send(new DescribeRepositoriesCommand({})))).name).toBe('UnrecognizedClientException');
    expect((await awsError(iam.send(new DeleteAccessKeyCommand({ UserName: 'deleted-key', AccessKeyId: key.accessKeyId })))).name).toBe(
      'NoSuchEntityException',
    );
  });
});

describe('DeleteUser', () => {
  it('refuses a user with access keys (DeleteConflict, 409) and deletes it once they are gone', async () => {
    const key = await userWithKey('leaving');
    const conflict = await awsError(iam.send(new DeleteUserCommand({ UserName: 'leaving' })));
    expect(conflict).toMatchObject({ name: 'DeleteConflictException', status: 409, message: 'Cannot delete entity, must delete access keys first.' });
    // The refused delete left the user and the key working.
    expect((await stsClient(server.url, key).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/leaving`);

    await iam.send(new DeleteAccessKeyCommand({ UserName: 'leaving', AccessKeyId: key.accessKeyId }));
    await iam.send(new DeleteUserCommand({ UserName: 'LEAVING' }));
    expect((await awsError(iam.send(new GetUserCommand({ UserName: 'leaving' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(iam.send(new DeleteUserCommand({ UserName: 'leaving' })))).name).toBe('NoSuchEntityException');
    // The name is free again.
    await iam.send(new CreateUserCommand({ UserName: 'leaving' }));
  });
});

describe('what a user may do', () => {
  let mallory: IAMClient;
  let victimKey: Credentials;

  beforeAll(async () => {
    mallory = iamClient(server.url, await userWithKey('mallory'));
    victimKey = await userWithKey('victim');
  });

  it('cannot manage other users, list users, or delete itself: AccessDenied (403)', async () => {
    // Each refusal is caught as it is made: awaiting them one by one would leave the later ones
    // rejected with no handler yet, which Node reports as unhandled.
    const calls: [string, Promise<AwsFailure>][] = [
      ['iam:CreateUser', awsError(mallory.send(new CreateUserCommand({ UserName: 'sneaky' })))],
      ['iam:ListUsers', awsError(mallory.send(new ListUsersCommand({})))],
      ['iam:GetUser', awsError(mallory.send(new GetUserCommand({ UserName: 'victim' })))],
      ['iam:GetUser', awsError(mallory.send(new GetUserCommand({ UserName: 'does-not-exist' })))],
      ['iam:DeleteUser', awsError(mallory.send(new DeleteUserCommand({ UserName: 'victim' })))],
      ['iam:DeleteUser', awsError(mallory.send(new DeleteUserCommand({ UserName: 'mallory' })))],
      ['iam:CreateAccessKey', awsError(mallory.send(new CreateAccessKeyCommand({ UserName: 'victim' })))],
      ['iam:ListAccessKeys', awsError(mallory.send(new ListAccessKeysCommand({ UserName: 'victim' })))],
      ['iam:UpdateAccessKey', awsError(mallory.send(new UpdateAccessKeyCommand({ UserName: 'victim', AccessKeyId: victimKey.accessKeyId, Status: 'Inactive' })))],
      ['iam:DeleteAccessKey', awsError(mallory.send(new DeleteAccessKeyCommand({ UserName: 'victim', AccessKeyId: victimKey.accessKeyId })))],
    ];
    for (const [action, call] of calls) {
      const err = await call;
      expect(err, action).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(err.message).toContain(`User: arn:aws:iam::${ACCOUNT}:user/mallory is not authorized to perform: ${action}`);
    }
    // Naming another user's key as its own is NoSuchEntity: the key is not hers.
    const stolen = await awsError(mallory.send(new UpdateAccessKeyCommand({ AccessKeyId: victimKey.accessKeyId, Status: 'Inactive' })));
    expect(stolen.name).toBe('NoSuchEntityException');
    // Nothing changed.
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'victim' }))).AccessKeyMetadata?.[0]?.Status).toBe('Active');
    expect((await awsError(iam.send(new GetUserCommand({ UserName: 'sneaky' })))).name).toBe('NoSuchEntityException');
  });

  it('manages its own keys: list, create, deactivate, delete', async () => {
    const own = await mallory.send(new ListAccessKeysCommand({}));
    expect(own.AccessKeyMetadata?.map((k) => k.UserName)).toEqual(['mallory']);
    const { AccessKey } = await mallory.send(new CreateAccessKeyCommand({}));
    expect(AccessKey?.UserName).toBe('mallory');
    await mallory.send(new UpdateAccessKeyCommand({ AccessKeyId: AccessKey!.AccessKeyId!, Status: 'Inactive' }));
    await mallory.send(new DeleteAccessKeyCommand({ UserName: 'Mallory', AccessKeyId: AccessKey!.AccessKeyId! }));
    expect((await mallory.send(new ListAccessKeysCommand({}))).AccessKeyMetadata).toHaveLength(1);
  });
});

describe('GetCallerIdentity', () => {
  it('names the root', async () => {
    const who = await stsClient(server.url, root).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root`, UserId: ACCOUNT });
  });

  it('names a user, with its id and path', async () => {
    const key = await userWithKey('caller', '/ops/');
    const { User } = await iam.send(new GetUserCommand({ UserName: 'caller' }));
    const who = await stsClient(server.url, key).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ops/caller`, UserId: User!.UserId });
  });
});

describe('accounts are separate', () => {
  it("a root of another account neither sees nor touches this account's users and keys", async () => {
    const key = await userWithKey('home-user');
    // Another account, as `berth account create` makes one.
    const box = SecretBox.load(server.dataDir);
    const otherRoot: Credentials = { accessKeyId: 'AKIAOTHERACCOUNT0001', secretAccessKey: 'otherSecretOTHERSECRET0123456789abcdefgh' };
    await server.app.meta.accounts.ensure(OTHER_ACCOUNT, Date.now());
    await server.app.meta.accessKeys.create({
      ...otherRoot,
      accountId: OTHER_ACCOUNT,
      userName: null,
      secretEnc: box.seal(otherRoot.secretAccessKey),
      status: 'Active',
      createdAt: Date.now(),
    });
    const other = iamClient(server.url, otherRoot);
    expect((await stsClient(server.url, otherRoot).send(new GetCallerIdentityCommand({}))).Account).toBe(OTHER_ACCOUNT);
    expect((await other.send(new ListUsersCommand({}))).Users).toEqual([]);
    expect((await awsError(other.send(new GetUserCommand({ UserName: 'home-user' })))).name).toBe('NoSuchEntityException');
    expect((await awsError(other.send(new DeleteAccessKeyCommand({ UserName: 'home-user', AccessKeyId: key.accessKeyId })))).name).toBe(
      'NoSuchEntityException',
    );
    expect((await awsError(other.send(new DeleteAccessKeyCommand({ AccessKeyId: key.accessKeyId })))).name).toBe('NoSuchEntityException');
    // The same name is free in the other account.
    const { User } = await other.send(new CreateUserCommand({ UserName: 'home-user' }));
    expect(User?.Arn).toBe(`arn:aws:iam::${OTHER_ACCOUNT}:user/home-user`);
    expect((await stsClient(server.url, key).send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
  });
});

describe('the wire protocol', () => {
  it('answers in the XML shape AWS does, with its namespace and request id', async () => {
    const res = await signedQuery('Action=CreateUser&Version=2010-05-08&UserName=wire-user&Path=%2Fwire%2F', root);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const requestId = res.headers.get('x-amzn-requestid');
    expect(requestId).toBeTruthy();
    const xml = await res.text();
    expect(xml).toMatch(
      new RegExp(
        `^<CreateUserResponse xmlns="${IAM_NS}"><CreateUserResult><User><Path>/wire/</Path><UserName>wire-user</UserName>` +
          `<UserId>AIDA[A-Z2-7]{17}</UserId><Arn>arn:aws:iam::${ACCOUNT}:user/wire/wire-user</Arn>` +
          `<CreateDate>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ</CreateDate></User></CreateUserResult>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></CreateUserResponse>$`,
      ),
    );
    const empty = await signedQuery('Action=DeleteUser&Version=2010-05-08&UserName=wire-user', root);
    expect(await empty.text()).toMatch(new RegExp(`^<DeleteUserResponse xmlns="${IAM_NS}"><ResponseMetadata><RequestId>[^<]+</RequestId></ResponseMetadata></DeleteUserResponse>$`));
    const sts = await signedQuery('Action=GetCallerIdentity&Version=2011-06-15', root, 'sts');
    expect(await sts.text()).toBe(
      `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:root</Arn>` +
        `<UserId>${ACCOUNT}</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult>` +
        `<ResponseMetadata><RequestId>${sts.headers.get('x-amzn-requestid')}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
  });

  it('writes errors as <ErrorResponse> with Type, Code, Message and RequestId', async () => {
    const res = await signedQuery('Action=GetUser&Version=2010-05-08&UserName=missing-%3Cuser%3E', root);
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toMatch(new RegExp(`^<ErrorResponse xmlns="${IAM_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>`));
    // The caller's input is quoted escaped.
    expect(xml).toContain("Value 'missing-&lt;user&gt;' at 'userName'");
    expect(xml).toMatch(/<\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>$/);
    const sts = await signedQuery('Action=AssumeRoleWithSAML&Version=2011-06-15', root, 'sts');
    expect(sts.status).toBe(400);
    expect(await sts.text()).toMatch(new RegExp(`^<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>InvalidAction</Code>`));
  });

  it('refuses unsigned, badly signed, unknown-key and wrongly scoped requests with AWS codes', async () => {
    const unsigned = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListUsers&Version=2010-05-08',
    });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');
    const wrongSecret = await awsError(iamClient(server.url, { ...root, secretAccessKey: 'x'.repeat(40) }).send(new ListUsersCommand({})));
    expect(wrongSecret).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    const unknown = await awsError(stsClient(server.url, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: root.secretAccessKey }).send(new GetCallerIdentityCommand({})));
    expect(unknown).toMatchObject({ name: 'InvalidClientTokenId', status: 403, message: 'The security token included in the request is invalid.' });
    // Signed for ECR, sent to IAM: the service in the scope must match.
    const wrongService = await signedQuery('Action=ListUsers&Version=2010-05-08', root, 'ecr');
    expect(wrongService.status).toBe(403);
    expect(await wrongService.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    // STS is regional: a signature for another region fails.
    const region = await awsError(stsClient(server.url, root, 'eu-west-1').send(new GetCallerIdentityCommand({})));
    expect(region).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    expect(region.message).toMatch(/region/);
  });

  it('refuses unknown actions and versions with InvalidAction, and a missing Action', async () => {
    const unknown = await signedQuery('Action=CreateGroup&Version=2010-05-08&GroupName=g', root);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('<Code>InvalidAction</Code><Message>Could not find operation CreateGroup for version 2010-05-08</Message>');
    const version = await signedQuery('Action=ListUsers&Version=2099-01-01', root);
    expect(version.status).toBe(400);
    expect(await version.text()).toContain('<Code>InvalidAction</Code>');
    const noAction = await signedQuery('Version=2010-05-08', root);
    expect(noAction.status).toBe(400);
    expect(await noAction.text()).toContain('<Code>MissingAction</Code>');
  });

  it('still routes JSON 1.1 to the ECR door on the same POST /', async () => {
    expect((await ecrClient(server).send(new DescribeRepositoriesCommand({}))).repositories).toBeDefined();
    const other = await fetch(`${server.url}/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    // Anything else is the ECR door's to refuse, in its JSON shape.
    expect(other.headers.get('content-type')).toMatch(/^application\/x-amz-json-1\.1/);
    expect(other.status).toBeGreaterThanOrEqual(400);
  });
});

describe('in a deployment of another region', () => {
  let regional: TestServer;
  beforeAll(async () => {
    regional = await startTestServer({ BERTH_REGION: 'eu-west-1' });
  });
  afterAll(() => regional.close());

  it('accepts IAM signed for us-east-1 (as AWS clients sign it) or the region, and STS for the region only', async () => {
    const creds = { accessKeyId: regional.accessKeyId, secretAccessKey: regional.secretAccessKey };
    expect((await iamClient(regional.url, creds, 'us-east-1').send(new GetUserCommand({}))).User?.Arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect((await iamClient(regional.url, creds, 'eu-west-1').send(new GetUserCommand({}))).User?.Arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect((await awsError(iamClient(regional.url, creds, 'ap-south-1').send(new GetUserCommand({})))).name).toBe('SignatureDoesNotMatch');
    expect((await stsClient(regional.url, creds, 'eu-west-1').send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
    expect((await awsError(stsClient(regional.url, creds, 'us-east-1').send(new GetCallerIdentityCommand({})))).name).toBe('SignatureDoesNotMatch');
  });
});
