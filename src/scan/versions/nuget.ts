/**
 * NuGet version ordering (NuGet.Versioning's NuGetVersion): up to four numeric parts
 * (Major.Minor.Patch.Revision, missing ones are 0, leading zeros allowed), then a SemVer 2.0
 * pre-release compared case-insensitively; build metadata (`+...`) is ignored.
 */
import { comparePrerelease } from './semver.js';
import { VersionError, type VersionOrdering } from './types.js';

export interface NugetVersion {
  parts: [bigint, bigint, bigint, bigint];
  prerelease: string[];
}

const NUGET = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]*)?$/;

export function parseNugetVersion(raw: string): NugetVersion {
  const m = NUGET.exec(raw.trim());
  if (!m) throw new VersionError(`${JSON.stringify(raw)} is not a NuGet version`);
  return {
    parts: [BigInt(m[1] as string), BigInt(m[2] ?? 0), BigInt(m[3] ?? 0), BigInt(m[4] ?? 0)],
    prerelease: m[5] === undefined ? [] : m[5].split('.'),
  };
}

export function compareNuget(a: NugetVersion, b: NugetVersion): number {
  for (let i = 0; i < 4; i++) {
    const x = a.parts[i] as bigint;
    const y = b.parts[i] as bigint;
    if (x !== y) return x < y ? -1 : 1;
  }
  return comparePrerelease(a.prerelease, b.prerelease, true);
}

export const nugetOrdering: VersionOrdering<NugetVersion> = {
  family: 'nuget',
  parse: parseNugetVersion,
  compare: compareNuget,
};
