/**
 * The crash loop (issue #10): five times, start the real server process (`bin/berth.js serve`,
 * from dist: `npm run build` first) on one data folder, drive pushes, deletes and garbage
 * collection at once (the server's own, every second with no grace, and `berth gc` processes
 * beside it), SIGKILL it at a random moment, restart it, and check that
 *
 * - every acknowledged push that was not deleted is fully pullable: the manifest by tag and by
 *   digest with its exact bytes, and every blob it references, hashing to its digest;
 * - nothing half-written is visible: a push that was cut either does not exist or is whole;
 * - `berth fsck` (run beside the restarted server) reports no inconsistency.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { BERTH_BIN, PROJECT_ROOT, startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';

const ROUNDS = 5;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const REPO = 'crash/loop';

let berth: BerthProcess | undefined;
let first: BerthProcess | undefined;

afterAll(async () => {
  await berth?.stop().catch(() => undefined);
  await first?.cleanup().catch(() => undefined);
});

type Blob = { digest: string; size: number; data: Buffer };
type Image = { tag: string; digest: string; body: Buffer; blobs: Blob[] };

function blob(): Blob {
  const data = randomBytes(256 + randomInt(2048));
  return { digest: sha256(data), size: data.length, data };
}

function manifestOf(blobs: readonly Blob[]): Buffer {
  const [config, ...layers] = blobs;
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config!.digest, size: config!.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
      annotations: { nonce: randomBytes(8).toString('hex') },
    }),
  );
}

function berthCli(dataDir: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) env[key] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [BERTH_BIN, ...args], { cwd: PROJECT_ROOT, env: { ...env, BERTH_DATA_DIR: dataDir }, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Whether the image is stored whole: manifest by digest with its bytes, every blob hashing to its digest. */
async function wholeOrAbsent(c: OciTestClient, image: Image): Promise<'whole' | 'absent' | string> {
  const res = await c.request('GET', `/v2/${REPO}/manifests/${image.digest}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status === 404) return 'absent';
  if (res.status !== 200) return `manifest answered ${res.status}`;
  if (!bytes.equals(image.body)) return 'manifest bytes differ';
  for (const b of image.blobs) {
    const got = await c.request('GET', `/v2/${REPO}/blobs/${b.digest}`);
    const data = Buffer.from(await got.arrayBuffer());
    if (got.status !== 200) return `blob ${b.digest} answered ${got.status}`;
    if (sha256(data) !== b.digest) return `blob ${b.digest} has other bytes`;
  }
  return 'whole';
}

describe('crash loop', () => {
  it(`survives ${ROUNDS} SIGKILLs during pushes, deletes and garbage collection`, async () => {
    const env = { BERTH_GC_INTERVAL: '1s', BERTH_GC_GRACE: '0' };
    first = await startBerth({ env });
    berth = first;
    const pool = Array.from({ length: 6 }, blob);
    /** Acknowledged (201) and not deleted: must survive. */
    const acknowledged = new Map<string, Image>();
    /** Pushed or deleted without an answer (cut by a kill), or deleted: may exist, but only whole. */
    const uncertain = new Map<string, Image>();
    const totals = { acknowledged: 0, deleted: 0, blobUnknown: 0, cut: 0, gcRuns: 0 };

    for (let round = 1; round <= ROUNDS; round++) {
      const c = new OciTestClient(berth.url, berth.authHeader);
      let running = true;
      const pusher = async (id: number) => {
        for (let i = 0; running; i++) {
          const blobs = [randomInt(2) ? pool[randomInt(pool.length)]! : blob(), pool[randomInt(pool.length)]!, blob()];
          const tag = `r${round}-p${id}-${i}`;
          const body = manifestOf(blobs);
          const image: Image = { tag, digest: sha256(body), body, blobs };
          try {
            for (const b of blobs) {
              const head = await c.request('HEAD', `/v2/${REPO}/blobs/${b.digest}`);
              if (head.status !== 200) await c.pushBlob(REPO, b.data);
            }
            uncertain.set(image.digest, image);
            const res = await c.putManifest(REPO, tag, body, MANIFEST_TYPE);
            if (res.status === 201) {
              uncertain.delete(image.digest);
              acknowledged.set(image.digest, image);
              totals.acknowledged++;
            } else {
              const text = await res.text();
              // The collector may take a reused blob between the HEAD and the PUT.
              expect(text, `push ${tag}: ${res.status}`).toContain('MANIFEST_BLOB_UNKNOWN');
              totals.blobUnknown++;
            }
          } catch (err) {
            if ((err as Error).name === 'AssertionError') throw err;
            totals.cut++;
            return; // the server is gone
          }
        }
      };
      const deleter = async () => {
        while (running) {
          const images = [...acknowledged.values()];
          if (images.length < 5) {
            await sleep(10);
            continue;
          }
          await sleep(20);
          const image = images[randomInt(images.length)]!;
          if (!acknowledged.has(image.digest)) continue;
          acknowledged.delete(image.digest);
          uncertain.set(image.digest, image);
          try {
            const res = await c.request('DELETE', `/v2/${REPO}/manifests/${image.digest}`);
            expect(res.status).toBe(202);
            totals.deleted++;
          } catch (err) {
            if ((err as Error).name === 'AssertionError') throw err;
            return;
          }
        }
      };
      const collector = async () => {
        while (running) {
          await berthCli(berth!.dataDir, ['gc', '--gc-grace', '0', '--quiet']);
          totals.gcRuns++;
        }
      };
      const work = Promise.all([pusher(1), pusher(2), pusher(3), deleter(), collector()]);
      await sleep(400 + randomInt(1600));
      const status = await berth.kill();
      expect(status.signal).toBe('SIGKILL');
      running = false;
      await work;

      berth = await startBerth({ dataDir: first.dataDir, accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey, env });
      const after = new OciTestClient(berth.url, berth.authHeader);
      for (const image of acknowledged.values()) {
        expect(await wholeOrAbsent(after, image), `round ${round}: acknowledged ${image.tag} (${image.digest})`).toBe('whole');
        const byTag = await after.request('GET', `/v2/${REPO}/manifests/${image.tag}`);
        expect(byTag.headers.get('docker-content-digest'), `round ${round}: tag ${image.tag}`).toBe(image.digest);
      }
      for (const image of uncertain.values()) {
        const state = await wholeOrAbsent(after, image);
        expect(['whole', 'absent'], `round ${round}: cut or deleted ${image.tag}: ${state}`).toContain(state);
      }
      const fsck = await berthCli(berth.dataDir, ['fsck']);
      expect(fsck.code, `round ${round}: berth fsck\n${fsck.stdout}\n${fsck.stderr}`).toBe(0);
      expect(fsck.stdout).toMatch(/^no problems found$/m);
    }
    expect(totals.acknowledged, JSON.stringify(totals)).toBeGreaterThan(ROUNDS);
    expect(totals.deleted, JSON.stringify(totals)).toBeGreaterThan(0);
    expect(totals.gcRuns, JSON.stringify(totals)).toBeGreaterThan(0);
    console.log(`crash loop: ${JSON.stringify({ ...totals, surviving: acknowledged.size })}`);
  });
});
