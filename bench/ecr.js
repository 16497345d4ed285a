// ECR JSON API benchmark, berth only (CNCF Distribution has no ECR API). bench/run.js runs it after
// its own measurements; `node bench/run.js --ecr-only` runs only this part, and so does
// `node bench/ecr.js`. Needs `npm run build` (it starts bin/berth.js and imports dist/iam/sigv4.js)
// and the devDependency @aws-sdk/client-ecr. See bench/README.md.
//
//   1. CreateRepository, then 10,000 images in it: one config blob and one layer blob pushed once,
//      then 10,000 OCI manifests that differ by one annotation, PUT through the OCI door
//      (/v2/<repo>/manifests/t<i>, HTTP Basic with the root key) on 16 keep-alive connections.
//   2. DescribeImages with maxResults 100, paged through all 10,000 images with nextToken: time per
//      page; the pages must hold the 10,000 pushed digests, each once, with its tag. Then the same
//      walk without the SDK (berth's signRequest + node:http), to show the SDK's share.
//   3. DescribeImages (first page, maxResults 100) req/s, 8 concurrent loops for 5 s.
//   4. GetAuthorizationToken req/s, 8 concurrent loops for 5 s.
//   5. SigV4 verification cost, in-process: parseAuthorization + verifySignature of a signed
//      DescribeImages request, 20,000 times (best of 3 rounds), with the derived signing key cached
//      (warm) and not (cold).
//
// The client is the AWS SDK for JavaScript v3 in this process; its own CPU time (signing, JSON) is
// part of every latency and req/s figure, so the report shows the client's and the server's CPU use.

import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loopbackRequest, spawnBerth, stopChild } from './berth-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REGION = 'us-east-1';
const REPO = 'bench/ecr';
const IMAGES = 10_000;
const PUSH_CONCURRENCY = 16;
const PAGE_SIZE = 100;
const RPS_CONCURRENCY = 8;
const RPS_SECONDS = 5;
const SIGV4_ITERATIONS = 20_000;
const SIGV4_ROUNDS = 3;
const TARGET_PAGE_MS = 10;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ACCESS_KEY_ID = 'AKIABENCHECRBENCHECR';
const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

export class EcrBenchError extends Error {}

// ---------------------------------------------------------------------------------------------
// small helpers

function randomAlnum(n) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < n) {
    for (const b of crypto.randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += alphabet[b % 62]; // 248 = 4*62: no modulo bias
    }
  }
  return out;
}

const sha256 = (buf) => `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] };
}

let clockTicks = 0;
/** CPU seconds (user + system) the process `pid` has used so far, from /proc/<pid>/stat. */
function procCpuSeconds(pid) {
  if (!clockTicks) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout) > 0 ? Number(r.stdout) : 100;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime (14), stime (15)
}

/** CPU use of this process and of the server between start() and stop(), as % of one core. */
function cpuMeter(serverPid) {
  const c0 = process.cpuUsage();
  const s0 = procCpuSeconds(serverPid);
  const t0 = performance.now();
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return {
      client: ((c.user + c.system) / 1e6 / secs) * 100,
      server: ((procCpuSeconds(serverPid) - s0) / secs) * 100,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// the server

/** Starts `node bin/berth.js serve` on a free loopback port with a temp data dir and a fresh root key. */
async function startBerth(tmp, verbose) {
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomAlnum(40);
  const started = await spawnBerth({
    root: ROOT,
    verbose,
    ErrorClass: EcrBenchError,
    settings: {
      BERTH_LISTEN: '127.0.0.1:0', // the port berth prints is read back
      BERTH_DATA_DIR: dataDir,
      BERTH_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
      BERTH_ROOT_SECRET_ACCESS_KEY: secret,
      BERTH_CREATE_ON_PUSH: 'false', // as ECR: the repository is created with CreateRepository
      BERTH_LOG_LEVEL: 'warn',
      BERTH_LIMITS_RATE_LIMITING: 'false', // ECR's quotas (PutImage 10/s) would throttle the 10,000 pushes
    },
  });
  const { proc, port } = started;
  return {
    proc,
    pid: proc.pid,
    port,
    base: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: secret },
    authHeader: `Basic ${Buffer.from(`${ACCESS_KEY_ID}:${secret}`).toString('base64')}`,
    output: started.output,
    linesSinceStart: started.linesSinceStart,
    alive: started.alive,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP on the OCI door

/** One request with a Buffer body (or none) on `agent`; resolves with status, headers and body. */
function request(server, agent, method, target, opts = {}) {
  return loopbackRequest(server, agent, server.authHeader, method, target, { ...opts, ErrorClass: EcrBenchError });
}

/** POST / on the ECR door with the given (already signed) headers; resolves with status and body. */
function rawRequest(server, agent, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/', agent, headers: { ...headers, 'content-length': String(body.length) } });
    req.setTimeout(120000, () => req.destroy(new Error('no activity for 120 s')));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(new EcrBenchError(`POST / (raw DescribeImages): ${err.message}`)));
    req.end(body);
  });
}

function expectStatus(r, status, what) {
  if (r.status !== status) {
    let text = r.body.toString('utf8');
    if (text.length > 2000) text = `${text.slice(0, 2000)}...`;
    throw new EcrBenchError(`${what}: ${r.method} ${r.path} expected ${status}, got ${r.status}${text ? `, body: ${text}` : ''}`);
  }
}

async function pushBlob(server, agent, repo, blob) {
  const digest = sha256(blob);
  const start = await request(server, agent, 'POST', `/v2/${repo}/blobs/uploads/`);
  expectStatus(start, 202, 'start blob upload');
  const loc = start.headers.location;
  if (!loc) throw new EcrBenchError('start blob upload: 202 without Location');
  const put = await request(server, agent, 'PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: blob,
  });
  expectStatus(put, 201, 'blob upload PUT');
  return digest;
}

// ---------------------------------------------------------------------------------------------
// measurements

/** Runs `concurrency` loops calling `fn` until `seconds` have passed; returns req/s and latencies. */
async function closedLoop(concurrency, seconds, fn) {
  const latencies = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const loops = Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await fn();
      latencies.push(performance.now() - s);
    }
  });
  await Promise.all(loops);
  const secs = (performance.now() - t0) / 1000;
  return { requests: latencies.length, secs, rps: latencies.length / secs, latency: stats(latencies) };
}

async function loadSdk() {
  try {
    return await import('@aws-sdk/client-ecr');
  } catch (err) {
    throw new EcrBenchError(`cannot load @aws-sdk/client-ecr (a devDependency: run \`npm install\`): ${err.message}`);
  }
}

async function loadSigv4() {
  const file = path.join(ROOT, 'dist', 'iam', 'sigv4.js');
  if (!fs.existsSync(file)) throw new EcrBenchError('dist/iam/sigv4.js is missing: run `npm run build` first');
  const m = await import(pathToFileURL(file).href);
  for (const name of ['signRequest', 'parseAuthorization', 'verifySignature']) {
    if (typeof m[name] !== 'function') throw new EcrBenchError(`dist/iam/sigv4.js does not export ${name}()`);
  }
  return m;
}

/** An SDK error, or any error, as one line with the AWS error name and HTTP status when there is one. */
function sdkError(err, what) {
  const status = err?.$metadata?.httpStatusCode;
  return new EcrBenchError(`${what}: ${err?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${err?.message ?? err}`);
}

/**
 * 5. SigV4: a DescribeImages request signed as the SDK signs it (same signed headers), then
 * parseAuthorization + verifySignature as berth's ECR door calls them. Warm: the same request
 * over and over, so the derived signing key comes from sigv4.js's cache. Cold: every request signed
 * with another secret, verified in signing order; the cache holds 1,024 keys (least recently used
 * evicted) and 20,000 were derived since each was last used, so every verification derives its key.
 */
async function measureSigv4(log, host) {
  const sig = await loadSigv4();
  const body = Buffer.from(JSON.stringify({
    repositoryName: REPO,
    maxResults: PAGE_SIZE,
    nextToken: crypto.randomBytes(96).toString('base64url'), // an opaque token of a realistic length
  }));
  const baseHeaders = {
    host,
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(body.length),
    'x-amz-target': `${TARGET_PREFIX}DescribeImages`,
    'x-amz-user-agent': 'aws-sdk-js/3.1169.0',
    'amz-sdk-invocation-id': crypto.randomUUID(),
    'amz-sdk-request': 'attempt=1; max=1',
  };
  const now = new Date();
  const opts = { now, expectedRegion: REGION, expectedServices: ['ecr'], requireSignedHeaders: ['x-amz-target'] };
  const make = (credentials) => {
    const signed = sig.signRequest({ method: 'POST', path: '/', headers: baseHeaders, body, credentials, region: REGION, service: 'ecr', date: now });
    const headers = {};
    // As berth's door passes them: Node's req.headersDistinct, every value an array.
    for (const [k, v] of Object.entries({ ...baseHeaders, ...signed.headers, 'user-agent': 'aws-sdk-js/3.1169.0 bench' })) headers[k.toLowerCase()] = [v];
    return { method: 'POST', path: '/', query: '', headers, body };
  };
  const verify = (req, secret) => sig.verifySignature(req, sig.parseAuthorization(req), secret, opts);

  const secret = randomAlnum(40);
  const req = make({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: secret });
  verify(req, secret); // throws if the harness builds the request wrongly
  let refused = false;
  try {
    verify(req, `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`);
  } catch {
    refused = true;
  }
  if (!refused) throw new EcrBenchError('sigv4: verifySignature accepted a wrong secret; the timing would be meaningless');
  const signedHeaders = sig.parseAuthorization(req).signedHeaders.join(';');

  // Each figure is the best of SIGV4_ROUNDS rounds of SIGV4_ITERATIONS calls: on a shared host the
  // least disturbed round is the closest to the code's own cost.
  const rounds = (fn) => {
    const us = [];
    for (let r = 0; r < SIGV4_ROUNDS; r++) {
      const t0 = performance.now();
      fn();
      us.push(((performance.now() - t0) * 1000) / SIGV4_ITERATIONS);
    }
    return { best: Math.min(...us), all: us };
  };
  const show = (x) => `${x.best.toFixed(1)} µs each (best of ${x.all.map((u) => u.toFixed(1)).join(', ')})`;

  process.stdout.write(`SigV4 verification, warm signing-key cache: ${SIGV4_ROUNDS} x ${SIGV4_ITERATIONS} parseAuthorization + verifySignature ... `);
  for (let i = 0; i < 2000; i++) verify(req, secret); // JIT warm-up
  const warm = rounds(() => {
    for (let i = 0; i < SIGV4_ITERATIONS; i++) verify(req, secret);
  });
  log(show(warm));

  process.stdout.write(`SigV4 verification, cold signing-key cache: signing ${SIGV4_ITERATIONS} requests with distinct secrets ... `);
  const secrets = Array.from({ length: SIGV4_ITERATIONS }, () => randomAlnum(40));
  const reqs = secrets.map((s) => make({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: s }));
  process.stdout.write('verifying ... ');
  // Each round starts again from the first request, whose key the previous round evicted long ago.
  const cold = rounds(() => {
    for (let i = 0; i < SIGV4_ITERATIONS; i++) verify(reqs[i], secrets[i]);
  });
  log(show(cold));
  return { warmUs: warm.best, coldUs: cold.best, bodyBytes: body.length, signedHeaders };
}

// ---------------------------------------------------------------------------------------------
// main

/**
 * Runs the ECR measurements against a berth of its own and prints a report. Resolves with the
 * results; rejects with EcrBenchError (or another error) when a measurement fails.
 */
export async function runEcrBench({ verbose = false } = {}) {
  const log = (...a) => console.log(...a);
  const progress = (text) => process.stdout.write(`${text} ... `);
  // The SDK's notice that its 2027 releases will need Node 22 would land in the middle of a progress line.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { ECRClient, CreateRepositoryCommand, DescribeImagesCommand, GetAuthorizationTokenCommand } = await loadSdk();
  const sdkVersion = (() => {
    try {
      return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', '@aws-sdk', 'client-ecr', 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  })();

  log('');
  log(`ECR API benchmark (berth only): ${IMAGES} images, DescribeImages pages of ${PAGE_SIZE}, @aws-sdk/client-ecr ${sdkVersion}`);
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  log(`host: ${os.cpus().length} x ${cpu}, node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ecr-'));
  let server = null;
  const ociAgent = new http.Agent({ keepAlive: true, maxSockets: PUSH_CONCURRENCY });
  const sdkAgent = new http.Agent({ keepAlive: true, maxSockets: PUSH_CONCURRENCY });
  const onExit = () => {
    if (server) server.proc.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const results = {};
  let ecr = null;
  try {
    progress('starting berth');
    server = await startBerth(tmp, verbose);
    log(`listening on ${server.base} (pid ${server.pid})`);
    ecr = new ECRClient({
      endpoint: server.base,
      region: REGION,
      credentials: server.credentials,
      maxAttempts: 1,
      requestHandler: { httpAgent: sdkAgent },
    });
    const send = async (command, what) => {
      try {
        return await ecr.send(command);
      } catch (err) {
        throw sdkError(err, what);
      }
    };

    // 1. the repository and 10,000 images
    progress(`CreateRepository ${REPO}`);
    const created = await send(new CreateRepositoryCommand({ repositoryName: REPO }), 'CreateRepository');
    log(created.repository?.repositoryUri ?? '(no repositoryUri)');

    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = crypto.randomBytes(8192);
    progress('pushing one config blob and one layer blob');
    const configDigest = await pushBlob(server, ociAgent, REPO, config);
    const layerDigest = await pushBlob(server, ociAgent, REPO, layer);
    log('done');

    log(`pushing ${IMAGES} manifests (PUT /v2/${REPO}/manifests/t<i>, ${PUSH_CONCURRENCY} keep-alive connections, Basic auth)`);
    const pushed = new Map(); // digest -> tag
    let next = 0;
    let done = 0;
    const pushT0 = performance.now();
    let lastT = pushT0;
    const pushCpu = cpuMeter(server.pid);
    const pushLoops = Array.from({ length: PUSH_CONCURRENCY }, async () => {
      while (next < IMAGES) {
        const i = next++;
        const tag = `t${i}`;
        const manifest = Buffer.from(JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
          layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
          annotations: { 'org.example.berth.bench.index': String(i) },
        }));
        const digest = sha256(manifest);
        const r = await request(server, ociAgent, 'PUT', `/v2/${REPO}/manifests/${tag}`, { headers: { 'content-type': OCI_MANIFEST }, body: manifest });
        expectStatus(r, 201, `manifest PUT ${tag}`);
        const got = r.headers['docker-content-digest'];
        if (got !== undefined && got !== digest) throw new EcrBenchError(`manifest PUT ${tag}: Docker-Content-Digest ${got}, expected ${digest}`);
        pushed.set(digest, tag);
        done++;
        if (done % 1000 === 0) {
          const t = performance.now();
          log(`  ${String(done).padStart(5)}/${IMAGES}  ${(1000 / ((t - lastT) / 1000)).toFixed(0)} manifests/s over the last 1000`);
          lastT = t;
        }
      }
    });
    await Promise.all(pushLoops);
    const pushSecs = (performance.now() - pushT0) / 1000;
    const pushUse = pushCpu();
    if (pushed.size !== IMAGES) throw new EcrBenchError(`pushed ${pushed.size} distinct manifests, expected ${IMAGES}`);
    results.push = { secs: pushSecs, rate: IMAGES / pushSecs, cpu: pushUse };
    log(`pushed ${IMAGES} manifests in ${pushSecs.toFixed(1)} s (${results.push.rate.toFixed(0)}/s; CPU: client ${pushUse.client.toFixed(0)}%, server ${pushUse.server.toFixed(0)}% of a core)`);

    // 2. DescribeImages, paged through the whole repository
    progress('DescribeImages warm-up (3 pages, untimed)');
    {
      let token;
      for (let i = 0; i < 3; i++) {
        const out = await send(new DescribeImagesCommand({ repositoryName: REPO, maxResults: PAGE_SIZE, nextToken: token }), 'DescribeImages (warm-up)');
        token = out.nextToken;
        if (!token) break;
      }
    }
    log('done');
    progress(`DescribeImages maxResults ${PAGE_SIZE}, every page with nextToken`);
    const pageMs = [];
    const seen = new Set();
    const sizes = new Map(); // imageSizeInBytes -> count
    let items = 0;
    let token;
    const walkCpu = cpuMeter(server.pid);
    do {
      const t0 = performance.now();
      const out = await send(new DescribeImagesCommand({ repositoryName: REPO, maxResults: PAGE_SIZE, nextToken: token }), `DescribeImages page ${pageMs.length + 1}`);
      pageMs.push(performance.now() - t0);
      const details = out.imageDetails ?? [];
      if (details.length > PAGE_SIZE) throw new EcrBenchError(`DescribeImages page ${pageMs.length}: ${details.length} images, more than maxResults ${PAGE_SIZE}`);
      for (const d of details) {
        items++;
        const tag = pushed.get(d.imageDigest);
        if (tag === undefined) throw new EcrBenchError(`DescribeImages page ${pageMs.length}: digest ${d.imageDigest} was never pushed`);
        if (seen.has(d.imageDigest)) throw new EcrBenchError(`DescribeImages page ${pageMs.length}: digest ${d.imageDigest} (${tag}) listed twice`);
        seen.add(d.imageDigest);
        if (JSON.stringify(d.imageTags ?? []) !== JSON.stringify([tag])) {
          throw new EcrBenchError(`DescribeImages page ${pageMs.length}: ${d.imageDigest} has tags ${JSON.stringify(d.imageTags)}, expected ["${tag}"]`);
        }
        sizes.set(d.imageSizeInBytes, (sizes.get(d.imageSizeInBytes) || 0) + 1);
      }
      token = out.nextToken;
      if (pageMs.length > IMAGES / PAGE_SIZE + 5) throw new EcrBenchError(`DescribeImages: more than ${IMAGES / PAGE_SIZE + 5} pages for ${IMAGES} images`);
    } while (token);
    const walkUse = walkCpu();
    if (seen.size !== IMAGES) throw new EcrBenchError(`DescribeImages pages held ${seen.size} distinct digests (${items} entries), expected ${IMAGES}`);
    results.pages = { ...stats(pageMs), count: pageMs.length, cpu: walkUse };
    log(`${pageMs.length} pages, ${seen.size} distinct digests, each with its tag; ` +
      `mean ${results.pages.mean.toFixed(2)} ms, p50 ${results.pages.p50.toFixed(2)}, p95 ${results.pages.p95.toFixed(2)}, max ${results.pages.max.toFixed(2)}`);
    const sizeText = [...sizes].map(([s, n]) => `${s} (${n} images)`).join(', ');
    log(`  imageSizeInBytes reported: ${sizeText}; layer ${layer.length} bytes, config ${config.length} bytes`);

    // 2b. The same walk without the SDK, to tell the server's share from the client's: each request
    // signed with berth's own signRequest and sent on a keep-alive socket, the JSON parsed and counted.
    progress(`DescribeImages maxResults ${PAGE_SIZE}, every page, raw HTTP (no SDK)`);
    const { signRequest } = await loadSigv4();
    const rawAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const rawPage = async (nextToken) => {
        const body = Buffer.from(JSON.stringify({ repositoryName: REPO, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) }));
        const headers = { host: server.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${TARGET_PREFIX}DescribeImages` };
        const signed = signRequest({ method: 'POST', path: '/', headers, body, credentials: server.credentials, region: REGION, service: 'ecr', date: new Date() });
        const r = await rawRequest(server, rawAgent, { ...headers, ...signed.headers }, body);
        if (r.status !== 200) throw new EcrBenchError(`DescribeImages (raw HTTP): status ${r.status}, body: ${r.body.toString('utf8').slice(0, 2000)}`);
        return JSON.parse(r.body.toString('utf8'));
      };
      for (let i = 0, t; i < 3; i++) t = (await rawPage(t)).nextToken; // warm-up
      const rawMs = [];
      let rawItems = 0;
      let rawToken;
      do {
        const t0 = performance.now();
        const out = await rawPage(rawToken);
        rawMs.push(performance.now() - t0);
        rawItems += (out.imageDetails ?? []).length;
        rawToken = out.nextToken;
        if (rawMs.length > IMAGES / PAGE_SIZE + 5) throw new EcrBenchError('DescribeImages (raw HTTP): too many pages');
      } while (rawToken);
      if (rawItems !== IMAGES) throw new EcrBenchError(`DescribeImages (raw HTTP): ${rawItems} images over ${rawMs.length} pages, expected ${IMAGES}`);
      results.rawPages = { ...stats(rawMs), count: rawMs.length };
      log(`${rawMs.length} pages, ${rawItems} images; mean ${results.rawPages.mean.toFixed(2)} ms, p50 ${results.rawPages.p50.toFixed(2)}, ` +
        `p95 ${results.rawPages.p95.toFixed(2)}, max ${results.rawPages.max.toFixed(2)}`);
    } finally {
      rawAgent.destroy();
    }

    // 3. DescribeImages req/s
    progress(`DescribeImages req/s (first page, maxResults ${PAGE_SIZE}, ${RPS_CONCURRENCY} loops, ${RPS_SECONDS} s)`);
    let meter = cpuMeter(server.pid);
    const describeCmd = () => new DescribeImagesCommand({ repositoryName: REPO, maxResults: PAGE_SIZE });
    results.describeRps = await closedLoop(RPS_CONCURRENCY, RPS_SECONDS, async () => {
      const out = await send(describeCmd(), 'DescribeImages (req/s)');
      if ((out.imageDetails ?? []).length !== PAGE_SIZE) throw new EcrBenchError(`DescribeImages (req/s): ${(out.imageDetails ?? []).length} images on the first page, expected ${PAGE_SIZE}`);
    });
    results.describeRps.cpu = meter();
    log(`${results.describeRps.rps.toFixed(0)} req/s (${results.describeRps.requests} requests, latency mean ${results.describeRps.latency.mean.toFixed(2)} ms, ` +
      `p95 ${results.describeRps.latency.p95.toFixed(2)} ms; CPU: client ${results.describeRps.cpu.client.toFixed(0)}%, server ${results.describeRps.cpu.server.toFixed(0)}%)`);

    // 4. GetAuthorizationToken req/s
    progress(`GetAuthorizationToken req/s (${RPS_CONCURRENCY} loops, ${RPS_SECONDS} s)`);
    const first = await send(new GetAuthorizationTokenCommand({}), 'GetAuthorizationToken');
    const decoded = Buffer.from(first.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString();
    if (!decoded.startsWith('AWS:') || decoded.length < 10) throw new EcrBenchError(`GetAuthorizationToken: token does not decode to AWS:<password>: ${JSON.stringify(first)}`);
    meter = cpuMeter(server.pid);
    results.tokenRps = await closedLoop(RPS_CONCURRENCY, RPS_SECONDS, async () => {
      const out = await send(new GetAuthorizationTokenCommand({}), 'GetAuthorizationToken (req/s)');
      if (!out.authorizationData?.[0]?.authorizationToken) throw new EcrBenchError('GetAuthorizationToken (req/s): no authorizationToken');
    });
    results.tokenRps.cpu = meter();
    log(`${results.tokenRps.rps.toFixed(0)} req/s (${results.tokenRps.requests} requests, latency mean ${results.tokenRps.latency.mean.toFixed(2)} ms, ` +
      `p95 ${results.tokenRps.latency.p95.toFixed(2)} ms; CPU: client ${results.tokenRps.cpu.client.toFixed(0)}%, server ${results.tokenRps.cpu.server.toFixed(0)}%)`);

    // 5. SigV4 verification, in this process
    results.sigv4 = await measureSigv4(log, server.host);

    if (!server.alive()) throw new EcrBenchError(`berth exited during the run; output:\n${server.output()}`);
    if (server.linesSinceStart() > 0) {
      log(`\nnote: berth printed ${server.linesSinceStart()} line(s) during the run; the last of them:`);
      log(server.output().split('\n').slice(-11).join('\n'));
    }
    printReport(results, log);
    return results;
  } catch (err) {
    if (server && server.output().trim()) console.error(`\n--- last output of berth ---\n${server.output().split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    ecr?.destroy();
    ociAgent.destroy();
    sdkAgent.destroy();
    if (server) await stopChild(server.proc);
    server = null;
    fs.rmSync(tmp, { recursive: true, force: true });
    process.off('exit', onExit);
  }
}

function printReport(r, log) {
  const pad = (s, n) => String(s).padEnd(n);
  const ms = (v) => `${v.toFixed(2)} ms`;
  const cpu = (c) => `client ${c.client.toFixed(0)}%, server ${c.server.toFixed(0)}%`;
  const rows = [
    [`push ${IMAGES} manifests, OCI door (c=${PUSH_CONCURRENCY})`, `${r.push.rate.toFixed(0)}/s`, `${r.push.secs.toFixed(1)} s; CPU ${cpu(r.push.cpu)}`],
    [`DescribeImages page of ${PAGE_SIZE}: mean`, ms(r.pages.mean), `${r.pages.count} pages, sequential; CPU ${cpu(r.pages.cpu)}`],
    ['DescribeImages page: p50', ms(r.pages.p50), ''],
    ['DescribeImages page: p95', ms(r.pages.p95), ''],
    ['DescribeImages page: max', ms(r.pages.max), ''],
    ['  (same pages, raw HTTP: mean)', ms(r.rawPages.mean), `no SDK: signRequest + http + JSON.parse; ${r.rawPages.count} pages`],
    ['  (same pages, raw HTTP: p95 / max)', ms(r.rawPages.p95), `max ${ms(r.rawPages.max)}`],
    [`DescribeImages req/s (c=${RPS_CONCURRENCY}, ${RPS_SECONDS} s)`, r.describeRps.rps.toFixed(0), `first page of ${PAGE_SIZE}; p95 ${ms(r.describeRps.latency.p95)}; CPU ${cpu(r.describeRps.cpu)}`],
    [`GetAuthorizationToken req/s (c=${RPS_CONCURRENCY}, ${RPS_SECONDS} s)`, r.tokenRps.rps.toFixed(0), `p95 ${ms(r.tokenRps.latency.p95)}; CPU ${cpu(r.tokenRps.cpu)}`],
    ['SigV4 verify, warm key cache', `${r.sigv4.warmUs.toFixed(1)} µs`, `parse + verify, in-process; best of ${SIGV4_ROUNDS} x ${SIGV4_ITERATIONS}`],
    ['SigV4 verify, cold key cache', `${r.sigv4.coldUs.toFixed(1)} µs`, 'a new secret each time: signing key derived'],
  ];
  log('');
  log(`ECR results (berth only; ${IMAGES} images in ${REPO}; client: AWS SDK v3 in the benchmark process)`);
  log(`${pad('measure', 44)}${pad('berth', 13)}notes`);
  for (const [label, value, note] of rows) log(`${pad(label, 44)}${pad(value, 13)}${note}`);
  log(`load average (1 min) at the end: ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs; client and server share them.`);
  log(`SigV4 request: POST / DescribeImages, ${r.sigv4.bodyBytes}-byte body, signed headers ${r.sigv4.signedHeaders}`);
  log('Page times and req/s are measured in the client: they include the SDK\'s signing and parsing and the loopback round trip.');
  log('');
  log('targets');
  const verdict = r.pages.p95 < TARGET_PAGE_MS ? 'PASS' : 'MISS';
  log(`  ${pad(`DescribeImages pages of ${PAGE_SIZE} < ${TARGET_PAGE_MS} ms (p95)`, 44)}${pad(ms(r.pages.p95), 14)}${verdict}  (max ${ms(r.pages.max)})`);
}

// `node bench/ecr.js` runs it alone.
if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping berth and removing temp files`);
      process.exit(code); // the 'exit' handler kills the server and removes the temp dir
    });
  }
  runEcrBench({ verbose: process.argv.includes('--verbose') || process.argv.includes('-v') }).then(
    () => process.exit(0),
    (err) => {
      console.error(`\nECR benchmark failed: ${err instanceof EcrBenchError ? err.message : err.stack || err}`);
      process.exit(1);
    },
  );
}
