/**
 * Go module version ordering: semantic versions with a `v` prefix (golang.org/ref/mod#versions).
 * Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`) are pre-releases and order by their
 * timestamp like any pre-release; `+incompatible` is build metadata and ignored. OSV's Go
 * records write versions without the `v`, and the Go toolchain (`stdlib`, `toolchain`) writes
 * `go1.21rc2`, which reads as `1.21.0-rc.2` as the Go vulnerability database does.
 */
import { compareSemver, parseSemver, type SemverVersion } from './semver.js';
import { VersionError, type VersionOrdering } from './types.js';

const TOOLCHAIN = /^(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$/;

export function parseGoVersion(raw: string): SemverVersion {
  let v = raw.trim();
  if (v.startsWith('go')) v = v.slice(2);
  else if (v.startsWith('v')) v = v.slice(1);
  if (v === '') throw new VersionError(`${JSON.stringify(raw)} is not a Go version`);
  const t = TOOLCHAIN.exec(v);
  if (t) {
    const core = `${t[1]}.${t[2]}.${t[3] ?? '0'}`;
    v = t[4] !== undefined ? `${core}-${t[4]}.${t[5]}` : core;
  }
  if (!/^\d+\.\d+\.\d+(?:[-+].*)?$/.test(v) && !/^\d+(\.\d+)?$/.test(v)) {
    throw new VersionError(`${JSON.stringify(raw)} is not a Go module version`);
  }
  return parseSemver(v);
}

export const goOrdering: VersionOrdering<SemverVersion> = {
  family: 'go',
  parse: parseGoVersion,
  compare: compareSemver,
};
