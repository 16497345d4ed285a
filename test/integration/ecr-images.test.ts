import { randomBytes } from 'node:crypto';
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  ListImageReferrersCommand,
  ListImagesCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  type ImageDetail,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsError, ECR_READ_ONLY, ecrClient, userWithPolicies } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/test-server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;

beforeAll(async () => {
  // As in ECR, a push does not create a repository: every test creates its own.
  server = await startTestServer({ BERTH_CREATE_ON_PUSH: 'false' });
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
});
afterAll(() => server.close());

async function createRepository(name: string): Promise<void> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
}

/** A config and a layer pushed through OCI, from which PutImage manifests are built. */
async function pushBlobs(repo: string): Promise<{ config: { digest: string; size: number }; layer: { digest: string; size: number } }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(2048);
  return {
    config: { digest: await oci.pushBlob(repo, config), size: config.length },
    layer: { digest: await oci.pushBlob(repo, layer), size: layer.length },
  };
}

/** An OCI image manifest over `blobs`; `annotations` make each one a different image. */
function imageManifest(blobs: Awaited<ReturnType<typeof pushBlobs>>, annotations: Record<string, string> = {}, withMediaType = true): string {
  return JSON.stringify({
    schemaVersion: 2,
    ...(withMediaType ? { mediaType: OCI_MANIFEST } : {}),
    config: { mediaType: OCI_CONFIG, ...blobs.config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blobs.layer }],
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  });
}

function indexOf(children: { digest: string; size: number }[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c, i) => ({ mediaType: OCI_MANIFEST, ...c, platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' } })),
  });
}

async function describeOne(repo: string, id: ImageIdentifier): Promise<ImageDetail> {
  const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [id] }));
  expect(imageDetails).toHaveLength(1);
  return imageDetails![0]!;
}

async function putImage(repo: string, manifest: string, tag?: string): Promise<string> {
  const { image } = await ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: manifest, ...(tag ? { imageTag: tag } : {}) }));
  return image!.imageId!.imageDigest!;
}

describe('DescribeImages', () => {
  it('shows an image pushed through OCI with its digest, size, tags and media types', async () => {
    await createRepository('img/oci');
    const before = Date.now();
    const pushed = await oci.pushImage('img/oci', 'v1', { layers: 2 });
    expect((await oci.putManifest('img/oci', 'latest', pushed.body, OCI_MANIFEST)).status).toBe(201);
    const detail = await describeOne('img/oci', { imageTag: 'v1' });
    expect(detail).toMatchObject({
      registryId: '000000000000',
      repositoryName: 'img/oci',
      imageDigest: pushed.digest,
      imageTags: ['latest', 'v1'],
      // The layers' compressed sizes: the pushed layers are 1024 and 1025 random bytes.
      imageSizeInBytes: 1024 + 1025,
      imageManifestMediaType: OCI_MANIFEST,
      artifactMediaType: OCI_CONFIG,
    });
    expect(detail.imagePushedAt).toBeInstanceOf(Date);
    expect(detail.imagePushedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(detail.imagePushedAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(detail.lastRecordedPullTime).toBeUndefined();
    expect((await describeOne('img/oci', { imageDigest: pushed.digest })).imageDigest).toBe(pushed.digest);

    // A Docker schema 2 manifest and an index keep their own media types; an index's size is its largest child.
    const docker = JSON.parse(pushed.body.toString()) as Record<string, unknown>;
    const dockerBody = JSON.stringify({ ...docker, mediaType: DOCKER_MANIFEST, config: { ...(docker['config'] as object), mediaType: 'application/vnd.docker.container.image.v1+json' } });
    expect((await oci.putManifest('img/oci', 'docker', Buffer.from(dockerBody), DOCKER_MANIFEST)).status).toBe(201);
    expect(await describeOne('img/oci', { imageTag: 'docker' })).toMatchObject({
      imageManifestMediaType: DOCKER_MANIFEST,
      artifactMediaType: 'application/vnd.docker.container.image.v1+json',
    });
    const small = await oci.pushImage('img/oci', 'small', { layers: 1 });
    const index = indexOf([
      { digest: pushed.digest, size: pushed.body.length },
      { digest: small.digest, size: small.body.length },
    ]);
    expect((await oci.putManifest('img/oci', 'multi', Buffer.from(index), OCI_INDEX)).status).toBe(201);
    const described = await describeOne('img/oci', { imageTag: 'multi' });
    expect(described).toMatchObject({ imageDigest: sha256(index), imageManifestMediaType: OCI_INDEX, imageSizeInBytes: 1024 + 1025 });
    expect(described.artifactMediaType).toBeUndefined();
  });

  it('fails an explicit id list wholesale when one id is missing, malformed or contradictory', async () => {
    await createRepository('img/ids');
    const a = await oci.pushImage('img/ids', 'a');
    const missing = await awsError(
      ecr.send(new DescribeImagesCommand({ repositoryName: 'img/ids', imageIds: [{ imageTag: 'a' }, { imageTag: 'absent' }] })),
    );
    expect(missing.name).toBe('ImageNotFoundException');
    expect(missing.status).toBe(400);
    expect(missing.message).toContain("imageTag:'absent'");
    const wrongDigest = await awsError(
      ecr.send(new DescribeImagesCommand({ repositoryName: 'img/ids', imageIds: [{ imageTag: 'a', imageDigest: `sha256:${'0'.repeat(64)}` }] })),
    );
    expect(wrongDigest.name).toBe('ImageNotFoundException');
    const malformed = await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/ids', imageIds: [{ imageDigest: 'sha256:xyz' }] })));
    expect(malformed.name).toBe('InvalidParameterException');
    // Two ids of one image give one detail; tag and digest together must agree.
    const both = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'img/ids', imageIds: [{ imageTag: 'a' }, { imageDigest: a.digest }, { imageTag: 'a', imageDigest: a.digest }] }),
    );
    expect(both.imageDetails!.map((d) => d.imageDigest)).toEqual([a.digest]);
  });

  it('refuses paging with ids, bad page sizes and foreign tokens, and a missing repository', async () => {
    await createRepository('img/bad');
    const mixed = await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/bad', imageIds: [{ imageTag: 'x' }], maxResults: 5 })));
    expect(mixed.name).toBe('InvalidParameterException');
    expect((await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/bad', maxResults: 0 })))).name).toBe('InvalidParameterException');
    expect((await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/bad', maxResults: 1001 })))).name).toBe('InvalidParameterException');
    expect((await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/bad', nextToken: 'garbage' })))).name).toBe('InvalidParameterException');
    const noRepo = await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/none' })));
    expect(noRepo.name).toBe('RepositoryNotFoundException');
    expect(noRepo.message).toContain("'img/none'");
    expect((await awsError(ecr.send(new ListImagesCommand({ repositoryName: 'img/none' })))).name).toBe('RepositoryNotFoundException');
    expect((await awsError(ecr.send(new ListImagesCommand({ repositoryName: 'img/bad', nextToken: 'garbage' })))).name).toBe('InvalidParameterException');
    expect((await awsError(ecr.send(new ListImagesCommand({ repositoryName: 'img/bad', maxResults: 1001 })))).name).toBe('InvalidParameterException');
  });
});

describe('ListImages and DescribeImages', () => {
  it('count one entry per (digest, tag) and one per digest, and filter by tag status', async () => {
    await createRepository('img/count');
    const blobs = await pushBlobs('img/count');
    const three = await putImage('img/count', imageManifest(blobs, { n: 'three' }), 'a');
    await putImage('img/count', imageManifest(blobs, { n: 'three' }), 'b');
    await putImage('img/count', imageManifest(blobs, { n: 'three' }), 'c');
    const untagged = await putImage('img/count', imageManifest(blobs, { n: 'untagged' }));
    const one = await putImage('img/count', imageManifest(blobs, { n: 'one' }), 'd');

    const list = async (tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY') =>
      (await ecr.send(new ListImagesCommand({ repositoryName: 'img/count', ...(tagStatus ? { filter: { tagStatus } } : {}) }))).imageIds!;
    const describe = async (tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY') =>
      (await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/count', ...(tagStatus ? { filter: { tagStatus } } : {}) }))).imageDetails!;

    const all = await list();
    expect(all).toHaveLength(5);
    expect(all).toEqual(
      expect.arrayContaining([
        { imageDigest: three, imageTag: 'a' },
        { imageDigest: three, imageTag: 'b' },
        { imageDigest: three, imageTag: 'c' },
        { imageDigest: untagged },
        { imageDigest: one, imageTag: 'd' },
      ]),
    );
    expect(await list('TAGGED')).toHaveLength(4);
    expect(await list('UNTAGGED')).toEqual([{ imageDigest: untagged }]);

    const details = await describe('ANY');
    expect(details).toHaveLength(3);
    expect(details.find((d) => d.imageDigest === three)?.imageTags).toEqual(['a', 'b', 'c']);
    expect(details.find((d) => d.imageDigest === untagged)?.imageTags).toBeUndefined();
    expect((await describe('TAGGED')).map((d) => d.imageDigest).sort()).toEqual([three, one].sort());
    expect((await describe('UNTAGGED')).map((d) => d.imageDigest)).toEqual([untagged]);

    // berth has no archive storage class: every image is ACTIVE.
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'img/count', filter: { imageStatus: 'ARCHIVED' } }))).imageIds).toEqual([]);
    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/count', filter: { imageStatus: 'ANY' } }))).imageDetails).toHaveLength(3);
  });

  it('page through 25 images in pages of 10 with no duplicates and no gaps', async () => {
    await createRepository('img/pages');
    const blobs = await pushBlobs('img/pages');
    const digests: string[] = [];
    const pairs: string[] = [];
    for (let i = 0; i < 25; i++) {
      // Every fifth image untagged, every third with a second tag: pairs and digests differ in number.
      const tag = i % 5 === 0 ? undefined : `t${i}`;
      const digest = await putImage('img/pages', imageManifest(blobs, { i: String(i) }), tag);
      digests.push(digest);
      pairs.push(`${digest} ${tag ?? ''}`);
      if (tag && i % 3 === 0) {
        await putImage('img/pages', imageManifest(blobs, { i: String(i) }), `${tag}-extra`);
        pairs.push(`${digest} ${tag}-extra`);
      }
    }

    const seenDigests: string[] = [];
    let pages = 0;
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/pages', maxResults: 10, nextToken }));
      expect(page.imageDetails!.length).toBeLessThanOrEqual(10);
      seenDigests.push(...page.imageDetails!.map((d) => d.imageDigest!));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(3);
    expect(seenDigests).toHaveLength(25);
    expect(new Set(seenDigests).size).toBe(25);
    expect([...seenDigests].sort()).toEqual([...digests].sort());

    const seenPairs: string[] = [];
    pages = 0;
    do {
      const page = await ecr.send(new ListImagesCommand({ repositoryName: 'img/pages', maxResults: 10, nextToken }));
      expect(page.imageIds!.length).toBeLessThanOrEqual(10);
      seenPairs.push(...page.imageIds!.map((id) => `${id.imageDigest} ${id.imageTag ?? ''}`));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    // 25 digests (5 of them untagged) and 7 second tags.
    expect(pairs).toHaveLength(32);
    expect(pages).toBe(4);
    expect(seenPairs).toHaveLength(pairs.length);
    expect(new Set(seenPairs).size).toBe(pairs.length);
    expect([...seenPairs].sort()).toEqual([...pairs].sort());

    // Default page: 100, so everything at once and no token.
    const whole = await ecr.send(new ListImagesCommand({ repositoryName: 'img/pages' }));
    expect(whole.imageIds).toHaveLength(32);
    expect(whole.nextToken).toBeUndefined();
  });

  it('keeps a walk stable while images are pushed and deleted behind it', async () => {
    await createRepository('img/stable');
    const blobs = await pushBlobs('img/stable');
    const digests: string[] = [];
    for (let i = 0; i < 12; i++) digests.push(await putImage('img/stable', imageManifest(blobs, { i: String(i) }), `s${i}`));
    const sorted = [...digests].sort();
    const throughout = sorted.slice(1);
    const first = await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/stable', maxResults: 5 }));
    expect(first.imageDetails!.map((d) => d.imageDigest)).toEqual(sorted.slice(0, 5));
    // Remove one already returned and push more: the walk goes on after the last digest it returned.
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'img/stable', imageIds: [{ imageDigest: sorted[0]! }] }));
    for (let i = 12; i < 15; i++) await putImage('img/stable', imageManifest(blobs, { i: String(i) }), `s${i}`);
    const seen = first.imageDetails!.map((d) => d.imageDigest!);
    let nextToken = first.nextToken;
    while (nextToken) {
      const page = await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/stable', maxResults: 5, nextToken }));
      seen.push(...page.imageDetails!.map((d) => d.imageDigest!));
      nextToken = page.nextToken;
    }
    // Keyset pages: nothing twice, and every image present for the whole walk exactly once (new
    // ones appear when they sort after the cursor, as in any keyset walk).
    expect(new Set(seen).size).toBe(seen.length);
    for (const d of throughout) expect(seen).toContain(d);
    expect(seen).toEqual([...seen].sort());
  });
});

describe('BatchGetImage', () => {
  it('returns the exact stored manifest text, with per-id failures in ECR codes', async () => {
    await createRepository('img/get');
    const blobs = await pushBlobs('img/get');
    // Whitespace and key order a re-serialisation would change: the text must come back byte for byte.
    const text = `{ "schemaVersion":2,\n  "mediaType": "${OCI_MANIFEST}", "config": ${JSON.stringify({ mediaType: OCI_CONFIG, ...blobs.config })},\n"layers":[${JSON.stringify({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blobs.layer })}] }  `;
    expect((await oci.putManifest('img/get', 'v1', Buffer.from(text), OCI_MANIFEST)).status).toBe(201);
    const digest = sha256(text);
    const wrong = `sha256:${'1'.repeat(64)}`;
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'img/get',
        imageIds: [
          { imageTag: 'v1' },
          { imageDigest: digest },
          { imageTag: 'absent' },
          { imageDigest: wrong },
          { imageDigest: 'not-a-digest' },
          { imageTag: '-bad' },
          {},
          { imageTag: 'v1', imageDigest: wrong },
        ],
      }),
    );
    expect(out.images).toHaveLength(2);
    expect(out.images![0]).toEqual({
      registryId: '000000000000',
      repositoryName: 'img/get',
      imageId: { imageDigest: digest, imageTag: 'v1' },
      imageManifest: text,
      imageManifestMediaType: OCI_MANIFEST,
    });
    expect(sha256(out.images![0]!.imageManifest!)).toBe(digest);
    expect(out.images![1]!.imageId).toEqual({ imageDigest: digest });
    const codes = Object.fromEntries(out.failures!.map((f) => [JSON.stringify(f.imageId), f.failureCode]));
    expect(codes).toEqual({
      [JSON.stringify({ imageTag: 'absent' })]: 'ImageNotFound',
      [JSON.stringify({ imageDigest: wrong })]: 'ImageNotFound',
      [JSON.stringify({ imageDigest: 'not-a-digest' })]: 'InvalidImageDigest',
      [JSON.stringify({ imageTag: '-bad' })]: 'InvalidImageTag',
      [JSON.stringify({})]: 'MissingDigestAndTag',
      [JSON.stringify({ imageDigest: wrong, imageTag: 'v1' })]: 'ImageTagDoesNotMatchDigest',
    });
    for (const f of out.failures!) expect(f.failureReason).toBeTruthy();
  });

  it('honours acceptedMediaTypes without converting, and validates its input', async () => {
    await createRepository('img/accept');
    const pushed = await oci.pushImage('img/accept', 'v1');
    const docker = await ecr.send(new BatchGetImageCommand({ repositoryName: 'img/accept', imageIds: [{ imageTag: 'v1' }], acceptedMediaTypes: [DOCKER_MANIFEST] }));
    expect(docker.images).toEqual([]);
    expect(docker.failures).toEqual([{ imageId: { imageTag: 'v1' }, failureCode: 'UnsupportedImageType', failureReason: expect.any(String) }]);
    const ok = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'img/accept', imageIds: [{ imageTag: 'v1' }], acceptedMediaTypes: [DOCKER_MANIFEST, OCI_MANIFEST] }),
    );
    expect(ok.images![0]!.imageManifest).toBe(pushed.body.toString());
    expect((await awsError(ecr.send(new BatchGetImageCommand({ repositoryName: 'img/accept', imageIds: [] })))).name).toBe('InvalidParameterException');
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }));
    expect((await awsError(ecr.send(new BatchGetImageCommand({ repositoryName: 'img/accept', imageIds: tooMany })))).name).toBe('InvalidParameterException');
    expect((await awsError(ecr.send(new BatchGetImageCommand({ repositoryName: 'img/accept', imageIds: [{ imageTag: 'x'.repeat(301) }] })))).name).toBe(
      'InvalidParameterException',
    );
    expect((await awsError(ecr.send(new BatchGetImageCommand({ repositoryName: 'img/absent', imageIds: [{ imageTag: 'v1' }] })))).name).toBe(
      'RepositoryNotFoundException',
    );
  });
});

describe('PutImage', () => {
  it('stores a manifest that OCI then serves under the same digest, and answers the Image', async () => {
    await createRepository('img/put');
    const blobs = await pushBlobs('img/put');
    const manifest = imageManifest(blobs);
    const out = await ecr.send(new PutImageCommand({ repositoryName: 'img/put', imageManifest: manifest, imageTag: 'v1' }));
    expect(out.image).toEqual({
      registryId: '000000000000',
      repositoryName: 'img/put',
      imageId: { imageDigest: sha256(manifest), imageTag: 'v1' },
      imageManifest: manifest,
      imageManifestMediaType: OCI_MANIFEST,
    });
    const res = await oci.request('GET', '/v2/img/put/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(await res.text()).toBe(manifest);
  });

  it('checks imageDigest and needs imageManifestMediaType when the manifest has no mediaType', async () => {
    await createRepository('img/put-digest');
    const blobs = await pushBlobs('img/put-digest');
    const manifest = imageManifest(blobs, { d: '1' });
    const mismatch = await awsError(
      ecr.send(new PutImageCommand({ repositoryName: 'img/put-digest', imageManifest: manifest, imageDigest: `sha256:${'2'.repeat(64)}` })),
    );
    expect(mismatch.name).toBe('ImageDigestDoesNotMatchException');
    const matched = await ecr.send(new PutImageCommand({ repositoryName: 'img/put-digest', imageManifest: manifest, imageDigest: sha256(manifest) }));
    expect(matched.image?.imageId).toEqual({ imageDigest: sha256(manifest) });

    const bare = imageManifest(blobs, { d: '2' }, false);
    const noType = await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-digest', imageManifest: bare, imageTag: 'bare' })));
    expect(noType.name).toBe('InvalidParameterException');
    expect(noType.message).toMatch(/mediaType/);
    const typed = await ecr.send(new PutImageCommand({ repositoryName: 'img/put-digest', imageManifest: bare, imageTag: 'bare', imageManifestMediaType: OCI_MANIFEST }));
    expect(typed.image?.imageManifestMediaType).toBe(OCI_MANIFEST);
    expect((await describeOne('img/put-digest', { imageTag: 'bare' })).imageManifestMediaType).toBe(OCI_MANIFEST);
    // A declared type that contradicts the manifest's own is refused.
    const contradicts = await awsError(
      ecr.send(new PutImageCommand({ repositoryName: 'img/put-digest', imageManifest: imageManifest(blobs, { d: '3' }), imageManifestMediaType: DOCKER_MANIFEST })),
    );
    expect(contradicts.name).toBe('InvalidParameterException');
  });

  it('refuses a push that changes nothing, and a re-tag keeps imagePushedAt', async () => {
    await createRepository('img/put-again');
    const blobs = await pushBlobs('img/put-again');
    const manifest = imageManifest(blobs);
    const digest = await putImage('img/put-again', manifest, 'v1');
    const pushedAt = (await describeOne('img/put-again', { imageDigest: digest })).imagePushedAt!.getTime();
    expect((await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-again', imageManifest: manifest, imageTag: 'v1' })))).name).toBe(
      'ImageAlreadyExistsException',
    );
    expect((await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-again', imageManifest: manifest })))).name).toBe('ImageAlreadyExistsException');
    await new Promise((r) => setTimeout(r, 20));
    await putImage('img/put-again', manifest, 'v2');
    const after = await describeOne('img/put-again', { imageDigest: digest });
    expect(after.imageTags).toEqual(['v1', 'v2']);
    expect(after.imagePushedAt!.getTime()).toBe(pushedAt);
    // The OCI door, unlike PutImage, takes an identical push as a no-op.
    expect((await oci.putManifest('img/put-again', 'v1', Buffer.from(manifest), OCI_MANIFEST)).status).toBe(201);
  });

  it('moves a mutable tag and leaves the old image untagged', async () => {
    await createRepository('img/put-move');
    const blobs = await pushBlobs('img/put-move');
    const old = await putImage('img/put-move', imageManifest(blobs, { v: 'old' }), 'latest');
    const fresh = await putImage('img/put-move', imageManifest(blobs, { v: 'new' }), 'latest');
    expect((await describeOne('img/put-move', { imageTag: 'latest' })).imageDigest).toBe(fresh);
    const untagged = await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/put-move', filter: { tagStatus: 'UNTAGGED' } }));
    expect(untagged.imageDetails!.map((d) => d.imageDigest)).toEqual([old]);
  });

  it('enforces tag immutability and its exclusions, with ImageAlreadyExists for an identical push', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'img/immutable', imageTagMutability: 'IMMUTABLE' }));
    const blobs = await pushBlobs('img/immutable');
    const first = imageManifest(blobs, { v: '1' });
    await putImage('img/immutable', first, 'v1');
    const moved = await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/immutable', imageManifest: imageManifest(blobs, { v: '2' }), imageTag: 'v1' })));
    expect(moved.name).toBe('ImageTagAlreadyExistsException');
    expect(moved.message).toContain("'v1'");
    expect((await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/immutable', imageManifest: first, imageTag: 'v1' })))).name).toBe(
      'ImageAlreadyExistsException',
    );
    // A new tag on a stored image is no move: allowed.
    await putImage('img/immutable', first, 'v1-alias');

    await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: 'img/immutable',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest*' }],
      }),
    );
    await putImage('img/immutable', imageManifest(blobs, { v: '3' }), 'latest');
    await putImage('img/immutable', imageManifest(blobs, { v: '4' }), 'latest');
    expect((await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/immutable', imageManifest: imageManifest(blobs, { v: '5' }), imageTag: 'v1' })))).name).toBe(
      'ImageTagAlreadyExistsException',
    );
  });

  it('names missing layers and missing index children, and refuses malformed input', async () => {
    await createRepository('img/put-bad');
    const blobs = await pushBlobs('img/put-bad');
    const missingLayer = imageManifest({ ...blobs, layer: { digest: sha256(randomBytes(8)), size: 8 } });
    expect((await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-bad', imageManifest: missingLayer, imageTag: 'x' })))).name).toBe(
      'LayersNotFoundException',
    );
    const child = imageManifest(blobs);
    const index = indexOf([{ digest: sha256(child), size: child.length }]);
    expect((await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-bad', imageManifest: index, imageTag: 'multi' })))).name).toBe(
      'ReferencedImagesNotFoundException',
    );
    await putImage('img/put-bad', child);
    expect((await ecr.send(new PutImageCommand({ repositoryName: 'img/put-bad', imageManifest: index, imageTag: 'multi' }))).image?.imageManifestMediaType).toBe(OCI_INDEX);

    const invalid = async (input: Partial<ConstructorParameters<typeof PutImageCommand>[0]>) =>
      (await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-bad', imageManifest: child, ...input })))).name;
    expect(await invalid({ imageManifest: '{not json' })).toBe('InvalidParameterException');
    expect(await invalid({ imageManifest: ' '.repeat(4 * 1024 * 1024 + 1) })).toBe('InvalidParameterException');
    expect(await invalid({ imageTag: 'bad tag' })).toBe('InvalidParameterException');
    expect(await invalid({ imageDigest: 'sha256:short' })).toBe('InvalidParameterException');
    expect(await invalid({ repositoryName: 'img/put-none' })).toBe('RepositoryNotFoundException');
  });

  it('limits an image to 1,000 tags', async () => {
    await createRepository('img/put-tags');
    const blobs = await pushBlobs('img/put-tags');
    const manifest = imageManifest(blobs);
    for (let i = 0; i < 1000; i++) expect((await oci.putManifest('img/put-tags', `t${i}`, Buffer.from(manifest), OCI_MANIFEST)).status).toBe(201);
    const over = await awsError(ecr.send(new PutImageCommand({ repositoryName: 'img/put-tags', imageManifest: manifest, imageTag: 't1000' })));
    expect(over.name).toBe('LimitExceededException');
    expect((await describeOne('img/put-tags', { imageDigest: sha256(manifest) })).imageTags).toHaveLength(1000);
  });
});

describe('BatchDeleteImage', () => {
  it('untags by tag, deletes with the last tag, deletes by digest, and reports per-item failures', async () => {
    await createRepository('img/del');
    const blobs = await pushBlobs('img/del');
    const shared = await putImage('img/del', imageManifest(blobs, { n: 'shared' }), 'a');
    await putImage('img/del', imageManifest(blobs, { n: 'shared' }), 'b');
    const single = await putImage('img/del', imageManifest(blobs, { n: 'single' }), 'only');
    const byDigest = await putImage('img/del', imageManifest(blobs, { n: 'digest' }), 'x');
    await putImage('img/del', imageManifest(blobs, { n: 'digest' }), 'y');

    const out = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'img/del',
        imageIds: [
          { imageTag: 'a' },
          { imageTag: 'only', imageDigest: single },
          { imageDigest: byDigest },
          { imageTag: 'absent' },
          { imageTag: 'b', imageDigest: single },
          { imageDigest: 'sha256:nope' },
          { imageTag: 'bad tag' },
          {},
        ],
      }),
    );
    expect(out.imageIds).toEqual([{ imageDigest: shared, imageTag: 'a' }, { imageDigest: single, imageTag: 'only' }, { imageDigest: byDigest }]);
    expect(out.failures!.map((f) => [f.imageId, f.failureCode])).toEqual([
      [{ imageTag: 'absent' }, 'ImageNotFound'],
      [{ imageTag: 'b', imageDigest: single }, 'ImageTagDoesNotMatchDigest'],
      [{ imageDigest: 'sha256:nope' }, 'InvalidImageDigest'],
      [{ imageTag: 'bad tag' }, 'InvalidImageTag'],
      [{}, 'MissingDigestAndTag'],
    ]);

    // The shared image lost one of its two tags and stays; the others are gone with all their tags.
    expect((await describeOne('img/del', { imageDigest: shared })).imageTags).toEqual(['b']);
    for (const gone of [single, byDigest]) {
      expect((await awsError(ecr.send(new DescribeImagesCommand({ repositoryName: 'img/del', imageIds: [{ imageDigest: gone }] })))).name).toBe(
        'ImageNotFoundException',
      );
    }
    expect((await oci.request('GET', '/v2/img/del/manifests/y')).status).toBe(404);
    // Deleting the last tag takes the image with it.
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'img/del', imageIds: [{ imageTag: 'b' }] }));
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'img/del' }))).imageIds).toEqual([]);
    expect((await awsError(ecr.send(new BatchDeleteImageCommand({ repositoryName: 'img/none', imageIds: [{ imageTag: 'a' }] })))).name).toBe(
      'RepositoryNotFoundException',
    );
  });

  it('never deletes a manifest that an index lists, by digest or by its last tag', async () => {
    await createRepository('img/del-index');
    const amd = await oci.pushImage('img/del-index', 'amd64');
    const arm = await oci.pushImage('img/del-index', 'arm64');
    const index = indexOf([
      { digest: amd.digest, size: amd.body.length },
      { digest: arm.digest, size: arm.body.length },
    ]);
    await putImage('img/del-index', index, 'multi');
    const refused = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'img/del-index', imageIds: [{ imageDigest: amd.digest }, { imageTag: 'arm64' }] }),
    );
    expect(refused.imageIds).toEqual([]);
    expect(refused.failures!.map((f) => f.failureCode)).toEqual(['ImageReferencedByManifestList', 'ImageReferencedByManifestList']);
    expect(refused.failures![0]!.failureReason).toContain(sha256(index));
    // Both children and the tag are still there.
    expect((await describeOne('img/del-index', { imageTag: 'arm64' })).imageDigest).toBe(arm.digest);
    expect((await describeOne('img/del-index', { imageDigest: amd.digest })).imageTags).toEqual(['amd64']);

    const ordered = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'img/del-index', imageIds: [{ imageTag: 'multi' }, { imageDigest: amd.digest }, { imageTag: 'arm64' }] }),
    );
    expect(ordered.failures).toEqual([]);
    expect(ordered.imageIds).toHaveLength(3);
    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: 'img/del-index' }))).imageDetails).toEqual([]);
  });
});

describe('ListImageReferrers', () => {
  it('lists the referrers of a subject, filtered by artifact type, in pages', async () => {
    await createRepository('img/refs');
    const subject = await oci.pushImage('img/refs', 'v1');
    const empty = Buffer.from('{}');
    const emptyDigest = await oci.pushBlob('img/refs', empty);
    const referrer = async (artifactType: string, n: string) => {
      const manifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 }],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.body.length },
        annotations: { n },
      };
      const body = Buffer.from(JSON.stringify(manifest));
      expect((await oci.putManifest('img/refs', sha256(body), body, OCI_MANIFEST)).status).toBe(201);
      return { digest: sha256(body), size: body.length };
    };
    const sig = await referrer('application/vnd.example.signature', '1');
    const sbom = await referrer('application/vnd.example.sbom', '2');
    const sbom2 = await referrer('application/vnd.example.sbom', '3');

    const all = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'img/refs', subjectId: { imageDigest: subject.digest } }));
    expect(all.referrers).toHaveLength(3);
    expect(all.referrers).toContainEqual({
      digest: sig.digest,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.signature',
      size: sig.size,
      annotations: { n: '1' },
      artifactStatus: 'ACTIVE',
    });
    const sboms = await ecr.send(
      new ListImageReferrersCommand({ repositoryName: 'img/refs', subjectId: { imageDigest: subject.digest }, filter: { artifactTypes: ['application/vnd.example.sbom'] } }),
    );
    expect(sboms.referrers!.map((r) => r.digest).sort()).toEqual([sbom.digest, sbom2.digest].sort());

    const paged: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'img/refs', subjectId: { imageDigest: subject.digest }, maxResults: 2, nextToken }));
      expect(page.referrers!.length).toBeLessThanOrEqual(2);
      paged.push(...page.referrers!.map((r) => r.digest!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(paged.sort()).toEqual([sig.digest, sbom.digest, sbom2.digest].sort());

    const none = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'img/refs', subjectId: { imageDigest: `sha256:${'3'.repeat(64)}` } }));
    expect(none.referrers).toEqual([]);
    const archived = await ecr.send(
      new ListImageReferrersCommand({ repositoryName: 'img/refs', subjectId: { imageDigest: subject.digest }, filter: { artifactStatus: 'ARCHIVED' } }),
    );
    expect(archived.referrers).toEqual([]);
    // Referrers are images too: DescribeImages names their subject.
    expect((await describeOne('img/refs', { imageDigest: sig.digest })).subjectManifestDigest).toBe(subject.digest);
  });

  it('validates the subject, the filter and the page size', async () => {
    await createRepository('img/refs-bad');
    const subjectId = { imageDigest: `sha256:${'4'.repeat(64)}` };
    const name = async (input: Partial<ConstructorParameters<typeof ListImageReferrersCommand>[0]>) =>
      (await awsError(ecr.send(new ListImageReferrersCommand({ repositoryName: 'img/refs-bad', subjectId, ...input })))).name;
    expect(await name({ maxResults: 51 })).toBe('InvalidParameterException');
    expect(await name({ maxResults: 0 })).toBe('InvalidParameterException');
    expect(await name({ subjectId: { imageDigest: 'nope' } })).toBe('InvalidParameterException');
    expect(await name({ filter: { artifactTypes: ['a', 'b', 'c', 'd', 'e', 'f'] } })).toBe('InvalidParameterException');
    expect(await name({ nextToken: 'garbage' })).toBe('InvalidParameterException');
    expect(await name({ repositoryName: 'img/refs-none' })).toBe('RepositoryNotFoundException');
  });
});

describe('lastRecordedPullTime', () => {
  /** A second principal of the account: the IAM user `puller`, with a key of its own. */
  /** A user allowed to pull (AWS's ReadOnly managed policy), so its pulls are its own. */
  const pullerCredentials = () => userWithPolicies(server, 'puller', [ECR_READ_ONLY]);

  const pullTime = async (repo: string, digest: string) => (await describeOne(repo, { imageDigest: digest })).lastRecordedPullTime;

  it('records OCI GET and BatchGetImage pulls, not HEAD, and skips excluded principals', async () => {
    await createRepository('img/pulls');
    const headed = await oci.pushImage('img/pulls', 'headed');
    const got = await oci.pushImage('img/pulls', 'got');
    const batched = await oci.pushImage('img/pulls', 'batched');
    const excluded = await oci.pushImage('img/pulls', 'excluded');

    const puller = await pullerCredentials();
    await server.app.meta.settings.addPullTimeExclusion('000000000000', 'arn:aws:iam::000000000000:user/puller', Date.now());
    const pullerOci = new OciTestClient(server.url, basicAuth(puller.accessKeyId, puller.secretAccessKey));
    const pullerEcr = ecrClient(server, puller);

    const before = Date.now();
    expect((await oci.request('HEAD', '/v2/img/pulls/manifests/headed')).status).toBe(200);
    expect((await oci.request('GET', '/v2/img/pulls/manifests/got')).status).toBe(200);
    expect((await ecr.send(new BatchGetImageCommand({ repositoryName: 'img/pulls', imageIds: [{ imageTag: 'batched' }] }))).images).toHaveLength(1);
    expect((await pullerOci.request('GET', '/v2/img/pulls/manifests/excluded')).status).toBe(200);
    expect((await pullerEcr.send(new BatchGetImageCommand({ repositoryName: 'img/pulls', imageIds: [{ imageTag: 'excluded' }] }))).images).toHaveLength(1);
    await server.app.registry.flushPullTimes();
    const after = Date.now();

    expect(await pullTime('img/pulls', headed.digest)).toBeUndefined();
    expect(await pullTime('img/pulls', excluded.digest)).toBeUndefined();
    for (const image of [got, batched]) {
      const at = (await pullTime('img/pulls', image.digest))!;
      expect(at).toBeInstanceOf(Date);
      expect(at.getTime()).toBeGreaterThanOrEqual(before);
      expect(at.getTime()).toBeLessThanOrEqual(after);
    }

    // Once the principal is no longer excluded, its pulls count.
    await server.app.meta.settings.removePullTimeExclusion('000000000000', 'arn:aws:iam::000000000000:user/puller');
    expect((await pullerOci.request('GET', '/v2/img/pulls/manifests/excluded')).status).toBe(200);
    await server.app.registry.flushPullTimes();
    expect(await pullTime('img/pulls', excluded.digest)).toBeInstanceOf(Date);
  });

  it('writes recorded pulls on its own within a few seconds', async () => {
    await createRepository('img/pulls-timer');
    const image = await oci.pushImage('img/pulls-timer', 'v1');
    expect((await oci.request('GET', `/v2/img/pulls-timer/manifests/${image.digest}`)).status).toBe(200);
    await vi.waitFor(async () => expect(await pullTime('img/pulls-timer', image.digest)).toBeInstanceOf(Date), { timeout: 15_000, interval: 250 });
  });
});
