import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOsvRecord, type OsvRecord } from '../osv.js';
import { OsvIndex, affectedKeys, lookupName, lookupVersion, matchPackage, normalizePypiName, osvEcosystemOf, type Package } from './index.js';

const corpus = new URL('../../../../shared/vulndata/', import.meta.url);
const real = (path: string): OsvRecord => parseOsvRecord(JSON.parse(readFileSync(new URL(path, corpus), 'utf8')));

let n = 0;
function record(affected: unknown[], extra: Record<string, unknown> = {}): OsvRecord {
  return parseOsvRecord({ id: `TEST-${++n}`, modified: '2024-01-01T00:00:00Z', affected, ...extra });
}

const npm = (version: string, name = 'pkg'): Package => ({ ecosystem: 'npm', name, version });
const ids = (pkg: Package, records: OsvRecord[], os?: Parameters<typeof matchPackage>[1]) =>
  matchPackage(pkg, os, records).map((f) => [f.id, f.fixedVersion ?? null]);

describe('OSV range evaluation', () => {
  const semverRange = (events: unknown[], type = 'SEMVER') => record([{ package: { ecosystem: 'npm', name: 'pkg' }, ranges: [{ type, events }] }]);

  it('introduced / fixed: [introduced, fixed)', () => {
    const r = semverRange([{ introduced: '1.2.0' }, { fixed: '1.4.1' }]);
    expect(ids(npm('1.1.9'), [r])).toEqual([]);
    expect(ids(npm('1.2.0'), [r])).toEqual([[r.id, '1.4.1']]);
    expect(ids(npm('1.4.1-rc.1'), [r])).toEqual([[r.id, '1.4.1']]);
    expect(ids(npm('1.4.1'), [r])).toEqual([]);
    expect(ids(npm('2.0.0'), [r])).toEqual([]);
  });

  it('"0" is below every version, and an open range has no fix', () => {
    const r = semverRange([{ introduced: '0' }]);
    expect(ids(npm('0.0.0-alpha'), [r])).toEqual([[r.id, null]]);
    expect(ids(npm('99.0.0'), [r])).toEqual([[r.id, null]]);
  });

  it('last_affected closes the range inclusively', () => {
    const r = semverRange([{ introduced: '0' }, { last_affected: '2.88.2' }]);
    expect(ids(npm('2.88.2'), [r])).toEqual([[r.id, null]]);
    expect(ids(npm('2.88.3'), [r])).toEqual([]);
  });

  it('limit caps a range', () => {
    const r = semverRange([{ introduced: '1.0.0' }, { limit: '1.5.0' }]);
    expect(ids(npm('1.4.9'), [r])).toEqual([[r.id, null]]);
    expect(ids(npm('1.5.0'), [r])).toEqual([]);
  });

  it('several introduced/fixed pairs in one range and in several ranges, events in any order', () => {
    const r = semverRange([{ fixed: '2.0.5' }, { introduced: '3.0.0' }, { introduced: '1.0.0' }, { fixed: '3.0.2' }]);
    expect(ids(npm('0.9.0'), [r])).toEqual([]);
    expect(ids(npm('2.0.4'), [r])).toEqual([[r.id, '2.0.5']]);
    expect(ids(npm('2.5.0'), [r])).toEqual([]);
    expect(ids(npm('3.0.1'), [r])).toEqual([[r.id, '3.0.2']]);
    const two = record([
      {
        package: { ecosystem: 'npm', name: 'pkg' },
        ranges: [
          { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] },
          { type: 'ECOSYSTEM', events: [{ introduced: '2.0.0' }, { fixed: '2.1.0' }] },
        ],
      },
    ]);
    expect(ids(npm('0.5.0'), [two])).toEqual([[two.id, '1.0.0']]);
    expect(ids(npm('2.0.1'), [two])).toEqual([[two.id, '2.1.0']]);
    expect(ids(npm('1.5.0'), [two])).toEqual([]);
  });

  it('the versions list matches on its own; GIT ranges are never evaluated', () => {
    const r = record([
      {
        package: { ecosystem: 'PyPI', name: 'pkg' },
        ranges: [{ type: 'GIT', repo: 'https://x', events: [{ introduced: '0' }, { fixed: 'f'.repeat(40) }] }],
        versions: ['1.0', '1.1'],
      },
    ]);
    expect(ids({ ecosystem: 'PyPI', name: 'pkg', version: '1.1' }, [r])).toEqual([[r.id, null]]);
    expect(ids({ ecosystem: 'PyPI', name: 'pkg', version: '1.2' }, [r])).toEqual([]);
  });

  it('ignores withdrawn records, other packages and other ecosystems', () => {
    const events = [{ introduced: '0' }, { fixed: '9.0.0' }];
    const withdrawn = record([{ package: { ecosystem: 'npm', name: 'pkg' }, ranges: [{ type: 'SEMVER', events }] }], { withdrawn: '2024-02-01T00:00:00Z' });
    const other = record([{ package: { ecosystem: 'npm', name: 'other' }, ranges: [{ type: 'SEMVER', events }] }]);
    const pypi = record([{ package: { ecosystem: 'PyPI', name: 'pkg' }, ranges: [{ type: 'ECOSYSTEM', events }] }]);
    expect(ids(npm('1.0.0'), [withdrawn, other, pypi])).toEqual([]);
  });

  it('reports one finding per advisory id, with the lowest fix above the version', () => {
    // GHSA-hrpp-h998-j3pp lists qs nine times, one range per minor line.
    const qs = real('osv/npm/GHSA-hrpp-h998-j3pp.json');
    expect(qs.affected.length).toBe(9);
    expect(ids(npm('6.5.2', 'qs'), [qs])).toEqual([['GHSA-hrpp-h998-j3pp', '6.5.3']]);
    expect(ids(npm('6.5.3', 'qs'), [qs])).toEqual([]); // equals the 6.5 line's fix
    expect(ids(npm('6.5.2', 'qs'), [qs, qs])).toHaveLength(1);
  });

  it('a version the ecosystem cannot parse matches only versions[] and never throws', () => {
    const r = record([{ package: { ecosystem: 'Go', name: 'm' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }], versions: ['not-a-version'] }]);
    expect(ids({ ecosystem: 'Go', name: 'm', version: 'not-a-version' }, [r])).toEqual([[r.id, null]]);
    expect(ids({ ecosystem: 'Go', name: 'm', version: 'garbage' }, [r])).toEqual([]);
    const bad = record([{ package: { ecosystem: 'npm', name: 'pkg' }, ranges: [{ type: 'SEMVER', events: [{ introduced: 'x.y' }] }] }]);
    expect(ids(npm('1.0.0'), [bad])).toEqual([]);
  });
});

describe('distribution releases and source packages', () => {
  const dpkgDla = real('osv-derived/Debian/DLA-3022-1.json'); // dpkg, Debian:9, fixed 1.18.26
  const musl = real('osv/Alpine/ALPINE-CVE-2025-26519.json');

  it('matches a Debian record only in its own release', () => {
    const pkg: Package = { ecosystem: 'Debian', name: 'dpkg', version: '1.18.25' };
    expect(ids(pkg, [dpkgDla], { id: 'debian', versionId: '9' })).toEqual([['DLA-3022-1', '1.18.26']]);
    expect(ids(pkg, [dpkgDla], { id: 'debian', versionId: '12' })).toEqual([]);
    expect(ids({ ...pkg, ecosystem: 'Debian:11' }, [dpkgDla])).toEqual([]);
  });

  it('looks Debian binaries up by their source package and source version', () => {
    const zlib = real('osv-derived/Debian/DLA-2968-1.json'); // zlib 1:1.2.8.dfsg-5+deb9u1
    const zlib1g: Package = { ecosystem: 'Debian', name: 'zlib1g', version: '1:1.2.8.dfsg-5+b1', sourceName: 'zlib', sourceVersion: '1:1.2.8.dfsg-5' };
    const os = { id: 'debian', versionId: '9', versionCodename: 'stretch' };
    const findings = matchPackage(zlib1g, os, [zlib]);
    expect(findings.map((f) => [f.id, f.packageName, f.packageVersion, f.fixedVersion, f.ecosystem])).toEqual([
      ['DLA-2968-1', 'zlib', '1:1.2.8.dfsg-5', '1:1.2.8.dfsg-5+deb9u1', 'Debian:9'],
    ]);
    expect(findings[0]?.package).toBe(zlib1g);
    // Without the source name the binary name does not match the record.
    expect(ids({ ecosystem: 'Debian', name: 'zlib1g', version: '1:1.2.8.dfsg-5' }, [zlib], os)).toEqual([]);
  });

  it('matches Alpine by origin and the v<major>.<minor> release', () => {
    const pkg: Package = { ecosystem: 'Alpine', name: 'musl-utils', version: '1.2.4-r0', sourceName: 'musl' };
    expect(ids(pkg, [musl], { id: 'alpine', versionId: '3.18.1' })).toEqual([['ALPINE-CVE-2025-26519', '1.2.4-r3']]);
    expect(ids(pkg, [musl], { id: 'alpine', versionId: '3.15.0' })).toEqual([]);
    expect(ids(pkg, [musl], undefined)).toEqual([]);
  });
});

describe('ecosystems and names', () => {
  it('osvEcosystemOf', () => {
    const p = (ecosystem: string): Package => ({ ecosystem, name: 'x', version: '1' });
    expect(osvEcosystemOf(p('Debian'), { id: 'debian', versionId: '12', versionCodename: 'bookworm' })).toBe('Debian:12');
    expect(osvEcosystemOf(p('dpkg'), { id: 'debian', versionCodename: 'trixie' })).toBe('Debian:13');
    expect(osvEcosystemOf(p('Debian'), { id: 'ubuntu', versionId: '22.04' })).toBe('Ubuntu:22.04:LTS');
    expect(osvEcosystemOf(p('Ubuntu'), { id: 'ubuntu', versionId: '23.10' })).toBe('Ubuntu:23.10');
    expect(osvEcosystemOf(p('apk'), { id: 'alpine', versionId: '3.20.3' })).toBe('Alpine:v3.20');
    expect(osvEcosystemOf(p('rpm'), { id: 'rocky', versionId: '9.3' })).toBe('Rocky Linux:9');
    expect(osvEcosystemOf(p('rpm'), { id: 'almalinux', versionId: '8.10' })).toBe('AlmaLinux:8');
    expect(osvEcosystemOf(p('rpm'), { id: 'rhel', versionId: '9.4' })).toBeUndefined();
    expect(osvEcosystemOf(p('Debian:10'), undefined)).toBe('Debian:10');
    expect(osvEcosystemOf(p('Debian'), undefined)).toBeUndefined();
    expect(osvEcosystemOf(p('python'), undefined)).toBe('PyPI');
    expect(osvEcosystemOf(p('cargo'), undefined)).toBe('crates.io');
    expect(osvEcosystemOf(p('Hackage'), undefined)).toBeUndefined();
  });

  it('normalises PyPI names (PEP 503) on both sides', () => {
    expect(normalizePypiName('Flask_Cors')).toBe('flask-cors');
    expect(normalizePypiName('zope.interface')).toBe('zope-interface');
    const r = real('osv/PyPI/PYSEC-2020-43.json'); // flask-cors
    expect(ids({ ecosystem: 'PyPI', name: 'Flask_CORS', version: '3.0.6' }, [r])).toEqual([['PYSEC-2020-43', '3.0.9']]);
    expect(affectedKeys(r)).toEqual(['PyPI\u0000flask-cors']);
  });

  it('Go versions drop their v or go prefix', () => {
    const pkg: Package = { ecosystem: 'Go', name: 'stdlib', version: 'go1.19.8' };
    expect(lookupVersion(pkg, 'Go')).toBe('1.19.8');
    expect(lookupVersion({ ...pkg, name: 'github.com/gogo/protobuf', version: 'v1.3.1' }, 'Go')).toBe('1.3.1');
    expect(lookupName({ ecosystem: 'Debian', name: 'libc6', version: '1', sourceName: 'glibc' }, 'Debian:12')).toBe('glibc');
    expect(ids(pkg, [real('osv/Go/GO-2023-1751.json')])).toEqual([['GO-2023-1751', '1.19.9']]);
  });

  it('OsvIndex finds candidates by (ecosystem, normalised name) and matches a whole inventory', () => {
    const index = new OsvIndex([real('osv/npm/GHSA-c2qf-rxjj-qqgw.json'), real('osv/PyPI/PYSEC-2020-43.json')]);
    const findings = index.match(
      [npm('4.3.6', 'semver'), npm('7.5.2', 'semver'), { ecosystem: 'PyPI', name: 'flask-cors', version: '3.0.8' }, npm('1.0.0', 'left-pad')],
      undefined,
    );
    expect(findings.map((f) => [f.id, f.packageName, f.packageVersion, f.fixedVersion])).toEqual([
      ['GHSA-c2qf-rxjj-qqgw', 'semver', '4.3.6', '5.7.2'],
      ['PYSEC-2020-43', 'flask-cors', '3.0.8', '3.0.9'],
    ]);
    expect(findings[0]).toMatchObject({ severity: 'MEDIUM', score: 5.3, aliases: ['CVE-2022-25883'] });
  });
});
