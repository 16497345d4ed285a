/**
 * Every entry of shared/vulndata/expected-inventory.json, reproduced by the readers from the real
 * package databases in shared/vulndata/fixtures/ (see shared/vulndata/README.md).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  goBinaryPackages,
  parseOsRelease,
  readApkInstalled,
  readCargoLock,
  readClairIndexReport,
  readDpkgStatus,
  readGoBinary,
  readGoMod,
  readJavaArchive,
  readManifestIdentity,
  readPackageLock,
  readPomProperties,
  readPythonMetadata,
  readRequirements,
  readRpmBdb,
  readRpmNdb,
  readRpmSqlite,
  rpmEvr,
  type OsRelease,
  type Package,
} from './index.js';

const vulndata = new URL('../../../../shared/vulndata/', import.meta.url);
const read = (rel: string): Buffer => readFileSync(new URL(rel, vulndata));
const text = (rel: string): string => read(rel).toString('utf8');

type Entry = Record<string, unknown>;
const expected = JSON.parse(text('expected-inventory.json')) as { fixtures: Record<string, Entry[]> };

/** OS packages grouped by source, the way the corpus lists them. */
function bySource(pkgs: Package[], ecosystem: string): Entry[] {
  const groups = new Map<string, Entry & { binaryPackages: string[] }>();
  for (const p of pkgs) {
    const key = `${p.sourceName}\u0000${p.sourceVersion}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ecosystem, package: p.sourceName, version: p.sourceVersion, binaryPackages: [] }));
    g.binaryPackages.push(p.name);
  }
  return [...groups.values()].map((g) => ({ ...g, binaryPackages: [...new Set(g.binaryPackages)].sort() }));
}

function debianRelease(os: OsRelease | undefined, fallback: string): string {
  return `Debian:${os?.versionId ?? fallback}`;
}

const plain = (pkgs: Array<Package | undefined>): Entry[] =>
  pkgs.filter((p): p is Package => p !== undefined).map((p) => ({ ecosystem: p.ecosystem, package: p.name, version: p.version }));

/** Produce the entries for one fixture, from the file alone. */
async function inventoryOf(fixture: string): Promise<Entry[]> {
  const rel = fixture; // fixtures/...
  if (rel.endsWith('/var/lib/dpkg/status')) {
    const root = rel.slice(0, -'var/lib/dpkg/status'.length);
    let os: OsRelease | undefined;
    try {
      os = parseOsRelease(text(`${root}etc/os-release`));
    } catch {
      os = undefined;
    }
    // README: without os-release, the scalibr subset is bookworm and the claircore one buster
    const fallback = rel.includes('buster') ? '10' : '12';
    return bySource(readDpkgStatus(text(rel)), debianRelease(os, fallback));
  }
  if (rel.endsWith('-index-report.json')) {
    const { os, packages } = readClairIndexReport(text(rel));
    return bySource(packages, debianRelease(os, '?'));
  }
  if (rel.endsWith('lib/apk/db/installed')) {
    const root = rel.slice(0, -'lib/apk/db/installed'.length);
    const os = parseOsRelease(text(`${root}etc/os-release`));
    const mm = /^(\d+\.\d+)/.exec(os?.versionId ?? '')?.[1];
    return bySource(readApkInstalled(text(rel)), `Alpine:v${mm}`);
  }
  if (rel.endsWith('rpmdb.sqlite.gz')) {
    return readRpmSqlite(gunzipSync(read(rel))).map((h) => ({ package: h.name, version: rpmEvr(h), arch: h.arch, sourceRpm: h.sourceRpm }));
  }
  if (rel.endsWith('package-lock.json')) {
    return readPackageLock(text(rel)).map((p) => ({ ecosystem: p.ecosystem, package: p.name, version: p.version, lockPath: p.lockPath }));
  }
  if (rel.endsWith('/METADATA') || rel.endsWith('/PKG-INFO')) return plain([readPythonMetadata(text(rel))]);
  if (rel.endsWith('requirements.txt')) return plain(readRequirements(text(rel)));
  if (rel.endsWith('go.mod')) return plain(readGoMod(text(rel)));
  if (rel.includes('/go/binary/')) return plain(goBinaryPackages(readGoBinary(read(rel))!));
  if (rel.endsWith('Cargo.lock')) return plain(readCargoLock(text(rel)));
  if (rel.endsWith('pom.properties')) return plain([readPomProperties(text(rel))]);
  if (rel.endsWith('MANIFEST.MF')) {
    const jar = rel.split('/').find((s) => s.endsWith('.jar'));
    return plain([readManifestIdentity(text(rel), jar)]);
  }
  throw new Error(`no reader for ${fixture}`);
}

/** What the corpus says, without its explanatory notes; rpm ecosystem strings are descriptive only. */
function normalizeExpected(fixture: string, entries: Entry[]): Entry[] {
  return entries.map((e) => {
    const { note: _note, ...rest } = e;
    if (fixture.includes('/rpm/')) {
      const { ecosystem: _eco, ...r } = rest;
      return r;
    }
    if (Array.isArray(rest['binaryPackages'])) rest['binaryPackages'] = [...(rest['binaryPackages'] as string[])].sort();
    return rest;
  });
}

const sorted = (entries: Entry[]): string[] => entries.map((e) => JSON.stringify(e, Object.keys(e).sort())).sort();

describe('expected-inventory.json, fixture by fixture', () => {
  const fixtures = Object.entries(expected.fixtures);
  it('covers the corpus', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });
  for (const [fixture, entries] of fixtures) {
    it(`${fixture} (${entries.length})`, async () => {
      const got = await inventoryOf(fixture);
      expect(sorted(got)).toEqual(sorted(normalizeExpected(fixture, entries)));
    });
  }
});

describe('archives built from the corpus metadata', () => {
  const jars = new URL('fixtures/java/metadata-only-jars/', vulndata);
  const cases: Array<[string, string[]]> = [
    ['commons-compress.jar', ['org.apache.commons:commons-compress@1.22']],
    ['commons-io.jar', ['commons-io:commons-io@2.11.0']],
    ['commons-text.jar', ['org.apache.commons:commons-text@1.10.0']],
    ['guava.jar', ['com.google.guava:guava@31.1-jre']],
    ['httpclient.jar', ['org.apache.httpcomponents:httpclient@4.5.14']],
    ['jackson-databind.jar', ['com.fasterxml.jackson.core:jackson-databind@2.14.0']],
    ['jsoup.jar', ['org.jsoup:jsoup@1.15.3']],
    ['log4j-1.2-1.2.17.jar', ['log4j:log4j@1.2.17']],
    ['snakeyaml.jar', ['org.yaml:snakeyaml@1.33']],
    ['nested/app-with-nested-jars.jar', ['org.apache.commons:commons-compress@1.22', 'org.yaml:snakeyaml@1.33']],
  ];
  for (const [file, want] of cases) {
    it(file, async () => {
      const warnings: string[] = [];
      const pkgs = await readJavaArchive(readFileSync(new URL(file, jars)), file, undefined, warnings);
      expect(pkgs.map((p) => `${p.name}@${p.version}`).sort()).toEqual(want);
      expect(pkgs.every((p) => p.ecosystem === 'Maven')).toBe(true);
      expect(warnings).toEqual([]);
    });
  }
  it('names where a nested jar came from', async () => {
    const pkgs = await readJavaArchive(readFileSync(new URL('nested/app-with-nested-jars.jar', jars)), 'app/app.jar');
    expect(pkgs.map((p) => p.path).sort()).toEqual([
      'app/app.jar!BOOT-INF/lib/commons-compress-1.22.jar',
      'app/app.jar!BOOT-INF/lib/snakeyaml-1.33.jar',
    ]);
  });
  it('holds nested archives only within a budget and a depth', async () => {
    const app = readFileSync(new URL('nested/app-with-nested-jars.jar', jars));
    const warnings: string[] = [];
    const pkgs = await readJavaArchive(app, 'app.jar', { maxNestedBytes: 1500, maxDepth: 3 }, warnings);
    expect(pkgs.map((p) => p.name)).toEqual(['org.apache.commons:commons-compress']);
    expect(warnings).toEqual(['app.jar!BOOT-INF/lib/snakeyaml-1.33.jar: nested archive not read (over the size budget or too deep)']);
    const shallow: string[] = [];
    expect(await readJavaArchive(app, 'app.jar', { maxNestedBytes: 1 << 20, maxDepth: 0 }, shallow)).toEqual([]);
    expect(shallow).toHaveLength(2);
  });

  it('rejects a buffer that is not a zip', async () => {
    await expect(readJavaArchive(Buffer.from('not a zip at all, just text'), 'x.jar')).rejects.toThrow();
  });
});

describe('ndb rpm databases (SUSE Packages.db)', () => {
  /** An ndb file laid out as rpm's backend writes it, holding the corpus's real Mariner headers. */
  function ndbOf(blobs: Buffer[]): Buffer {
    const slotPages = 1;
    const blocks: Buffer[] = [];
    let next = (slotPages * 4096) / 16;
    const slots = Buffer.alloc(slotPages * 4096);
    slots.write('RpmP', 0, 'latin1');
    slots.writeUInt32LE(0, 4);
    slots.writeUInt32LE(7, 8);
    slots.writeUInt32LE(slotPages, 12);
    for (let s = 2; s < (slotPages * 4096) / 16; s++) slots.write('Slot', s * 16, 'latin1');
    blobs.forEach((blob, i) => {
      const pkgIndex = i + 1;
      const head = Buffer.alloc(16);
      head.write('BlbS', 0, 'latin1');
      head.writeUInt32LE(pkgIndex, 4);
      head.writeUInt32LE(blob.length, 12);
      const padded = Buffer.alloc(Math.ceil((16 + blob.length + 16) / 16) * 16);
      head.copy(padded);
      blob.copy(padded, 16);
      const slot = (i + 3) * 16; // leave a free slot first
      slots.writeUInt32LE(pkgIndex, slot + 4);
      slots.writeUInt32LE(next, slot + 8);
      slots.writeUInt32LE(padded.length / 16, slot + 12);
      next += padded.length / 16;
      blocks.push(padded);
    });
    return Buffer.concat([slots, ...blocks]);
  }

  it('reads every header blob its slots point at', async () => {
    const { default: Database } = await import('better-sqlite3');
    const sqlite = gunzipSync(read('fixtures/rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.gz'));
    sqlite[18] = 1;
    sqlite[19] = 1;
    const db = new Database(sqlite, { readonly: true });
    const blobs = (db.prepare('SELECT blob FROM Packages ORDER BY hnum').all() as Array<{ blob: Buffer }>).map((r) => r.blob);
    db.close();
    const hs = readRpmNdb(ndbOf(blobs));
    const want = expected.fixtures['fixtures/rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.gz']!;
    expect(hs.map((h) => `${h.name}@${rpmEvr(h)}`)).toEqual(want.map((e) => `${e['package']}@${e['version']}`));
  });

  it('rejects a file that is not ndb', () => {
    expect(() => readRpmNdb(Buffer.alloc(8192))).toThrow(/ndb/);
  });
});

describe('Berkeley DB rpm databases', () => {
  it('libuuid', () => {
    const [h, ...rest] = readRpmBdb(read('fixtures/rpm/bdb-libuuid/var/lib/rpm/Packages'));
    expect(rest).toEqual([]);
    expect(h).toEqual({ name: 'libuuid', version: '2.32.1', release: '42.el8_8', arch: 'x86_64', sourceRpm: 'util-linux-2.32.1-42.el8_8.src.rpm' });
  });
  it('keeps epochs', () => {
    const hs = readRpmBdb(read('fixtures/rpm/bdb-epoch/var/lib/rpm/Packages'));
    expect(hs.length).toBeGreaterThan(0);
    expect(hs.map(rpmEvr)).toContain('1:0.0.1-rls');
    expect(hs.every((h) => h.name.length > 0 && h.version.length > 0)).toBe(true);
  });
  it('rejects a file that is not Berkeley DB', () => {
    expect(() => readRpmBdb(Buffer.alloc(4096, 7))).toThrow(/Berkeley DB/);
  });
});
