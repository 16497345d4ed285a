import { randomBytes } from 'node:crypto';
import {
  CreateRepositoryCommand,
  DeregisterPullTimeUpdateExclusionCommand,
  DescribeRegistryCommand,
  ECRServiceException,
  GetAccountSettingCommand,
  ListPullTimeUpdateExclusionsCommand,
  PutAccountSettingCommand,
  RegisterPullTimeUpdateExclusionCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/iam/index.js';
import { awsError, ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;

beforeAll(async () => {
  server = await startTestServer();
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
});
afterAll(() => server.close());

/** Another account with a root key, so that registry-scoped state can be shown to stay per account. */
async function otherAccount(accountId: string): Promise<{ accountId: string; ecr: ECRClient; oci: OciTestClient }> {
  const accessKeyId = `AKIATEST${accountId}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  // The test server keeps its master key in the data folder, so the same box seals a secret it can open.
  const box = SecretBox.load(server.dataDir);
  await server.app.meta.accounts.ensure(accountId, Date.now());
  await server.app.meta.accessKeys.create({ accessKeyId, accountId, userName: null, secretEnc: box.seal(secretAccessKey), status: 'Active', createdAt: Date.now() });
  return {
    accountId,
    ecr: ecrClient(server, { accessKeyId, secretAccessKey }),
    oci: new OciTestClient(server.url, basicAuth(accessKeyId, secretAccessKey)),
  };
}

describe('DescribeRegistry', () => {
  it("describes the caller's registry with an empty replication configuration", async () => {
    const out = await ecr.send(new DescribeRegistryCommand({}));
    expect(out.registryId).toBe('000000000000');
    expect(out.replicationConfiguration).toEqual({ rules: [] });
    expect(out.$metadata.requestId).toBeTruthy();

    const b = await otherAccount('222233334444');
    expect((await b.ecr.send(new DescribeRegistryCommand({}))).registryId).toBe('222233334444');
  });
});

describe('GetAccountSetting and PutAccountSetting', () => {
  it('answers every setting with its initial value before anything is set', async () => {
    const values = Object.fromEntries(
      await Promise.all(
        ['BASIC_SCAN_TYPE_VERSION', 'REGISTRY_POLICY_SCOPE', 'BLOB_MOUNTING'].map(async (name) => {
          const out = await ecr.send(new GetAccountSettingCommand({ name }));
          expect(out.name).toBe(name);
          return [name, out.value];
        }),
      ),
    );
    expect(values).toEqual({ BASIC_SCAN_TYPE_VERSION: 'AWS_NATIVE', REGISTRY_POLICY_SCOPE: 'V2', BLOB_MOUNTING: 'ENABLED' });
  });

  it('stores a value, echoes it, and reads it back', async () => {
    for (const [name, value] of [
      ['BASIC_SCAN_TYPE_VERSION', 'AWS_NATIVE'],
      ['REGISTRY_POLICY_SCOPE', 'V2'],
      ['BLOB_MOUNTING', 'DISABLED'],
      ['BLOB_MOUNTING', 'ENABLED'],
    ] as const) {
      expect(await ecr.send(new PutAccountSettingCommand({ name, value }))).toMatchObject({ name, value });
      expect(await ecr.send(new GetAccountSettingCommand({ name }))).toMatchObject({ name, value });
    }
  });

  it('refuses unknown names, retired and unknown values, and missing members with InvalidParameterException', async () => {
    const unknownGet = await awsError(ecr.send(new GetAccountSettingCommand({ name: 'NO_SUCH_SETTING' })));
    expect(unknownGet).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    expect(unknownGet.message).toContain("'name'");
    const unknownPut = await awsError(ecr.send(new PutAccountSettingCommand({ name: 'NO_SUCH_SETTING', value: 'ENABLED' })));
    expect(unknownPut.name).toBe('InvalidParameterException');
    const tooLong = await awsError(ecr.send(new GetAccountSettingCommand({ name: 'X'.repeat(65) })));
    expect(tooLong.name).toBe('InvalidParameterException');
    const empty = await awsError(ecr.send(new GetAccountSettingCommand({ name: '' })));
    expect(empty.name).toBe('InvalidParameterException');

    const clair = await awsError(ecr.send(new PutAccountSettingCommand({ name: 'BASIC_SCAN_TYPE_VERSION', value: 'CLAIR' })));
    expect(clair.name).toBe('InvalidParameterException');
    expect(clair.message).toMatch(/no longer supported/);
    const v1 = await awsError(ecr.send(new PutAccountSettingCommand({ name: 'REGISTRY_POLICY_SCOPE', value: 'V1' })));
    expect(v1.name).toBe('InvalidParameterException');
    const lower = await awsError(ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'enabled' })));
    expect(lower.name).toBe('InvalidParameterException');
    expect(lower.message).toContain('ENABLED, DISABLED');
    const missing = await awsError(ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING' } as never)));
    expect(missing.name).toBe('InvalidParameterException');
    expect(missing.message).toContain("'value'");

    // Nothing was changed by the refused calls.
    expect((await ecr.send(new GetAccountSettingCommand({ name: 'BASIC_SCAN_TYPE_VERSION' }))).value).toBe('AWS_NATIVE');
  });

  it('keeps settings per registry', async () => {
    const b = await otherAccount('333344445555');
    await b.ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'DISABLED' }));
    expect((await b.ecr.send(new GetAccountSettingCommand({ name: 'BLOB_MOUNTING' }))).value).toBe('DISABLED');
    expect((await ecr.send(new GetAccountSettingCommand({ name: 'BLOB_MOUNTING' }))).value).toBe('ENABLED');
  });
});

describe('BLOB_MOUNTING at the OCI door', () => {
  const mount = (client: OciTestClient, target: string, digest: string, from: string) =>
    client.request('POST', `/v2/${target}/blobs/uploads/?mount=${digest}&from=${from}`);

  it('mounts when ENABLED, falls back to a new upload session when DISABLED, and mounts again when re-enabled', async () => {
    const data = randomBytes(3000);
    const digest = await oci.pushBlob('mnt/source', data);

    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    const mounted = await mount(oci, 'mnt/one', digest, 'mnt/source');
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/mnt/one/blobs/${digest}`);
    expect(mounted.headers.get('docker-content-digest')).toBe(digest);

    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'DISABLED' }));
    const refused = await mount(oci, 'mnt/two', digest, 'mnt/source');
    expect(refused.status).toBe(202);
    const location = refused.headers.get('location')!;
    expect(location).toMatch(/^\/v2\/mnt\/two\/blobs\/uploads\/[^/]+$/);
    expect(refused.headers.get('docker-upload-uuid')).toBe(location.split('/').pop());
    expect(refused.headers.get('range')).toBe('0-0');
    expect((await oci.request('HEAD', `/v2/mnt/two/blobs/${digest}`)).status).toBe(404);
    // The session is a real one: the client uploads the bytes into it instead.
    const put = await oci.request('PUT', `${location}?digest=${digest}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(201);
    expect((await oci.request('HEAD', `/v2/mnt/two/blobs/${digest}`)).status).toBe(200);
    // Disabling does not undo earlier mounts.
    expect((await oci.request('HEAD', `/v2/mnt/one/blobs/${digest}`)).status).toBe(200);

    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    expect((await mount(oci, 'mnt/three', digest, 'mnt/source')).status).toBe(201);
    expect((await oci.request('HEAD', `/v2/mnt/three/blobs/${digest}`)).status).toBe(200);
  });

  it('does not mount between repositories whose encryption differs, even when ENABLED', async () => {
    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    const digest = await oci.pushBlob('mnt/plain', randomBytes(500));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'mnt/kms', encryptionConfiguration: { encryptionType: 'KMS' } }));
    expect((await mount(oci, 'mnt/kms', digest, 'mnt/plain')).status).toBe(202);
    expect((await oci.request('HEAD', `/v2/mnt/kms/blobs/${digest}`)).status).toBe(404);
  });

  it("follows the setting of the target repository's registry", async () => {
    const b = await otherAccount('444455556666');
    await b.ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'DISABLED' }));
    const digest = await b.oci.pushBlob(`${b.accountId}/acct/source`, randomBytes(700));
    expect((await mount(b.oci, `${b.accountId}/acct/target`, digest, `${b.accountId}/acct/source`)).status).toBe(202);
    await b.ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    expect((await mount(b.oci, `${b.accountId}/acct/target`, digest, `${b.accountId}/acct/source`)).status).toBe(201);

    // A mount never crosses registries: the default account's repository cannot take B's blob.
    expect((await mount(oci, 'mnt/cross', digest, `${b.accountId}/acct/source`)).status).toBe(202);
    expect((await oci.request('HEAD', `/v2/mnt/cross/blobs/${digest}`)).status).toBe(404);
  });
});

describe('pull-time update exclusions', () => {
  const role = (name: string, account = '123456789012') => `arn:aws:iam::${account}:role/${name}`;

  it('registers, lists, and deregisters a principal', async () => {
    const before = Date.now();
    const out = await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: role('scanner') }));
    expect(out.principalArn).toBe(role('scanner'));
    expect(out.createdAt).toBeInstanceOf(Date);
    expect(out.createdAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(out.createdAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    const user = 'arn:aws:iam::123456789012:user/ci/deployer@example.com';
    const govCloud = 'arn:aws-us-gov:iam::123456789012:role/path/to/reader';
    await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: user }));
    await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: govCloud }));
    const listed = await ecr.send(new ListPullTimeUpdateExclusionsCommand({}));
    expect(listed.pullTimeUpdateExclusions).toEqual([role('scanner'), user, govCloud].sort());
    expect(listed.nextToken).toBeUndefined();

    expect(await ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: user }))).toMatchObject({ principalArn: user });
    expect((await ecr.send(new ListPullTimeUpdateExclusionsCommand({}))).pullTimeUpdateExclusions).toEqual([role('scanner'), govCloud].sort());
    for (const arn of [role('scanner'), govCloud]) await ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: arn }));
    expect((await ecr.send(new ListPullTimeUpdateExclusionsCommand({}))).pullTimeUpdateExclusions).toEqual([]);
  });

  it('refuses a duplicate with ExclusionAlreadyExistsException and an unknown principal with ExclusionNotFoundException', async () => {
    await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: role('dup') }));
    const dup = await awsError(ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: role('dup') })));
    expect(dup).toMatchObject({ name: 'ExclusionAlreadyExistsException', status: 400 });
    expect(dup.message).toContain(role('dup'));

    await ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: role('dup') }));
    const gone = await awsError(ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: role('dup') })));
    expect(gone).toMatchObject({ name: 'ExclusionNotFoundException', status: 400 });
    const never = await awsError(ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: role('never-registered') })));
    expect(never.name).toBe('ExclusionNotFoundException');
  });

  it('accepts only IAM role and user ARNs of at most 200 characters', async () => {
    const refused = [
      'arn:aws:iam::123456789012:root',
      'arn:aws:sts::123456789012:assumed-role/deploy/session-1',
      'arn:aws:iam::123456789012:group/admins',
      'arn:aws:iam::12345678901:role/short-account',
      'arn:aws:iam::123456789012:role/',
      'arn:aws:iam::123456789012:role/has space',
      'role/scanner',
      '',
      role('x'.repeat(200)),
    ];
    for (const principalArn of refused) {
      const err = await awsError(ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn })));
      expect(err.name, principalArn).toBe('InvalidParameterException');
      expect(err.message).toContain("'principalArn'");
      expect((await awsError(ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn })))).name).toBe('InvalidParameterException');
    }
    const missing = await awsError(ecr.send(new RegisterPullTimeUpdateExclusionCommand({} as never)));
    expect(missing.name).toBe('InvalidParameterException');
    expect((await ecr.send(new ListPullTimeUpdateExclusionsCommand({}))).pullTimeUpdateExclusions).toEqual([]);
  });

  it('pages with maxResults and nextToken, and refuses bad paging members', async () => {
    const c = await otherAccount('555566667777');
    const arns = Array.from({ length: 7 }, (_, i) => role(`page-${i}`, c.accountId));
    for (const principalArn of arns) await c.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn }));
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await c.ecr.send(new ListPullTimeUpdateExclusionsCommand({ maxResults: 3, nextToken }));
      expect(page.pullTimeUpdateExclusions!.length).toBeLessThanOrEqual(3);
      seen.push(...page.pullTimeUpdateExclusions!);
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(3);
    expect(seen).toEqual([...arns].sort());

    for (const maxResults of [0, 1001]) {
      expect((await awsError(c.ecr.send(new ListPullTimeUpdateExclusionsCommand({ maxResults })))).name).toBe('InvalidParameterException');
    }
    expect((await awsError(c.ecr.send(new ListPullTimeUpdateExclusionsCommand({ nextToken: 'garbage' })))).name).toBe('InvalidParameterException');
    // Another registry's list is its own.
    expect((await ecr.send(new ListPullTimeUpdateExclusionsCommand({}))).pullTimeUpdateExclusions).not.toContain(arns[0]);
  });

  it('holds at most 100 per registry, even when registrations race', async () => {
    const d = await otherAccount('666677778888');
    const arns = Array.from({ length: 110 }, (_, i) => role(`limit-${String(i).padStart(3, '0')}`, d.accountId));
    const results = await Promise.allSettled(arns.map((principalArn) => d.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(100);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ECRServiceException] : []));
    expect(failures).toHaveLength(10);
    for (const err of failures) {
      expect(err.name).toBe('LimitExceededException');
      expect(err.$metadata.httpStatusCode).toBe(400);
    }

    const all = await d.ecr.send(new ListPullTimeUpdateExclusionsCommand({}));
    expect(all.pullTimeUpdateExclusions).toHaveLength(100);
    expect(all.nextToken).toBeUndefined();
    const registered = all.pullTimeUpdateExclusions!;
    const unregistered = arns.find((a) => !registered.includes(a))!;

    // At the limit a duplicate is still reported as a duplicate.
    expect((await awsError(d.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: registered[0]! })))).name).toBe('ExclusionAlreadyExistsException');
    expect((await awsError(d.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: unregistered })))).name).toBe('LimitExceededException');
    await d.ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: registered[0]! }));
    expect((await d.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: unregistered }))).principalArn).toBe(unregistered);
    // Other registries are not affected by this one's limit.
    expect((await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: role('elsewhere') }))).principalArn).toBe(role('elsewhere'));
    await ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: role('elsewhere') }));
  });
});
