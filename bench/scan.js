#!/usr/bin/env node
// Image scanning benchmark (issue #6): run with `npm run build && node bench/scan.js`.
//
// 1. Import of 100,000 OSV records into the vulnerability database (`importVulnDb`, the code of
//    `berth vulndb import`), from a zip generated from the real records of shared/vulndata (each
//    record copied with a new id). Target: under 60 s. Peak RSS is reported (memory bounded: the
//    zip is read one entry at a time).
// 2. Scan of a Debian bookworm minbase image, end to end: push of the manifest to a repository
//    with scan on push, until DescribeImageScanFindings answers COMPLETE (job pickup, layer read
//    and decompression, dpkg inventory, matching against the database, findings stored). Target:
//    under 2 s. The image is built by `debootstrap --variant=minbase bookworm` (cached in
//    $TMPDIR/berth-bench-scan); without debootstrap the benchmark says so and uses the real dpkg
//    status of shared/vulndata (Debian 12 host, 770 packages) plus 60 MB of filler files.
//
// Options: --records N (default 100000), --runs N (scan runs, default 5), --keep (keep the data dir).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const vulndata = path.join(root, '..', 'shared', 'vulndata');
const cacheDir = path.join(os.tmpdir(), 'berth-bench-scan');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RECORDS = opt('records', 100_000);
const RUNS = opt('runs', 5);
const KEEP = args.includes('--keep');

if (!fs.existsSync(path.join(root, 'dist', 'app.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}
const { buildApp } = await import(pathToFileURL(path.join(root, 'dist', 'app.js')).href);
const { loadConfig } = await import(pathToFileURL(path.join(root, 'dist', 'config', 'index.js')).href);
const { ECRClient, CreateRepositoryCommand, DescribeImageScanFindingsCommand } = await import('@aws-sdk/client-ecr');

fs.mkdirSync(cacheDir, { recursive: true });
const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// ---- peak memory ---------------------------------------------------------------------------
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
sampler.unref();
const mb = (n) => `${(n / 1024 / 1024).toFixed(0)} MB`;

// ---- the 100,000-record zip -----------------------------------------------------------------
function corpus() {
  const out = [];
  for (const dir of ['osv', 'osv-derived']) {
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.json')) out.push(JSON.parse(fs.readFileSync(p, 'utf8')));
      }
    };
    walk(path.join(vulndata, dir));
  }
  return out;
}

/** A zip written entry by entry to `file` (deflate), so the generator's memory stays small too. */
function writeZip(file, count, entryAt) {
  const fd = fs.openSync(file, 'w');
  const central = [];
  let offset = 0;
  const write = (b) => {
    fs.writeSync(fd, b);
    offset += b.length;
  };
  for (let i = 0; i < count; i++) {
    const { name, data } = entryAt(i);
    const nameBuf = Buffer.from(name);
    const packed = zlib.deflateRawSync(data, { level: 1 });
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(nameBuf.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(Buffer.concat([c, nameBuf]));
    write(local);
    write(nameBuf);
    write(packed);
  }
  const centralStart = offset;
  for (const c of central) write(c);
  if (count > 0xfffe) {
    // More than 65,535 entries: the zip64 end of central directory record and its locator.
    const z = Buffer.alloc(56);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeUInt16LE(45, 12);
    z.writeUInt16LE(45, 14);
    z.writeBigUInt64LE(BigInt(count), 24);
    z.writeBigUInt64LE(BigInt(count), 32);
    z.writeBigUInt64LE(BigInt(offset - centralStart), 40);
    z.writeBigUInt64LE(BigInt(centralStart), 48);
    const zipEndAt = offset;
    write(z);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(zipEndAt), 8);
    loc.writeUInt32LE(1, 16);
    write(loc);
    offset = zipEndAt; // the classic record below describes the central directory, not the zip64 records
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(offset - centralStart, 12);
  end.writeUInt32LE(centralStart, 16);
  write(end);
  fs.closeSync(fd);
}


// ---- the minbase image -----------------------------------------------------------------------
function minbaseLayer() {
  const layer = path.join(cacheDir, 'minbase.tar.gz');
  if (fs.existsSync(layer)) return { layer, how: 'debootstrap --variant=minbase bookworm (cached)' };
  const rootfs = path.join(cacheDir, 'rootfs');
  const hasDebootstrap = spawnSync('sh', ['-c', 'command -v debootstrap'], { stdio: 'ignore' }).status === 0;
  if (hasDebootstrap && process.getuid?.() === 0) {
    console.log('building the minbase image with debootstrap (once; cached in', cacheDir, ')');
    fs.rmSync(rootfs, { recursive: true, force: true });
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian'], { stdio: 'ignore' });
    // As a base image ships it (debian:bookworm): no downloaded .debs, no apt lists.
    for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const f of fs.readdirSync(path.join(rootfs, d))) if (f.endsWith('.deb') || d.endsWith('lists')) fs.rmSync(path.join(rootfs, d, f), { recursive: true, force: true });
    }
    execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-czf', layer, '.'], { stdio: 'inherit' });
    fs.rmSync(rootfs, { recursive: true, force: true });
    return { layer, how: 'debootstrap --variant=minbase bookworm' };
  }
  // Fallback: the real dpkg database of a Debian 12 host, plus filler files of a realistic size.
  const fallback = path.join(cacheDir, 'fallback.tar.gz');
  const dir = path.join(cacheDir, 'fallback-root');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(path.join(vulndata, 'fixtures', 'dpkg', 'debian12-host'), dir, { recursive: true });
  for (let i = 0; i < 600; i++) {
    const d = path.join(dir, 'usr', 'lib', `filler${i % 30}`);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f${i}.so`), randomBytes(100 * 1024));
  }
  execFileSync('tar', ['--numeric-owner', '-C', dir, '-czf', fallback, '.']);
  fs.rmSync(dir, { recursive: true, force: true });
  return { layer: fallback, how: 'NO debootstrap: Debian 12 host dpkg status + 60 MB filler (not a minbase build)' };
}

// ---- run -------------------------------------------------------------------------------------
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-scan-data-'));
const KEY = 'AKIABENCHSCAN0000001';
const SECRET = 'benchsecretBENCHSECRET0123456789abcdefAB';
const config = loadConfig({
  env: {
    BERTH_DATA_DIR: dataDir,
    BERTH_LISTEN: '127.0.0.1:0',
    BERTH_LOG_LEVEL: 'silent',
    BERTH_ROOT_ACCESS_KEY_ID: KEY,
    BERTH_ROOT_SECRET_ACCESS_KEY: SECRET,
    BERTH_LIMITS_RATE_LIMITING: 'false',
    BERTH_GC_INTERVAL: '0',
    BERTH_SCAN_BASIC_INTERVAL: '0',
  },
});
const app = await buildApp(config);
await app.server.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${app.server.server.address().port}`;
const rows = [];
try {
  // 1. import
  const records = corpus();
  const zipFile = path.join(cacheDir, `osv-${RECORDS}.zip`);
  if (!fs.existsSync(zipFile)) {
    console.log(`generating ${RECORDS} records from the ${records.length} real ones ...`);
    writeZip(zipFile, RECORDS, (i) => {
      const r = records[i % records.length];
      const id = i < records.length ? r.id : `${r.id}-BENCH-${i}`;
      return { name: `${id}.json`, data: Buffer.from(JSON.stringify({ ...r, id })) };
    });
  }
  const zipSize = fs.statSync(zipFile).size;
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  let t = performance.now();
  const counts = await app.services.scanning.importVulnDb(zipFile);
  const importMs = performance.now() - t;
  rows.push(['import 100k OSV records', `${(importMs / 1000).toFixed(1)} s`, '60 s', (importMs / 60_000).toFixed(2), `${counts.added} added from a ${mb(zipSize)} zip; peak RSS ${mb(peakRss)} (+${mb(peakRss - rssBefore)})`]);
  t = performance.now();
  const again = await app.services.scanning.importVulnDb(zipFile);
  const againMs = performance.now() - t;
  rows.push(['re-import (all unchanged)', `${(againMs / 1000).toFixed(1)} s`, '-', '-', `${again.unchanged} unchanged`]);

  // 2. scan of the minbase image, end to end
  const { layer, how } = minbaseLayer();
  const layerBytes = fs.readFileSync(layer);
  const layerDigest = sha256(layerBytes);
  const diffId = sha256(zlib.gunzipSync(layerBytes));
  const auth = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`;
  const ecr = new ECRClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'bench/minbase', imageScanningConfiguration: { scanOnPush: true } }));
  const pushBlob = async (data) => {
    const res = await fetch(`${url}/v2/bench/minbase/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/octet-stream' }, body: data });
    if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  };
  await pushBlob(layerBytes);
  const times = [];
  let result;
  for (let run = 0; run < RUNS; run++) {
    // A new config per run gives a new manifest digest, so each run is a first scan.
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: { Labels: { run: String(run) } } }));
    await pushBlob(cfg);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(cfg), size: cfg.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layerBytes.length }],
      }),
    );
    peakRss = process.memoryUsage().rss;
    const start = performance.now();
    const res = await fetch(`${url}/v2/bench/minbase/manifests/run${run}`, { method: 'PUT', headers: { authorization: auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
    if (res.status !== 201) throw new Error(`manifest push: ${res.status}`);
    for (;;) {
      const scan = await app.services.scanning.scanOf(await app.registry.repository(config.accountId, 'bench/minbase'), sha256(manifest));
      if (scan && scan.status !== 'IN_PROGRESS') {
        result = scan;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    times.push(performance.now() - start);
    const answer = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'bench/minbase', imageId: { imageTag: `run${run}` } }));
    if (answer.imageScanStatus?.status !== 'COMPLETE') throw new Error(`scan status ${answer.imageScanStatus?.status}: ${answer.imageScanStatus?.description}`);
  }
  ecr.destroy();
  const inv = JSON.parse(
    (await app.meta.kysely.selectFrom('image_scans').select('inventory').where('repository', '=', 'bench/minbase').executeTakeFirstOrThrow()).inventory,
  );
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  rows.push([
    'scan minbase image (push -> COMPLETE)',
    `${(median / 1000).toFixed(2)} s`,
    '2 s',
    (median / 2000).toFixed(2),
    `median of ${RUNS} (min ${(times[0] / 1000).toFixed(2)} s); ${inv.packages.length} packages, ${result.findingCount} findings; layer ${mb(layerBytes.length)} gz, ${mb(inv.bytesRead)} tar; peak RSS ${mb(peakRss)}`,
  ]);
  // A reference for the figure above on this machine now: decompressing the layer, nothing else.
  t = performance.now();
  zlib.gunzipSync(layerBytes);
  const gunzipMs = performance.now() - t;
  rows.push(['reference: gunzip of the layer alone', `${(gunzipMs / 1000).toFixed(2)} s`, '-', '-', `scan / gunzip = ${(median / gunzipMs).toFixed(1)}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`]);
  console.log(`\nimage: ${how}; database: ${RECORDS} records\n`);
} finally {
  await app.close();
  if (!KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
}

const header = ['measure', 'berth', 'target', 'ratio (berth/target)', 'notes'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
