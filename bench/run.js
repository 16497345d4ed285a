#!/usr/bin/env node
// Benchmark: berth versus CNCF Distribution 2.8.2 (Debian package `docker-registry`), side by side
// in one run, on loopback. Plain Node 20 ESM, standard library only, plus the curl, wrk and
// docker-registry programs. See bench/README.md.
//
//   node bench/run.js                       full run (256 MiB blobs, 3 runs, 10 s wrk, 1 GiB RSS test)
//   node bench/run.js --quick               smoke test (64 MiB blobs, 1 run, 3 s wrk, 256 MiB RSS test)
//   node bench/run.js --only distribution   measure one registry only (also: --only berth)
//   node bench/run.js --verbose             echo the servers' own output as it arrives
//   node bench/run.js --wrk-head            measure HEAD with wrk too (needs a wrk that handles HEAD)
//   node bench/run.js --ecr-only            only the ECR API part (bench/ecr.js), which every run includes
//   node bench/run.js --no-ecr              everything except the ECR API part
//   node bench/run.js --gc-only             only the garbage-collection benchmark (bench/gc.js)
//   node bench/run.js --policy-only         only the policy-evaluation part (bench/policy.js), which every run ends with
//   node bench/run.js --part NAME           only one capability's benchmark, bench/NAME.js (repeatable; see PARTS)
//   node bench/run.js --capabilities        only the capabilities' benchmarks, one after another
//
// The large blob transfers (monolithic and chunked upload, download, the RSS-test upload) are made
// by curl, from and to files, because Node's http client tops out below what either registry can
// do on loopback (350-550 MiB/s against curl's 1.2-2 GB/s), which would make the two look alike.
// Node's client is kept for the small requests: POST of upload sessions, manifests, checks.
//
// Manifest GET is measured with wrk. Manifest HEAD is measured with bench/load.js, a small Node load
// generator, because wrk 4.1.0 stalls on HEAD responses that carry Content-Length (wg/wrk#198); the
// same generator also measures GET, so HEAD can be read against a GET number from the same client.
//
// Exit code: 0 when every measurement completed (whether or not the targets are met; this is a
// report), non-zero on any error (a server failing a request, wrk seeing non-2xx responses, ...).

import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runLoad } from './load.js';
import { EcrBenchError, runEcrBench } from './ecr.js';
import { GcBenchError, runGcBench } from './gc.js';
import { PolicyBenchError, runPolicyBench } from './policy.js';

const MiB = 1024 * 1024;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_BIN = '/usr/bin/docker-registry';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const CHUNK = 16 * MiB; // PATCH size for the chunked upload
const SLICE = 1 * MiB; // unit in which request bodies are written to the socket
const ACCESS_KEY_ID = 'AKIABENCHBENCHBENCH0';
const REPO_BLOB = 'bench/blob';
const REPO_MANIFEST = 'bench/manifest';
const REPO_RSS = 'bench/rss';
const TARGETS = { upload: 1.0, download: 1.0, rps: 2.0, rssMiB: 200 };

// ---------------------------------------------------------------------------------------------
// arguments

function usage() {
  return [
    'usage: node bench/run.js [--quick] [--only berth|distribution] [--verbose] [--wrk-head] [--ecr-only | --no-ecr]',
    '  --quick        64 MiB blobs, 1 run, 3 s wrk, 256 MiB RSS test (smoke test)',
    '  --only NAME    measure only berth or only distribution',
    '  --verbose      echo the servers\' stdout/stderr as it arrives',
    '  --wrk-head     also measure manifest HEAD with wrk (wrk 4.1.0 cannot: wg/wrk#198)',
    '  --ecr-only     only the ECR API measurements of bench/ecr.js (berth only), which every run includes',
    '  --no-ecr       skip the ECR API measurements',
    '  --gc-only      only the garbage-collection benchmark of bench/gc.js (berth only)',
    '  --policy-only  only the policy-evaluation measurements of bench/policy.js (berth only), which every run ends with',
    `  --part NAME    only bench/NAME.js, one of: ${PARTS.join(', ')} (repeatable)`,
    '  --capabilities only the capabilities\' benchmarks (every --part), one after another',
  ].join('\n');
}

/**
 * The capabilities' own benchmarks: standalone scripts, each printing its table and its ratio
 * against the reference its issue names. Run in a child process each, so that one's servers and
 * memory do not disturb the next.
 */
const PARTS = ['lifecycle', 'scan', 'scan-match', 'inventory', 'replication', 'cache', 'scale', 'ops'];

async function runParts(parts) {
  const { spawn } = await import('node:child_process');
  const failed = [];
  for (const part of parts) {
    log('');
    log(`== bench/${part}.js ==`);
    const code = await new Promise((resolve) => {
      const child = spawn(process.execPath, [new URL(`./${part}.js`, import.meta.url).pathname], { stdio: 'inherit' });
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    if (code !== 0) failed.push(part);
  }
  if (failed.length) throw new Error(`capability benchmarks failed: ${failed.join(', ')}`);
}

function parseArgs(argv) {
  const opts = { quick: false, only: null, verbose: false, wrkHead: false, ecrOnly: false, noEcr: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--wrk-head') opts.wrkHead = true;
    else if (a === '--ecr-only') opts.ecrOnly = true;
    else if (a === '--no-ecr') opts.noEcr = true;
    else if (a === '--gc-only') opts.gcOnly = true;
    else if (a === '--policy-only') opts.policyOnly = true;
    else if (a === '--part') {
      const part = argv[++i];
      if (!PARTS.includes(part)) {
        console.error(`--part takes one of ${PARTS.join(', ')}, not ${JSON.stringify(part)}`);
        process.exit(2);
      }
      (opts.parts ??= []).push(part);
    } else if (a === '--capabilities') opts.parts = [...PARTS];
    else if (a === '--only') opts.only = argv[++i];
    else if (a.startsWith('--only=')) opts.only = a.slice('--only='.length);
    else if (a === '--help' || a === '-h') {
      console.log(usage());
      process.exit(0);
    } else {
      console.error(`unknown argument: ${a}\n${usage()}`);
      process.exit(2);
    }
  }
  if (opts.only !== null && opts.only !== 'berth' && opts.only !== 'distribution') {
    console.error(`--only takes "berth" or "distribution", not ${JSON.stringify(opts.only)}\n${usage()}`);
    process.exit(2);
  }
  if (opts.ecrOnly && opts.noEcr) {
    console.error(`--ecr-only and --no-ecr exclude each other\n${usage()}`);
    process.exit(2);
  }
  if (opts.ecrOnly && opts.only === 'distribution') {
    console.error(`--ecr-only measures berth only; it cannot go with --only distribution\n${usage()}`);
    process.exit(2);
  }
  if (opts.policyOnly && (opts.only === 'distribution' || opts.ecrOnly)) {
    console.error(`--policy-only measures berth's policy evaluation only; it cannot go with --only distribution or --ecr-only\n${usage()}`);
    process.exit(2);
  }
  return opts;
}

const args = parseArgs(process.argv.slice(2));
const P = args.quick
  ? { blob: 64 * MiB, runs: 1, wrkSeconds: 3, rssBytes: 256 * MiB }
  : { blob: 256 * MiB, runs: 3, wrkSeconds: 10, rssBytes: 1024 * MiB };
const wantBerth = args.only !== 'distribution';
const wantDist = args.only !== 'berth';

// ---------------------------------------------------------------------------------------------
// small helpers

const log = (...a) => console.log(...a);
const warnings = [];
function warn(msg) {
  warnings.push(msg);
  console.log(`WARNING: ${msg}`);
}

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

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtSize(bytes) {
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

function sha256Of(chunks) {
  const h = crypto.createHash('sha256');
  for (const c of chunks) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

function* sliceBuffer(buf, size = SLICE) {
  for (let o = 0; o < buf.length; o += size) yield buf.subarray(o, Math.min(o + size, buf.length));
}

/** `total` bytes made of `unit` repeated, the first bytes replaced by `prefix`; never all in memory. */
function* repeatedStream(unit, prefix, total) {
  const first = Buffer.from(unit);
  prefix.copy(first, 0);
  let sent = 0;
  while (sent < total) {
    const src = sent === 0 ? first : unit;
    const n = Math.min(src.length, total - sent);
    yield n === src.length ? src : src.subarray(0, n);
    sent += n;
  }
}

function findOnPath(cmd) {
  for (const dir of (process.env.PATH || '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Keeps the last `max` characters a child printed, for error reports. */
class Tail {
  constructor(max = 32 * 1024) {
    this.max = max;
    this.text = '';
    this.lines = 0;
  }
  push(chunk) {
    const t = chunk.toString();
    this.lines += (t.match(/\n/g) || []).length;
    this.text = (this.text + t).slice(-this.max);
  }
}

class BenchError extends Error {}

function describeResponse(r) {
  let body = r.body ? r.body.toString('utf8') : '';
  if (body.length > 2000) body = `${body.slice(0, 2000)}... (${r.body.length} bytes)`;
  const hdrs = ['content-type', 'location', 'docker-content-digest', 'range', 'www-authenticate']
    .filter((h) => r.headers[h] !== undefined)
    .map((h) => `${h}: ${r.headers[h]}`)
    .join('; ');
  return `status ${r.status}${hdrs ? ` [${hdrs}]` : ''}${body ? `, body: ${body}` : ', empty body'}`;
}

function expectStatus(reg, r, expected, what) {
  const ok = Array.isArray(expected) ? expected : [expected];
  if (!ok.includes(r.status)) {
    throw new BenchError(`${reg.name}: ${what}: ${r.method} ${r.path} expected ${ok.join(' or ')}, got ${describeResponse(r)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// processes and cleanup

const children = new Set();
let tmpRoot = null;
const agents = [];

function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

function cleanupSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  if (tmpRoot) {
    try {
      fs.rmSync(tmpRoot, { recursive: true, force: true });
    } catch {
      // best effort
    }
    tmpRoot = null;
  }
}

async function stopChild(child, name) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const t = await Promise.race([exited.then(() => 'exited'), sleep(5000).then(() => 'timeout')]);
  if (t === 'timeout') {
    log(`${name} did not exit within 5 s of SIGTERM; sending SIGKILL`);
    child.kill('SIGKILL');
    await exited;
  }
}

async function cleanup(regs) {
  for (const a of agents) a.destroy();
  for (const reg of regs) await stopChild(reg.proc, reg.name);
  cleanupSync();
}

process.on('exit', cleanupSync);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping servers and removing temp files`);
    process.exit(code); // the 'exit' handler kills the children and removes the temp dir
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function runCapture(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function runInherit(cmd, argv) {
  log(`$ ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error) throw new BenchError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new BenchError(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`);
}

function ensureTools() {
  const missing = [];
  if (wantDist && !fs.existsSync(DIST_BIN)) missing.push('docker-registry');
  if (!findOnPath('wrk')) missing.push('wrk');
  if (!findOnPath('curl')) missing.push('curl');
  if (missing.length === 0) return;
  log(`setup: ${missing.join(' and ')} missing; installing with apt-get`);
  runInherit('apt-get', ['update']);
  runInherit('apt-get', ['install', '-y', ...missing]);
  if (wantDist && !fs.existsSync(DIST_BIN)) throw new BenchError(`${DIST_BIN} still missing after apt-get install`);
  if (!findOnPath('wrk')) throw new BenchError('wrk still missing after apt-get install');
  if (!findOnPath('curl')) throw new BenchError('curl still missing after apt-get install');
}

/** Checks that `pid` is the server binary itself (not a shell or wrapper) and warns about children. */
function checkPid(reg, expectedExe) {
  const exe = fs.realpathSync(`/proc/${reg.pid}/exe`);
  const want = fs.realpathSync(expectedExe);
  if (exe !== want) throw new BenchError(`${reg.name}: pid ${reg.pid} runs ${exe}, expected ${want}`);
  let kids = [];
  try {
    for (const t of fs.readdirSync(`/proc/${reg.pid}/task`)) {
      kids.push(...fs.readFileSync(`/proc/${reg.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    }
  } catch {
    kids = [];
  }
  if (kids.length) warn(`${reg.name} (pid ${reg.pid}) has child processes ${kids.join(', ')}; RSS is measured for pid ${reg.pid} only`);
}

function makeRegistry(name, port, proc, tail, authHeader) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  agents.push(agent);
  return {
    name,
    host: '127.0.0.1',
    port,
    base: `http://127.0.0.1:${port}`,
    proc,
    pid: proc.pid,
    tail,
    agent,
    authHeader,
    authHeaders: authHeader ? { authorization: authHeader } : {},
  };
}

function pipeOutput(child, name, tail) {
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d) => {
      tail.push(d);
      if (args.verbose) process.stdout.write(d.toString().replace(/^(?=.)/gm, `[${name}] `));
    });
  }
}

async function startDistribution() {
  const dir = path.join(tmpRoot, 'distribution');
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const configPath = path.join(dir, 'config.yml');
  // Filesystem storage, no auth, log level error. The in-memory blob descriptor cache is on, as in
  // upstream's and Debian's default config: it is how distribution is normally deployed.
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(dataDir)}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomAlnum(32)}`,
    '',
  ].join('\n');
  fs.writeFileSync(configPath, config);
  const proc = spawn(DIST_BIN, ['serve', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  const tail = new Tail();
  pipeOutput(proc, 'distribution', tail);
  const spawnError = new Promise((_, reject) => proc.once('error', reject));
  spawnError.catch(() => {});
  const reg = makeRegistry('distribution', port, proc, tail, null);
  const deadline = Date.now() + 20000;
  let last = 'no answer yet';
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new BenchError(`distribution exited during startup (${proc.exitCode ?? proc.signalCode}); output:\n${tail.text}`);
    }
    try {
      const r = await Promise.race([request(reg, 'GET', '/v2/', { timeoutMs: 2000 }), spawnError]);
      if (r.status === 200) break;
      last = describeResponse(r);
    } catch (err) {
      if (err.code === 'ENOENT') throw new BenchError(`cannot run ${DIST_BIN}: ${err.message}`);
      last = err.message;
    }
    if (Date.now() > deadline) throw new BenchError(`distribution: GET /v2/ did not answer 200 within 20 s (last: ${last}); output:\n${tail.text}`);
    await sleep(100);
  }
  checkPid(reg, DIST_BIN);
  return reg;
}

async function startBerth() {
  const entry = path.join(ROOT, 'bin', 'berth.js');
  if (!fs.existsSync(entry)) throw new BenchError('berth: bin/berth.js not found in the project root (run `npm run build` first)');
  const dataDir = path.join(tmpRoot, 'berth', 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomAlnum(40);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BERTH_')) env[k] = v; // no stray settings
  Object.assign(env, {
    BERTH_LISTEN: '127.0.0.1:0',
    BERTH_DATA_DIR: dataDir,
    BERTH_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
    BERTH_ROOT_SECRET_ACCESS_KEY: secret,
    BERTH_CREATE_ON_PUSH: 'true',
    BERTH_LOG_LEVEL: 'warn',
    // ECR's request-rate quotas (BatchGetImage 2,000/s, PutImage 10/s) would throttle the load tests.
    BERTH_LIMITS_RATE_LIMITING: 'false',
  });
  // Spawn node itself (no shell), so proc.pid is the process whose memory we sample.
  const proc = spawn(process.execPath, [entry, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  const tail = new Tail();
  pipeOutput(proc, 'berth', tail);
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => finish(new BenchError(`berth: no "berth listening on" line within 30 s; output:\n${tail.text}`)), 30000);
    const onData = (d) => {
      buf += d.toString();
      const m = /berth listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(buf);
      if (m) finish(null, Number(m[1]));
      else if (buf.length > 1e6) buf = buf.slice(-1000);
    };
    const onExit = (code, signal) => finish(new BenchError(`berth exited during startup (${code ?? signal}); output:\n${tail.text}`));
    const onError = (err) => finish(new BenchError(`berth: cannot start node: ${err.message}`));
    function finish(err, p) {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
      proc.off('error', onError);
      if (err) reject(err);
      else resolve(p);
    }
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
    proc.once('error', onError);
  });
  const auth = `Basic ${Buffer.from(`${ACCESS_KEY_ID}:${secret}`).toString('base64')}`;
  const reg = makeRegistry('berth', port, proc, tail, auth);
  reg.startupLines = tail.lines;
  const r = await request(reg, 'GET', '/v2/');
  expectStatus(reg, r, 200, 'API version check with Basic auth');
  checkPid(reg, process.execPath);
  return reg;
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Turns a Location (absolute or relative) into a path on `reg`; refuses anything off loopback. */
function resolvePath(reg, target) {
  const u = new URL(target, reg.base);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
    throw new BenchError(`${reg.name}: refusing to follow non-loopback location ${target}`);
  }
  if (u.port && Number(u.port) !== reg.port) {
    throw new BenchError(`${reg.name}: location ${target} points to another port`);
  }
  return u.pathname + u.search;
}

function withDigest(location, digest) {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/**
 * One request on `reg`'s keep-alive agent. `body` is null, a Buffer or an iterable of Buffers; it is
 * written with backpressure, SLICE bytes at a time. With `discard`, the response body is counted
 * (and fed to `hash` if given) but not kept.
 */
function request(reg, method, target, opts = {}) {
  const p = resolvePath(reg, target);
  return new Promise((resolve, reject) => {
    const state = { ended: false, responded: false, wake: null };
    const headers = { ...reg.authHeaders, ...(opts.headers || {}) };
    const req = http.request({ host: reg.host, port: reg.port, method, path: p, agent: reg.agent, headers });
    const timeoutMs = opts.timeoutMs ?? 300000;
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no activity for ${timeoutMs / 1000} s`)));
    req.on('response', (res) => {
      state.responded = true;
      const early = !state.ended; // the server answered before the whole body was sent
      if (state.wake) state.wake();
      const chunks = [];
      let bytes = 0;
      res.on('data', (c) => {
        bytes += c.length;
        if (opts.hash) opts.hash.update(c);
        if (!opts.discard) chunks.push(c);
      });
      res.on('end', () => {
        if (early) req.destroy(); // the connection holds a half-sent request; don't reuse it
        resolve({ method, path: p, status: res.statusCode, headers: res.headers, body: opts.discard ? null : Buffer.concat(chunks), bytes });
      });
      res.on('error', (err) => reject(new BenchError(`${reg.name}: ${method} ${p}: response aborted after ${bytes} bytes: ${err.message}`)));
    });
    req.on('error', (err) => {
      if (!state.responded) reject(new BenchError(`${reg.name}: ${method} ${p}: ${err.message}`));
    });
    writeBody(req, opts.body, state).catch((err) => req.destroy(err));
  });
}

async function writeBody(req, body, state) {
  if (body == null) {
    state.ended = true;
    req.end();
    return;
  }
  const chunks = Buffer.isBuffer(body) ? sliceBuffer(body) : body;
  for (const chunk of chunks) {
    if (state.responded || req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise((resolve) => {
        const done = () => {
          req.off('drain', done);
          req.off('close', done);
          state.wake = null;
          resolve();
        };
        state.wake = done;
        req.on('drain', done);
        req.on('close', done);
      });
    }
  }
  if (state.responded || req.destroyed) return;
  state.ended = true;
  req.end();
}


// ---------------------------------------------------------------------------------------------
// curl, for the large blob transfers

let curlDir = null; // set in main(): where curl writes response headers and bodies
let curlSeq = 0;
const CURL_WRITE_OUT = '%{http_code} %{time_total} %{size_upload} %{size_download}';

/** Parses a `curl -D` file; with several responses in it (redirects, 100 Continue) the last one counts. */
function parseHeaderFile(text) {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
  const headers = {};
  const last = blocks.length ? blocks[blocks.length - 1] : '';
  for (const line of last.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return headers;
}

function readAndRemove(file) {
  try {
    const b = fs.readFileSync(file);
    fs.rmSync(file, { force: true });
    return b;
  } catch (err) {
    if (err.code === 'ENOENT') return Buffer.alloc(0); // curl creates -o only once a body byte arrives
    throw err;
  }
}

/**
 * One request made by a curl process of its own: `-T file` as the body if `opts.file` is given,
 * the response body thrown away with `opts.discard`. Returns the same shape as request() plus
 * `secs` (curl's time_total: connect to last response byte), `wallSecs` (spawn to exit, seen
 * from here), `sizeUpload` and `bytes` (downloaded). A curl failure (exit code != 0) throws;
 * the HTTP status is for the caller to check.
 */
async function curlRequest(reg, method, target, opts = {}) {
  const p = resolvePath(reg, target);
  const n = ++curlSeq;
  const headerFile = path.join(curlDir, `headers-${n}`);
  const bodyFile = opts.discard ? '/dev/null' : path.join(curlDir, `body-${n}`);
  const argv = [
    '-q', // ignore ~/.curlrc
    '-sS', '-g', '--noproxy', '*', // no URL globbing, never a proxy (it is loopback)
    '-X', method,
    '-H', 'Expect:', // no "Expect: 100-continue" round trip before the body (Go's and Node's clients send none)
    '-D', headerFile, '-o', bodyFile, '-w', CURL_WRITE_OUT,
  ];
  if (reg.authHeader) argv.push('-H', `Authorization: ${reg.authHeader}`);
  for (const [k, v] of Object.entries(opts.headers || {})) argv.push('-H', `${k}: ${v}`);
  if (opts.file) argv.push('-T', opts.file);
  argv.push(`${reg.base}${p}`);
  const t0 = performance.now();
  const r = await runCapture('curl', argv);
  const wallSecs = (performance.now() - t0) / 1000;
  if (r.code !== 0) {
    throw new BenchError(`${reg.name}: curl ${method} ${p}${opts.file ? ` -T ${path.basename(opts.file)}` : ''} exited with ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  }
  const m = /^(\d{3}) ([\d.]+) (\d+) (\d+)$/.exec(r.stdout.trim());
  if (!m) throw new BenchError(`${reg.name}: cannot parse curl's -w output for ${method} ${p}: ${JSON.stringify(r.stdout)}`);
  const headers = parseHeaderFile(readAndRemove(headerFile).toString('latin1'));
  const body = opts.discard ? null : readAndRemove(bodyFile);
  return {
    method, path: p, status: Number(m[1]), headers, body,
    secs: Number(m[2]), wallSecs, sizeUpload: Number(m[3]), bytes: Number(m[4]),
  };
}

// ---------------------------------------------------------------------------------------------
// files holding the blobs that curl sends

async function sha256File(file) {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file, { highWaterMark: 4 * MiB })) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

/** Writes `chunks` (an iterable of Buffers) to `file`, flushed to disk, and returns its sha256. */
function writeFileHashed(file, chunks) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  try {
    for (const c of chunks) {
      h.update(c);
      fs.writeSync(fd, c);
    }
    fs.fsyncSync(fd); // so the write-back of these pages does not happen during a timed run
  } finally {
    fs.closeSync(fd);
  }
  return `sha256:${h.digest('hex')}`;
}

function* randomChunks(total, size = 16 * MiB) {
  for (let o = 0; o < total; o += size) yield crypto.randomBytes(Math.min(size, total - o));
}

/**
 * The benchmark blob as a file, plus the same bytes split into CHUNK-sized files for the chunked
 * upload. refresh() makes it a new blob (32 fresh random bytes at the start of the file and of the
 * first chunk file) and returns its sha256, computed by reading the file back.
 */
function makeBlobFiles(dir, size) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'blob');
  writeFileHashed(file, randomChunks(size));
  const chunks = [];
  const buf = Buffer.alloc(CHUNK);
  const fd = fs.openSync(file, 'r');
  try {
    for (let start = 0; start < size; start += CHUNK) {
      const len = Math.min(CHUNK, size - start);
      if (fs.readSync(fd, buf, 0, len, start) !== len) throw new BenchError(`short read from ${file}`);
      const chunkFile = path.join(dir, `chunk-${String(chunks.length).padStart(3, '0')}`);
      writeFileHashed(chunkFile, [buf.subarray(0, len)]);
      chunks.push({ file: chunkFile, start, end: start + len });
    }
  } finally {
    fs.closeSync(fd);
  }
  const overwritePrefix = (f, prefix) => {
    const pfd = fs.openSync(f, 'r+');
    try {
      fs.writeSync(pfd, prefix, 0, prefix.length, 0);
      fs.fsyncSync(pfd);
    } finally {
      fs.closeSync(pfd);
    }
  };
  return {
    file, size, chunks,
    async refresh() {
      const prefix = crypto.randomBytes(32);
      overwritePrefix(file, prefix);
      overwritePrefix(chunks[0].file, prefix);
      const st = fs.statSync(file);
      if (st.size !== size) throw new BenchError(`${file} is ${st.size} bytes, expected ${size}`);
      return sha256File(file);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// registry operations

async function startUpload(reg, repo) {
  const r = await request(reg, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  expectStatus(reg, r, 202, 'start upload');
  if (!r.headers.location) throw new BenchError(`${reg.name}: start upload: 202 without Location header`);
  return r.headers.location;
}

function checkDigestHeader(reg, r, digest, what) {
  const got = r.headers['docker-content-digest'];
  if (got !== undefined && got !== digest) {
    throw new BenchError(`${reg.name}: ${what}: Docker-Content-Digest ${got}, expected ${digest}`);
  }
}

/** POST + one PUT carrying a small blob, both with Node's client (used to set up the manifest test). */
async function uploadSmallBlob(reg, repo, blob, digest) {
  const loc = await startUpload(reg, repo);
  const r = await request(reg, 'PUT', withDigest(loc, digest), {
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) },
    body: blob,
  });
  expectStatus(reg, r, 201, 'monolithic upload PUT');
  checkDigestHeader(reg, r, digest, 'monolithic upload PUT');
}

/**
 * POST (Node, untimed), then one `curl -T file` PUT ?digest= carrying the whole file. Returns
 * curl's time_total for the PUT (connect to the 201), and the wall time of the curl process.
 */
async function uploadMonolithic(reg, repo, file, size, digest) {
  const loc = await startUpload(reg, repo);
  const r = await curlRequest(reg, 'PUT', withDigest(loc, digest), {
    file,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expectStatus(reg, r, 201, 'monolithic upload PUT');
  if (r.sizeUpload !== size) throw new BenchError(`${reg.name}: monolithic upload PUT: curl sent ${r.sizeUpload} bytes, expected ${size}`);
  checkDigestHeader(reg, r, digest, 'monolithic upload PUT');
  return { secs: r.secs, wallSecs: r.wallSecs };
}

/**
 * POST (Node, untimed), then one curl process per request: a PATCH with Content-Range for each
 * chunk file, each to the Location the previous response gave (distribution puts a new `_state`
 * in it every time, so the URLs cannot be given to one curl process up front), then PUT ?digest=
 * with an empty body. Timed: wall time from starting the first PATCH's curl to the exit of the
 * PUT's, process starts included. Also returns the sum of curl's own time_total, so the cost of
 * the process starts (and new connections) can be read as the difference.
 */
async function uploadChunked(reg, repo, blob, digest) {
  let loc = await startUpload(reg, repo);
  let curlSecs = 0;
  let processes = 0;
  const t0 = performance.now();
  for (const c of blob.chunks) {
    const r = await curlRequest(reg, 'PATCH', loc, {
      file: c.file,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${c.start}-${c.end - 1}` },
    });
    curlSecs += r.secs;
    processes++;
    expectStatus(reg, r, 202, `chunked upload PATCH bytes ${c.start}-${c.end - 1}`);
    if (r.sizeUpload !== c.end - c.start) throw new BenchError(`${reg.name}: chunked upload PATCH: curl sent ${r.sizeUpload} bytes, expected ${c.end - c.start}`);
    if (!r.headers.location) throw new BenchError(`${reg.name}: chunked upload PATCH: 202 without Location header`);
    if (r.headers.range !== undefined && r.headers.range !== `0-${c.end - 1}`) {
      warn(`${reg.name}: PATCH bytes ${c.start}-${c.end - 1} answered Range: ${r.headers.range}, expected 0-${c.end - 1}`);
    }
    loc = r.headers.location;
  }
  const r = await curlRequest(reg, 'PUT', withDigest(loc, digest), { headers: { 'Content-Length': '0' } });
  curlSecs += r.secs;
  processes++;
  expectStatus(reg, r, 201, 'chunked upload final PUT');
  const secs = (performance.now() - t0) / 1000;
  checkDigestHeader(reg, r, digest, 'chunked upload final PUT');
  return { secs, curlSecs, processes };
}

/** GET a blob with Node's client, feeding the bytes to `hash` (the untimed verification pass). */
async function downloadBlobNode(reg, repo, digest, size, hash) {
  let target = `/v2/${repo}/blobs/${digest}`;
  let r;
  for (let hops = 0; ; hops++) {
    r = await request(reg, 'GET', target, { discard: true, hash });
    if (![301, 302, 303, 307, 308].includes(r.status) || !r.headers.location || hops >= 3) break;
    target = r.headers.location;
  }
  if (r.status !== 200) {
    // fetch once more keeping the body, for the error report
    const again = await request(reg, 'GET', target);
    expectStatus(reg, again, 200, 'blob download');
  }
  if (r.bytes !== size) throw new BenchError(`${reg.name}: blob download: got ${r.bytes} bytes, expected ${size}`);
  checkDigestHeader(reg, r, digest, 'blob download');
}

/**
 * GET a blob with `curl -o /dev/null`, following same-registry redirects (neither registry sends
 * one with filesystem storage). Returns curl's time_total, summed over the hops.
 */
async function downloadBlob(reg, repo, digest, size) {
  let target = `/v2/${repo}/blobs/${digest}`;
  let r;
  let secs = 0;
  for (let hops = 0; ; hops++) {
    r = await curlRequest(reg, 'GET', target, { discard: true });
    secs += r.secs;
    if (![301, 302, 303, 307, 308].includes(r.status) || !r.headers.location || hops >= 3) break;
    target = r.headers.location;
  }
  if (r.status !== 200) {
    // fetch once more keeping the body, for the error report
    const again = await request(reg, 'GET', target);
    expectStatus(reg, again, 200, 'blob download');
    throw new BenchError(`${reg.name}: blob download: curl got status ${r.status}, a second GET got 200`);
  }
  if (r.bytes !== size) throw new BenchError(`${reg.name}: blob download: got ${r.bytes} bytes, expected ${size}`);
  checkDigestHeader(reg, r, digest, 'blob download');
  return secs;
}

/** Pushes a config blob, one layer and an OCI image manifest tagged v1. */
async function pushSmallImage(reg, repo) {
  const layer = crypto.randomBytes(4096);
  const layerDigest = sha256Of([layer]);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
  }));
  const configDigest = sha256Of([config]);
  for (const blob of [config, layer]) await uploadSmallBlob(reg, repo, blob, sha256Of([blob]));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
  }));
  const manifestDigest = sha256Of([manifest]);
  const r = await request(reg, 'PUT', `/v2/${repo}/manifests/v1`, {
    headers: { 'content-type': OCI_MANIFEST, 'content-length': String(manifest.length) },
    body: manifest,
  });
  expectStatus(reg, r, 201, 'manifest PUT');
  checkDigestHeader(reg, r, manifestDigest, 'manifest PUT');

  // Check GET and HEAD once before hammering them, so a broken answer fails here with details.
  const get = await request(reg, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
  expectStatus(reg, get, 200, 'manifest GET check');
  if (!get.body.equals(manifest)) throw new BenchError(`${reg.name}: manifest GET returned different bytes: ${describeResponse(get)}`);
  checkDigestHeader(reg, get, manifestDigest, 'manifest GET check');
  if (!String(get.headers['content-type'] || '').startsWith(OCI_MANIFEST)) {
    warn(`${reg.name}: manifest GET Content-Type is ${get.headers['content-type']}, expected ${OCI_MANIFEST}`);
  }
  const head = await request(reg, 'HEAD', `/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
  expectStatus(reg, head, 200, 'manifest HEAD check');
  checkDigestHeader(reg, head, manifestDigest, 'manifest HEAD check');
  if (head.headers['content-length'] !== undefined && Number(head.headers['content-length']) !== manifest.length) {
    warn(`${reg.name}: manifest HEAD Content-Length ${head.headers['content-length']}, expected ${manifest.length}`);
  }
  return manifestDigest;
}

async function runWrk(reg, repo, method, luaPath) {
  const url = `${reg.base}/v2/${repo}/manifests/v1`;
  const argv = ['-t2', '-c32', `-d${P.wrkSeconds}s`, '-H', `Accept: ${OCI_MANIFEST}`];
  if (reg.authHeader) argv.push('-H', `Authorization: ${reg.authHeader}`);
  if (method === 'HEAD') argv.push('-s', luaPath);
  argv.push(url);
  const r = await runCapture('wrk', argv);
  if (r.code !== 0) throw new BenchError(`wrk ${method} against ${reg.name} exited with ${r.code ?? r.signal}:\n${r.stdout}${r.stderr}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const total = /(\d+) requests in ([\d.]+\w+)/.exec(r.stdout);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const latency = /Latency\s+(\S+)/.exec(r.stdout);
  if (!rps || !total) throw new BenchError(`cannot parse wrk output for ${method} against ${reg.name}:\n${r.stdout}${r.stderr}`);
  if (non2xx && Number(non2xx[1]) > 0) {
    // One request by hand to show what the server says.
    const probe = await request(reg, method, `/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    throw new BenchError(`${reg.name}: wrk ${method}: ${non2xx[1]} of ${total[1]} responses were not 2xx; a probe ${method} got ${describeResponse(probe)}\nwrk output:\n${r.stdout}`);
  }
  if (Number(total[1]) === 0) throw new BenchError(`${reg.name}: wrk ${method}: no requests completed:\n${r.stdout}`);
  if (sock && sock.slice(1).some((n) => Number(n) > 0)) {
    warn(`${reg.name}: wrk ${method} socket errors: ${sock[0].replace('Socket errors: ', '')}`);
  }
  return { rps: Number(rps[1]), requests: Number(total[1]), latency: latency ? latency[1] : '?' };
}

async function runLoadgen(reg, repo, method) {
  const headers = { Accept: OCI_MANIFEST };
  if (reg.authHeader) headers.Authorization = reg.authHeader;
  const r = await runLoad({
    host: reg.host, port: reg.port, path: `/v2/${repo}/manifests/v1`, method, headers,
    connections: 32, threads: 2, durationMs: P.wrkSeconds * 1000,
  });
  if (r.non2xx > 0) {
    const probe = await request(reg, method, `/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    throw new BenchError(`${reg.name}: load.js ${method}: ${r.non2xx} of ${r.requests} responses were not 2xx (statuses ${JSON.stringify(r.statuses)}); ` +
      `first: ${JSON.stringify(r.firstBad)}; a probe ${method} got ${describeResponse(probe)}`);
  }
  if (r.requests === 0) throw new BenchError(`${reg.name}: load.js ${method}: no requests completed (${r.errors} errors: ${r.errorSample})`);
  if (r.errors > 0 || r.timeouts > 0) {
    warn(`${reg.name}: load.js ${method}: ${r.errors} connection errors (${r.errorSample}), ${r.timeouts} timeouts`);
  }
  return { rps: r.rps, requests: r.requests, latency: `${r.latencyAvgMs.toFixed(2)}ms` };
}

function readProcStatus(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples VmRSS of reg.pid every 50 ms while curl sends `file` in one monolithic PUT. */
async function rssDuringUpload(reg, repo, file, size, digest) {
  let hwmReset = false;
  try {
    fs.writeFileSync(`/proc/${reg.pid}/clear_refs`, '5'); // reset VmHWM to the current RSS
    hwmReset = true;
  } catch {
    // not permitted here; rely on sampling alone
  }
  const before = readProcStatus(reg.pid).rss;
  let peak = before;
  let samples = 0;
  const timer = setInterval(() => {
    try {
      const v = readProcStatus(reg.pid).rss;
      samples++;
      if (v > peak) peak = v;
    } catch {
      // process gone: the upload will fail and report it
    }
  }, 50);
  let secs;
  try {
    ({ secs } = await uploadMonolithic(reg, repo, file, size, digest));
  } finally {
    clearInterval(timer);
  }
  const end = readProcStatus(reg.pid);
  peak = Math.max(peak, end.rss);
  return { before, peak, after: end.rss, hwm: hwmReset ? end.hwm : NaN, samples, secs };
}

// ---------------------------------------------------------------------------------------------
// main

function orderFor(regs, run) {
  // Alternate who goes first, so neither always runs on a warmer or colder machine.
  return run % 2 === 0 ? regs : [...regs].reverse();
}

function progress(text) {
  process.stdout.write(`${text} ... `);
}

async function main() {
  log(`berth benchmark${args.quick ? ' (--quick)' : ''}${args.only ? ` (--only ${args.only})` : ''}`);
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  log(`host: ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}, node ${process.version}`);
  log(`parameters: blobs ${fmtSize(P.blob)}, ${P.runs} run(s) each (median reported), wrk -t2 -c32 -d${P.wrkSeconds}s, RSS test ${fmtSize(P.rssBytes)}`);

  ensureTools();
  if (wantDist) {
    const v = spawnSync(DIST_BIN, ['--version'], { encoding: 'utf8' });
    log(`distribution: ${(v.stdout || v.stderr || '').trim()}`);
  }
  const wv = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  log(`wrk: ${((wv.stdout || '') + (wv.stderr || '')).split('\n')[0].trim()}`);
  const cv = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  log(`curl (blob transfers): ${(cv.stdout || '').split('\n')[0].trim()}`);

  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  curlDir = path.join(tmpRoot, 'curl');
  fs.mkdirSync(curlDir);
  const regs = [];
  const results = {};
  const record = (measure, reg, value) => {
    results[measure] ??= {};
    (results[measure][reg.name] ??= []).push(value);
  };
  let ok = false;
  try {
    if (wantBerth) {
      progress('starting berth');
      const reg = await startBerth();
      regs.push(reg);
      log(`listening on ${reg.base} (pid ${reg.pid})`);
    }
    if (wantDist) {
      progress('starting distribution');
      const reg = await startDistribution();
      regs.push(reg);
      log(`listening on ${reg.base} (pid ${reg.pid})`);
    }

    const size = P.blob;
    const sizeMiB = size / MiB;
    progress(`writing ${fmtSize(size)} of random data to a file and ${fmtSize(CHUNK)} chunk files`);
    const blob = makeBlobFiles(path.join(tmpRoot, 'client'), size);
    log('done');
    // A fresh blob for each run: new random bytes at the start, so no registry already has it.
    // Untimed, like the POST that opens each upload session.

    // 1. monolithic upload
    for (let run = 0; run < P.runs; run++) {
      const digest = await blob.refresh();
      for (const reg of orderFor(regs, run)) {
        progress(`upload monolithic ${fmtSize(size)}: ${reg.name} run ${run + 1}/${P.runs}`);
        const m = await uploadMonolithic(reg, REPO_BLOB, blob.file, size, digest);
        record('mono', reg, sizeMiB / m.secs);
        log(`${(sizeMiB / m.secs).toFixed(1)} MiB/s (curl ${m.secs.toFixed(3)} s, process ${m.wallSecs.toFixed(3)} s)`);
      }
    }

    // 2. chunked upload
    let lastDigest;
    for (let run = 0; run < P.runs; run++) {
      const digest = await blob.refresh();
      lastDigest = digest;
      for (const reg of orderFor(regs, run)) {
        progress(`upload chunked ${fmtSize(size)} in ${fmtSize(CHUNK)} PATCHes: ${reg.name} run ${run + 1}/${P.runs}`);
        const m = await uploadChunked(reg, REPO_BLOB, blob, digest);
        record('chunked', reg, sizeMiB / m.secs);
        record('chunkedCurl', reg, sizeMiB / m.curlSecs);
        record('chunkedOverheadMs', reg, ((m.secs - m.curlSecs) * 1000) / m.processes);
        log(`${(sizeMiB / m.secs).toFixed(1)} MiB/s (${m.secs.toFixed(3)} s for ${m.processes} curl processes, ` +
          `of which curl's time_total ${m.curlSecs.toFixed(3)} s: ${(((m.secs - m.curlSecs) * 1000) / m.processes).toFixed(1)} ms per process outside it)`);
      }
    }

    // 3. download of the last chunked blob; one untimed pass first (Node's client) that checks the digest
    for (const reg of regs) {
      progress(`download ${fmtSize(size)}: ${reg.name} verification pass (sha256, untimed)`);
      const h = crypto.createHash('sha256');
      await downloadBlobNode(reg, REPO_BLOB, lastDigest, size, h);
      const got = `sha256:${h.digest('hex')}`;
      if (got !== lastDigest) throw new BenchError(`${reg.name}: downloaded blob hashes to ${got}, expected ${lastDigest}`);
      log('content ok');
    }
    for (let run = 0; run < P.runs; run++) {
      for (const reg of orderFor(regs, run)) {
        progress(`download ${fmtSize(size)}: ${reg.name} run ${run + 1}/${P.runs}`);
        const secs = await downloadBlob(reg, REPO_BLOB, lastDigest, size);
        record('download', reg, sizeMiB / secs);
        log(`${(sizeMiB / secs).toFixed(1)} MiB/s (curl ${secs.toFixed(3)} s)`);
      }
    }
    fs.rmSync(path.join(tmpRoot, 'client'), { recursive: true, force: true });

    // 4. manifest GET / HEAD rps
    const luaPath = path.join(tmpRoot, 'head.lua');
    fs.writeFileSync(luaPath, 'wrk.method = "HEAD"\n');
    for (const reg of regs) {
      progress(`push small image ${REPO_MANIFEST}:v1 to ${reg.name}`);
      const d = await pushSmallImage(reg, REPO_MANIFEST);
      log(`${d}, GET and HEAD checked`);
    }
    const rpsKinds = [
      { key: 'mget', method: 'GET', tool: 'wrk' },
      { key: 'mhead', method: 'HEAD', tool: 'load.js' },
      { key: 'mgetNode', method: 'GET', tool: 'load.js' },
    ];
    if (args.wrkHead) rpsKinds.push({ key: 'mheadWrk', method: 'HEAD', tool: 'wrk' });
    for (const kind of rpsKinds) {
      for (let run = 0; run < P.runs; run++) {
        for (const reg of orderFor(regs, run)) {
          progress(`manifest ${kind.method} (${kind.tool} c=32 ${P.wrkSeconds}s): ${reg.name} run ${run + 1}/${P.runs}`);
          const w = kind.tool === 'wrk' ? await runWrk(reg, REPO_MANIFEST, kind.method, luaPath) : await runLoadgen(reg, REPO_MANIFEST, kind.method);
          record(kind.key, reg, w.rps);
          log(`${w.rps.toFixed(0)} req/s (${w.requests} requests, latency avg ${w.latency})`);
        }
      }
    }

    // 5. peak RSS while a large blob streams in: a file of one random 1 MiB block repeated, with a
    // random prefix of its own, written (untimed) and deleted afterwards
    const rssFile = path.join(tmpRoot, 'rss-blob');
    progress(`writing the ${fmtSize(P.rssBytes)} RSS-test file`);
    const rssDigest = writeFileHashed(rssFile, repeatedStream(crypto.randomBytes(MiB), crypto.randomBytes(32), P.rssBytes));
    log('done');
    for (const reg of regs) {
      progress(`peak RSS during ${fmtSize(P.rssBytes)} upload: ${reg.name} (pid ${reg.pid})`);
      const m = await rssDuringUpload(reg, REPO_RSS, rssFile, P.rssBytes, rssDigest);
      record('rss', reg, m.peak / MiB);
      const hwm = Number.isNaN(m.hwm) ? '' : `, kernel VmHWM ${(m.hwm / MiB).toFixed(1)} MiB`;
      log(`peak ${(m.peak / MiB).toFixed(1)} MiB (before ${(m.before / MiB).toFixed(1)}, after ${(m.after / MiB).toFixed(1)}, ` +
        `${m.samples} samples${hwm}; upload ${(P.rssBytes / MiB / m.secs).toFixed(1)} MiB/s)`);
    }
    fs.rmSync(rssFile, { force: true });

    for (const reg of regs) {
      if (reg.proc.exitCode !== null || reg.proc.signalCode !== null) throw new BenchError(`${reg.name} exited during the run; output:\n${reg.tail.text}`);
    }
    const berth = regs.find((r) => r.name === 'berth');
    if (berth && berth.tail.lines > berth.startupLines) {
      log(`\nnote: berth printed ${berth.tail.lines - berth.startupLines} line(s) during the run; the last of them:`);
      log(berth.tail.text.split('\n').slice(-11).join('\n'));
    }
    printReport(results);
    ok = true;
  } catch (err) {
    for (const reg of regs) {
      if (reg.tail.text.trim()) console.error(`\n--- last output of ${reg.name} ---\n${reg.tail.text.split('\n').slice(-30).join('\n')}`);
    }
    throw err;
  } finally {
    await cleanup(regs);
  }
  return ok;
}

function printReport(results) {
  const rows = [
    { key: 'mono', label: 'blob upload monolithic MiB/s', fmt: (v) => v.toFixed(1), target: TARGETS.upload },
    { key: 'chunked', label: 'blob upload chunked MiB/s', fmt: (v) => v.toFixed(1), target: TARGETS.upload },
    { key: 'chunkedCurl', label: '  (chunked, curl time_total only)', fmt: (v) => v.toFixed(1), info: true },
    { key: 'chunkedOverheadMs', label: '  (chunked, ms/process outside it)', fmt: (v) => v.toFixed(1), info: true, noRatio: true },
    { key: 'download', label: 'blob download MiB/s', fmt: (v) => v.toFixed(1), target: TARGETS.download },
    { key: 'mget', label: 'manifest GET req/s (c=32)', fmt: (v) => v.toFixed(0), target: TARGETS.rps },
    { key: 'mhead', label: 'manifest HEAD req/s (c=32)', fmt: (v) => v.toFixed(0), target: TARGETS.rps },
    { key: 'mgetNode', label: '  (GET req/s via load.js)', fmt: (v) => v.toFixed(0), info: true },
    ...(args.wrkHead ? [{ key: 'mheadWrk', label: '  (HEAD req/s via wrk)', fmt: (v) => v.toFixed(0), info: true }] : []),
    { key: 'rss', label: `peak RSS during ${P.rssBytes % (1024 * MiB) === 0 ? `${P.rssBytes / (1024 * MiB)} GiB` : fmtSize(P.rssBytes)} upload`, fmt: (v) => `${v.toFixed(1)} MiB`, rss: true },
  ];
  const value = (key, name) => {
    const xs = results[key]?.[name];
    return xs && xs.length ? (key === 'rss' ? Math.max(...xs) : median(xs)) : NaN;
  };
  const pad = (s, n) => String(s).padEnd(n);
  log('');
  log(`results (${P.runs > 1 ? `median of ${P.runs} runs` : '1 run'}; ${fmtSize(P.blob)} blobs; blob transfers by curl)`);
  log(`${pad('measure', 36)}${pad('berth', 15)}${pad('distribution', 15)}ratio (berth/dist)`);
  const targetLines = [];
  for (const row of rows) {
    const b = value(row.key, 'berth');
    const d = value(row.key, 'distribution');
    const ratio = b / d;
    const show = (v) => (Number.isNaN(v) ? '-' : row.fmt(v));
    const ratioText = Number.isFinite(ratio) && !row.noRatio ? `${ratio.toFixed(2)}x ${row.rss ? '(lower is better)' : '(higher is better)'}` : '-';
    log(`${pad(row.label, 36)}${pad(show(b), 15)}${pad(show(d), 15)}${ratioText}`);
    if (row.info) continue;
    if (row.rss) {
      const verdict = Number.isNaN(b) ? 'n/a' : b < TARGETS.rssMiB ? 'PASS' : 'MISS';
      targetLines.push(`${pad(`berth peak RSS < ${TARGETS.rssMiB} MiB`, 44)}${pad(show(b), 14)}${verdict}`);
    } else {
      const verdict = Number.isFinite(ratio) ? (ratio >= row.target ? 'PASS' : 'MISS') : 'n/a';
      targetLines.push(`${pad(`${row.label.replace(/ (MiB\/s|req\/s).*$/, '')} >= ${row.target.toFixed(1)}x dist`, 44)}${pad(Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-', 14)}${verdict}`);
    }
  }
  log('ratio: for MiB/s and req/s rows, above 1.00x means berth is faster; for RSS, below 1.00x means berth uses less memory.');
  log('');
  log('targets');
  for (const l of targetLines) log(`  ${l}`);
  if (warnings.length) {
    log('');
    log(`warnings (${warnings.length}):`);
    for (const w of warnings) log(`  ${w}`);
  }
}

// The ECR API part (bench/ecr.js) comes last, against a berth of its own; it has no distribution side.
async function all() {
  if (args.parts) return void (await runParts(args.parts));
  if (args.gcOnly) return void (await runGcBench({ verbose: args.verbose }));
  if (args.policyOnly) return void (await runPolicyBench({ verbose: args.verbose, quick: args.quick }));
  if (!args.ecrOnly) await main();
  if (wantBerth && !args.noEcr) await runEcrBench({ verbose: args.verbose });
  // Policy evaluation cost (bench/policy.js), also against a berth of its own.
  if (wantBerth && !args.ecrOnly) await runPolicyBench({ verbose: args.verbose, quick: args.quick });
}

all().then(
  () => process.exit(0),
  (err) => {
    console.error(`\nbenchmark failed: ${err instanceof BenchError || err instanceof EcrBenchError || err instanceof GcBenchError || err instanceof PolicyBenchError ? err.message : err.stack || err}`);
    process.exit(1);
  },
);
