// Overhead of the operations capability (metrics, request ids, the audit trail) on the hot path:
// manifest GET by digest, req/s, with and without it. `npm run build && node bench/ops.js`.
//
// "without" is berth as it was before the capability: the commit BENCH_OPS_BASELINE (default
// d9234d9, the last one without it), extracted with `git archive` (read-only for the repository)
// into a temporary folder that borrows this checkout's node_modules, and built there with tsc.
// "with" is this checkout's dist/. Each is started as `berth serve` with the same settings (audit
// on, every manifest GET recorded; logs at warn), one image is pushed, then the closed-loop load
// generator of bench/load.js runs GET /v2/<repo>/manifests/<digest> on 16 keep-alive connections
// for 8 s after a 2 s warm-up. The two alternate for ROUNDS rounds; the best round of each counts
// (the machine is shared: the best is the least disturbed). The ratio is with / without. On a busy
// machine req/s says more about the neighbours than about berth, so the server's CPU time per
// request (utime + stime from /proc/<pid>/stat over the measured run) is reported too, and its
// ratio is the steadier figure.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loopbackRequest, spawnBerth, stopChild } from './berth-process.js';
import { runLoad } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASELINE = process.env.BENCH_OPS_BASELINE || 'd9234d9';
const ROUNDS = Number(process.env.BENCH_OPS_ROUNDS || 2);
const SECONDS = Number(process.env.BENCH_OPS_SECONDS || 8);
const CONNECTIONS = 16;
const ACCESS_KEY_ID = 'AKIABENCHOPSBENCHOPS';
const SECRET = 'benchopsBENCHOPSbenchopsBENCHOPS01234567';
const AUTH = `Basic ${Buffer.from(`${ACCESS_KEY_ID}:${SECRET}`).toString('base64')}`;
const REPO = 'bench/ops';

class OpsBenchError extends Error {}

const INPROC_REQUESTS = 5000;

/**
 * `node bench/ops.js --inproc <root>`: in this process, build the app of `<root>/dist`, push one
 * image and time manifest GETs through Fastify's inject (no sockets, no load generator beside
 * it): prints the best of three rounds' CPU µs per request as JSON.
 */
async function inproc(root) {
  const { buildApp } = await import(path.join(root, 'dist', 'app.js'));
  const { loadConfig } = await import(path.join(root, 'dist', 'config', 'index.js'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ops-inproc-'));
  const app = await buildApp(
    loadConfig({
      env: {
        BERTH_DATA_DIR: dataDir,
        BERTH_LOG_LEVEL: 'warn',
        BERTH_CREATE_ON_PUSH: 'true',
        BERTH_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
        BERTH_ROOT_SECRET_ACCESS_KEY: SECRET,
        BERTH_LIMITS_RATE_LIMITING: 'false',
        BERTH_GC_INTERVAL: '0',
      },
    }),
  );
  try {
    const inject = async (method, url, payload, contentType) => {
      const r = await app.server.inject({ method, url, headers: { authorization: AUTH, ...(contentType ? { 'content-type': contentType } : {}) }, ...(payload ? { payload } : {}) });
      if (r.statusCode >= 300) throw new OpsBenchError(`${method} ${url}: ${r.statusCode} ${r.body}`);
    };
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = crypto.randomBytes(4096);
    for (const blob of [config, layer]) await inject('POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(blob)}`, blob, 'application/octet-stream');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
      }),
    );
    await inject('PUT', `/v2/${REPO}/manifests/v1`, manifest, 'application/vnd.oci.image.manifest.v1+json');
    const url = `/v2/${REPO}/manifests/${sha256(manifest)}`;
    const round = async (n) => {
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) await inject('GET', url);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / n;
    };
    await round(1000);
    const rounds = [await round(INPROC_REQUESTS), await round(INPROC_REQUESTS), await round(INPROC_REQUESTS)];
    process.stdout.write(`${JSON.stringify({ cpuUsPerRequest: Math.min(...rounds) })}\n`);
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function measureInproc(root) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--inproc', root], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const line = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !line?.startsWith('{')) throw new OpsBenchError(`in-process run of ${root} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line).cpuUsPerRequest;
}

function sha256(buf) {
  return `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;
}

/** The baseline's source and build, in a temporary folder; returns its root. */
function buildBaseline() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ops-base-'));
  const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', BASELINE], { maxBuffer: 512 * 1024 * 1024 });
  if (archive.status !== 0) throw new OpsBenchError(`git archive ${BASELINE} failed: ${archive.stderr}`);
  execFileSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // tsc emits even when it reports errors; the server is what matters.
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'ignore' });
  if (!fs.existsSync(path.join(dir, 'dist', 'cli', 'main.js'))) throw new OpsBenchError(`the baseline ${BASELINE} did not build`);
  return dir;
}

async function pushImage(server, agent) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = crypto.randomBytes(4096);
  for (const blob of [config, layer]) {
    const r = await loopbackRequest(server, agent, AUTH, 'POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' }, ErrorClass: OpsBenchError });
    if (r.status !== 201) throw new OpsBenchError(`blob push: ${r.status} ${r.body}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  const r = await loopbackRequest(server, agent, AUTH, 'PUT', `/v2/${REPO}/manifests/v1`, { body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, ErrorClass: OpsBenchError });
  if (r.status !== 201) throw new OpsBenchError(`manifest push: ${r.status} ${r.body}`);
  return sha256(manifest);
}

/** CPU seconds (user + system) the process has used, from /proc (Linux). */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(root) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ops-data-'));
  const berth = await spawnBerth({
    root,
    ErrorClass: OpsBenchError,
    settings: {
      BERTH_DATA_DIR: dataDir,
      BERTH_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
      BERTH_ROOT_SECRET_ACCESS_KEY: SECRET,
      BERTH_CREATE_ON_PUSH: 'true',
      BERTH_LOG_LEVEL: 'warn',
      BERTH_LIMITS_RATE_LIMITING: 'false',
      BERTH_GC_INTERVAL: '0',
    },
  });
  const agent = new http.Agent({ keepAlive: true });
  try {
    const server = { base: `http://127.0.0.1:${berth.port}`, port: berth.port };
    const digest = await pushImage(server, agent);
    const load = (durationMs) =>
      runLoad({ host: '127.0.0.1', port: berth.port, path: `/v2/${REPO}/manifests/${digest}`, headers: { authorization: AUTH, accept: 'application/vnd.oci.image.manifest.v1+json' }, connections: CONNECTIONS, threads: 2, durationMs });
    await load(2000);
    const cpuBefore = cpuSeconds(berth.proc.pid);
    const r = await load(SECONDS * 1000);
    const cpu = cpuSeconds(berth.proc.pid) - cpuBefore;
    if (r.non2xx > 0 || r.errors > 0) throw new OpsBenchError(`load: ${r.non2xx} non-2xx, ${r.errors} errors (${JSON.stringify(r.firstBad ?? r.errorSample)})`);
    const metrics = await loopbackRequest(server, agent, AUTH, 'GET', '/metrics', { ErrorClass: OpsBenchError });
    const audited = metrics.status === 200 ? /^berth_audit_records_total\{kind="request"\} (\d+)/m.exec(metrics.body.toString())?.[1] : undefined;
    return { rps: r.rps, latencyAvgMs: r.latencyAvgMs, requests: r.requests, cpuUsPerRequest: (cpu * 1e6) / r.requests, audited: audited === undefined ? '-' : audited };
  } finally {
    agent.destroy();
    await stopChild(berth.proc);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'events', 'capability.js'))) throw new OpsBenchError('dist/ is missing: run `npm run build` first');
  process.stdout.write(`building the baseline ${BASELINE} (without the operations capability)...\n`);
  const baseRoot = buildBaseline();
  try {
    const runs = { without: [], with: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      runs.without.push(await measure(baseRoot));
      runs.with.push(await measure(ROOT));
      const [a, b] = [runs.without.at(-1), runs.with.at(-1)];
      process.stdout.write(`round ${round}: without ${a.rps.toFixed(0)} req/s ${a.cpuUsPerRequest.toFixed(0)} µs CPU/req, with ${b.rps.toFixed(0)} req/s ${b.cpuUsPerRequest.toFixed(0)} µs CPU/req\n`);
    }
    const best = (list) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
    const w = best(runs.with);
    const wo = best(runs.without);
    const cpuOf = (list) => Math.min(...list.map((r) => r.cpuUsPerRequest));
    const rows = [
      ['', 'req/s', 'avg latency', 'server CPU/request', 'requests', 'audit records'],
      [`without (${BASELINE})`, wo.rps.toFixed(0), `${wo.latencyAvgMs.toFixed(2)} ms`, `${cpuOf(runs.without).toFixed(0)} µs`, String(wo.requests), '-'],
      ['with metrics + audit', w.rps.toFixed(0), `${w.latencyAvgMs.toFixed(2)} ms`, `${cpuOf(runs.with).toFixed(0)} µs`, String(w.requests), w.audited],
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(`\nmanifest GET by digest, ${CONNECTIONS} connections, ${SECONDS} s, best of ${ROUNDS}\n`);
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
    process.stdout.write(`\nreq/s ratio with/without: ${(w.rps / wo.rps).toFixed(3)}\n`);
    process.stdout.write(`server CPU per request ratio with/without: ${(cpuOf(runs.with) / cpuOf(runs.without)).toFixed(3)}\n`);

    // In process, without sockets: the CPU a manifest GET costs, alternating the two builds.
    const inprocRuns = { without: [], with: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      inprocRuns.without.push(measureInproc(baseRoot));
      inprocRuns.with.push(measureInproc(ROOT));
    }
    const a = Math.min(...inprocRuns.without);
    const b = Math.min(...inprocRuns.with);
    process.stdout.write(`\nin process (Fastify inject, ${INPROC_REQUESTS} manifest GETs a round, best of ${ROUNDS * 3}): without ${a.toFixed(0)} µs CPU/request, with ${b.toFixed(0)} µs\n`);
    process.stdout.write(`in-process CPU per request ratio with/without: ${(b / a).toFixed(3)}\n`);
  } finally {
    fs.rmSync(baseRoot, { recursive: true, force: true });
  }
}

const entry = process.argv[2] === '--inproc' ? () => inproc(process.argv[3]) : main;
entry().catch((err) => {
  process.stderr.write(`bench/ops.js: ${err instanceof OpsBenchError ? err.message : err.stack}\n`);
  process.exitCode = 1;
});
