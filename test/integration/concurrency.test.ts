/**
 * Concurrent pushes of the same content end in one consistent state (in-process server, real
 * HTTP on loopback):
 *
 * - clients uploading the same blob at once (monolithic, chunked, and mixes) all get 201 with the
 *   same digest; the blob reads back exactly, is stored as one file, and no upload is left over;
 * - clients pushing different manifests to one tag at once all get 201; the tag ends on exactly
 *   one of them and serves its exact bytes, and every one stays available by digest;
 * - clients pushing the same manifest to one tag at once all get 201 with the same digest;
 * - the same blob pushed at once into two new repositories is visible in both, stored once.
 *
 * Requests of one phase are started together (phases: open sessions, send chunks, complete), so
 * that the commits, the part that must be atomic, really overlap.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const MiB = 1024 * 1024;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

let servers: TestServer[] = [];

afterEach(async () => {
  const open = servers;
  servers = [];
  for (const s of open) await s.close().catch(() => undefined);
});

async function start(): Promise<{ server: TestServer; c: OciTestClient }> {
  const server = await startTestServer();
  servers.push(server);
  return { server, c: new OciTestClient(server.url, server.authHeader) };
}

async function describeResponse(res: Response): Promise<string> {
  return `${res.status} ${JSON.stringify(Object.fromEntries(res.headers))} ${await res.clone().text()}`;
}

/**
 * What the server's blob store holds, through its own inventory: the same check on the data
 * folder and on an S3 bucket (the PostgreSQL run).
 */
async function storedFiles(server: TestServer): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of server.app.blobs.files()) out.push(...batch.map((f) => f.name));
  return out;
}

const blobFile = (server: TestServer, digest: string): string => server.app.blobs.nameOf(digest as Parameters<TestServer['app']['blobs']['nameOf']>[0]);

/** Upload sessions left in the metadata store and in the blob store. */
async function uploadsLeft(server: TestServer): Promise<{ rows: unknown[]; files: unknown[] }> {
  return {
    rows: await server.app.meta.kysely.selectFrom('uploads').select('id').execute(),
    files: await server.app.blobs.listUploads(),
  };
}

type UploadKind = 'monolithic' | 'chunked' | 'put-body' | 'stream-then-put';

interface UploadOutcome {
  kind: UploadKind;
  res: Response;
  /** The upload session's URL, for the kinds that open one. */
  location?: string;
}

/**
 * Push `data` into `repo` from one client per entry of `kinds`, in lockstep phases so that the
 * clients overlap: (1) open sessions, (2) first chunks, (3) second chunks, (4) every completion
 * and every monolithic POST at once.
 *
 * - monolithic: POST ?digest= with the whole body;
 * - chunked: POST, PATCH two halves with Content-Range, PUT ?digest= without a body;
 * - put-body: POST, PUT ?digest= carrying the whole body;
 * - stream-then-put: POST, PATCH the first third without Content-Range, PUT ?digest= with the rest.
 */
async function pushConcurrently(c: OciTestClient, repo: string, data: Buffer, kinds: UploadKind[]): Promise<UploadOutcome[]> {
  const digest = sha256(data);
  const octet = { 'content-type': 'application/octet-stream' };
  const half = Math.floor(data.length / 2);
  const third = Math.floor(data.length / 3);

  const locations = await Promise.all(
    kinds.map(async (kind) => {
      if (kind === 'monolithic') return undefined;
      const res = await c.request('POST', `/v2/${repo}/blobs/uploads/`);
      expect(res.status, await describeResponse(res)).toBe(202);
      return res.headers.get('location')!;
    }),
  );
  const patch = async (i: number, from: number, to: number, withRange: boolean) => {
    const res = await c.request('PATCH', locations[i]!, {
      body: data.subarray(from, to),
      headers: { ...octet, ...(withRange ? { 'content-range': `${from}-${to - 1}` } : {}) },
    });
    expect(res.status, `${kinds[i]} client ${i}: ${await describeResponse(res)}`).toBe(202);
    expect(res.headers.get('range')).toBe(`0-${to - 1}`);
  };
  await Promise.all(
    kinds.map(async (kind, i) => {
      if (kind === 'chunked') await patch(i, 0, half, true);
      if (kind === 'stream-then-put') await patch(i, 0, third, false);
    }),
  );
  await Promise.all(kinds.map(async (kind, i) => (kind === 'chunked' ? patch(i, half, data.length, true) : undefined)));
  return Promise.all(
    kinds.map(async (kind, i): Promise<UploadOutcome> => {
      const location = locations[i];
      switch (kind) {
        case 'monolithic':
          return { kind, res: await c.request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: data, headers: octet }) };
        case 'chunked':
          return { kind, location, res: await c.request('PUT', `${location}?digest=${digest}`) };
        case 'put-body':
          return { kind, location, res: await c.request('PUT', `${location}?digest=${digest}`, { body: data, headers: octet }) };
        case 'stream-then-put':
          return { kind, location, res: await c.request('PUT', `${location}?digest=${digest}`, { body: data.subarray(third), headers: octet }) };
      }
    }),
  );
}

async function expectAllCreated(outcomes: UploadOutcome[], repo: string, digest: string): Promise<void> {
  for (const [i, { kind, res }] of outcomes.entries()) {
    expect(res.status, `${kind} client ${i}: ${await describeResponse(res)}`).toBe(201);
    expect(res.headers.get('docker-content-digest'), `${kind} client ${i}`).toBe(digest);
    expect(res.headers.get('location'), `${kind} client ${i}`).toBe(`/v2/${repo}/blobs/${digest}`);
  }
}

async function expectBlobReadable(c: OciTestClient, repo: string, data: Buffer): Promise<void> {
  const digest = sha256(data);
  const head = await c.request('HEAD', `/v2/${repo}/blobs/${digest}`);
  expect(head.status, `HEAD ${repo} ${digest}`).toBe(200);
  expect(head.headers.get('content-length')).toBe(String(data.length));
  const get = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
  expect(get.status, `GET ${repo} ${digest}`).toBe(200);
  const bytes = Buffer.from(await get.arrayBuffer());
  expect(bytes.length).toBe(data.length);
  expect(bytes.equals(data), `${repo} serves the bytes pushed`).toBe(true);
}

async function expectSessionsGone(c: OciTestClient, outcomes: UploadOutcome[]): Promise<void> {
  for (const { kind, location } of outcomes) {
    if (location === undefined) continue;
    const res = await c.request('GET', location);
    expect(res.status, `completed ${kind} session ${location}: ${await describeResponse(res)}`).toBe(404);
  }
}

/** Push a config and a layer into `repo`; returns descriptors a manifest can reference. */
async function pushBaseBlobs(c: OciTestClient, repo: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(4096);
  return {
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await c.pushBlob(repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await c.pushBlob(repo, layer), size: layer.length }],
  };
}

function manifestBytes(base: Awaited<ReturnType<typeof pushBaseBlobs>>, annotations: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: base.config, layers: base.layers, annotations }));
}

async function getManifest(c: OciTestClient, repo: string, ref: string): Promise<{ status: number; digest: string | null; body: Buffer }> {
  const res = await c.request('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_TYPE } });
  return { status: res.status, digest: res.headers.get('docker-content-digest'), body: Buffer.from(await res.arrayBuffer()) };
}

async function listTags(c: OciTestClient, repo: string): Promise<string[]> {
  const res = await c.request('GET', `/v2/${repo}/tags/list`);
  expect(res.status, await describeResponse(res)).toBe(200);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

describe('the same blob pushed by several clients at once', () => {
  it('gives every client 201 with the same digest, stores one file and leaves no upload behind', async () => {
    const { server, c } = await start();
    const repo = 'concurrent/blob';
    const mixed: UploadKind[] = ['monolithic', 'chunked', 'put-body', 'stream-then-put', 'monolithic', 'chunked', 'monolithic', 'chunked'];
    const big = randomBytes(3 * MiB + 17);
    const small = randomBytes(1500);
    for (const [data, kinds] of [
      [big, mixed],
      // Small blobs commit fast, so many commits of the same digest land within the same instant.
      [small, [...mixed, ...mixed, ...mixed]],
    ] as const) {
      const digest = sha256(data);
      const outcomes = await pushConcurrently(c, repo, data, [...kinds]);
      await expectAllCreated(outcomes, repo, digest);
      await expectBlobReadable(c, repo, data);
      await expectSessionsGone(c, outcomes);
    }

    expect((await storedFiles(server)).sort()).toEqual([blobFile(server, sha256(big)), blobFile(server, sha256(small))].sort());
    expect(await uploadsLeft(server), 'upload sessions left behind').toEqual({ rows: [], files: [] });
    const blobRows = await server.app.meta.kysely.selectFrom('blobs').select(['digest', 'size']).orderBy('digest').execute();
    expect(blobRows.map((r) => ({ digest: r.digest, size: Number(r.size) }))).toEqual(
      [
        { digest: sha256(big), size: big.length },
        { digest: sha256(small), size: small.length },
      ].sort((a, b) => a.digest.localeCompare(b.digest)),
    );
  });

  it('makes a blob pushed at once into two new repositories visible in both, stored once', async () => {
    const { server, c } = await start();
    const data = randomBytes(2 * MiB + 5);
    const digest = sha256(data);
    const kinds: UploadKind[] = ['monolithic', 'chunked', 'stream-then-put', 'monolithic', 'put-body', 'chunked'];
    // Both repositories are created by these pushes (create on push), concurrently too.
    const [inA, inB] = await Promise.all([pushConcurrently(c, 'shared/a', data, kinds), pushConcurrently(c, 'shared/b', data, kinds)]);
    await expectAllCreated(inA!, 'shared/a', digest);
    await expectAllCreated(inB!, 'shared/b', digest);
    await expectSessionsGone(c, [...inA!, ...inB!]);

    for (const repo of ['shared/a', 'shared/b']) {
      await expectBlobReadable(c, repo, data);
      // The link carries the size: a manifest referencing the blob is accepted in each repository.
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', repo }));
      const configDigest = await c.pushBlob(repo, config);
      const manifest = {
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: data.length }],
      };
      const res = await c.putManifest(repo, 'v1', manifest);
      expect(res.status, `${repo}: ${await describeResponse(res)}`).toBe(201);
    }
    // Visibility is per repository: a third repository does not see it.
    expect((await c.request('HEAD', `/v2/shared/c/blobs/${digest}`)).status).toBe(404);

    const blobFiles = (await storedFiles(server)).filter((f) => f === blobFile(server, digest));
    expect(blobFiles, 'one file for the blob').toEqual([blobFile(server, digest)]);
    expect(await uploadsLeft(server), 'upload sessions left behind').toEqual({ rows: [], files: [] });
    const db = server.app.meta.kysely;
    const rows = await db.selectFrom('blobs').select(['digest', 'size']).where('digest', '=', digest).execute();
    expect(rows.map((r) => ({ digest: r.digest, size: Number(r.size) }))).toEqual([{ digest, size: data.length }]);
    const links = await db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .select('r.name')
      .where('rb.digest', '=', digest)
      .orderBy('r.name')
      .execute();
    expect(links.map((l) => l.name)).toEqual(['shared/a', 'shared/b']);
    const repos = await db.selectFrom('repositories').select('name').where('name', 'like', 'shared/%').orderBy('name').execute();
    expect(repos.map((r) => r.name)).toEqual([
      'shared/a',
      'shared/b',
    ]);
  });
});

describe('manifests pushed to one tag at once', () => {
  it('moves the tag to exactly one of many different manifests, and keeps all of them by digest', async () => {
    const { c } = await start();
    const repo = 'concurrent/tag';
    const base = await pushBaseBlobs(c, repo);
    const CLIENTS = 16;
    const ROUNDS = 5;
    const everything = new Map<string, Buffer>();

    for (let round = 0; round < ROUNDS; round++) {
      const bodies = Array.from({ length: CLIENTS }, (_, i) =>
        manifestBytes(base, { round: String(round), client: String(i), nonce: randomBytes(8).toString('hex') }),
      );
      const pushed = new Map(bodies.map((b) => [sha256(b), b]));
      expect(pushed.size).toBe(CLIENTS);
      const results = await Promise.all(bodies.map((b) => c.putManifest(repo, 'latest', b, MANIFEST_TYPE)));
      for (const [i, res] of results.entries()) {
        expect(res.status, `round ${round} client ${i}: ${await describeResponse(res)}`).toBe(201);
        expect(res.headers.get('docker-content-digest')).toBe(sha256(bodies[i]!));
      }
      for (const [d, b] of pushed) everything.set(d, b);

      const byTag = await getManifest(c, repo, 'latest');
      expect(byTag.status).toBe(200);
      expect([...pushed.keys()], `round ${round}: the tag must point at one of this round's manifests`).toContain(byTag.digest);
      expect(sha256(byTag.body), 'body served for the tag hashes to its Docker-Content-Digest').toBe(byTag.digest);
      expect(byTag.body.equals(pushed.get(byTag.digest!)!), 'the tag serves the exact bytes pushed').toBe(true);
      const head = await c.request('HEAD', `/v2/${repo}/manifests/latest`);
      expect(head.headers.get('docker-content-digest'), 'HEAD and GET agree').toBe(byTag.digest);
      expect(await listTags(c, repo)).toEqual(['latest']);
    }

    for (const [digest, body] of everything) {
      const got = await getManifest(c, repo, digest);
      expect(got.status, `manifest ${digest}`).toBe(200);
      expect(got.body.equals(body), `manifest ${digest} serves its exact bytes`).toBe(true);
    }
  });

  it('gives every client pushing the same manifest to the same tag 201 and the same digest', async () => {
    const { server, c } = await start();
    const repo = 'concurrent/same';
    const base = await pushBaseBlobs(c, repo);
    const CLIENTS = 8;
    for (let round = 0; round < 5; round++) {
      const body = manifestBytes(base, { round: String(round), nonce: randomBytes(8).toString('hex') });
      const digest = sha256(body);
      const results = await Promise.all(Array.from({ length: CLIENTS }, () => c.putManifest(repo, 'same', body, MANIFEST_TYPE)));
      for (const [i, res] of results.entries()) {
        expect(res.status, `round ${round} client ${i}: ${await describeResponse(res)}`).toBe(201);
        expect(res.headers.get('docker-content-digest'), `round ${round} client ${i}`).toBe(digest);
        expect(res.headers.get('location')).toBe(`/v2/${repo}/manifests/${digest}`);
      }
      for (const ref of ['same', digest]) {
        const got = await getManifest(c, repo, ref);
        expect(got.status, `GET ${ref}`).toBe(200);
        expect(got.digest).toBe(digest);
        expect(got.body.equals(body), `GET ${ref} serves the exact bytes`).toBe(true);
      }
      expect(await listTags(c, repo)).toEqual(['same']);
      const rows = await server.app.meta.kysely
        .selectFrom('manifests as m')
        .innerJoin('repositories as r', 'r.id', 'm.repository_id')
        .select('m.digest')
        .where('r.name', '=', repo)
        .where('m.digest', '=', digest)
        .execute();
      expect(rows.length, 'the manifest is stored once').toBe(1);
    }
  });
});
