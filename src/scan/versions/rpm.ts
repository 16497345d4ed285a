/**
 * RPM version ordering: rpmvercmp (rpm's rpmio/rpmvercmp.c) over epoch, version and release.
 * Alphanumeric segments compare (digits numerically, letters as strings, a digit segment is
 * newer than a letter one), other characters only separate; `~` sorts before everything, even
 * the end of the string, and `^` sorts after the end but before anything else.
 *
 * An EVR is `[epoch:]version[-release]` (the release after the last `-`). A missing epoch is 0.
 * A missing release sorts before any release, as the OSV corpus vectors expect.
 */
import { VersionError, type VersionOrdering } from './types.js';

export interface RpmVersion {
  epoch: string;
  version: string;
  release: string | undefined;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

const TILDE = 126;
const CARET = 94;

/** rpm's rpmvercmp: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const n = a.length;
  const m = b.length;
  while (i < n || j < m) {
    while (i < n && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < m && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    const ca = i < n ? a.charCodeAt(i) : -1;
    const cb = j < m ? b.charCodeAt(j) : -1;
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (i >= n) return -1;
      if (j >= m) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < n && j < m)) break;
    let i2 = i;
    let j2 = j;
    const isNum = isDigit(ca);
    if (isNum) {
      while (i2 < n && isDigit(a.charCodeAt(i2))) i2++;
      while (j2 < m && isDigit(b.charCodeAt(j2))) j2++;
    } else {
      while (i2 < n && isAlpha(a.charCodeAt(i2))) i2++;
      while (j2 < m && isAlpha(b.charCodeAt(j2))) j2++;
    }
    if (j2 === j) return isNum ? 1 : -1; // segments of different types: numeric is newer
    let sa = a.slice(i, i2);
    let sb = b.slice(j, j2);
    if (isNum) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = i2;
    j = j2;
  }
  if (i >= n && j >= m) return 0;
  return i < n ? 1 : -1;
}

export function parseRpmVersion(raw: string): RpmVersion {
  const v = raw.trim();
  if (v === '') throw new VersionError('empty RPM version');
  let epoch = '0';
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    epoch = v.slice(0, colon) || '0';
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return { epoch, version: rest, release: undefined };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

export function compareRpm(a: RpmVersion, b: RpmVersion): number {
  const e = rpmvercmp(a.epoch, b.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === undefined || b.release === undefined) {
    if (a.release === b.release) return 0;
    return a.release === undefined ? -1 : 1;
  }
  return rpmvercmp(a.release, b.release);
}

/** A parsed rpm NEVRA (`name-[epoch:]version-release[.arch]`); name and arch may be empty. */
export interface Nevra {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
}

/**
 * Parse `name-[epoch:]version-release[.arch]`, or a bare `[epoch:]version-release`. The arch is
 * taken only when `knownArch` accepts the suffix after the release's last dot (rpm's own
 * parsers have the same ambiguity; claircore's rule is that the arch has no digits-only form).
 */
export function parseNevra(raw: string): Nevra {
  const s = raw.trim();
  const lastDash = s.lastIndexOf('-');
  if (lastDash < 0) throw new VersionError(`RPM NEVRA ${JSON.stringify(raw)} has no release`);
  let release = s.slice(lastDash + 1);
  let arch = '';
  const dot = release.lastIndexOf('.');
  if (dot >= 0 && ARCHES.has(release.slice(dot + 1))) {
    arch = release.slice(dot + 1);
    release = release.slice(0, dot);
  }
  const head = s.slice(0, lastDash);
  const vDash = head.lastIndexOf('-');
  const nameless = vDash < 0;
  const name = nameless ? '' : head.slice(0, vDash);
  let ev = nameless ? head : head.slice(vDash + 1);
  let epoch = '';
  const colon = ev.indexOf(':');
  if (colon >= 0) {
    epoch = ev.slice(0, colon);
    ev = ev.slice(colon + 1);
  }
  if (ev === '' || release === '') throw new VersionError(`RPM NEVRA ${JSON.stringify(raw)} has an empty version or release`);
  return { name, epoch, version: ev, release, arch };
}

const ARCHES: ReadonlySet<string> = new Set([
  'noarch', 'src', 'nosrc', 'x86_64', 'i386', 'i486', 'i586', 'i686', 'athlon', 'aarch64', 'arm64',
  'armv7hl', 'armv7l', 'armv6l', 'armhfp', 'ppc', 'ppc64', 'ppc64le', 'ppc64p7', 's390', 's390x',
  'riscv', 'riscv64', 'mips', 'mipsel', 'mips64', 'mips64el', 'ia64', 'sparc', 'sparc64', 'alpha',
  'loongarch64', 'amd64',
]);

/** Compare two NEVRAs: name (as a string), then EVR, then arch (as a string). */
export function compareNevra(a: Nevra, b: Nevra): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const evr = compareRpm(
    { epoch: a.epoch || '0', version: a.version, release: a.release },
    { epoch: b.epoch || '0', version: b.version, release: b.release },
  );
  if (evr !== 0) return evr;
  if (a.arch !== b.arch) return a.arch < b.arch ? -1 : 1;
  return 0;
}

export const rpmOrdering: VersionOrdering<RpmVersion> = {
  family: 'rpm',
  parse: parseRpmVersion,
  compare: compareRpm,
};
