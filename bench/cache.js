// Pull-through cache benchmark: the first pull of a 200 MiB image through berth's cache against a
// direct pull from the upstream (target: within 1.3x), and a pull of the cached image against a
// pull of an image pushed to the same berth (target: within 1.1x).
//
//   npm run build && node bench/cache.js [--runs N] [--mib 200] [--layers 8] [--verbose]
//
// Two `berth serve` processes on loopback with their own temp data folders: the upstream, and the
// cache (BERTH_ALLOW_HTTP_UPSTREAMS=true) with a pull-through cache rule `hub` -> upstream whose
// credentials are a Secrets Manager secret. Every run pushes a fresh random image (untimed) to the
// upstream as `base/imgN:v1` and to the cache as `pushed/imgN:v1`, then times, in this order:
//   - direct: pull `base/imgN:v1` from the upstream;
//   - first:  pull `hub/base/imgN:v1` from the cache (manifest fetched, every layer streamed
//             from the upstream while it is stored);
//   - cached: the same pull again (served from the cache, the upstream untouched);
//   - pushed: pull `pushed/imgN:v1` from the cache.
// A pull is what a client does: GET the manifest, then GET every blob with 3 in parallel (docker's
// default), reading every byte (discarded). A small image warms every path first (untimed); the
// cached and pushed pulls alternate in order from run to run. Medians of the runs are reported.
import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ECRClient, CreatePullThroughCacheRuleCommand } from '@aws-sdk/client-ecr';
import { SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
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
const FIRST_TARGET = 1.3;
const CACHED_TARGET = 1.1;
const PARALLEL = 3;

class BenchError extends Error {}

function key() {
  const up = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = 'AKIA' + Array.from(crypto.randomBytes(16), (b) => up[b % up.length]).join('');
  return { accessKeyId: id, secretAccessKey: crypto.randomBytes(30).toString('base64url').slice(0, 40) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function request(port, auth, method, target, { headers = {}, body = null } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, agent, headers: { authorization: auth, 'content-length': String(body ? body.length : 0), ...headers } });
    req.on('response', (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (res.statusCode >= 300 || target.includes('/manifests/')) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), size }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

const basic = (k) => `Basic ${Buffer.from(`${k.accessKeyId}:${k.secretAccessKey}`).toString('base64')}`;
const sha = (b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

async function pushImage(port, auth, repo, image) {
  for (const blob of [image.config, ...image.layers]) {
    const res = await request(port, auth, 'POST', `/v2/${repo}/blobs/uploads/?digest=${sha(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
    if (res.status !== 201) throw new BenchError(`push blob to ${repo}: ${res.status} ${res.body}`);
  }
  const res = await request(port, auth, 'PUT', `/v2/${repo}/manifests/v1`, { body: image.manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status !== 201) throw new BenchError(`push manifest to ${repo}: ${res.status} ${res.body}`);
}

function makeImage(layerBytes) {
  const layers = Array.from({ length: LAYERS }, () => crypto.randomBytes(layerBytes));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: crypto.randomBytes(8).toString('hex') }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
    }),
  );
  return { layers, config, manifest };
}

/** A client's pull: the manifest, then every blob, PARALLEL at a time; returns seconds. */
async function pull(port, auth, repo) {
  const t0 = performance.now();
  const m = await request(port, auth, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (m.status !== 200) throw new BenchError(`pull ${repo}: manifest ${m.status} ${m.body}`);
  const doc = JSON.parse(m.body.toString());
  const queue = [doc.config, ...doc.layers];
  let bytes = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const res = await request(port, auth, 'GET', `/v2/${repo}/blobs/${d.digest}`);
        if (res.status !== 200 || res.size !== d.size) throw new BenchError(`pull ${repo}: blob ${d.digest} ${res.status}, ${res.size} of ${d.size} bytes`);
        bytes += res.size;
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 2) => n.toFixed(d);

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-cache-'));
  const upKey = key();
  const cacheKey = key();
  const children = [];
  const cleanup = async () => {
    for (const c of children) await stopChild(c.proc);
    fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    const common = { BERTH_LOG_LEVEL: 'warn', BERTH_LIMITS_RATE_LIMITING: 'false', BERTH_GC_INTERVAL: '0', BERTH_CREATE_ON_PUSH: 'true' };
    const upstream = await spawnBerth({
      root: ROOT,
      verbose: VERBOSE,
      ErrorClass: BenchError,
      settings: { ...common, BERTH_DATA_DIR: path.join(work, 'upstream'), BERTH_ROOT_ACCESS_KEY_ID: upKey.accessKeyId, BERTH_ROOT_SECRET_ACCESS_KEY: upKey.secretAccessKey },
    });
    children.push(upstream);
    const cache = await spawnBerth({
      root: ROOT,
      verbose: VERBOSE,
      ErrorClass: BenchError,
      settings: {
        ...common,
        BERTH_DATA_DIR: path.join(work, 'cache'),
        BERTH_ROOT_ACCESS_KEY_ID: cacheKey.accessKeyId,
        BERTH_ROOT_SECRET_ACCESS_KEY: cacheKey.secretAccessKey,
        BERTH_ALLOW_HTTP_UPSTREAMS: 'true',
      },
    });
    children.push(cache);
    const endpoint = `http://127.0.0.1:${cache.port}`;
    const sm = new SecretsManagerClient({ endpoint, region: 'us-east-1', credentials: cacheKey, maxAttempts: 1 });
    const secret = await sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/bench', SecretString: JSON.stringify({ username: upKey.accessKeyId, accessToken: upKey.secretAccessKey }) }));
    const ecr = new ECRClient({ endpoint, region: 'us-east-1', credentials: cacheKey, maxAttempts: 1 });
    await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: `http://127.0.0.1:${upstream.port}`, credentialArn: secret.ARN }));

    const layerBytes = Math.floor((MIB * 1048576) / LAYERS);
    // Warm both servers (JIT, connections) with a small image through every path, untimed.
    const warm = makeImage(64 * 1024);
    await pushImage(upstream.port, basic(upKey), 'base/warm', warm);
    await pushImage(cache.port, basic(cacheKey), 'pushed/warm', warm);
    await pull(upstream.port, basic(upKey), 'base/warm');
    await pull(cache.port, basic(cacheKey), 'hub/base/warm');
    await pull(cache.port, basic(cacheKey), 'hub/base/warm');
    await pull(cache.port, basic(cacheKey), 'pushed/warm');
    const times = { direct: [], first: [], cached: [], pushed: [] };
    for (let run = 0; run < RUNS; run++) {
      const image = makeImage(layerBytes);
      await pushImage(upstream.port, basic(upKey), `base/img${run}`, image);
      await pushImage(cache.port, basic(cacheKey), `pushed/img${run}`, image);
      times.direct.push((await pull(upstream.port, basic(upKey), `base/img${run}`)).seconds);
      times.first.push((await pull(cache.port, basic(cacheKey), `hub/base/img${run}`)).seconds);
      // Alternate which of the two goes first, so neither always gets the warmer page cache.
      if (run % 2 === 0) {
        times.cached.push((await pull(cache.port, basic(cacheKey), `hub/base/img${run}`)).seconds);
        times.pushed.push((await pull(cache.port, basic(cacheKey), `pushed/img${run}`)).seconds);
      } else {
        times.pushed.push((await pull(cache.port, basic(cacheKey), `pushed/img${run}`)).seconds);
        times.cached.push((await pull(cache.port, basic(cacheKey), `hub/base/img${run}`)).seconds);
      }
      if (VERBOSE) console.log(`run ${run + 1}: direct ${fmt(times.direct.at(-1))} s, first ${fmt(times.first.at(-1))} s, cached ${fmt(times.cached.at(-1))} s, pushed ${fmt(times.pushed.at(-1))} s`);
    }
    const mib = (LAYERS * layerBytes) / 1048576;
    const d = median(times.direct);
    const f = median(times.first);
    const c = median(times.cached);
    const p = median(times.pushed);
    console.log('');
    console.log(`| measure (${fmt(mib, 0)} MiB, ${LAYERS} layers, ${PARALLEL} parallel blob GETs) | baseline | berth cache | ratio | target |`);
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| first pull through the cache vs direct pull from the upstream | ${fmt(d)} s (${fmt(mib / d, 0)} MiB/s) | ${fmt(f)} s (${fmt(mib / f, 0)} MiB/s) | ${fmt(f / d)}x | <= ${FIRST_TARGET}x ${f / d <= FIRST_TARGET ? 'met' : 'NOT met'} |`);
    console.log(`| cached pull vs pull of a pushed image (same berth) | ${fmt(p)} s (${fmt(mib / p, 0)} MiB/s) | ${fmt(c)} s (${fmt(mib / c, 0)} MiB/s) | ${fmt(c / p)}x | <= ${CACHED_TARGET}x ${c / p <= CACHED_TARGET ? 'met' : 'NOT met'} |`);
    console.log(`\nruns (s): direct ${times.direct.map((t) => fmt(t)).join(', ')}; first ${times.first.map((t) => fmt(t)).join(', ')}; cached ${times.cached.map((t) => fmt(t)).join(', ')}; pushed ${times.pushed.map((t) => fmt(t)).join(', ')}`);
  } finally {
    agent.destroy();
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err instanceof BenchError ? `bench/cache.js: ${err.message}` : err);
  process.exit(1);
});
