// Garbage-collection benchmark, berth only: `berth gc` over 100,000 blobs and 20,000 manifests.
// `node bench/run.js --gc-only` runs it, and so does `node bench/gc.js`. Needs `npm run build`
// (it imports dist/ to fill the data folder and runs bin/berth.js). See bench/README.md.
//
// The data folder is filled directly through berth's own stores (dist/storage/metadata), not
// through the HTTP API: 100,000 pushes through the API would take minutes and measure the push
// path, not the collector. Each blob is a small file at its content address with its row and one
// repository link; each manifest is a row with its references and a tag, as a push stores them.
//
//   100 repositories; 20,000 manifests, manifest i in repository i % 100, referencing blobs
//   4i .. 4i+3 (config and three layers) and one of 100 shared base layers; 19,900 blobs that no
//   manifest references. Every row and link is dated two days back, so the 24 h grace has passed.
//
// Then, each as its own process (`node bin/berth.js gc ...` beside nothing else), timed from spawn
// to exit, with the peak RSS (VmHWM, sampled every 20 ms from /proc):
//   1. `berth gc` on an empty data folder: the baseline (node, modules, SQLite);
//   2. `berth gc --dry-run`: the walk and decisions, nothing removed;
//   3. `berth gc`: removes the 19,900 unreferenced blobs (rows, links, files);
//   4. `berth gc` again: a pass that finds nothing to remove (the steady state);
//   5. `berth fsck --no-hash` and `berth fsck` (informational).
// The collector's own time (the "in N s" it prints) is shown beside the process's wall time.
//
// Target: a full pass (3) under 30 s, with memory bounded (peak RSS close to the baseline: the
// collector walks the tables in pages and the blob area one folder at a time).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// `--scale 0.1` fills a tenth (10,000 blobs, 2,000 manifests): comparing the peaks shows whether
// memory grows with the data.
const SCALE = (() => {
  const i = process.argv.indexOf('--scale');
  const value = i > 0 ? Number(process.argv[i + 1]) : 1;
  return Number.isFinite(value) && value > 0 && value <= 1 ? value : 1;
})();
const MANIFESTS = Math.round(20_000 * SCALE);
const BLOBS = Math.round(100_000 * SCALE);
const REPOSITORIES = 100;
const BASE_LAYERS = 100;
const TARGET_SECONDS = 30;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCOUNT = '000000000000';

export class GcBenchError extends Error {}

function sha256(data) {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** Fill `dataDir` through berth's stores. Returns what a collection should remove. */
export async function fill(dataDir, log) {
  const { openSqliteMetadata } = await import(pathToFileURL(path.join(ROOT, 'dist', 'storage', 'metadata', 'index.js')).href);
  const meta = await openSqliteMetadata(path.join(dataDir, 'metadata.db'));
  const old = Date.now() - 48 * 3600_000;
  const started = performance.now();
  try {
    await meta.accounts.ensure(ACCOUNT, old);
    const repos = [];
    for (let r = 0; r < REPOSITORIES; r++) repos.push((await meta.repositories.create(ACCOUNT, `bench/gc-${r}`, old)).repository.id);

    // Blobs: small files at their content address, then their rows and links.
    const blobs = [];
    for (let i = 0; i < BLOBS; i++) {
      const data = Buffer.from(`berth gc benchmark blob ${i}\n`);
      blobs.push({ digest: sha256(data), size: data.length, data });
    }
    for (let d = 0; d < 256; d++) fs.mkdirSync(path.join(dataDir, 'blobs', 'sha256', d.toString(16).padStart(2, '0')), { recursive: true });
    for (const b of blobs) {
      const hex = b.digest.slice(7);
      fs.writeFileSync(path.join(dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex), b.data);
    }
    const perManifest = 4;
    const base = MANIFESTS * perManifest;
    /** The repository a blob is linked to: its manifest's, or (unreferenced ones) any. */
    const repoOf = (i) => (i < base ? repos[Math.floor(i / perManifest) % REPOSITORIES] : i < base + BASE_LAYERS ? repos[(i - base) % REPOSITORIES] : repos[i % REPOSITORIES]);
    for (let from = 0; from < BLOBS; from += 5000) {
      await meta.transaction(async (tx) => {
        for (let i = from; i < Math.min(BLOBS, from + 5000); i++) {
          await tx.blobs.record(blobs[i].digest, blobs[i].size, old);
          await tx.blobs.link(repoOf(i), blobs[i].digest, old);
        }
      });
    }

    // Manifests with their references and a tag each.
    const descriptor = (b, mediaType) => ({ mediaType, digest: b.digest, size: b.size });
    for (let from = 0; from < MANIFESTS; from += 1000) {
      await meta.transaction(async (tx) => {
        for (let i = from; i < Math.min(MANIFESTS, from + 1000); i++) {
          const config = blobs[i * perManifest];
          const layers = [blobs[base + (i % BASE_LAYERS)], ...blobs.slice(i * perManifest + 1, (i + 1) * perManifest)];
          const body = Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: OCI_MANIFEST,
              config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
              layers: layers.map((l) => descriptor(l, 'application/vnd.oci.image.layer.v1.tar+gzip')),
            }),
          );
          const digest = sha256(body);
          const repositoryId = repos[i % REPOSITORIES];
          await tx.manifests.put(
            {
              repositoryId,
              digest,
              mediaType: OCI_MANIFEST,
              artifactType: null,
              subject: null,
              size: body.length,
              body,
              annotations: null,
              pushedAt: old,
              imageSize: layers.reduce((s, l) => s + l.size, 0),
              configMediaType: 'application/vnd.oci.image.config.v1+json',
              lastPulledAt: null,
            },
            [config, ...layers].map((b) => ({ childDigest: b.digest, childKind: 'blob' })),
          );
          await tx.tags.move(repositoryId, `v${i}`, digest, old);
        }
      });
    }
    const referenced = base + BASE_LAYERS;
    const garbage = blobs.slice(referenced);
    log(`filled in ${((performance.now() - started) / 1000).toFixed(1)} s: ${BLOBS} blobs (${referenced} referenced), ${MANIFESTS} manifests in ${REPOSITORIES} repositories`);
    return { garbage: garbage.length, garbageBytes: garbage.reduce((s, b) => s + b.size, 0), referenced };
  } finally {
    await meta.close();
  }
}

/** Run `node bin/berth.js ...args`, timing it and sampling its peak RSS (VmHWM). */
export function runBerth(args, env) {
  return new Promise((resolve, reject) => {
    const clean = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BERTH_')) clean[k] = v;
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'berth.js'), ...args], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let peak = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      const own = /in ([\d.]+) s/.exec(stdout);
      resolve({ code, stdout, stderr, seconds, ownSeconds: own ? Number(own[1]) : undefined, peakRss: peak });
    });
  });
}

function expectOk(run, what) {
  if (run.code !== 0 && !(what.startsWith('fsck') && run.code === 1)) {
    throw new GcBenchError(`${what} exited ${run.code}\n${run.stderr}\n${run.stdout.slice(-2000)}`);
  }
}

export async function runGcBench({ verbose = false } = {}) {
  const log = (...a) => console.log(...a);
  const distEntry = path.join(ROOT, 'dist', 'cli', 'main.js');
  if (!fs.existsSync(distEntry)) throw new GcBenchError('dist/ is missing: run `npm run build` first');
  log('');
  log(`GC benchmark (berth only): ${BLOBS} blobs, ${MANIFESTS} manifests`);
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  log(`host: ${os.cpus().length} x ${cpu}, node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-gc-'));
  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
  process.on('exit', cleanup);
  try {
    const env = (dir) => ({ BERTH_DATA_DIR: dir, BERTH_MASTER_KEY: crypto.randomBytes(32).toString('base64'), BERTH_GC_GRACE: '24h', BERTH_LOG_LEVEL: 'silent' });
    const emptyDir = path.join(tmp, 'empty');
    const dataDir = path.join(tmp, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const key = env(dataDir);

    // The baseline: the same command on a folder with nothing in it.
    const { openSqliteMetadata } = await import(pathToFileURL(path.join(ROOT, 'dist', 'storage', 'metadata', 'index.js')).href);
    await (await openSqliteMetadata(path.join(emptyDir, 'metadata.db'))).close();
    const baseline = await runBerth(['gc', '--quiet'], { ...env(emptyDir), BERTH_MASTER_KEY: key.BERTH_MASTER_KEY });
    expectOk(baseline, 'gc (empty)');

    const expected = await fill(dataDir, log);
    const dry = await runBerth(['gc', '--dry-run', '--quiet'], key);
    expectOk(dry, 'gc --dry-run');
    if (!dry.stdout.includes(`would remove ${expected.garbage} blobs`)) throw new GcBenchError(`dry run did not report ${expected.garbage} blobs:\n${dry.stdout}`);
    const full = await runBerth(['gc', '--quiet'], key);
    expectOk(full, 'gc');
    if (!full.stdout.includes(`removed ${expected.garbage} blobs`)) throw new GcBenchError(`gc did not remove ${expected.garbage} blobs:\n${full.stdout}`);
    const again = await runBerth(['gc', '--quiet'], key);
    expectOk(again, 'gc (again)');
    if (!again.stdout.includes('removed 0 blobs')) throw new GcBenchError(`a second gc removed something:\n${again.stdout}`);
    const fsckSizes = await runBerth(['fsck', '--no-hash'], key);
    expectOk(fsckSizes, 'fsck --no-hash');
    const fsckHash = await runBerth(['fsck'], key);
    expectOk(fsckHash, 'fsck');
    if (fsckHash.code !== 0 || fsckSizes.code !== 0) throw new GcBenchError(`fsck found problems after gc:\n${fsckHash.stdout.slice(-2000)}`);
    if (verbose) for (const r of [dry, full, again, fsckHash]) log(r.stdout.trim().split('\n').slice(-3).join('\n'));

    const pad = (s, n) => String(s).padEnd(n);
    const rows = [
      ['berth gc, empty data folder (baseline)', baseline],
      [`berth gc --dry-run`, dry],
      [`berth gc (removes ${expected.garbage} blobs, ${mib(expected.garbageBytes)})`, full],
      ['berth gc again (nothing to remove)', again],
      ['berth fsck --no-hash', fsckSizes],
      [`berth fsck (re-hashes ${expected.referenced} blobs)`, fsckHash],
    ];
    log('');
    log(`GC results (${BLOBS} blobs, ${MANIFESTS} manifests, ${REPOSITORIES} repositories; each command a process of its own)`);
    log(`${pad('command', 46)}${pad('wall', 10)}${pad('own', 10)}peak RSS`);
    for (const [label, r] of rows) log(`${pad(label, 46)}${pad(`${r.seconds.toFixed(1)} s`, 10)}${pad(r.ownSeconds !== undefined ? `${r.ownSeconds.toFixed(1)} s` : '-', 10)}${mib(r.peakRss)}`);
    log('wall: spawn to exit (node start, migrations, the run); own: the time the command reports for its walk.');
    log('');
    log('targets');
    log(`  ${pad(`full pass (berth gc) < ${TARGET_SECONDS} s`, 44)}${pad(`${full.seconds.toFixed(1)} s`, 12)}${full.seconds < TARGET_SECONDS ? 'PASS' : 'MISS'}`);
    const extra = full.peakRss - baseline.peakRss;
    log(`  ${pad('memory bounded (peak RSS over baseline)', 44)}${pad(`+${mib(extra)}`, 12)}${extra < 64 * 1024 * 1024 ? 'PASS' : 'MISS'} (< +64 MiB; baseline ${mib(baseline.peakRss)})`);
    return { baseline, dry, full, again, fsckSizes, fsckHash, expected };
  } finally {
    cleanup();
    process.off('exit', cleanup);
  }
}

// `node bench/gc.js` runs it alone.
if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  runGcBench({ verbose: process.argv.includes('--verbose') || process.argv.includes('-v') }).then(
    () => process.exit(0),
    (err) => {
      console.error(`\nGC benchmark failed: ${err instanceof GcBenchError ? err.message : err.stack || err}`);
      process.exit(1);
    },
  );
}
