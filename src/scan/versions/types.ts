/** Shared types of the version orderings (see index.ts). */

export type VersionFamily =
  | 'dpkg'
  | 'apk'
  | 'rpm'
  | 'pep440'
  | 'maven'
  | 'semver'
  | 'go'
  | 'rubygems'
  | 'nuget'
  | 'packagist';

/**
 * One ecosystem's ordering. `parse` does the string work once (and throws VersionError for a
 * string the ecosystem cannot order); `compare` of two parsed values is then cheap.
 */
export interface VersionOrdering<P = unknown> {
  readonly family: VersionFamily;
  parse(version: string): P;
  compare(a: P, b: P): number;
}

/** A version string an ordering cannot parse, or an ecosystem without an ordering. */
export class VersionError extends Error {
  override readonly name = 'VersionError';
}

/** -1, 0 or 1 for two numbers or strings (code-unit order). */
export function cmp<T extends number | string | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
