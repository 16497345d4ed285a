#!/usr/bin/env node
// Benchmark: vulnerability matching (src/scan/match, src/scan/versions) on the scanner corpus.
//
//   npm run build && node bench/scan-match.js [--runs N]
//
// Loads every OSV record of shared/vulndata/osv and osv-derived (951) and the packages of
// expected-inventory.json (955 packages in 33 fixtures), then times, per run:
//   parse      JSON.parse + parseOsvRecord of every record file's text (read once, not timed)
//   index      building the in-memory OsvIndex
//   match      matching every fixture's packages through the index, on freshly parsed records
//              (so each run pays for parsing the range versions, as a scan does)
//   naive      the same packages matched against every record (no index): the baseline
// plus the throughput of each version ordering (parse + compare of its vector file's pairs).
// It prints a table, the match/naive ratio and the share of the 2 s scan budget that
// matching takes.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseOsvRecord } from '../dist/scan/osv.js';
import { OsvIndex, matchPackage } from '../dist/scan/match/index.js';
import { orderingOf } from '../dist/scan/versions/index.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(repo, '../shared/vulndata');
if (!fs.existsSync(corpus)) {
  console.error(`scan-match bench: the scanner corpus is not at ${corpus}`);
  process.exit(2);
}

const texts = [];
for (const dir of ['osv', 'osv-derived']) {
  for (const eco of fs.readdirSync(path.join(corpus, dir))) {
    for (const f of fs.readdirSync(path.join(corpus, dir, eco))) {
      if (f.endsWith('.json')) texts.push(fs.readFileSync(path.join(corpus, dir, eco, f), 'utf8'));
    }
  }
}

const inventory = JSON.parse(fs.readFileSync(path.join(corpus, 'expected-inventory.json'), 'utf8')).fixtures;
const fixtures = Object.values(inventory).map((entries) =>
  entries.map((e) => {
    const pkg = { ecosystem: e.ecosystem, name: e.package, version: e.version };
    if (/^(Debian|Alpine):/.test(e.ecosystem)) {
      pkg.name = e.binaryPackages?.[0] ?? e.package;
      pkg.sourceName = e.package;
      pkg.sourceVersion = e.version;
    }
    return pkg;
  }),
);
const packageCount = fixtures.reduce((n, f) => n + f.length, 0);

function time(fn) {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

const stats = { parse: [], index: [], match: [], naive: [] };
let findings = 0;
let naiveFindings = 0;
for (let run = 0; run < runs; run++) {
  const parsed = time(() => texts.map((t) => parseOsvRecord(JSON.parse(t))));
  stats.parse.push(parsed.ms);
  const index = time(() => new OsvIndex(parsed.result));
  stats.index.push(index.ms);
  const match = time(() => fixtures.reduce((n, pkgs) => n + index.result.match(pkgs, undefined).length, 0));
  stats.match.push(match.ms);
  findings = match.result;
  // Fresh records again, so the naive run does not profit from the parsed-range cache.
  const fresh = texts.map((t) => parseOsvRecord(JSON.parse(t)));
  const naive = time(() => fixtures.reduce((n, pkgs) => n + pkgs.reduce((m, p) => m + matchPackage(p, undefined, fresh).length, 0), 0));
  stats.naive.push(naive.ms);
  naiveFindings = naive.result;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const min = (xs) => Math.min(...xs);
const row = (cols, widths) => cols.map((c, i) => String(c).padStart(widths[i])).join('  ');
const widths = [10, 10, 10, 34];
console.log(`scan-match: ${texts.length} records, ${packageCount} packages, ${runs} runs, node ${process.version}`);
console.log(row(['step', 'mean ms', 'min ms', 'note'], widths));
console.log(row(['parse', mean(stats.parse).toFixed(1), min(stats.parse).toFixed(1), `${texts.length} records`], widths));
console.log(row(['index', mean(stats.index).toFixed(1), min(stats.index).toFixed(1), ''], widths));
console.log(row(['match', mean(stats.match).toFixed(1), min(stats.match).toFixed(1), `${findings} findings`], widths));
console.log(row(['naive', mean(stats.naive).toFixed(1), min(stats.naive).toFixed(1), `${naiveFindings} findings (no index)`], widths));

// Version orderings: parse + compare of each vector file's pairs.
const families = [
  ['dpkg', 'debian-versions-generated.txt'],
  ['apk', 'alpine-versions-generated.txt'],
  ['rpm', 'redhat-versions.txt'],
  ['pep440', 'pypi-versions-generated.txt'],
  ['maven', 'maven-versions-generated.txt'],
  ['semver', 'semver-versions.txt'],
];
console.log('');
console.log(row(['ordering', 'pairs', 'ms', 'compares/s (parse incl.)'], widths));
for (const [family, file] of families) {
  const pairs = fs
    .readFileSync(path.join(corpus, 'version-vectors', file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('//'))
    .map((l) => l.split(/\s+/))
    .filter((p) => p.length === 3);
  const o = orderingOf(family);
  const t = time(() => {
    let s = 0;
    for (let r = 0; r < 5; r++) for (const [a, , b] of pairs) s += o.compare(o.parse(a), o.parse(b));
    return s;
  });
  console.log(row([family, pairs.length, t.ms.toFixed(1), Math.round((pairs.length * 5) / (t.ms / 1000)).toLocaleString('en')], widths));
}

const ratio = mean(stats.match) / mean(stats.naive);
console.log('');
console.log(`match/naive ratio: ${ratio.toFixed(3)} (indexed matching takes ${(ratio * 100).toFixed(1)}% of the linear scan)`);
const budget = mean(stats.parse) + mean(stats.index) + mean(stats.match);
console.log(`parse + index + match: ${budget.toFixed(1)} ms = ${((budget / 2000) * 100).toFixed(1)}% of the 2 s scan budget`);
if (findings !== 175) {
  console.error(`scan-match bench: expected 175 findings, got ${findings}`);
  process.exit(1);
}
