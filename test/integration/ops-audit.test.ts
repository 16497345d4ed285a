import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchGetImageCommand, CreateRepositoryCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { startTestServer, TEST_ACCESS_KEY_ID, type TestServer } from '../helpers/test-server.js';
import { awsError, ECR_READ_ONLY, ecrClient, iamClient, userWithPolicies } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { auditCommand } from '../../src/cli/audit.js';
import type { AuditRecord } from '../../src/audit/index.js';

const ROOT_ARN = 'arn:aws:iam::000000000000:root';

function capture() {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t) }, out: () => out, err: () => err };
}

describe('operations: the audit trail', () => {
  let server: TestServer;
  let oci: OciTestClient;
  let all: () => Promise<AuditRecord[]>;
  /** What `berth audit` needs beside --data to find the deployment (PostgreSQL and S3 in the PostgreSQL run). */
  const cliEnv = () => ({ ...server.storageEnv });

  beforeAll(async () => {
    server = await startTestServer({ BERTH_AUDIT_RETENTION: '1h' });
    oci = new OciTestClient(server.url, server.authHeader);
    all = () => server.app.services.operations.audit.query({ limit: 1000 });
  });
  afterAll(() => server?.close());

  it('records a push with who, from where, what, the decision and the request id', async () => {
    const { digest, body } = await oci.pushImage('team/app', 'v1');
    // The manifest PUT's request id, as the response told the client.
    const res = await oci.putManifest('team/app', 'v2', body);
    expect(res.status).toBe(201);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    const records = await all();
    const put = records.find((r) => r.eventName === 'PutImage' && r.requestID === requestId);
    expect(put).toBeDefined();
    expect(put).toMatchObject({
      eventVersion: '1.08',
      eventSource: 'ecr.amazonaws.com',
      eventName: 'PutImage',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      userIdentity: { type: 'Root', arn: ROOT_ARN, accountId: '000000000000', accessKeyId: TEST_ACCESS_KEY_ID },
      requestParameters: { registryId: '000000000000', repositoryName: 'team/app', imageTag: 'v2' },
      readOnly: false,
      resources: [{ ARN: 'arn:aws:ecr:us-east-1:000000000000:repository/team/app', accountId: '000000000000', type: 'AWS::ECR::Repository' }],
      eventType: 'AwsApiCall',
      recipientAccountId: '000000000000',
      decision: 'allow',
      httpStatus: 201,
    });
    expect(put!.eventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(put!.decisionReason).toBeTruthy();
    expect(Date.parse(put!.eventTime)).toBeGreaterThan(Date.now() - 60_000);
    // The blob uploads of the push are mutating calls too.
    expect(records.filter((r) => r.eventName === 'InitiateLayerUpload').length).toBeGreaterThanOrEqual(2);
    expect(digest).toMatch(/^sha256:/);
  });

  it('records pulls through OCI and BatchGetImage, but not HEAD or listings', async () => {
    const { digest } = await oci.pushImage('team/pull', 'latest');
    expect((await oci.request('GET', `/v2/team/pull/manifests/latest`)).status).toBe(200);
    expect((await oci.request('HEAD', `/v2/team/pull/manifests/latest`)).status).toBe(200);
    expect((await oci.request('GET', `/v2/team/pull/tags/list`)).status).toBe(200);
    await ecrClient(server).send(new BatchGetImageCommand({ repositoryName: 'team/pull', imageIds: [{ imageDigest: digest }] }));
    const pulls = (await all()).filter((r) => r.eventName === 'BatchGetImage' && r.resources[0]?.ARN.endsWith('/team/pull'));
    expect(pulls).toHaveLength(2);
    expect(pulls.every((p) => p.readOnly && p.userIdentity.arn === ROOT_ARN && p.decision === 'allow')).toBe(true);
    expect(pulls.map((p) => p.requestParameters)).toContainEqual({ registryId: '000000000000', repositoryName: 'team/pull', imageTag: 'latest' });
    expect((await all()).some((r) => r.eventName === 'ListImages')).toBe(false);
  });

  it('records a denied call with the caller, the error and why it was denied', async () => {
    const reader = await userWithPolicies(server, 'reader', [ECR_READ_ONLY]);
    const failure = await awsError(ecrClient(server, reader).send(new CreateRepositoryCommand({ repositoryName: 'nope' })));
    expect(failure.name).toBe('AccessDeniedException');
    const denied = await server.app.services.operations.audit.query({ deniedOnly: true });
    const record = denied.find((r) => r.eventName === 'CreateRepository');
    expect(record).toMatchObject({
      eventSource: 'ecr.amazonaws.com',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::000000000000:user/reader', accessKeyId: reader.accessKeyId, userName: 'reader' },
      requestParameters: { repositoryName: 'nope' },
      errorCode: 'AccessDeniedException',
      decision: 'deny',
      httpStatus: 400,
    });
    expect(record!.decisionReason).toMatch(/no identity-based or resource-based policy allows|implicit/i);
    expect(record!.errorMessage).toContain('is not authorized to perform: ecr:CreateRepository');
    // An OCI push by the same user is denied and recorded the same way.
    const readerOci = new OciTestClient(server.url, `Basic ${Buffer.from(`${reader.accessKeyId}:${reader.secretAccessKey}`).toString('base64')}`);
    expect((await readerOci.request('POST', '/v2/team/app/blobs/uploads/')).status).toBe(403);
    const ociDenied = (await server.app.services.operations.audit.query({ deniedOnly: true, eventName: 'InitiateLayerUpload' }))[0];
    expect(ociDenied).toMatchObject({ userIdentity: { arn: 'arn:aws:iam::000000000000:user/reader' }, decision: 'deny', errorCode: 'DENIED', httpStatus: 403 });
  });

  it('never stores secrets: access keys, authorization tokens', async () => {
    const iam = iamClient(server);
    await iam.send(new CreateUserCommand({ UserName: 'builder' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'builder' }));
    const token = await ecrClient(server).send(new GetAuthorizationTokenCommand({}));
    const records = await all();
    const created = records.find((r) => r.eventName === 'CreateAccessKey');
    expect(created).toMatchObject({ eventSource: 'iam.amazonaws.com', awsRegion: 'us-east-1', requestParameters: { UserName: 'builder' }, responseElements: null });
    const getToken = records.find((r) => r.eventName === 'GetAuthorizationToken');
    expect(getToken).toBeDefined();
    const stored = JSON.stringify(records);
    expect(stored).not.toContain(AccessKey!.SecretAccessKey!);
    expect(stored).not.toContain(token.authorizationData![0]!.authorizationToken!);
    expect(stored).not.toContain(server.secretAccessKey);
  });

  it('berth audit prints the trail with filters, as a table or JSON lines', async () => {
    await server.app.services.operations.audit.flush();
    const table = capture();
    expect(await auditCommand(['--data', server.dataDir, '--event-name', 'CreateRepository', '--denied'], table.io, cliEnv())).toBe(0);
    expect(table.out()).toMatch(/^TIME\s+ACCOUNT\s+EVENT\s+WHO/);
    expect(table.out()).toContain('CreateRepository');
    expect(table.out()).toContain('arn:aws:iam::000000000000:user/reader');
    expect(table.out()).toContain('denied:');

    const lines = capture();
    expect(await auditCommand(['--data', server.dataDir, '--json', '--repository', 'team/pull', '--since', '1h', '--limit', '50'], lines.io, cliEnv())).toBe(0);
    const parsed = lines.out().trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(parsed.length).toBeGreaterThan(0);
    expect(parsed.every((r) => r.resources[0]?.ARN.endsWith(':repository/team/pull'))).toBe(true);

    const byUser = capture();
    expect(await auditCommand(['--data', server.dataDir, '--json', '--user', 'arn:aws:iam::000000000000:user/reader'], byUser.io, cliEnv())).toBe(0);
    expect(byUser.out().trim().split('\n').every((l) => (JSON.parse(l) as AuditRecord).userIdentity.arn === 'arn:aws:iam::000000000000:user/reader')).toBe(true);

    const none = capture();
    expect(await auditCommand(['--data', server.dataDir, '--until', '2000-01-01T00:00:00Z'], none.io, cliEnv())).toBe(0);
    expect(none.out()).toBe('no audit records match\n');

    const bad = capture();
    expect(await auditCommand(['--data', server.dataDir, '--since', 'yesterday'], bad.io, cliEnv())).toBe(2);
    expect(bad.err()).toContain('--since');
  });

  it('prunes records older than the retention period', async () => {
    const trail = server.app.services.operations.audit;
    const [recent] = await trail.query({ limit: 1 });
    const old = { ...recent!, eventID: '00000000-0000-4000-8000-000000000001', eventTime: new Date(Date.now() - 2 * 3600_000).toISOString() };
    await trail.record(old);
    const before = (await all()).length;
    expect((await all()).some((r) => r.eventID === old.eventID)).toBe(true);
    expect(await server.app.jobs.runPeriodic('audit.prune')).toBe(true);
    const after = await all();
    expect(after.some((r) => r.eventID === old.eventID)).toBe(false);
    expect(after.length).toBe(before - 1);
  });
});
