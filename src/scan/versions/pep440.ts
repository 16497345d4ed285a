/**
 * Python version ordering. Versions valid under PEP 440 are parsed with @renovatebot/pep440 and
 * compared by PEP 440's rules (https://peps.python.org/pep-0440/#summary-of-permitted-suffixes-and-relative-ordering):
 * epoch, release (trailing zeros ignored), `.devN` before pre-releases, a < b < rc < final <
 * post, local versions after their public version. Strings PEP 440 rejects (old PyPI uploads such
 * as `0.9.preview` or `2.0b1-py2.7`) use the legacy ordering of `packaging` < 22 /
 * setuptools' `parse_version`, which sorts every legacy version before every PEP 440 one.
 */
import { parse as parsePep440 } from '@renovatebot/pep440';
import { VersionError, type VersionOrdering } from './types.js';

type Local = (string | number)[];

export type PypiVersion =
  | {
      legacy: false;
      epoch: number;
      release: number[];
      /** -Infinity for `.devN` alone, Infinity for none, else [letter rank, n]. */
      pre: number | [number, number];
      post: number;
      dev: number;
      local: Local | undefined;
    }
  | { legacy: true; parts: string[] };

const PRE_RANK: Record<string, number> = { a: 0, b: 1, rc: 2 };

export function parsePypiVersion(raw: string): PypiVersion {
  const v = raw.trim();
  if (v === '') throw new VersionError('empty Python version');
  const p = parsePep440(v);
  if (p === null) return { legacy: true, parts: legacyParts(v) };
  const release = p.release.slice();
  while (release.length > 0 && release[release.length - 1] === 0) release.pop();
  const pre = p.pre as [string, number] | null;
  const post = p.post as [string, number] | null;
  const dev = p.dev as [string, number] | null;
  const local = p.local as unknown as Local | null;
  return {
    legacy: false,
    epoch: p.epoch,
    release,
    pre: pre ? [PRE_RANK[pre[0]] ?? 0, pre[1]] : !post && dev ? -Infinity : Infinity,
    post: post ? post[1] : -Infinity,
    dev: dev ? dev[1] : Infinity,
    local: local ?? undefined,
  };
}

// setuptools' legacy version key (pkg_resources._legacy_cmpkey).
const LEGACY_REPLACE: Record<string, string> = { pre: 'c', preview: 'c', '-': 'final-', rc: 'c', dev: '@' };

function legacyParts(v: string): string[] {
  const parts: string[] = [];
  const tokens = v.toLowerCase().split(/(\d+|[a-z]+|\.|-)/);
  const yielded: string[] = [];
  for (const token of tokens) {
    const t = LEGACY_REPLACE[token] ?? token;
    if (t === '' || t === '.') continue;
    yielded.push(/^\d/.test(t) ? t.padStart(8, '0') : `*${t}`);
  }
  yielded.push('*final');
  for (const part of yielded) {
    if (part.startsWith('*')) {
      if (part < '*final') while (parts.length > 0 && parts[parts.length - 1] === '*final-') parts.pop();
      while (parts.length > 0 && parts[parts.length - 1] === '00000000') parts.pop();
    }
    parts.push(part);
  }
  return parts;
}

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpPre(a: number | [number, number], b: number | [number, number]): number {
  if (typeof a === 'number' || typeof b === 'number') {
    const x = typeof a === 'number' ? a : 0;
    const y = typeof b === 'number' ? b : 0;
    return cmpNum(x, y);
  }
  return cmpNum(a[0], b[0]) || cmpNum(a[1], b[1]);
}

function cmpLocal(a: Local | undefined, b: Local | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (typeof x !== typeof y) return typeof x === 'string' ? -1 : 1; // alphanumeric before numeric
    if (x !== y) return x < y ? -1 : 1;
  }
  return cmpNum(a.length, b.length);
}

export function comparePypi(a: PypiVersion, b: PypiVersion): number {
  if (a.legacy || b.legacy) {
    if (!a.legacy || !b.legacy) return a.legacy ? -1 : 1;
    const n = Math.min(a.parts.length, b.parts.length);
    for (let i = 0; i < n; i++) {
      const x = a.parts[i] as string;
      const y = b.parts[i] as string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return cmpNum(a.parts.length, b.parts.length);
  }
  let c = cmpNum(a.epoch, b.epoch);
  if (c !== 0) return c;
  const n = Math.min(a.release.length, b.release.length);
  for (let i = 0; i < n; i++) {
    c = cmpNum(a.release[i] as number, b.release[i] as number);
    if (c !== 0) return c;
  }
  c = cmpNum(a.release.length, b.release.length);
  if (c !== 0) return c;
  return cmpPre(a.pre, b.pre) || cmpNum(a.post, b.post) || cmpNum(a.dev, b.dev) || cmpLocal(a.local, b.local);
}

export const pep440Ordering: VersionOrdering<PypiVersion> = {
  family: 'pep440',
  parse: parsePypiVersion,
  compare: comparePypi,
};
