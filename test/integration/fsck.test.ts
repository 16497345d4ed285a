/**
 * `berth fsck` through the built command (`npm run build` first), run against the data folder of
 * a registry while it serves: a blob file whose bytes changed, a deleted blob file, a stray file,
 * and what `--repair` does about each; then pushing the lost bytes again heals the registry.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_BIN, PROJECT_ROOT } from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

let server: TestServer;
let c: OciTestClient;

beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
  server = await startTestServer();
  c = new OciTestClient(server.url, server.authHeader);
});

afterAll(async () => {
  await server?.close();
});

function fsck(args: readonly string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) env[key] = value;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BERTH_BIN, 'fsck', ...args],
      { cwd: PROJECT_ROOT, env: { ...env, ...server.storageEnv, BERTH_DATA_DIR: server.dataDir }, timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

function blobFile(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(server.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** Push a config and a layer and a manifest; returns the blobs' bytes. */
async function pushImage(repo: string, tag: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const layer = randomBytes(4096);
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await c.pushBlob(repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await c.pushBlob(repo, layer), size: layer.length }],
  };
  const res = await c.putManifest(repo, tag, manifest);
  expect(res.status).toBe(201);
  return { config, layer };
}

async function pullsWhole(repo: string, tag: string): Promise<boolean> {
  const res = await c.request('GET', `/v2/${repo}/manifests/${tag}`);
  if (res.status !== 200) return false;
  const manifest = (await res.json()) as { config: { digest: string }; layers: { digest: string }[] };
  for (const { digest } of [manifest.config, ...manifest.layers]) {
    const blob = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
    const bytes = Buffer.from(await blob.arrayBuffer());
    if (blob.status !== 200 || sha256(bytes) !== digest) return false;
  }
  return true;
}

describe('berth fsck', () => {
  it('reports a healthy registry with exit status 0', async () => {
    await pushImage('fsck/healthy', 'v1');
    const run = await fsck();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^checked \d+ blobs \([\d.]+ KiB hashed\), \d+ files and \d+ manifests in [\d.]+ s$/m);
    expect(run.stdout).toMatch(/^no problems found$/m);
    expect(run.stdout).not.toMatch(/PROBLEM/);
  });

  it('finds a corrupted, a deleted and a stray blob file, repairs what is safe, and is healed by pushing again', async () => {
    const a = await pushImage('fsck/a', 'v1');
    const b = await pushImage('fsck/b', 'v1');
    const corrupted = sha256(a.layer);
    const deleted = sha256(b.config);
    // An uploaded blob that no manifest references, whose file is then lost.
    const orphan = randomBytes(777);
    const orphanDigest = await c.pushBlob('fsck/b', orphan);
    const strayBytes = randomBytes(1234);
    const stray = sha256(strayBytes);

    await writeFile(blobFile(corrupted), randomBytes(a.layer.length));
    await rm(blobFile(deleted));
    await rm(blobFile(orphanDigest));
    await mkdir(join(blobFile(stray), '..'), { recursive: true });
    await writeFile(blobFile(stray), strayBytes);

    // A stray file is young: within the default grace period it is an upload being recorded.
    let run = await fsck();
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain(stray);
    expect(run.stdout).toMatch(/^1 file without a blob row within the grace period/m);

    run = await fsck(['--gc-grace', '0']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(`PROBLEM  corrupt-blob ${corrupted}: blob file hashes to sha256:`);
    expect(run.stdout).toContain(`PROBLEM  missing-file ${deleted}: blob row (${b.config.length} bytes) has no file`);
    expect(run.stdout).toContain(`PROBLEM  missing-file ${orphanDigest}: blob row (777 bytes) has no file`);
    expect(run.stdout).toMatch(new RegExp(`PROBLEM  stray-file sha256/${stray.slice(7, 9)}/${stray.slice(7)}: file of ${stray} \\(1234 bytes\\) has no blob row`));
    expect(run.stdout).toMatch(/what to do: manifests reference it: push the blob again/);
    expect(run.stdout).toMatch(/^4 problems remain \(/m);
    expect(await pullsWhole('fsck/a', 'v1')).toBe(false);
    expect(await pullsWhole('fsck/b', 'v1')).toBe(false);

    // Without re-hashing, the same-size corruption goes unseen; the rest is found.
    run = await fsck(['--gc-grace', '0', '--no-hash']);
    expect(run.stdout).not.toContain('corrupt-blob');
    expect(run.stdout).toMatch(/^3 problems remain/m);

    run = await fsck(['--gc-grace', '0', '--repair']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`REPAIRED stray-file .*\\n\\s+removed`));
    expect(run.stdout).toMatch(new RegExp(`REPAIRED missing-file ${orphanDigest}.*\\n\\s+row and links dropped \\(nothing referenced it\\)`));
    expect(run.stdout).toMatch(new RegExp(`PROBLEM  corrupt-blob ${corrupted}.*\\n\\s+what to do: file moved to .*quarantine.*; manifests reference it: push the blob again`));
    expect(run.stdout).toContain(`PROBLEM  missing-file ${deleted}`);
    expect(run.stdout).toMatch(/^repaired 2$/m);
    expect(run.stdout).toMatch(/^2 problems remain/m);
    expect(existsSync(blobFile(stray))).toBe(false);
    expect(await readdir(join(server.dataDir, 'quarantine'))).toHaveLength(1);
    // The corrupted layer is no longer served with wrong bytes.
    expect((await c.request('GET', `/v2/fsck/a/blobs/${corrupted}`)).status).toBe(404);
    expect((await c.request('HEAD', `/v2/fsck/b/blobs/${orphanDigest}`)).status).toBe(404);

    // Pushing the lost bytes again puts the files back.
    await c.pushBlob('fsck/a', a.layer);
    await c.pushBlob('fsck/b', b.config);
    expect(await pullsWhole('fsck/a', 'v1')).toBe(true);
    expect(await pullsWhole('fsck/b', 'v1')).toBe(true);
    run = await fsck(['--gc-grace', '0']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^no problems found$/m);
  });

  it('refuses unknown options and a folder without berth data', async () => {
    const bad = await fsck(['--fix']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--fix'/);
    expect(bad.stderr).toMatch(/usage: berth fsck/);
    const empty = await fsck(['--data', join(server.dataDir, 'nothing-here')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no berth data in/);
  });
});
