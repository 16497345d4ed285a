/**
 * Artifacts with a subject and the referrers API (distribution-spec v1.1, "Pushing Manifests with
 * Subject" and "Listing Referrers"), with the image pushed by skopeo and the artifact pushed by
 * each of two clients:
 *
 * - skopeo 1.9 (containers/image 5.23) copies an OCI artifact manifest (artifactType, empty config,
 *   non-image layer, subject) verbatim with --preserve-digests: it does not know `subject` or the
 *   referrers API, but it neither refuses nor rewrites the manifest (checked against CNCF
 *   Distribution too). It does not show us the PUT response, though.
 * - plain HTTP with fetch (POST + PUT per blob, PUT of the manifest by digest, as oras and cosign
 *   push referrers), which lets the test check the `OCI-Subject` response header as well.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MEDIA_TYPE,
  readLayoutBlob,
  writeArtifact,
  writeImage,
  type ArtifactResult,
  type Descriptor,
  type ImageResult,
} from '../fixtures/oci-layout.js';
import { runCommand, startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { sha256 } from '../helpers/oci-client.js';

const TIMEOUT = 120_000;
const SBOM = 'application/vnd.example.sbom.v1';

let berth: BerthProcess;
let work: string;
let emptyAuthFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-referrers-'));
  emptyAuthFile = join(work, 'empty-auth.json');
  await writeFile(emptyAuthFile, '{}');
  berth = await startBerth();
}, TIMEOUT);

afterAll(async () => {
  try {
    await berth?.cleanup();
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}, TIMEOUT);

const creds = (): string => `${berth.accessKeyId}:${berth.secretAccessKey}`;

function skopeo(args: string[]) {
  return runCommand('skopeo', args, { env: { REGISTRY_AUTH_FILE: emptyAuthFile } });
}

/** A request to berth as the root principal; the body of a failed one goes into assertion messages. */
async function registry(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', berth.authHeader);
  return fetch(new URL(path, berth.url), { ...init, headers, redirect: 'manual' });
}

async function describeResponse(res: Response): Promise<string> {
  return `${res.status} ${res.statusText} ${JSON.stringify(Object.fromEntries(res.headers))} ${await res.clone().text()}`;
}

/** Push one blob as an upload session: POST, then a single PUT with the bytes and ?digest=. */
async function pushBlobHttp(repo: string, bytes: Buffer): Promise<void> {
  const digest = sha256(bytes);
  const started = await registry(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(started.status, await describeResponse(started)).toBe(202);
  const location = started.headers.get('location');
  expect(location, 'POST /blobs/uploads/ must return a Location').toBeTruthy();
  const url = new URL(location!, berth.url);
  url.searchParams.set('digest', digest);
  const done = await registry(url.pathname + url.search, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    body: bytes,
  });
  expect(done.status, await describeResponse(done)).toBe(201);
  expect(done.headers.get('docker-content-digest')).toBe(digest);
}

interface ArtifactPusher {
  name: string;
  /** Push the artifact written in `layout` (tag `tag`) to `repo`; returns the manifest PUT response if it sees it. */
  push(repo: string, layout: string, artifact: ArtifactResult, tag: string): Promise<Response | undefined>;
}

const pushers: ArtifactPusher[] = [
  {
    name: 'skopeo',
    async push(repo, layout, _artifact, tag) {
      await skopeo([
        'copy', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', creds(),
        `oci:${layout}:${tag}`, `docker://${berth.host}/${repo}:${tag}`,
      ]);
      return undefined;
    },
  },
  {
    name: 'http',
    async push(repo, layout, artifact) {
      for (const digest of artifact.blobDigests) {
        await pushBlobHttp(repo, await readLayoutBlob(layout, digest));
      }
      const res = await registry(`/v2/${repo}/manifests/${artifact.manifestDigest}`, {
        method: 'PUT',
        headers: { 'Content-Type': MEDIA_TYPE.imageManifest },
        body: artifact.manifestBytes,
      });
      expect(res.status, await describeResponse(res)).toBe(201);
      expect(res.headers.get('docker-content-digest')).toBe(artifact.manifestDigest);
      return res;
    },
  },
];

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

async function getReferrers(repo: string, digest: string, artifactType?: string) {
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  const res = await registry(`/v2/${repo}/referrers/${digest}${query}`);
  expect(res.status, await describeResponse(res)).toBe(200);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/vnd\.oci\.image\.index\.v1\+json/);
  const body = (await res.json()) as ReferrersIndex;
  expect(body).toMatchObject({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageIndex });
  expect(Array.isArray(body.manifests)).toBe(true);
  return { res, body };
}

describe.each(pushers)('an artifact pushed with $name', (pusher) => {
  const repo = `e2e/referrers-${pusher.name}`;
  let image: ImageResult;
  let artifact: ArtifactResult;

  it('is pushed with a subject pointing at an image skopeo pushed', async () => {
    const imageLayout = join(work, `${pusher.name}-image`);
    image = await writeImage(imageLayout, { seed: `referrers-${pusher.name}`, tag: 'v1', layers: 1 });
    await skopeo([
      'copy', '--dest-tls-verify=false', '--dest-creds', creds(),
      `oci:${imageLayout}:v1`, `docker://${berth.host}/${repo}:v1`,
    ]);

    const artifactLayout = join(work, `${pusher.name}-artifact`);
    artifact = await writeArtifact(artifactLayout, {
      subject: image.manifest,
      artifactType: SBOM,
      tag: 'sbom',
      seed: `sbom-${pusher.name}`,
    });
    const res = await pusher.push(repo, artifactLayout, artifact, 'sbom');
    if (res !== undefined) {
      // distribution-spec v1.1: a registry that processes `subject` MUST answer with OCI-Subject.
      expect(res.headers.get('oci-subject')).toBe(image.manifestDigest);
    }

    // Served unchanged by digest.
    const got = await registry(`/v2/${repo}/manifests/${artifact.manifestDigest}`, {
      headers: { Accept: MEDIA_TYPE.imageManifest },
    });
    expect(got.status, await describeResponse(got)).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(artifact.manifestDigest);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(artifact.manifestDigest);
  }, TIMEOUT);

  it('is listed by the referrers API of its subject', async () => {
    const { body } = await getReferrers(repo, image.manifestDigest);
    expect(body.manifests).toHaveLength(1);
    expect(body.manifests[0]).toMatchObject({
      mediaType: MEDIA_TYPE.imageManifest,
      digest: artifact.manifestDigest,
      size: artifact.manifestBytes.length,
      artifactType: SBOM,
    });
  }, TIMEOUT);

  it('is kept by an artifactType filter for its type and dropped by one for another type', async () => {
    const kept = await getReferrers(repo, image.manifestDigest, SBOM);
    expect(kept.res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(kept.body.manifests.map((d) => d.digest)).toEqual([artifact.manifestDigest]);
    expect(kept.body.manifests[0]).toMatchObject({ artifactType: SBOM, size: artifact.manifestBytes.length });

    const other = await getReferrers(repo, image.manifestDigest, 'application/vnd.example.signature.v1');
    expect(other.res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(other.body.manifests).toEqual([]);
  }, TIMEOUT);

  it('has no referrers of its own (an empty index, not 404)', async () => {
    const { body } = await getReferrers(repo, artifact.manifestDigest);
    expect(body.manifests).toEqual([]);
  }, TIMEOUT);
});
