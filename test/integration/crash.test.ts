/**
 * Crash safety of the real server process (`bin/berth.js serve`, run from dist: `npm run build`
 * first). Each test SIGKILLs berth in the middle of a push, restarts it on the same data folder
 * with the same root key, and checks that:
 *
 * - nothing partial is visible: a blob whose upload was cut is not served, a manifest whose PUT
 *   was cut has neither its tag nor its digest;
 * - an upload session survives the crash with exactly the bytes that reached the disk, reports
 *   them (`Range`), refuses a chunk at any other offset (416) and completes when resumed;
 * - every acknowledged (201) manifest push survives, and every tag that exists after the crash
 *   serves a manifest whose bytes hash to its digest;
 * - the metadata database is consistent (SQLite integrity and foreign keys, manifest bodies match
 *   their digests, every recorded blob has its file).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';

const MiB = 1024 * 1024;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** Every process a test started, newest last; afterEach stops them and removes the data folders. */
let started: BerthProcess[] = [];

afterEach(async () => {
  // Stop restarted processes first; the first process of a test owns (and removes) the data folder.
  const procs = started.reverse();
  started = [];
  for (const p of procs) await p.cleanup().catch(() => undefined);
});

async function start(previous?: BerthProcess): Promise<BerthProcess> {
  const p = await startBerth(
    previous ? { dataDir: previous.dataDir, accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey } : {},
  );
  started.push(p);
  return p;
}

/** SIGKILL `p` and start a new process on its data folder with its root key. */
async function crashAndRestart(p: BerthProcess): Promise<BerthProcess> {
  const status = await p.kill();
  expect(status.signal, `berth should have died of SIGKILL\n${p.output()}`).toBe('SIGKILL');
  return start(p);
}

function client(p: BerthProcess): OciTestClient {
  return new OciTestClient(p.url, p.authHeader);
}

async function describeResponse(res: Response): Promise<string> {
  return `${res.status} ${JSON.stringify(Object.fromEntries(res.headers))} ${await res.clone().text()}`;
}

async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.clone().json().catch(() => undefined)) as { errors?: { code?: string }[] } | undefined;
  return body?.errors?.[0]?.code;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}

/** Poll until `probe` returns true; false if `timeoutMs` passed first. */
async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(20);
  }
  return probe();
}

/**
 * An HTTP request whose body the test writes piece by piece, on its own connection, so that the
 * server can be killed with the body half sent. `outcome` settles with the response status, or
 * with the error the connection ended in.
 */
interface StreamingRequest {
  req: ClientRequest;
  outcome: Promise<{ status: number } | { error: Error }>;
  /** Write `data` in 64 KiB pieces, each after the previous one was handed to the socket. */
  write(data: Buffer): Promise<void>;
}

function streamingRequest(p: BerthProcess, method: string, path: string, headers: Record<string, string>): StreamingRequest {
  const req = httpRequest({
    host: '127.0.0.1',
    port: p.port,
    method,
    path,
    agent: false,
    headers: { authorization: p.authHeader, ...headers },
  });
  const outcome = new Promise<{ status: number } | { error: Error }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', (error) => resolve({ error }));
  });
  req.flushHeaders();
  return {
    req,
    outcome,
    async write(data: Buffer) {
      for (let off = 0; off < data.length; off += 64 * 1024) {
        const piece = data.subarray(off, Math.min(off + 64 * 1024, data.length));
        await new Promise<void>((resolve, reject) => req.write(piece, (err) => (err ? reject(err) : resolve())));
      }
    },
  };
}

async function listTags(c: OciTestClient, repo: string): Promise<string[]> {
  const res = await c.request('GET', `/v2/${repo}/tags/list?n=1000`);
  expect(res.status, await describeResponse(res)).toBe(200);
  const body = (await res.json()) as { tags: string[] | null };
  return body.tags ?? [];
}

/** Push a config and one layer into `repo`; returns the descriptors a manifest can reference. */
async function pushBaseBlobs(c: OciTestClient, repo: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(2048);
  return {
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await c.pushBlob(repo, config), size: config.length },
    layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await c.pushBlob(repo, layer), size: layer.length },
  };
}

function manifestBytes(base: Awaited<ReturnType<typeof pushBaseBlobs>>, annotations: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: base.config, layers: [base.layer], annotations }),
  );
}

/**
 * Read the metadata database behind the running server's back (read-only) and check that it is
 * consistent after a crash: SQLite's own integrity and foreign-key checks, every manifest body
 * hashes to its digest and has its recorded size, every recorded blob has a file of its size, and
 * no blob file exists under a name it does not hash to (checked by size and the blob table).
 */
async function checkMetadataConsistency(p: BerthProcess): Promise<void> {
  const db = new Database(join(p.dataDir, 'metadata.db'), { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const manifests = db.prepare('SELECT digest, size, body FROM manifests').all() as { digest: string; size: number; body: Buffer }[];
    for (const m of manifests) {
      expect(sha256(m.body), `stored body of manifest ${m.digest}`).toBe(m.digest);
      expect(m.body.length, `stored size of manifest ${m.digest}`).toBe(Number(m.size));
    }
    const dangling = db
      .prepare('SELECT t.tag, t.digest FROM tags t LEFT JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest WHERE m.digest IS NULL')
      .all();
    expect(dangling, 'tags pointing at no manifest').toEqual([]);
    const blobs = db.prepare('SELECT digest, size FROM blobs').all() as { digest: string; size: number }[];
    for (const b of blobs) {
      const hex = b.digest.slice('sha256:'.length);
      expect(await fileSize(join(p.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)), `file of recorded blob ${b.digest}`).toBe(Number(b.size));
    }
    const unrecordedLinks = db
      .prepare('SELECT rb.digest FROM repository_blobs rb LEFT JOIN blobs b ON b.digest = rb.digest WHERE b.digest IS NULL')
      .all();
    expect(unrecordedLinks, 'repository links to unrecorded blobs').toEqual([]);
  } finally {
    db.close();
  }
}

/** Paths of all files under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

describe('SIGKILL during a blob upload', () => {
  it('keeps the bytes that reached the disk, hides the blob, refuses a wrong offset and completes when resumed', async () => {
    const repo = 'crash/chunked';
    const data = randomBytes(12 * MiB);
    const digest = sha256(data);
    const FIRST = 4 * MiB;
    const SENT_OF_SECOND = 3 * MiB;

    let berth = await start();
    let c = client(berth);

    const opened = await c.request('POST', `/v2/${repo}/blobs/uploads/`);
    expect(opened.status, await describeResponse(opened)).toBe(202);
    const location = opened.headers.get('location')!;
    const uploadId = opened.headers.get('docker-upload-uuid')!;
    expect(location).toMatch(/\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(location.endsWith(uploadId)).toBe(true);
    const uploadFile = join(berth.dataDir, 'uploads', uploadId);

    const chunk1 = await c.request('PATCH', location, {
      body: data.subarray(0, FIRST),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${FIRST - 1}` },
    });
    expect(chunk1.status, await describeResponse(chunk1)).toBe(202);
    expect(chunk1.headers.get('range')).toBe(`0-${FIRST - 1}`);

    // The second chunk declares all the remaining bytes but sends only part of them, then berth dies.
    const slow = streamingRequest(berth, 'PATCH', location, {
      'content-type': 'application/octet-stream',
      'content-length': String(data.length - FIRST),
      'content-range': `${FIRST}-${data.length - 1}`,
    });
    await slow.write(data.subarray(FIRST, FIRST + SENT_OF_SECOND));
    // berth writes in 1 MiB batches: wait until at least one batch of the second chunk is on disk.
    const grew = await waitFor(async () => (await fileSize(uploadFile)) >= FIRST + MiB, 10_000);
    expect(grew, `upload file should grow past ${FIRST + MiB} bytes; it has ${await fileSize(uploadFile)}`).toBe(true);

    berth = await crashAndRestart(berth);
    const outcome = await slow.outcome;
    expect('error' in outcome, `the cut PATCH must not have been answered: ${JSON.stringify(outcome)}`).toBe(true);
    c = client(berth);

    // The session is still there and reports what it holds: a prefix of the client's bytes.
    const status = await c.request('GET', location);
    expect(status.status, await describeResponse(status)).toBe(204);
    const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
    expect(range, `Range header of the upload status: ${status.headers.get('range')}`).not.toBeNull();
    const n = Number(range![1]) + 1;
    expect(n).toBeGreaterThanOrEqual(FIRST + MiB);
    expect(n).toBeLessThanOrEqual(FIRST + SENT_OF_SECOND);
    expect(await fileSize(uploadFile)).toBe(n);

    // Nothing partial is visible as a blob.
    const head = await c.request('HEAD', `/v2/${repo}/blobs/${digest}`);
    expect(head.status).toBe(404);
    const get = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
    expect(get.status).toBe(404);
    expect(await errorCode(get)).toBe('BLOB_UNKNOWN');
    const hex = digest.slice('sha256:'.length);
    expect(await fileSize(join(berth.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex))).toBe(-1);

    // A chunk at any offset other than n is refused with 416 and the current Range, and changes nothing.
    for (const wrong of [0, FIRST, n - 1, n + 1]) {
      const piece = data.subarray(wrong, wrong + 1024);
      const res = await c.request('PATCH', location, {
        body: piece,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${wrong}-${wrong + piece.length - 1}` },
      });
      expect(res.status, `PATCH at offset ${wrong} of an upload holding ${n} bytes: ${await describeResponse(res)}`).toBe(416);
      expect(res.headers.get('range')).toBe(`0-${n - 1}`);
    }
    const still = await c.request('GET', location);
    expect(still.headers.get('range')).toBe(`0-${n - 1}`);

    // Resume from n, close, and read back exactly the original bytes.
    const rest = await c.request('PATCH', location, {
      body: data.subarray(n),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${n}-${data.length - 1}` },
    });
    expect(rest.status, await describeResponse(rest)).toBe(202);
    expect(rest.headers.get('range')).toBe(`0-${data.length - 1}`);
    const closed = await c.request('PUT', `${location}?digest=${digest}`);
    expect(closed.status, await describeResponse(closed)).toBe(201);
    expect(closed.headers.get('docker-content-digest')).toBe(digest);

    const blob = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
    expect(blob.status).toBe(200);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(bytes.length).toBe(data.length);
    expect(sha256(bytes)).toBe(digest);
    expect((await c.request('GET', location)).status, 'a completed session is gone').toBe(404);
    expect(await fileSize(uploadFile)).toBe(-1);
    await checkMetadataConsistency(berth);
  });

  it('does not publish a monolithic upload cut mid-body; pushing it again completes', async () => {
    const repo = 'crash/monolithic';
    const data = randomBytes(8 * MiB);
    const digest = sha256(data);
    const hex = digest.slice('sha256:'.length);

    let berth = await start();
    const uploads = join(berth.dataDir, 'uploads');
    const slow = streamingRequest(berth, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      'content-type': 'application/octet-stream',
      'content-length': String(data.length),
    });
    await slow.write(data.subarray(0, data.length / 2));
    const partial = async () => {
      for (const name of await readdir(uploads)) if ((await fileSize(join(uploads, name))) >= MiB) return true;
      return false;
    };
    expect(await waitFor(partial, 10_000), 'part of the body should have reached the upload file').toBe(true);

    berth = await crashAndRestart(berth);
    const outcome = await slow.outcome;
    expect('error' in outcome, `the cut POST must not have been answered: ${JSON.stringify(outcome)}`).toBe(true);
    const c = client(berth);

    expect((await c.request('HEAD', `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
    const get = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
    expect(get.status).toBe(404);
    expect(await errorCode(get)).toBe('BLOB_UNKNOWN');
    expect(await fileSize(join(berth.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex))).toBe(-1);
    expect((await filesUnder(join(berth.dataDir, 'blobs'))).length, 'no blob file at all').toBe(0);

    expect(await c.pushBlob(repo, data)).toBe(digest);
    const blob = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
    expect(blob.status).toBe(200);
    expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(digest);
    await checkMetadataConsistency(berth);
  });
});

describe('SIGKILL during a manifest push', () => {
  it('leaves no tag and no manifest when the PUT body was cut', async () => {
    const repo = 'crash/manifest';
    let berth = await start();
    let c = client(berth);
    const base = await pushBaseBlobs(c, repo);
    // An earlier, complete push in the same repository, which must survive.
    const kept = manifestBytes(base, { which: 'kept' });
    expect((await c.putManifest(repo, 'kept', kept, MANIFEST_TYPE)).status).toBe(201);

    const body = manifestBytes(base, { which: 'cut', pad: 'x'.repeat(4096) });
    const digest = sha256(body);
    const received: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port: berth.port });
    socket.on('data', (d: Buffer) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `PUT /v2/${repo}/manifests/cut HTTP/1.1\r\n` +
        `Host: ${berth.host}\r\n` +
        `Authorization: ${berth.authHeader}\r\n` +
        `Content-Type: ${MANIFEST_TYPE}\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, Math.floor(body.length / 2)));
    // Give berth time to authenticate, create nothing, and block reading the rest of the body.
    await sleep(300);
    expect(Buffer.concat(received).toString('latin1'), 'berth must not answer a manifest PUT before its body is complete').toBe('');

    berth = await crashAndRestart(berth);
    await closed;
    c = client(berth);

    for (const ref of ['cut', digest]) {
      const res = await c.request('GET', `/v2/${repo}/manifests/${ref}`);
      expect(res.status, `GET manifests/${ref}: ${await describeResponse(res)}`).toBe(404);
      expect(await errorCode(res)).toBe('MANIFEST_UNKNOWN');
      expect((await c.request('HEAD', `/v2/${repo}/manifests/${ref}`)).status).toBe(404);
    }
    expect(await listTags(c, repo)).toEqual(['kept']);
    const survivor = await c.request('GET', `/v2/${repo}/manifests/kept`);
    expect(survivor.status).toBe(200);
    expect(Buffer.from(await survivor.arrayBuffer()).equals(kept)).toBe(true);

    // The same push, complete this time, succeeds.
    const again = await c.putManifest(repo, 'cut', body, MANIFEST_TYPE);
    expect(again.status, await describeResponse(again)).toBe(201);
    expect(again.headers.get('docker-content-digest')).toBe(digest);
    const got = await c.request('GET', `/v2/${repo}/manifests/cut`);
    expect(Buffer.from(await got.arrayBuffer()).equals(body)).toBe(true);
    await checkMetadataConsistency(berth);
  });

  it('keeps every acknowledged push and only whole manifests when killed during 50 parallel PUTs', async () => {
    const repo = 'crash/storm';
    const ROUNDS = 3;
    const PARALLEL = 50;
    let berth = await start();
    const base = await pushBaseBlobs(client(berth), repo);
    /** Everything attempted, by tag: the bytes sent. */
    const attempted = new Map<string, Buffer>();
    /** Tags whose PUT was answered 201 (acknowledged), in any round. */
    const acknowledged = new Set<string>();

    for (let round = 0; round < ROUNDS; round++) {
      const c = client(berth);
      // Kill after a random number of acknowledgements (0: as soon as all requests are dispatched).
      const killAfter = randomInt(0, PARALLEL - 5);
      const context = `round ${round}, killed after ${killAfter} acknowledgements`;
      let acked = 0;
      let reached: () => void = () => undefined;
      const threshold = new Promise<void>((resolve) => {
        reached = resolve;
        if (killAfter === 0) resolve();
      });
      const pushes = Array.from({ length: PARALLEL }, async (_, i) => {
        const tag = `r${round}-t${String(i).padStart(2, '0')}`;
        const body = manifestBytes(base, { round: String(round), i: String(i), nonce: randomBytes(8).toString('hex') });
        attempted.set(tag, body);
        try {
          const res = await c.putManifest(repo, tag, body, MANIFEST_TYPE);
          if (res.status === 201) {
            expect(res.headers.get('docker-content-digest'), `${context}: digest of ${tag}`).toBe(sha256(body));
            acknowledged.add(tag);
            if (++acked >= killAfter) reached();
          } else {
            expect.fail(`${context}: PUT ${tag} answered ${await describeResponse(res)}`);
          }
        } catch (err) {
          // Cut by the kill: the push was never acknowledged.
          if ((err as Error).name === 'AssertionError') throw err;
        }
      });
      await Promise.race([threshold, Promise.all(pushes)]);
      berth = await crashAndRestart(berth);
      await Promise.all(pushes);

      const after = client(berth);
      const tags = await listTags(after, repo);
      for (const tag of acknowledged) expect(tags, `${context}: acknowledged tag ${tag} must survive`).toContain(tag);
      for (const tag of tags) {
        const sent = attempted.get(tag);
        expect(sent, `${context}: tag ${tag} was never pushed`).toBeDefined();
        const res = await after.request('GET', `/v2/${repo}/manifests/${tag}`);
        expect(res.status, `${context}: GET manifests/${tag}: ${await describeResponse(res)}`).toBe(200);
        const bytes = Buffer.from(await res.arrayBuffer());
        const digest = res.headers.get('docker-content-digest');
        expect(sha256(bytes), `${context}: body of ${tag} vs its Docker-Content-Digest`).toBe(digest);
        expect(bytes.equals(sent!), `${context}: ${tag} serves the bytes pushed`).toBe(true);
        const byDigest = await after.request('GET', `/v2/${repo}/manifests/${digest}`);
        expect(byDigest.status, `${context}: GET manifests/${digest} (tag ${tag})`).toBe(200);
        expect(Buffer.from(await byDigest.arrayBuffer()).equals(bytes)).toBe(true);
      }
      // A manifest whose push was cut may exist by digest only if it is whole.
      for (const [tag, body] of attempted) {
        if (tags.includes(tag)) continue;
        const res = await after.request('GET', `/v2/${repo}/manifests/${sha256(body)}`);
        expect([404], `${context}: untagged ${tag}, since its manifest and tag are stored in one transaction`).toContain(res.status);
      }
      await checkMetadataConsistency(berth);
    }
    expect(acknowledged.size, 'some pushes should have been acknowledged before the kills').toBeGreaterThan(0);
  });
});
