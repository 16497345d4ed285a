#!/usr/bin/env node
// Benchmark: the scan inventory (src/scan/inventory) on a Debian bookworm minbase-like image layer.
//
//   npm run build && node bench/inventory.js [--runs N] [--layer file.tar.gz]
//
// The layer is built from this machine's own Debian 12 files: every file dpkg lists for the
// packages of a `debootstrap --variant=minbase` (Priority: required, plus apt), the full dpkg
// status database and /etc/os-release, packed with tar-stream and gzip-compressed in memory
// (not timed). Then, per run, it times:
//   baseline   gunzip + tar walk that reads every entry and keeps nothing (the floor: I/O-free decode)
//   inventory  inventoryOfLayers: the same walk plus selection, Go build-info sniffing of every
//              executable, whiteouts and the readers
// and prints a table, the inventory/baseline ratio and whether it meets the target
// (a bookworm minbase image scans in under 2 s end to end).
// --layer times a real layer instead (gzip, zstd or plain tar), for example the tarball of
// `mmdebstrap --variant=minbase bookworm minbase.tar` gzipped (170 MiB tar, 60 MiB gzip).

import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { DecompressStream } from 'zstd-napi';
import { inventoryOfLayers } from '../dist/scan/inventory/index.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const layerArg = process.argv.includes('--layer') ? process.argv[process.argv.indexOf('--layer') + 1] : undefined;

function minbasePackages() {
  const status = fs.readFileSync('/var/lib/dpkg/status', 'utf8');
  const out = [];
  for (const para of status.split('\n\n')) {
    const name = /^Package: (\S+)/m.exec(para)?.[1];
    const arch = /^Architecture: (\S+)/m.exec(para)?.[1];
    const prio = /^Priority: (\S+)/m.exec(para)?.[1];
    if (name && (prio === 'required' || name === 'apt')) out.push({ name, arch });
  }
  return out;
}

function filesOf(pkgs) {
  const files = new Set();
  for (const { name, arch } of pkgs) {
    for (const list of [`/var/lib/dpkg/info/${name}.list`, `/var/lib/dpkg/info/${name}:${arch}.list`]) {
      if (!fs.existsSync(list)) continue;
      for (const f of fs.readFileSync(list, 'utf8').split('\n')) if (f && f !== '/.') files.add(f);
    }
  }
  return [...files].sort();
}

async function buildLayer() {
  const pack = tar.pack();
  const chunks = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  const add = (header, body) =>
    new Promise((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())));
  let count = 0;
  const pkgs = minbasePackages();
  for (const f of [...filesOf(pkgs), '/var/lib/dpkg/status', '/etc/os-release', '/usr/lib/os-release']) {
    let st;
    try {
      st = fs.lstatSync(f);
    } catch {
      continue;
    }
    const name = f.replace(/^\//, '');
    if (st.isDirectory()) await add({ name, type: 'directory', mode: st.mode & 0o7777 });
    else if (st.isSymbolicLink()) await add({ name, type: 'symlink', linkname: fs.readlinkSync(f), mode: 0o777 });
    else if (st.isFile()) {
      let body;
      try {
        body = fs.readFileSync(f);
      } catch {
        continue;
      }
      await add({ name, size: body.length, mode: st.mode & 0o7777 }, body);
    } else continue;
    count++;
  }
  pack.finalize();
  await collected;
  const raw = Buffer.concat(chunks);
  return { packages: pkgs.length, entries: count, raw: raw.length, gz: gzipSync(raw) };
}

function source(bytes) {
  return {
    digest: 'sha256:bench',
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size: bytes.length,
    async open() {
      const pieces = [];
      for (let i = 0; i < bytes.length; i += 1 << 16) pieces.push(bytes.subarray(i, i + (1 << 16)));
      return Readable.from(pieces);
    },
  };
}

async function baseline(bytes) {
  const extract = tar.extract();
  const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const zst = bytes[0] === 0x28 && bytes[1] === 0xb5;
  const stages = gz ? [createGunzip({ chunkSize: 1 << 17 })] : zst ? [new DecompressStream()] : [];
  const done = pipeline(await source(bytes).open(), ...stages, extract);
  for await (const entry of extract) entry.resume();
  await done;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (n) => (n / 1024 / 1024).toFixed(1);

let layer;
if (layerArg) {
  const gz = fs.readFileSync(layerArg);
  layer = { gz, raw: 0 };
  console.log(`layer: ${layerArg}, ${mib(gz.length)} MiB as stored`);
} else {
  layer = await buildLayer();
  console.log(
    `layer: ${layer.entries} entries from ${layer.packages} minbase packages, ${mib(layer.raw)} MiB tar, ${mib(layer.gz.length)} MiB gzip`,
  );
}
const times = { baseline: [], inventory: [] };
let inv;
for (let r = 0; r < runs; r++) {
  let t = process.hrtime.bigint();
  await baseline(layer.gz);
  times.baseline.push(Number(process.hrtime.bigint() - t) / 1e6);
  t = process.hrtime.bigint();
  inv = await inventoryOfLayers([source(layer.gz)], { maxLayerBytes: 2 ** 31, layerTimeoutMs: 60_000 });
  times.inventory.push(Number(process.hrtime.bigint() - t) / 1e6);
  layer.raw = inv.bytesRead;
}
const rss = process.memoryUsage().rss;
const rows = [
  ['baseline (gunzip + tar walk)', median(times.baseline), Math.min(...times.baseline)],
  ['inventoryOfLayers', median(times.inventory), Math.min(...times.inventory)],
];
console.log(`\n${'what'.padEnd(30)} ${'median ms'.padStart(10)} ${'best ms'.padStart(9)} ${'MiB/s (tar)'.padStart(12)}`);
for (const [what, med, best] of rows) {
  console.log(`${what.padEnd(30)} ${med.toFixed(0).padStart(10)} ${best.toFixed(0).padStart(9)} ${(layer.raw / 1024 / 1024 / (med / 1000)).toFixed(0).padStart(12)}`);
}
const ratio = median(times.inventory) / median(times.baseline);
console.log(`\npackages found: ${inv.packages.length} (${inv.os?.id} ${inv.os?.versionId}), warnings: ${inv.warnings.length}, partial: ${inv.partial}`);
console.log(`inventory / baseline: ${ratio.toFixed(2)}x`);
console.log(`target: minbase image under 2000 ms -> ${median(times.inventory) < 2000 ? 'met' : 'NOT met'} (${median(times.inventory).toFixed(0)} ms); rss ${mib(rss)} MiB`);
