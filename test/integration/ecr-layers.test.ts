import { randomBytes } from 'node:crypto';
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  InvalidLayerPartException,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountId, Digest, RepositoryName } from '../../src/core/index.js';
import { SecretBox } from '../../src/iam/index.js';
import { DownloadUrlSigner } from '../../src/registry/download-url.js';
import { awsError, ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const MiB = 1024 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;

beforeAll(async () => {
  server = await startTestServer({ BERTH_CREATE_ON_PUSH: 'false' });
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
});
afterAll(() => server.close());

async function createRepository(name: string): Promise<void> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
}

async function initiate(repo: string): Promise<string> {
  const out = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: repo }));
  return out.uploadId!;
}

async function uploadPart(repo: string, uploadId: string, first: number, data: Buffer): Promise<number> {
  const out = await ecr.send(
    new UploadLayerPartCommand({ repositoryName: repo, uploadId, partFirstByte: first, partLastByte: first + data.length - 1, layerPartBlob: data }),
  );
  return out.lastByteReceived!;
}

/** A whole blob through the JSON upload API, in parts of `partSize`. */
async function uploadLayer(repo: string, data: Buffer, partSize = 5 * MiB): Promise<string> {
  const uploadId = await initiate(repo);
  for (let at = 0; at < data.length; at += partSize) {
    expect(await uploadPart(repo, uploadId, at, data.subarray(at, at + partSize))).toBe(Math.min(at + partSize, data.length) - 1);
  }
  const out = await ecr.send(new CompleteLayerUploadCommand({ repositoryName: repo, uploadId, layerDigests: [sha256(data)] }));
  expect(out).toMatchObject({ registryId: '000000000000', repositoryName: repo, uploadId, layerDigest: sha256(data) });
  return out.layerDigest!;
}

describe('the JSON push path', () => {
  it('pushes layers and a manifest that OCI pulls with the same digest and bytes', async () => {
    await createRepository('lay/push');
    const init = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'lay/push' }));
    expect(init.uploadId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(init.partSize).toBe(10 * MiB);

    const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBytes(5 * MiB + 4321);
    const configDigest = await uploadLayer('lay/push', config);
    const layerDigest = await uploadLayer('lay/push', layer);

    const available = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'lay/push', layerDigests: [configDigest, layerDigest] }));
    expect(available.layers).toEqual([
      { layerDigest: configDigest, layerAvailability: 'AVAILABLE', layerSize: config.length },
      { layerDigest: layerDigest, layerAvailability: 'AVAILABLE', layerSize: layer.length },
    ]);
    expect(available.failures).toEqual([]);

    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    });
    const put = await ecr.send(new PutImageCommand({ repositoryName: 'lay/push', imageManifest: manifest, imageTag: 'v1' }));
    expect(put.image?.imageId?.imageDigest).toBe(sha256(manifest));

    const pulled = await oci.request('GET', '/v2/lay/push/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(await pulled.text()).toBe(manifest);
    const blob = await oci.request('GET', `/v2/lay/push/blobs/${layerDigest}`);
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer)).toBe(true);
  });

  it('shares upload sessions with the OCI door, both ways', async () => {
    await createRepository('lay/shared');
    const data = randomBytes(5 * MiB + 100);

    // Started through ECR, inspected and finished through OCI.
    const ecrStarted = await initiate('lay/shared');
    await uploadPart('lay/shared', ecrStarted, 0, data.subarray(0, 5 * MiB));
    const status = await oci.request('GET', `/v2/lay/shared/blobs/uploads/${ecrStarted}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${5 * MiB - 1}`);
    const finished = await oci.request('PUT', `/v2/lay/shared/blobs/uploads/${ecrStarted}?digest=${sha256(data)}`, {
      body: data.subarray(5 * MiB),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(finished.status).toBe(201);

    // Started through OCI, continued and finished through ECR.
    const other = randomBytes(3000);
    const started = await oci.request('POST', '/v2/lay/shared/blobs/uploads/');
    expect(started.status).toBe(202);
    const ociStarted = started.headers.get('docker-upload-uuid')!;
    const patched = await oci.request('PATCH', `/v2/lay/shared/blobs/uploads/${ociStarted}`, {
      body: other.subarray(0, 1000),
      headers: { 'content-type': 'application/octet-stream', 'content-range': '0-999' },
    });
    expect(patched.status).toBe(202);
    expect(await uploadPart('lay/shared', ociStarted, 1000, other.subarray(1000))).toBe(2999);
    const done = await ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/shared', uploadId: ociStarted, layerDigests: [sha256(other)] }));
    expect(done.layerDigest).toBe(sha256(other));
    const head = await oci.request('HEAD', `/v2/lay/shared/blobs/${sha256(other)}`);
    expect(head.headers.get('content-length')).toBe('3000');
  });
});

describe('UploadLayerPart', () => {
  it('requires each part to continue exactly where the upload is, and says where that is', async () => {
    await createRepository('lay/parts');
    const uploadId = await initiate('lay/parts');
    // Before any byte: the first part must start at 0; nothing is held yet.
    const early = (await awsError(uploadPart('lay/parts', uploadId, 5, randomBytes(10)))) as InvalidLayerPartException;
    expect(early.name).toBe('InvalidLayerPartException');
    expect(early.lastValidByteReceived).toBe(-1);
    expect(await uploadPart('lay/parts', uploadId, 0, randomBytes(100))).toBe(99);

    for (const first of [0, 99, 101]) {
      const err = (await awsError(uploadPart('lay/parts', uploadId, first, randomBytes(10)))) as InvalidLayerPartException;
      expect(err.name).toBe('InvalidLayerPartException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.lastValidByteReceived).toBe(99);
      expect(err.uploadId).toBe(uploadId);
      expect(err.repositoryName).toBe('lay/parts');
      expect(err.registryId).toBe('000000000000');
    }
    // A range that does not match the bytes sent.
    const short = await awsError(
      ecr.send(new UploadLayerPartCommand({ repositoryName: 'lay/parts', uploadId, partFirstByte: 100, partLastByte: 200, layerPartBlob: randomBytes(10) })),
    );
    expect(short.name).toBe('InvalidLayerPartException');
    const empty = await awsError(
      ecr.send(new UploadLayerPartCommand({ repositoryName: 'lay/parts', uploadId, partFirstByte: 100, partLastByte: 99, layerPartBlob: new Uint8Array() })),
    );
    expect(empty.name).toBe('InvalidLayerPartException');
    // The session is where it was: the client resumes from lastValidByteReceived + 1.
    expect(await uploadPart('lay/parts', uploadId, 100, randomBytes(10))).toBe(109);
  });

  it('refuses unknown, foreign and malformed sessions, oversized parts and missing repositories', async () => {
    await createRepository('lay/parts-a');
    await createRepository('lay/parts-b');
    const uploadId = await initiate('lay/parts-a');
    const part = { partFirstByte: 0, partLastByte: 9, layerPartBlob: randomBytes(10) };
    const name = async (input: Partial<ConstructorParameters<typeof UploadLayerPartCommand>[0]>) =>
      (await awsError(ecr.send(new UploadLayerPartCommand({ repositoryName: 'lay/parts-a', uploadId, ...part, ...input })))).name;
    expect(await name({ uploadId: '01234567-89ab-cdef-0123-456789abcdef' })).toBe('UploadNotFoundException');
    expect(await name({ repositoryName: 'lay/parts-b' })).toBe('UploadNotFoundException');
    expect(await name({ uploadId: 'not-an-upload' })).toBe('InvalidParameterException');
    expect(await name({ repositoryName: 'lay/parts-none' })).toBe('RepositoryNotFoundException');
    const big = Buffer.alloc(20_971_520 + 1);
    expect(await name({ partLastByte: big.length - 1, layerPartBlob: big })).toBe('InvalidParameterException');
    // Nothing of the refused calls reached the session.
    expect(await uploadPart('lay/parts-a', uploadId, 0, randomBytes(10))).toBe(9);
  });

  it('allows at most 4,200 parts to an upload', async () => {
    await createRepository('lay/many');
    const uploadId = await initiate('lay/many');
    for (let i = 0; i < 4200; i++) await uploadPart('lay/many', uploadId, i, Buffer.from([i & 0xff]));
    const over = await awsError(uploadPart('lay/many', uploadId, 4200, Buffer.from([1])));
    expect(over.name).toBe('LimitExceededException');
  });
});

describe('CompleteLayerUpload', () => {
  it('refuses a wrong digest and keeps the session, so the right one still completes', async () => {
    await createRepository('lay/complete');
    const data = randomBytes(1000);
    const uploadId = await initiate('lay/complete');
    await uploadPart('lay/complete', uploadId, 0, data);
    const wrong = await awsError(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/complete', uploadId, layerDigests: [sha256('other')] })));
    expect(wrong.name).toBe('InvalidLayerException');
    const right = await ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/complete', uploadId, layerDigests: [sha256(data)] }));
    expect(right.layerDigest).toBe(sha256(data));
    // Completing again: the layer is there, which Docker-era clients take as success.
    expect((await awsError(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/complete', uploadId, layerDigests: [sha256(data)] })))).name).toBe(
      'LayerAlreadyExistsException',
    );
  });

  it('answers LayerAlreadyExists for a layer the repository holds, and closes the session', async () => {
    await createRepository('lay/exists');
    const data = randomBytes(500);
    await oci.pushBlob('lay/exists', data);
    const uploadId = await initiate('lay/exists');
    await uploadPart('lay/exists', uploadId, 0, data);
    const err = await awsError(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/exists', uploadId, layerDigests: [sha256(data)] })));
    expect(err.name).toBe('LayerAlreadyExistsException');
    expect((await oci.request('GET', `/v2/lay/exists/blobs/uploads/${uploadId}`)).status).toBe(404);
  });

  it('refuses an empty upload, a small part before the last, and malformed digest lists', async () => {
    await createRepository('lay/complete-bad');
    const emptyId = await initiate('lay/complete-bad');
    expect((await awsError(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/complete-bad', uploadId: emptyId, layerDigests: [sha256('')] })))).name).toBe(
      'EmptyUploadException',
    );

    const small = randomBytes(2000);
    const smallId = await initiate('lay/complete-bad');
    await uploadPart('lay/complete-bad', smallId, 0, small.subarray(0, 1000));
    await uploadPart('lay/complete-bad', smallId, 1000, small.subarray(1000));
    expect((await awsError(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/complete-bad', uploadId: smallId, layerDigests: [sha256(small)] })))).name).toBe(
      'LayerPartTooSmallException',
    );

    const name = async (input: Partial<ConstructorParameters<typeof CompleteLayerUploadCommand>[0]>) =>
      (await awsError(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'lay/complete-bad', uploadId: emptyId, layerDigests: [sha256('x')], ...input })))).name;
    expect(await name({ layerDigests: [sha256('x'), sha256('y')] })).toBe('InvalidParameterException');
    expect(await name({ layerDigests: [] })).toBe('InvalidParameterException');
    expect(await name({ layerDigests: ['sha256:not hex'] })).toBe('InvalidParameterException');
    expect(await name({ uploadId: '01234567-89ab-cdef-0123-456789abcdef' })).toBe('UploadNotFoundException');
    expect(await name({ repositoryName: 'lay/complete-none' })).toBe('RepositoryNotFoundException');
  });
});

describe('BatchCheckLayerAvailability', () => {
  it('answers each digest, with malformed and empty ones as failures', async () => {
    await createRepository('lay/check');
    const data = randomBytes(777);
    const digest = await oci.pushBlob('lay/check', data);
    const absent = sha256('absent');
    const out = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'lay/check', layerDigests: [digest, absent, 'sha256:zz', ''] }));
    expect(out.layers).toEqual([
      { layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: 777 },
      { layerDigest: absent, layerAvailability: 'UNAVAILABLE' },
    ]);
    expect(out.failures!.map((f) => [f.layerDigest, f.failureCode])).toEqual([
      ['sha256:zz', 'InvalidLayerDigest'],
      ['', 'MissingLayerDigest'],
    ]);
    // Another repository does not see the blob.
    await createRepository('lay/check-other');
    const other = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'lay/check-other', layerDigests: [digest] }));
    expect(other.layers![0]!.layerAvailability).toBe('UNAVAILABLE');
    const tooMany = Array.from({ length: 101 }, () => digest);
    expect((await awsError(ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'lay/check', layerDigests: tooMany })))).name).toBe(
      'InvalidParameterException',
    );
    expect((await awsError(ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'lay/check-none', layerDigests: [digest] })))).name).toBe(
      'RepositoryNotFoundException',
    );
  });
});

describe('GetDownloadUrlForLayer', () => {
  it('hands out a URL that works without credentials, with ranges, and only as signed', async () => {
    await createRepository('lay/url');
    const image = await oci.pushImage('lay/url', 'v1', { layers: 2 });
    const [layer, otherLayer] = image.layers as [string, string];
    const bytes = Buffer.from(await (await oci.request('GET', `/v2/lay/url/blobs/${layer}`)).arrayBuffer());

    const out = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'lay/url', layerDigest: layer }));
    expect(out.layerDigest).toBe(layer);
    const url = new URL(out.downloadUrl!);
    expect(url.origin).toBe(server.url);
    // The registry itself wants credentials; the URL does not.
    expect((await fetch(`${server.url}/v2/lay/url/blobs/${layer}`)).status).toBe(401);
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(layer);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);

    const tampered = (change: (q: URLSearchParams) => void, path = url.pathname) => {
      const q = new URLSearchParams(url.search);
      change(q);
      return fetch(`${server.url}${path}?${q.toString()}`);
    };
    const denied = async (res: Promise<Response>) => {
      const r = await res;
      expect(r.status).toBe(403);
      expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DENIED');
    };
    await denied(tampered(() => undefined, `/_berth/blobs/${otherLayer}`));
    await denied(tampered((q) => q.set('repository', 'lay/other')));
    await denied(tampered((q) => q.set('account', '111111111111')));
    await denied(tampered((q) => q.set('expires', String(Number(q.get('expires')) + 3600))));
    await denied(tampered((q) => q.set('signature', flip(q.get('signature')!))));
    await denied(tampered((q) => q.delete('signature')));
  });

  it('stops working once expired, although correctly signed', async () => {
    await createRepository('lay/expired');
    const image = await oci.pushImage('lay/expired', 'v1');
    // Sign as the server does, with the key derived from the same master key, to set any expiry.
    const signer = new DownloadUrlSigner(SecretBox.load(server.dataDir).deriveKey('berth blob-download-url v1'));
    const grant = (expiresAt: number) =>
      `${server.url}${signer.path({ accountId: '000000000000' as AccountId, repositoryName: 'lay/expired' as RepositoryName, digest: image.layers[0] as Digest, expiresAt })}`;
    const now = Math.floor(Date.now() / 1000);
    expect((await fetch(grant(now + 60))).status).toBe(200);
    const expired = await fetch(grant(now - 1));
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/expired/);
  });

  it('refuses blobs no image references, unknown blobs, bad digests and missing repositories', async () => {
    await createRepository('lay/url-bad');
    const loose = await oci.pushBlob('lay/url-bad', randomBytes(64));
    const name = async (input: Partial<ConstructorParameters<typeof GetDownloadUrlForLayerCommand>[0]>) =>
      (await awsError(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'lay/url-bad', layerDigest: loose, ...input })))).name;
    expect(await name({})).toBe('LayerInaccessibleException');
    expect(await name({ layerDigest: sha256('unknown') })).toBe('LayersNotFoundException');
    expect(await name({ layerDigest: 'sha256:xyz' })).toBe('InvalidParameterException');
    expect(await name({ repositoryName: 'lay/url-none' })).toBe('RepositoryNotFoundException');
  });
});

/** Change one character of a base64url string. */
function flip(s: string): string {
  return (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
}
