/**
 * ECR's service quotas, configured small (in-process server, real HTTP, the real AWS SDK):
 *
 * - repositories per registry and images per repository: ECR's LimitExceededException on the ECR
 *   door, `403 DENIED` on the OCI door (retrying would not help, so not 429);
 * - request rates per account and operation (token buckets): ThrottlingException on the ECR door,
 *   `429 TOOMANYREQUESTS` with `Retry-After` on the OCI door; both doors draw on the same buckets;
 *   tokens come back with time; a rate of 0, or rate limiting off, limits nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  GetAuthorizationTokenCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterEach, describe, expect, it } from 'vitest';
import { awsError, ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

let servers: TestServer[] = [];

afterEach(async () => {
  const open = servers;
  servers = [];
  for (const s of open) await s.close().catch(() => undefined);
});

async function start(env: Record<string, string>): Promise<{ server: TestServer; oci: OciTestClient; ecr: ECRClient }> {
  const server = await startTestServer(env);
  servers.push(server);
  return { server, oci: new OciTestClient(server.url, server.authHeader), ecr: ecrClient(server) };
}

async function ociError(res: Response): Promise<{ status: number; code: string | undefined; retryAfter: string | null }> {
  const body = (await res.json().catch(() => ({}))) as { errors?: { code: string }[] };
  return { status: res.status, code: body.errors?.[0]?.code, retryAfter: res.headers.get('retry-after') };
}

/** A config and a layer in `repo`, and a function making distinct manifests over them. */
async function blobs(oci: OciTestClient, repo: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = randomBytes(1024);
  const refs = {
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await oci.pushBlob(repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await oci.pushBlob(repo, layer), size: layer.length }],
  };
  return () => JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, ...refs, annotations: { nonce: randomBytes(8).toString('hex') } });
}

describe('repositories per registry', () => {
  it('refuses the repository past the limit on both doors', async () => {
    const { oci, ecr } = await start({ BERTH_LIMITS_REPOSITORIES_PER_REGISTRY: '3' });
    for (const name of ['q/one', 'q/two']) await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    // A push that creates a repository (create-on-push) counts too.
    await oci.pushBlob('q/three', Buffer.from('third'));

    const over = await awsError(ecr.send(new CreateRepositoryCommand({ repositoryName: 'q/four' })));
    expect(over.name).toBe('LimitExceededException');
    expect(over.status).toBe(400);
    expect(over.message).toMatch(/exceeded a service limit.*maximum of 3 repositories/);
    const res = await oci.request('POST', '/v2/q/four/blobs/uploads/');
    expect(await ociError(res)).toMatchObject({ status: 403, code: 'DENIED' });

    // Existing repositories still take pushes; the name of an existing one is still "already exists".
    await oci.pushBlob('q/one', Buffer.from('more'));
    expect((await awsError(ecr.send(new CreateRepositoryCommand({ repositoryName: 'q/one' })))).name).toBe('RepositoryAlreadyExistsException');
  });
});

describe('images per repository', () => {
  it('refuses a new image past the limit on both doors; re-tagging a stored one is fine', async () => {
    const { oci, ecr } = await start({ BERTH_LIMITS_IMAGES_PER_REPOSITORY: '2' });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'q/images' }));
    const manifest = await blobs(oci, 'q/images');
    const first = manifest();
    expect((await oci.putManifest('q/images', 'a', Buffer.from(first), MANIFEST_TYPE)).status).toBe(201);
    expect((await oci.putManifest('q/images', 'b', Buffer.from(manifest()), MANIFEST_TYPE)).status).toBe(201);
    expect(await ociError(await oci.putManifest('q/images', 'c', Buffer.from(manifest()), MANIFEST_TYPE))).toMatchObject({ status: 403, code: 'DENIED' });
    const over = await awsError(ecr.send(new PutImageCommand({ repositoryName: 'q/images', imageManifest: manifest(), imageTag: 'd' })));
    expect(over.name).toBe('LimitExceededException');
    expect((await oci.putManifest('q/images', 'again', Buffer.from(first), MANIFEST_TYPE)).status).toBe(201);
    expect((await oci.request('GET', `/v2/q/images/manifests/${sha256(first)}`)).status).toBe(200);
  });
});

describe('layer parts per upload', () => {
  it('refuses the part past the configured limit with LimitExceededException', async () => {
    const { ecr } = await start({ BERTH_LIMITS_LAYER_PARTS_PER_UPLOAD: '3' });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'q/parts' }));
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'q/parts' }));
    const part = (i: number) =>
      ecr.send(new UploadLayerPartCommand({ repositoryName: 'q/parts', uploadId, partFirstByte: i, partLastByte: i, layerPartBlob: Buffer.from([i]) }));
    for (let i = 0; i < 3; i++) await part(i);
    const over = await awsError(part(3));
    expect(over.name).toBe('LimitExceededException');
    expect(over.message).toMatch(/at most 3 parts/);
  });
});

describe('request rates', () => {
  it('throttles manifest pushes past the rate on both doors, then lets them through again', async () => {
    const { oci, ecr } = await start({ BERTH_LIMITS_RATE_LIMITING: 'true', BERTH_LIMITS_RATE_PUT_IMAGE: '3' });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'q/rate' }));
    const manifest = await blobs(oci, 'q/rate');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await oci.putManifest('q/rate', `t${i}`, Buffer.from(manifest()), MANIFEST_TYPE)).status);
    expect(statuses).toEqual([201, 201, 201]);
    const throttled = await ociError(await oci.putManifest('q/rate', 'over', Buffer.from(manifest()), MANIFEST_TYPE));
    expect(throttled).toEqual({ status: 429, code: 'TOOMANYREQUESTS', retryAfter: '1' });
    // The ECR door draws on the same bucket.
    const err = await awsError(ecr.send(new PutImageCommand({ repositoryName: 'q/rate', imageManifest: manifest(), imageTag: 'ecr' })));
    expect(err.name).toBe('ThrottlingException');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/Rate exceeded: PutImage is limited to 3 requests per second/);

    await new Promise((r) => setTimeout(r, 1100));
    await ecr.send(new PutImageCommand({ repositoryName: 'q/rate', imageManifest: manifest(), imageTag: 'later' }));
    expect((await oci.putManifest('q/rate', 'later2', Buffer.from(manifest()), MANIFEST_TYPE)).status).toBe(201);
  });

  it('throttles pulls (BatchGetImage) and token requests, each operation on its own', async () => {
    const { oci, ecr } = await start({ BERTH_LIMITS_RATE_LIMITING: 'true', BERTH_LIMITS_RATE_BATCH_GET_IMAGE: '5', BERTH_LIMITS_RATE_GET_AUTHORIZATION_TOKEN: '2' });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'q/pull' }));
    const manifest = await blobs(oci, 'q/pull');
    expect((await oci.putManifest('q/pull', 'v1', Buffer.from(manifest()), MANIFEST_TYPE)).status).toBe(201);
    const pulls: number[] = [];
    for (let i = 0; i < 4; i++) pulls.push((await oci.request(i % 2 ? 'HEAD' : 'GET', '/v2/q/pull/manifests/v1')).status);
    expect(pulls).toEqual([200, 200, 200, 200]);
    await ecr.send(new BatchGetImageCommand({ repositoryName: 'q/pull', imageIds: [{ imageTag: 'v1' }] }));
    expect(await ociError(await oci.request('GET', '/v2/q/pull/manifests/v1'))).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS' });
    expect((await awsError(ecr.send(new BatchGetImageCommand({ repositoryName: 'q/pull', imageIds: [{ imageTag: 'v1' }] })))).name).toBe('ThrottlingException');
    // Other operations are not affected: blobs (GetDownloadUrlForLayer, 3000/s by default) still flow.
    const layer = (JSON.parse(manifest()) as { layers: { digest: string }[] }).layers[0]!.digest;
    expect((await oci.request('GET', `/v2/q/pull/blobs/${layer}`)).status).toBe(200);

    await ecr.send(new GetAuthorizationTokenCommand({}));
    await ecr.send(new GetAuthorizationTokenCommand({}));
    expect((await awsError(ecr.send(new GetAuthorizationTokenCommand({})))).name).toBe('ThrottlingException');
  });

  it('limits nothing at a rate of 0, or with rate limiting off', async () => {
    const { oci } = await start({ BERTH_LIMITS_RATE_LIMITING: 'true', BERTH_LIMITS_RATE_INITIATE_LAYER_UPLOAD: '0', BERTH_LIMITS_RATE_PUT_IMAGE: '1' });
    // 0: uploads are not limited.
    for (let i = 0; i < 30; i++) await oci.pushBlob('q/free', randomBytes(64));
    expect((await oci.putManifest('q/free', 'a', Buffer.from(await (await blobs(oci, 'q/free'))()), MANIFEST_TYPE)).status).toBe(201);
    expect((await oci.putManifest('q/free', 'b', Buffer.from(await (await blobs(oci, 'q/free'))()), MANIFEST_TYPE)).status).toBe(429);

    const off = await start({ BERTH_LIMITS_RATE_LIMITING: 'false', BERTH_LIMITS_RATE_PUT_IMAGE: '1' });
    const manifest = await blobs(off.oci, 'q/off');
    for (let i = 0; i < 20; i++) expect((await off.oci.putManifest('q/off', `t${i}`, Buffer.from(manifest()), MANIFEST_TYPE)).status).toBe(201);
  });
});
