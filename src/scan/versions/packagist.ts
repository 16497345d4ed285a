/**
 * Packagist (Composer) version ordering: PHP's version_compare()
 * (php-src ext/standard/versioning.c). The version is canonicalised (`-`, `_`, `+` and other
 * non-alphanumerics become `.`, and a `.` is put between digits and letters), then compared
 * part by part: numbers numerically, words by PHP's special forms dev < alpha = a < beta = b <
 * RC = rc < # < pl = p (any other word sorts first), and a number counts as `#`. A missing
 * part counts as `#` too, unless the longer version goes on with a number.
 */
import { VersionError, type VersionOrdering } from './types.js';

export type PackagistVersion = string[];

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * php_canonicalize_version, as Composer feeds it: a leading `v` dropped, `-`, `_` and `+` read
 * as `.`, and a `.` put between a digit and a non-digit. Other characters stay (PHP's own
 * test data has `1.2.3.#`, where `#` stands for "any number").
 */
function canonicalize(v: string): string {
  return v
    .replace(/^[vV]/, '')
    .replace(/[-_+]/g, '.')
    .replace(/([^\d.])(\d)/g, '$1.$2')
    .replace(/(\d)([^\d.])/g, '$1.$2');
}

const FORMS: [string, number][] = [
  ['dev', 0], ['alpha', 1], ['a', 1], ['beta', 2], ['b', 2], ['RC', 3], ['rc', 3], ['#', 4], ['pl', 5], ['p', 5],
];

function specialForm(s: string): number {
  for (const [name, order] of FORMS) if (s.startsWith(name)) return order;
  return -1;
}

function compareForms(a: string, b: string): number {
  return Math.sign(specialForm(a) - specialForm(b));
}

export function parsePackagistVersion(raw: string): PackagistVersion {
  const v = raw.trim();
  if (v === '') throw new VersionError('empty Packagist version');
  const canon = canonicalize(v);
  return canon.split('.');
}

function comparePhp(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    let c: number;
    if (isDigit(x[0]) && isDigit(y[0])) {
      const p = BigInt(/^\d+/.exec(x)?.[0] ?? '0');
      const q = BigInt(/^\d+/.exec(y)?.[0] ?? '0');
      c = p < q ? -1 : p > q ? 1 : 0;
    } else if (!isDigit(x[0]) && !isDigit(y[0])) {
      c = compareForms(x, y);
    } else {
      c = isDigit(x[0]) ? compareForms('#', y) : compareForms(x, '#');
    }
    if (c !== 0) return c;
  }
  if (a.length > n) return isDigit(a[n]?.[0]) ? 1 : comparePhp(a.slice(n), ['#']);
  if (b.length > n) return isDigit(b[n]?.[0]) ? -1 : comparePhp(['#'], b.slice(n));
  return 0;
}

export const packagistOrdering: VersionOrdering<PackagistVersion> = {
  family: 'packagist',
  parse: parsePackagistVersion,
  compare: comparePhp,
};
