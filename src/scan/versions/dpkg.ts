/**
 * Debian version ordering, as `dpkg --compare-versions` (dpkg's lib/dpkg/version.c,
 * deb-version(7)): `[epoch:]upstream[-revision]`, compared epoch (numeric), then upstream, then
 * revision with verrevcmp: non-digit runs compare by a modified ASCII order (`~` before the
 * end of the string, letters before other characters), digit runs numerically.
 */
import { VersionError, type VersionOrdering } from './types.js';

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseDpkgVersion(raw: string): DpkgVersion {
  const v = raw.trim();
  if (v === '') throw new VersionError('empty Debian version');
  if (/\s/.test(v)) throw new VersionError(`Debian version ${JSON.stringify(raw)} contains whitespace`);
  let epoch = 0;
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) throw new VersionError(`Debian version ${JSON.stringify(raw)} has a non-numeric epoch`);
    epoch = Number(e);
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream === '') throw new VersionError(`Debian version ${JSON.stringify(raw)} has an empty upstream version`);
  return { epoch, upstream, revision };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function order(c: number): number {
  if (Number.isNaN(c)) return 0; // end of string
  if (isDigit(c)) return 0;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1; // '~'
  return c + 256;
}

/** dpkg's verrevcmp over one upstream or revision part. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

export function compareDpkg(a: DpkgVersion, b: DpkgVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const u = verrevcmp(a.upstream, b.upstream);
  if (u !== 0) return Math.sign(u);
  return Math.sign(verrevcmp(a.revision, b.revision));
}

export const dpkgOrdering: VersionOrdering<DpkgVersion> = {
  family: 'dpkg',
  parse: parseDpkgVersion,
  compare: compareDpkg,
};
