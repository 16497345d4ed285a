/**
 * Garbage collection on a serving registry (in-process server, real HTTP on loopback), and the
 * built `berth gc` command run against its data folder while it serves (`npm run build` first):
 *
 * - unreferenced blobs go once the grace period has passed; referenced ones stay; a dry run lists
 *   what would go with its bytes and changes nothing;
 * - a manifest deleted by digest releases its blobs; an untagged manifest keeps them;
 * - GC racing pushes: pushers reuse blobs that the collector considers, while collections run back
 *   to back with a grace of 0, in this process and in `berth gc` processes. Every push either
 *   succeeds and is fully pullable, or fails with MANIFEST_BLOB_UNKNOWN; no pulled manifest ever
 *   references a missing blob; fsck finds nothing wrong afterwards.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkIntegrity } from '../../src/gc/index.js';
import { BERTH_BIN, PROJECT_ROOT } from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
const HOUR = 3600_000;

let servers: TestServer[] = [];

beforeAll(() => {
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
});

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

/** `node bin/berth.js ...args` on the server's data folder, with no BERTH_* from the developer's shell. */
function berthCli(server: TestServer, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) env[key] = value;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BERTH_BIN, ...args],
      { cwd: PROJECT_ROOT, env: { ...env, ...server.storageEnv, BERTH_DATA_DIR: server.dataDir, BERTH_LOG_LEVEL: 'silent' }, timeout: 60_000, encoding: 'utf8', maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

type Blob = { digest: string; size: number; data: Buffer };

function blob(data: Buffer = randomBytes(512 + randomInt(512))): Blob {
  return { digest: sha256(data), size: data.length, data };
}

function manifestOf(config: Blob, layers: readonly Blob[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: CONFIG_TYPE, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: LAYER_TYPE, digest: l.digest, size: l.size })),
      annotations: { nonce: randomBytes(8).toString('hex') },
    }),
  );
}

async function pushImage(c: OciTestClient, repo: string, tag: string) {
  const config = blob();
  const layers = [blob(), blob()];
  for (const b of [config, ...layers]) await c.pushBlob(repo, b.data);
  const body = manifestOf(config, layers);
  const res = await c.putManifest(repo, tag, body, MANIFEST_TYPE);
  expect(res.status, await res.text()).toBe(201);
  return { digest: sha256(body), blobs: [config, ...layers] };
}

async function blobStatus(c: OciTestClient, repo: string, digest: string): Promise<number> {
  const res = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status === 200) expect(sha256(bytes), `bytes of ${digest}`).toBe(digest);
  return res.status;
}

describe('garbage collection', () => {
  it('collects on the schedule of the server, and berth status lists the last collection with the periodic tasks', async () => {
    const server = await startTestServer({ BERTH_GC_INTERVAL: '1s' });
    servers.push(server);
    const status = server.app.services.operations.status;
    await vi.waitFor(async () => expect((await status()).periodic).toContainEqual({ name: 'gc', lastRunAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }), {
      timeout: 30_000,
      interval: 100,
    });
  });

  it('removes unreferenced blobs after the grace period, keeps referenced ones, and a dry run only reports', async () => {
    const { server, c } = await start();
    const image = await pushImage(c, 'gc/app', 'v1');
    const orphans = [blob(randomBytes(1000)), blob(randomBytes(3000))];
    for (const b of orphans) await c.pushBlob('gc/app', b.data);

    // Within the grace period nothing goes.
    let report = await server.app.gc.run({ graceMs: HOUR });
    expect(report).toMatchObject({ scannedBlobs: 5, referencedBlobs: 3, recentBlobs: 2, removedBlobs: 0 });

    // The command, beside the running server: a dry run lists the orphans and their bytes.
    const dry = await berthCli(server, ['gc', '--dry-run', '--gc-grace', '0']);
    expect(dry.code, dry.stderr).toBe(0);
    for (const b of orphans) expect(dry.stdout).toContain(`would remove blob ${b.digest} (${b.size === 1000 ? '1000 bytes' : '2.93 KiB'})`);
    expect(dry.stdout).toMatch(/^would remove 2 blobs \(3\.91 KiB\): 3\.91 KiB in all$/m);
    expect(dry.stdout).toMatch(/kept 3 referenced blobs/);
    expect(dry.stdout).toMatch(/nothing was changed \(--dry-run\)/);
    for (const b of orphans) expect(await blobStatus(c, 'gc/app', b.digest)).toBe(200);

    const run = await berthCli(server, ['gc', '--gc-grace', '0s']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^removed 2 blobs \(3\.91 KiB\)/m);
    for (const b of orphans) expect(await blobStatus(c, 'gc/app', b.digest)).toBe(404);
    for (const b of image.blobs) expect(await blobStatus(c, 'gc/app', b.digest)).toBe(200);
    expect((await c.request('GET', `/v2/gc/app/manifests/v1`)).status).toBe(200);

    report = await server.app.gc.run({ graceMs: 0 });
    expect(report).toMatchObject({ scannedBlobs: 3, referencedBlobs: 3, removedBlobs: 0, removedFiles: 0 });
  });

  it('releases the blobs of a manifest deleted by digest; an untagged manifest keeps its blobs', async () => {
    const { server, c } = await start();
    const deleted = await pushImage(c, 'gc/release', 'gone');
    const untagged = await pushImage(c, 'gc/release', 'untagged');
    expect((await c.request('DELETE', `/v2/gc/release/manifests/${deleted.digest}`)).status).toBe(202);
    expect((await c.request('DELETE', `/v2/gc/release/manifests/untagged`)).status).toBe(202);

    const report = await server.app.gc.run({ graceMs: 0 });
    expect(report).toMatchObject({ removedBlobs: 3, referencedBlobs: 3 });
    for (const b of deleted.blobs) expect(await blobStatus(c, 'gc/release', b.digest)).toBe(404);
    for (const b of untagged.blobs) expect(await blobStatus(c, 'gc/release', b.digest)).toBe(200);
    expect((await c.request('GET', `/v2/gc/release/manifests/${untagged.digest}`)).status).toBe(200);
    // The bytes are gone from the disk (or the bucket), not only from the repository.
    const store = server.app.blobs;
    for (const b of deleted.blobs) expect(await store.stat(b.digest as never)).toBeUndefined();
  });

  it('races pushes that reuse the blobs it collects: every push is whole or fails with MANIFEST_BLOB_UNKNOWN', async () => {
    const { server, c } = await start();
    const repo = 'gc/race';
    const DURATION_MS = 8000;
    // Small pools, so that collections keep finding them unreferenced while pushers reuse them.
    const configs = Array.from({ length: 3 }, () => blob());
    const layers = Array.from({ length: 5 }, () => blob());
    const stats = { pushed: 0, blobUnknown: 0, reuploaded: 0, gcRuns: 0, cliRuns: 0, removed: 0, pulls: 0 };
    // The race runs DURATION_MS, longer (up to a minute) while no push, or no kept push, has gone through yet (a loaded
    // machine; on PostgreSQL a collection with no grace holds the blob lock often): the checks below
    // need a race that happened, not a fast machine.
    const started = Date.now();
    const deadlineOf = () => started + (stats.pushed >= 1 && kept.length >= 1 ? DURATION_MS : 60_000);
    const violations: string[] = [];
    /** Manifests pushed and never deleted, with their blobs: all must be whole at the end. */
    const kept: { digest: string; body: Buffer; blobs: Blob[] }[] = [];
    /** Manifests acknowledged and not (yet) deleted: what the puller reads. */
    const live = new Map<string, Blob[]>();

    const pusher = async (id: number) => {
      let i = 0;
      while (Date.now() < deadlineOf()) {
        i++;
        const keep = i % 5 === 0;
        // A kept manifest uses fresh blobs; the others reuse the pools, which the collector reclaims between uses.
        const config = keep ? blob() : configs[randomInt(configs.length)]!;
        const parts = keep ? [blob()] : [layers[randomInt(layers.length)]!, layers[randomInt(layers.length)]!];
        const body = manifestOf(config, parts);
        const digest = sha256(body);
        // As a client does: push, and on MANIFEST_BLOB_UNKNOWN upload what is missing and try again.
        // A kept manifest is pushed until it lands (the end checks it); the others give up after a while.
        let res: Response | undefined;
        for (let attempt = 0; keep ? Date.now() < deadlineOf() + 20_000 : attempt < 20 && Date.now() < deadlineOf(); attempt++) {
          for (const b of [config, ...parts]) {
            // As docker does: upload only what the registry says it lacks. Sometimes skip even the
            // check on a first attempt, as a client that pushed the blob a moment ago would.
            if (attempt === 0 && !keep && randomInt(3) === 0) continue;
            const head = await c.request('HEAD', `/v2/${repo}/blobs/${b.digest}`);
            if (head.status === 200) continue;
            expect(head.status).toBe(404);
            await c.pushBlob(repo, b.data);
            stats.reuploaded++;
          }
          res = await c.putManifest(repo, `p${id}-${i}`, body, MANIFEST_TYPE);
          if (res.status !== 400) break;
          const code = ((await res.json()) as { errors: { code: string }[] }).errors[0]?.code;
          if (code !== 'MANIFEST_BLOB_UNKNOWN') violations.push(`push ${digest}: 400 ${code}`);
          stats.blobUnknown++;
        }
        if (!res || res.status === 400) continue;
        if (res.status !== 201) {
          violations.push(`push ${digest}: ${res.status} ${await res.text()}`);
          continue;
        }
        stats.pushed++;
        const all = [config, ...parts];
        live.set(digest, all);
        // Acknowledged, so fully pullable now.
        const got = await c.request('GET', `/v2/${repo}/manifests/${digest}`);
        if (got.status !== 200 || !Buffer.from(await got.arrayBuffer()).equals(body)) violations.push(`pull ${digest} right after its push: ${got.status}`);
        for (const b of all) {
          const status = await blobStatus(c, repo, b.digest);
          if (status !== 200) violations.push(`blob ${b.digest} of ${digest} right after its push: ${status}`);
        }
        if (keep) {
          kept.push({ digest, body, blobs: all });
        } else {
          live.delete(digest);
          const del = await c.request('DELETE', `/v2/${repo}/manifests/${digest}`);
          if (del.status !== 202) violations.push(`delete ${digest}: ${del.status}`);
        }
      }
    };

    /** Pull manifests that exist; a blob missing while its manifest still exists is a dangling manifest. */
    const puller = async () => {
      while (Date.now() < deadlineOf()) {
        const entries = [...live.entries()];
        if (entries.length === 0) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const [digest, blobs] = entries[randomInt(entries.length)]!;
        const manifest = await c.request('GET', `/v2/${repo}/manifests/${digest}`);
        await manifest.arrayBuffer();
        if (manifest.status !== 200) continue; // deleted meanwhile
        stats.pulls++;
        for (const b of blobs) {
          const status = await blobStatus(c, repo, b.digest);
          if (status === 200) continue;
          const still = await c.request('HEAD', `/v2/${repo}/manifests/${digest}`);
          if (still.status === 200) violations.push(`manifest ${digest} is stored but its blob ${b.digest} answers ${status}`);
        }
      }
    };

    // The collections race the pushes for DURATION_MS; pushes that have not gone through by then
    // (a loaded machine) finish after, so that the checks of every acknowledged push still run.
    const collector = async () => {
      while (Date.now() < started + DURATION_MS) {
        const report = await server.app.gc.run({ graceMs: 0 });
        stats.gcRuns++;
        stats.removed += report.removedBlobs;
        // Short, random breaks: with no grace at all, pushes would otherwise rarely land between runs.
        await new Promise((r) => setTimeout(r, randomInt(100)));
      }
    };

    /** `berth gc` in another process, beside the server's own collections. */
    const command = async () => {
      while (Date.now() < started + DURATION_MS) {
        const run = await berthCli(server, ['gc', '--gc-grace', '0', '--quiet']);
        if (run.code !== 0) violations.push(`berth gc: exit ${run.code}: ${run.stderr}`);
        stats.cliRuns++;
        const removed = /^removed (\d+) blob/m.exec(run.stdout);
        stats.removed += Number(removed?.[1] ?? 0);
      }
    };

    await Promise.all([pusher(1), pusher(2), pusher(3), puller(), collector(), command()]);
    expect(violations).toEqual([]);
    // The race was on: pushes went through or lost their blobs to a collection (and were retried),
    // and collections reclaimed pool blobs between them.
    expect(stats.pushed, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.pushed + stats.blobUnknown, JSON.stringify(stats)).toBeGreaterThan(2);
    expect(stats.gcRuns).toBeGreaterThan(5);
    expect(stats.cliRuns).toBeGreaterThan(0);
    expect(stats.removed, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.reuploaded + stats.blobUnknown, JSON.stringify(stats)).toBeGreaterThan(configs.length + layers.length);

    // Every kept manifest is whole, after one more collection.
    await server.app.gc.run({ graceMs: 0 });
    expect(kept.length).toBeGreaterThan(0);
    for (const m of kept) {
      const got = await c.request('GET', `/v2/${repo}/manifests/${m.digest}`);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(m.body)).toBe(true);
      for (const b of m.blobs) expect(await blobStatus(c, repo, b.digest), `blob ${b.digest} of kept ${m.digest}`).toBe(200);
    }
    const fsck = await checkIntegrity(server.app.meta, server.app.blobs, { graceMs: HOUR });
    expect(fsck.findings).toEqual([]);
    expect(fsck.problems).toBe(0);
    console.log(`gc race: ${JSON.stringify(stats)}`);
  }, 150_000);
});
