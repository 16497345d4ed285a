import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startTestServer, TEST_STORAGE, type TestServer } from '../helpers/test-server.js';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ListUsersCommand } from '@aws-sdk/client-iam';
import { ecrClient, iamClient, userWithPolicies } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';

/** The value of one sample of the exposition text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('operations: /metrics, /healthz, /readyz', () => {
  let server: TestServer;
  let oci: OciTestClient;

  beforeAll(async () => {
    server = await startTestServer();
    oci = new OciTestClient(server.url, server.authHeader);
  });
  afterAll(() => server?.close());

  it('counts requests by door, operation and status, with latency, bytes, and storage per account', async () => {
    const { digest, body } = await oci.pushImage('team/app', 'v1', { layers: 2 });
    for (let i = 0; i < 3; i++) expect((await oci.request('GET', `/v2/team/app/manifests/${digest}`)).status).toBe(200);
    expect((await oci.request('GET', '/v2/team/app/manifests/missing')).status).toBe(404);
    expect((await new OciTestClient(server.url).request('GET', '/v2/')).status).toBe(401);
    const ecr = ecrClient(server);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'other' }));
    await ecr.send(new DescribeRepositoriesCommand({}));
    await ecr.send(new DescribeRepositoriesCommand({}));
    await iamClient(server).send(new ListUsersCommand({}));
    const sts = new STSClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    await sts.send(new GetCallerIdentityCommand({}));

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sample(text, 'berth_http_requests_total', { door: 'oci', operation: 'BatchGetImage', status: '200' })).toBe(3);
    expect(sample(text, 'berth_http_requests_total', { door: 'oci', operation: 'BatchGetImage', status: '404' })).toBe(1);
    expect(sample(text, 'berth_http_requests_total', { door: 'oci', operation: 'PutImage', status: '201' })).toBe(1);
    // Config and two layers, each one monolithic POST.
    expect(sample(text, 'berth_http_requests_total', { door: 'oci', operation: 'InitiateLayerUpload', status: '201' })).toBe(3);
    expect(sample(text, 'berth_http_requests_total', { door: 'oci', status: '401' })).toBe(1);
    expect(sample(text, 'berth_http_requests_total', { door: 'ecr', operation: 'DescribeRepositories', status: '200' })).toBe(2);
    expect(sample(text, 'berth_http_requests_total', { door: 'ecr', operation: 'CreateRepository', status: '200' })).toBe(1);
    expect(sample(text, 'berth_http_requests_total', { door: 'iam', operation: 'ListUsers', status: '200' })).toBe(1);
    expect(sample(text, 'berth_http_requests_total', { door: 'sts', operation: 'GetCallerIdentity', status: '200' })).toBe(1);
    expect(sample(text, 'berth_http_request_duration_seconds_count', { door: 'oci', operation: 'BatchGetImage' })).toBe(4);
    expect(sample(text, 'berth_http_request_duration_seconds_bucket', { door: 'oci', operation: 'BatchGetImage', le: '+Inf' })).toBe(4);
    // At least the three manifest bodies went out, and the blobs and manifest came in.
    expect(sample(text, 'berth_http_sent_bytes_total', { door: 'oci' })).toBeGreaterThanOrEqual(3 * body.length);
    expect(sample(text, 'berth_http_received_bytes_total', { door: 'oci' })).toBeGreaterThanOrEqual(1024 + 1025 + body.length);
    expect(sample(text, 'berth_events_total', { type: 'image.pushed' })).toBe(1);
    expect(sample(text, 'berth_events_total', { type: 'image.pulled' })).toBe(3);
    expect(sample(text, 'berth_uploads_in_progress')).toBe(0);
    // Two layers of 1024 and 1025 bytes plus the config, in the default account.
    expect(sample(text, 'berth_storage_bytes', { account: '000000000000' })).toBeGreaterThan(2049);
    // Default Node process metrics.
    expect(text).toContain('berth_process_cpu_seconds_total');
  });

  it('reports uploads in progress and the job queue by kind', async () => {
    const started = await oci.request('POST', '/v2/team/app/blobs/uploads/');
    expect(started.status).toBe(202);
    await server.app.jobs.enqueue('ops.test.never', { n: 1 }, { runAt: Date.now() - 5000 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(sample(text, 'berth_uploads_in_progress')).toBe(1);
    expect(sample(text, 'berth_jobs', { kind: 'ops.test.never', state: 'queued' })).toBe(1);
    expect(sample(text, 'berth_job_queue_depth', { kind: 'ops.test.never' })).toBe(1);
    expect(sample(text, 'berth_job_oldest_age_seconds', { kind: 'ops.test.never' })).toBeGreaterThanOrEqual(5);
  });

  it('counts the outcomes of scans, replication and lifecycle from their events', async () => {
    const { events } = server.app;
    events.emit({ type: 'scan.completed', accountId: '000000000000', repository: 'team/app', at: Date.now(), detail: {} });
    events.emit({ type: 'scan.completed', accountId: '000000000000', repository: 'team/app', at: Date.now(), detail: {} });
    events.emit({ type: 'lifecycle.expired', accountId: '000000000000', repository: 'team/app', at: Date.now(), detail: {} });
    events.emit({ type: 'replication.failed', accountId: '000000000000', repository: 'team/app', at: Date.now(), detail: {} });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(sample(text, 'berth_background_outcomes_total', { capability: 'scan', outcome: 'completed' })).toBe(2);
    expect(sample(text, 'berth_background_outcomes_total', { capability: 'lifecycle', outcome: 'expired' })).toBe(1);
    expect(sample(text, 'berth_background_outcomes_total', { capability: 'replication', outcome: 'failed' })).toBe(1);
  });

  it('answers /status to the deployment root key only', async () => {
    const res = await fetch(`${server.url}/status`, { headers: { authorization: server.authHeader } });
    expect(res.status).toBe(200);
    const status = (await res.json()) as { accounts: { accountId: string; repositories: number }[]; mode: unknown };
    expect(status.mode).toEqual({ metadata: server.app.meta.dialect, blobs: TEST_STORAGE === 'postgres' ? 's3' : 'fs' });
    expect(status.accounts.find((a) => a.accountId === '000000000000')?.repositories).toBe(2);
    expect((await fetch(`${server.url}/status`)).status).toBe(401);
    const user = await userWithPolicies(server, 'operator');
    const asUser = await fetch(`${server.url}/status`, { headers: { authorization: `Basic ${Buffer.from(`${user.accessKeyId}:${user.secretAccessKey}`).toString('base64')}` } });
    expect(asUser.status).toBe(403);
  });

  it('answers /healthz and /readyz, and gives every response a request id', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect(ready.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const refused = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(refused.headers.get('x-request-id')).not.toBe('bad id with spaces');
  });

  it('is not ready when the blob store cannot take an upload', async () => {
    const broken = await startTestServer();
    try {
      if (TEST_STORAGE === 'postgres') {
        // S3 (the PostgreSQL run): the bucket goes away.
        const env = broken.storageEnv;
        const s3 = new S3Client({ endpoint: env['BERTH_S3_ENDPOINT'], region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env['BERTH_S3_ACCESS_KEY_ID']!, secretAccessKey: env['BERTH_S3_SECRET_ACCESS_KEY']! } });
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: env['BERTH_S3_BUCKET'] }));
        for (const o of listed.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: env['BERTH_S3_BUCKET'], Key: o.Key }));
        await s3.send(new DeleteBucketCommand({ Bucket: env['BERTH_S3_BUCKET'] }));
        s3.destroy();
      } else {
        // The filesystem: the upload area replaced by a file.
        await rm(join(broken.dataDir, 'uploads'), { recursive: true, force: true });
        await writeFile(join(broken.dataDir, 'uploads'), 'not a folder');
      }
      const res = await fetch(`${broken.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; problems: string[] };
      expect(body.status).toBe('not ready');
      expect(body.problems.join(' ')).toContain('blob store not writable');
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
