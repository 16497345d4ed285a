// Replication benchmark: how long berth takes to replicate a 200 MiB multi-layer image to a peer
// deployment on loopback, against a direct `skopeo copy` between the same two deployments; and
// how many bytes it sends when the destination already holds most of the layers.
//
//   npm run build && node bench/replication.js [--runs N] [--mib 200] [--layers 8] [--verbose]
//
// Two `berth serve` processes (us-east-1 and eu-west-1, own temp data folders). The east one has
// the west one as its peer, reached through a byte-counting TCP relay in this process, and so does
// skopeo's push: both paths cross the same relay. Every run uses a fresh random image, pushed to
// east untimed; then, in alternating order:
//   - skopeo: `skopeo copy docker://east/stage/imgN:v1 docker://west/direct/imgN:v1`, wall time;
//   - berth: the blobs are pushed untimed into `bench/imgN` at east, then the clock starts, the
//     manifest is PUT (a replication rule matches `bench/`), and it stops when the tag answers at
//     west (the copy puts the tag last). So berth's time includes noticing the push (job queue).
// Then an image sharing all but two layers with the last one is pushed to the same repository,
// and the bytes crossing the relay during its replication are reported beside its new bytes.
// Needs skopeo on PATH.
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ECRClient, PutReplicationConfigurationCommand } from '@aws-sdk/client-ecr';
import { spawnBerth, stopChild } from './berth-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = opt('runs', 3);
const MIB = opt('mib', 200);
const LAYERS = opt('layers', 8);
const VERBOSE = args.includes('--verbose');
const TARGET_RATIO = 1.5;

class BenchError extends Error {}

function key() {
  const up = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = 'AKIA' + Array.from(crypto.randomBytes(16), (b) => up[b % up.length]).join('');
  return { accessKeyId: id, secretAccessKey: crypto.randomBytes(30).toString('base64url').slice(0, 40) };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A TCP relay to `target` that counts the bytes going towards it. */
async function relay(targetPort) {
  let sent = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.on('data', (d) => {
      sent += d.length;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, sent: () => sent, close: () => new Promise((r) => server.close(r)) };
}

const basic = (k) => `Basic ${Buffer.from(`${k.accessKeyId}:${k.secretAccessKey}`).toString('base64')}`;

async function request(port, k, method, p, { body, headers = {} } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { authorization: basic(k), ...headers }, ...(body ? { body, duplex: 'half' } : {}) });
  const text = method === 'HEAD' ? '' : await res.text();
  return { status: res.status, headers: res.headers, text };
}

async function pushBlob(port, k, repo, data) {
  const digest = `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
  const res = await request(port, k, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (res.status !== 201) throw new BenchError(`push blob to ${repo}: ${res.status} ${res.text}`);
  return { digest, size: data.length };
}

function image(layers) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: crypto.randomBytes(8).toString('hex') }));
  return { config, layers };
}

async function pushImage(port, k, repo, tag, img, { manifest = true } = {}) {
  const config = await pushBlob(port, k, repo, img.config);
  const layers = [];
  for (const l of img.layers) layers.push(await pushBlob(port, k, repo, l));
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
    }),
  );
  if (manifest) await putManifest(port, k, repo, tag, body);
  return body;
}

async function putManifest(port, k, repo, tag, body) {
  const res = await request(port, k, 'PUT', `/v2/${repo}/manifests/${tag}`, { body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status !== 201) throw new BenchError(`put manifest ${repo}:${tag}: ${res.status} ${res.text}`);
}

async function waitForTag(port, k, repo, tag, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(port, k, 'HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new BenchError(`${repo}:${tag} did not arrive at the peer within ${timeoutMs / 1000} s`);
    await sleep(10);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 2) => n.toFixed(d);

async function main() {
  if (spawnSync('skopeo', ['--version']).status !== 0) throw new BenchError('skopeo is not installed (apt-get install skopeo)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-repl-'));
  const children = [];
  let proxy;
  const cleanup = async () => {
    for (const c of children) await stopChild(c.proc);
    await proxy?.close();
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const westKey = key();
    const eastKey = key();
    const common = { BERTH_CREATE_ON_PUSH: 'true', BERTH_LIMITS_RATE_LIMITING: 'false', BERTH_LOG_LEVEL: 'warn', BERTH_GC_INTERVAL: '0' };
    const westPort = await freePort();
    const west = await spawnBerth({
      root: ROOT,
      verbose: VERBOSE,
      ErrorClass: BenchError,
      settings: { ...common, BERTH_LISTEN: `127.0.0.1:${westPort}`, BERTH_REGION: 'eu-west-1', BERTH_DATA_DIR: path.join(work, 'west'), BERTH_ROOT_ACCESS_KEY_ID: westKey.accessKeyId, BERTH_ROOT_SECRET_ACCESS_KEY: westKey.secretAccessKey },
    });
    children.push(west);
    proxy = await relay(west.port);
    const east = await spawnBerth({
      root: ROOT,
      verbose: VERBOSE,
      ErrorClass: BenchError,
      settings: {
        ...common,
        BERTH_REGION: 'us-east-1',
        BERTH_DATA_DIR: path.join(work, 'east'),
        BERTH_ROOT_ACCESS_KEY_ID: eastKey.accessKeyId,
        BERTH_ROOT_SECRET_ACCESS_KEY: eastKey.secretAccessKey,
        BERTH_PEERS: JSON.stringify([{ region: 'eu-west-1', endpoint: `http://127.0.0.1:${proxy.port}`, ...westKey }]),
      },
    });
    children.push(east);
    const ecr = new ECRClient({ endpoint: `http://127.0.0.1:${east.port}`, region: 'us-east-1', credentials: eastKey, maxAttempts: 1 });
    await ecr.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: { rules: [{ destinations: [{ region: 'eu-west-1', registryId: '000000000000' }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'bench/' }] }] },
      }),
    );
    const layerBytes = Math.floor((MIB * 1024 * 1024) / LAYERS);
    console.log(`replicating a ${MIB} MiB image of ${LAYERS} layers to a peer on loopback, ${RUNS} run(s), median reported`);
    const skopeoTimes = [];
    const berthTimes = [];
    let last;
    for (let run = 0; run < RUNS; run++) {
      const img = image(Array.from({ length: LAYERS }, () => crypto.randomBytes(layerBytes)));
      await pushImage(east.port, eastKey, `stage/img${run}`, 'v1', img);
      const body = await pushImage(east.port, eastKey, `bench/img${run}`, 'v1', img, { manifest: false });
      // Asynchronous: the relay that counts the bytes runs in this process.
      const doSkopeo = async () => {
        const t0 = performance.now();
        const child = spawn(
          'skopeo',
          [
            'copy', '--src-tls-verify=false', '--dest-tls-verify=false',
            '--src-creds', `${eastKey.accessKeyId}:${eastKey.secretAccessKey}`, '--dest-creds', `${westKey.accessKeyId}:${westKey.secretAccessKey}`,
            `docker://127.0.0.1:${east.port}/stage/img${run}:v1`, `docker://127.0.0.1:${proxy.port}/direct/img${run}:v1`,
          ],
          { env: { ...process.env, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') }, stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const code = await new Promise((r) => child.once('close', r));
        if (code !== 0) throw new BenchError(`skopeo copy failed: ${stderr}`);
        skopeoTimes.push((performance.now() - t0) / 1000);
      };
      const doBerth = async () => {
        const t0 = performance.now();
        await putManifest(east.port, eastKey, `bench/img${run}`, 'v1', body);
        await waitForTag(west.port, westKey, `bench/img${run}`, 'v1');
        berthTimes.push((performance.now() - t0) / 1000);
      };
      fs.writeFileSync(path.join(work, 'auth.json'), '{}');
      if (run % 2 === 0) {
        await doSkopeo();
        await doBerth();
      } else {
        await doBerth();
        await doSkopeo();
      }
      if (VERBOSE) console.log(`run ${run + 1}: skopeo ${fmt(skopeoTimes.at(-1))} s, berth ${fmt(berthTimes.at(-1))} s`);
      last = { run, img };
    }

    // The destination already holds all but two layers: only those (and the config, manifest) cross.
    const fresh = [crypto.randomBytes(layerBytes), crypto.randomBytes(layerBytes)];
    const img2 = image([...last.img.layers.slice(0, LAYERS - 2), ...fresh]);
    const repo = `bench/img${last.run}`;
    const body2 = await pushImage(east.port, eastKey, repo, 'v2', img2, { manifest: false });
    const before = proxy.sent();
    const t0 = performance.now();
    await putManifest(east.port, eastKey, repo, 'v2', body2);
    await waitForTag(west.port, westKey, repo, 'v2');
    const incrementalSeconds = (performance.now() - t0) / 1000;
    const sentBytes = proxy.sent() - before;
    const newBytes = fresh.reduce((s, b) => s + b.length, 0) + img2.config.length + body2.length;
    const imageBytes = img2.layers.reduce((s, b) => s + b.length, 0) + img2.config.length + body2.length;

    const s = median(skopeoTimes);
    const b = median(berthTimes);
    const mib = (LAYERS * layerBytes) / 1048576;
    console.log('');
    console.log('| measure | skopeo copy (direct) | berth replication | ratio berth/skopeo | target |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| ${fmt(mib, 0)} MiB, ${LAYERS} layers, push to visible at peer | ${fmt(s)} s (${fmt(mib / s, 0)} MiB/s) | ${fmt(b)} s (${fmt(mib / b, 0)} MiB/s) | ${fmt(b / s)}x | <= ${TARGET_RATIO}x ${b / s <= TARGET_RATIO ? 'met' : 'NOT met'} |`);
    console.log('');
    console.log('| incremental replication (destination has all but 2 layers) | value |');
    console.log('| --- | --- |');
    console.log(`| image size | ${fmt(imageBytes / 1048576, 1)} MiB |`);
    console.log(`| bytes not yet at the destination (2 layers, config, manifest) | ${fmt(newBytes / 1048576, 1)} MiB |`);
    console.log(`| bytes sent to the peer (all HTTP traffic, headers included) | ${fmt(sentBytes / 1048576, 1)} MiB (${fmt((100 * sentBytes) / imageBytes, 1)}% of the image) |`);
    console.log(`| time | ${fmt(incrementalSeconds)} s |`);
    console.log(`\nruns: skopeo ${skopeoTimes.map((t) => fmt(t)).join(', ')} s; berth ${berthTimes.map((t) => fmt(t)).join(', ')} s`);
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err instanceof BenchError ? `bench/replication.js: ${err.message}` : err);
  process.exit(1);
});
