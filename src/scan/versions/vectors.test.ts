/**
 * Every line of shared/vulndata/version-vectors/*.txt: `a OP b` with OP one of < = > (or ==).
 * Each comparison is checked in both orientations (a OP b and b OP' a).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { orderingOf, type VersionFamily } from './index.js';
import { compareNevra, parseNevra } from './rpm.js';

const vectors = new URL('../../../../shared/vulndata/version-vectors/', import.meta.url);

function lines(file: string): { line: number; a: string; op: string; b: string }[] {
  const out: { line: number; a: string; op: string; b: string }[] = [];
  readFileSync(new URL(file, vectors), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const t = text.trim();
      if (t === '' || t.startsWith('#') || t.startsWith('//')) return;
      const m = /^(\S+)\s+(<|>|==|=)\s+(\S+)$/.exec(t);
      if (!m) throw new Error(`${file}:${i + 1}: cannot read ${JSON.stringify(t)}`);
      out.push({ line: i + 1, a: m[1] as string, op: m[2] === '==' ? '=' : (m[2] as string), b: m[3] as string });
    });
  return out;
}

function sign(n: number): string {
  return n < 0 ? '<' : n > 0 ? '>' : '=';
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '=': '=' };

const files: [string, VersionFamily][] = [
  ['debian-versions.txt', 'dpkg'],
  ['debian-versions-generated.txt', 'dpkg'],
  ['alpine-versions.txt', 'apk'],
  ['alpine-versions-generated.txt', 'apk'],
  ['redhat-versions.txt', 'rpm'],
  ['claircore-rpmver-rpmvercmp.txt', 'rpm'],
  ['pypi-versions.txt', 'pep440'],
  ['pypi-versions-generated.txt', 'pep440'],
  ['maven-versions.txt', 'maven'],
  ['maven-versions-generated.txt', 'maven'],
  ['claircore-maven-compare.list', 'maven'],
  ['semver-versions.txt', 'semver'],
  ['nuget-versions.txt', 'nuget'],
  ['rubygems-versions.txt', 'rubygems'],
  ['packagist-versions.txt', 'packagist'],
];

describe('version vectors', () => {
  for (const [file, family] of files) {
    it(`${file} (${family})`, () => {
      const ordering = orderingOf(family);
      const cases = lines(file);
      const failures: string[] = [];
      for (const { line, a, op, b } of cases) {
        let got: string;
        let back: string;
        try {
          const pa = ordering.parse(a);
          const pb = ordering.parse(b);
          got = sign(ordering.compare(pa, pb));
          back = sign(ordering.compare(pb, pa));
        } catch (err) {
          got = back = `error: ${(err as Error).message}`;
        }
        if (got !== op || back !== FLIP[op]) failures.push(`${file}:${line}: ${a} ${op} ${b}, got ${got} / reversed ${back}`);
      }
      expect(cases.length).toBeGreaterThan(0);
      expect(failures.slice(0, 30)).toEqual([]);
      console.log(`${file}: ${cases.length - failures.length}/${cases.length} comparisons pass`);
    });
  }

  it('claircore-rpmver-compare.txt (rpm NEVRA)', () => {
    const cases = lines('claircore-rpmver-compare.txt');
    const failures: string[] = [];
    for (const { line, a, op, b } of cases) {
      const got = sign(compareNevra(parseNevra(a), parseNevra(b)));
      const back = sign(compareNevra(parseNevra(b), parseNevra(a)));
      if (got !== op || back !== FLIP[op]) failures.push(`${line}: ${a} ${op} ${b}, got ${got}/${back}`);
    }
    expect(failures).toEqual([]);
    console.log(`claircore-rpmver-compare.txt: ${cases.length}/${cases.length} comparisons pass`);
  });

  it('claircore-rpmver-parse.txt (rpm NEVRA parsing)', () => {
    const text = readFileSync(new URL('claircore-rpmver-parse.txt', vectors), 'utf8');
    let n = 0;
    for (const raw of text.split('\n')) {
      const t = raw.trim();
      if (t === '' || t.startsWith('#')) continue;
      const [input, name, epoch, version, release, arch] = t.split(/\s+/).map((f) => (f === "''" || f === '""' ? '' : f));
      expect(parseNevra(input as string), input).toEqual({ name, epoch, version, release, arch });
      n++;
    }
    expect(n).toBeGreaterThan(0);
    console.log(`claircore-rpmver-parse.txt: ${n}/${n} parses pass`);
  });
});
