/**
 * SemVer 2.0 precedence (https://semver.org/#spec-item-11) for npm, crates.io and the other
 * SemVer ecosystems, parsed leniently as advisory data needs: an optional `v`, missing minor and
 * patch read as 0, numbers of any length, and anything after the third number (`1.2.3.4`) is
 * build metadata. Build metadata never affects the order.
 */
import { VersionError, type VersionOrdering } from './types.js';

export interface SemverVersion {
  /** major, minor, patch as digit strings without leading zeros (any length). */
  core: [string, string, string];
  prerelease: string[];
}

// Numeric parts after the third (`1.2.3.4`) are read as build metadata, as OSV's tools do.
const SEMVER = /^v?(\d+)(?:\.(\d+)(?:\.(\d+)(?:\.\d+)*)?)?(?:-([0-9A-Za-z.-]*))?(?:\+.*)?$/;

function stripZeros(s: string): string {
  const t = s.replace(/^0+/, '');
  return t === '' ? '0' : t;
}

export function parseSemver(raw: string): SemverVersion {
  const v = raw.trim();
  const m = SEMVER.exec(v);
  if (!m) throw new VersionError(`${JSON.stringify(raw)} is not a SemVer version`);
  return {
    core: [stripZeros(m[1] as string), stripZeros(m[2] ?? '0'), stripZeros(m[3] ?? '0')],
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
  };
}

/** Compare two digit strings without leading zeros. */
export function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const NUMERIC = /^\d+$/;

export function comparePrerelease(a: readonly string[], b: readonly string[], caseInsensitive = false): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a[i] as string;
    let y = b[i] as string;
    const xn = NUMERIC.test(x);
    const yn = NUMERIC.test(y);
    if (xn && yn) {
      const c = compareDigits(stripZeros(x), stripZeros(y));
      if (c !== 0) return c;
    } else if (xn !== yn) {
      return xn ? -1 : 1; // numeric identifiers have lower precedence
    } else {
      if (caseInsensitive) {
        x = x.toLowerCase();
        y = y.toLowerCase();
      }
      if (x !== y) return x < y ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareSemver(a: SemverVersion, b: SemverVersion): number {
  for (let i = 0; i < 3; i++) {
    const c = compareDigits(a.core[i] as string, b.core[i] as string);
    if (c !== 0) return c;
  }
  return comparePrerelease(a.prerelease, b.prerelease);
}

export const semverOrdering: VersionOrdering<SemverVersion> = {
  family: 'semver',
  parse: parseSemver,
  compare: compareSemver,
};
