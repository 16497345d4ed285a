/**
 * Alpine (apk) version ordering. The format is apk's (apk-package(5)):
 * `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`, compared part by part:
 * numbers (a non-first part with a leading zero compares as a string, Gentoo's rule for
 * fractional parts), then the optional letter, then the suffixes (alpha < beta < pre < rc <
 * none < cvs < svn < git < hg < p), then the `-rN` package revision (absent reads as r0).
 * The commit hash is not ordered. A version with an unparsable tail sorts below the same
 * version without one; two unparsable versions compare as strings. This is the behaviour the
 * OSV corpus vectors (shared/vulndata/version-vectors/alpine-*.txt) expect.
 */
import { VersionError, type VersionOrdering } from './types.js';

interface NumberPart {
  text: string;
  value: bigint;
  first: boolean;
}

interface Suffix {
  weight: number;
  value: bigint;
}

export interface ApkVersion {
  original: string;
  numbers: NumberPart[];
  letter: string;
  suffixes: Suffix[];
  revision: bigint;
  /** What could not be parsed ('' when the whole version parsed). */
  rest: string;
  /** The tail after the suffixes and hash is neither empty nor `-rN...`. */
  invalid: boolean;
}

const SUFFIX_WEIGHT: Record<string, number> = {
  alpha: 0, beta: 1, pre: 2, rc: 3, cvs: 5, svn: 6, git: 7, hg: 8, p: 9,
};
const NO_SUFFIX: Suffix = { weight: 4, value: 0n };
const ZERO_PART: NumberPart = { text: '0', value: 0n, first: true };

const NUMBERS = /^\d+(?:\.\d+)*/;
const SUFFIX = /^_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)/;
const HASH = /^~[0-9a-f]+/;
const REVISION = /^-r(\d*)/;

export function parseApkVersion(raw: string): ApkVersion {
  const original = raw.trim();
  if (original === '') throw new VersionError('empty Alpine version');
  let s = original;
  const numbers: NumberPart[] = [];
  const m = NUMBERS.exec(s);
  if (m) {
    m[0].split('.').forEach((text, i) => numbers.push({ text, value: BigInt(text), first: i === 0 }));
    s = s.slice(m[0].length);
  }
  let letter = '';
  const c = s.charCodeAt(0);
  if (c >= 97 && c <= 122) {
    letter = s[0] as string;
    s = s.slice(1);
  }
  const suffixes: Suffix[] = [];
  for (let sm = SUFFIX.exec(s); sm; sm = SUFFIX.exec(s)) {
    suffixes.push({ weight: SUFFIX_WEIGHT[sm[1] as string] as number, value: BigInt(sm[2] || '0') });
    s = s.slice(sm[0].length);
  }
  const hm = HASH.exec(s);
  if (hm) s = s.slice(hm[0].length);
  let revision = 0n;
  let invalid = false;
  if (s !== '') {
    const rm = REVISION.exec(s);
    if (rm) {
      revision = BigInt(rm[1] || '0');
      s = s.slice(rm[0].length);
    } else {
      invalid = true;
    }
  }
  return { original, numbers, letter, suffixes, revision, rest: s, invalid };
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpNumberPart(a: NumberPart, b: NumberPart): number {
  if (!a.first && !b.first && (a.text.startsWith('0') || b.text.startsWith('0'))) {
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }
  return cmpBig(a.value, b.value);
}

export function compareApk(a: ApkVersion, b: ApkVersion): number {
  if (a.invalid && b.invalid) return a.original < b.original ? -1 : a.original > b.original ? 1 : 0;
  const n = Math.max(a.numbers.length, b.numbers.length);
  for (let i = 0; i < n; i++) {
    const c = cmpNumberPart(a.numbers[i] ?? ZERO_PART, b.numbers[i] ?? ZERO_PART);
    if (c !== 0) return c;
  }
  if (a.letter !== b.letter) {
    if (a.letter === '' || b.letter === '') return a.letter === '' ? -1 : 1;
    return a.letter < b.letter ? -1 : 1;
  }
  const k = Math.max(a.suffixes.length, b.suffixes.length);
  for (let i = 0; i < k; i++) {
    const x = a.suffixes[i] ?? NO_SUFFIX;
    const y = b.suffixes[i] ?? NO_SUFFIX;
    if (x.weight !== y.weight) return x.weight < y.weight ? -1 : 1;
    const c = cmpBig(x.value, y.value);
    if (c !== 0) return c;
  }
  const r = cmpBig(a.revision, b.revision);
  if (r !== 0) return r;
  if ((a.rest === '') !== (b.rest === '')) return a.rest === '' ? 1 : -1;
  return 0;
}

export const apkOrdering: VersionOrdering<ApkVersion> = {
  family: 'apk',
  parse: parseApkVersion,
  compare: compareApk,
};
