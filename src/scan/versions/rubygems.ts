/**
 * RubyGems version ordering (Gem::Version#<=>): the version is split into numeric and
 * alphabetic segments (`-` reads as `.pre.`), trailing zero segments of the numeric part and of
 * the pre-release part are dropped, then segments compare pairwise: numbers numerically,
 * strings lexically, and a string segment (a pre-release) sorts before a number.
 */
import { VersionError, type VersionOrdering } from './types.js';

export type GemVersion = (bigint | string)[];

// Gem::Version::VERSION_PATTERN, relaxed to accept a letter right after a digit (`1beta`).
const VALID = /^[0-9][0-9A-Za-z.-]*$/;

export function parseGemVersion(raw: string): GemVersion {
  const v = raw.trim();
  if (!VALID.test(v)) throw new VersionError(`${JSON.stringify(raw)} is not a RubyGems version`);
  const segments: (bigint | string)[] = (v.replaceAll('-', '.pre.').match(/[0-9]+|[a-z]+/gi) ?? []).map((s) =>
    /^\d/.test(s) ? BigInt(s) : s,
  );
  // canonical_segments: drop trailing zeros of the numeric run and of the rest.
  const firstString = segments.findIndex((s) => typeof s === 'string');
  const numeric = firstString < 0 ? segments : segments.slice(0, firstString);
  const rest = firstString < 0 ? [] : segments.slice(firstString);
  const trim = (list: (bigint | string)[]): (bigint | string)[] => {
    let end = list.length;
    while (end > 0 && list[end - 1] === 0n) end--;
    return list.slice(0, end);
  };
  return [...trim(numeric), ...trim(rest)];
}

export function compareGem(a: GemVersion, b: GemVersion): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x === y) continue;
    if (typeof x === 'string' && typeof y !== 'string') return -1;
    if (typeof x !== 'string' && typeof y === 'string') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export const rubygemsOrdering: VersionOrdering<GemVersion> = {
  family: 'rubygems',
  parse: parseGemVersion,
  compare: compareGem,
};
