/**
 * Whole images built in memory from the corpus fixtures, read through inventoryOfLayers: the
 * package databases sit where a real image has them, in gzip, zstd and plain layers.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { layer, type TestEntry } from '../layers/test-layers.js';
import { inventoryOfLayers, type Package } from './index.js';

const vulndata = new URL('../../../../shared/vulndata/', import.meta.url);
const fixtures = new URL('fixtures/', vulndata);
const bytes = (rel: string): Buffer => readFileSync(new URL(rel, fixtures));
const expected = (JSON.parse(readFileSync(new URL('expected-inventory.json', vulndata), 'utf8')) as { fixtures: Record<string, Array<Record<string, unknown>>> })
  .fixtures;
const opts = { maxLayerBytes: 512 * 1024 * 1024, layerTimeoutMs: 60_000 };

/** Every file under a fixture directory, placed under `prefix` in the image. */
function tree(rel: string, prefix: string): TestEntry[] {
  const root = new URL(rel.endsWith('/') ? rel : `${rel}/`, fixtures);
  const out: TestEntry[] = [];
  const walk = (sub: string): void => {
    for (const name of readdirSync(new URL(sub, root))) {
      const p = `${sub}${name}`;
      const st = statSync(new URL(p, root));
      if (st.isDirectory()) walk(`${p}/`);
      else out.push({ path: `${prefix}${p}`, content: readFileSync(new URL(p, root)), mode: st.mode & 0o777 });
    }
  };
  walk('');
  return out;
}

function bySource(pkgs: Package[]): string[] {
  const groups = new Map<string, Set<string>>();
  for (const p of pkgs) {
    const k = `${p.sourceName}@${p.sourceVersion}`;
    groups.set(k, (groups.get(k) ?? new Set()).add(p.name));
  }
  return [...groups].map(([k, bins]) => `${k} [${[...bins].sort().join(' ')}]`).sort();
}

function expectedBySource(fixture: string): string[] {
  return expected[fixture]!.map((e) => `${e['package']}@${e['version']} [${[...(e['binaryPackages'] as string[])].sort().join(' ')}]`).sort();
}

const ids = (pkgs: Package[], ecosystem: string): string[] =>
  [...new Set(pkgs.filter((p) => p.ecosystem === ecosystem).map((p) => `${p.name}@${p.version}`))].sort();

describe('inventoryOfLayers', () => {
  it('reads a Debian image with language packages on top, applying a later whiteout', async () => {
    const base = await layer(
      [
        { path: 'usr/lib/os-release', content: bytes('dpkg/debian12-host/etc/os-release') },
        { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
        { path: 'var/lib/dpkg/status', content: bytes('dpkg/debian12-host/var/lib/dpkg/status') },
      ],
      'gzip',
    );
    const apps = await layer(
      [
        ...tree('python/debian12-site-packages/', ''),
        { path: 'usr/local/bin/gofixture', content: bytes('go/binary/gofixture-go1.19.8-linux-amd64'), mode: 0o755 },
        { path: 'srv/app/package-lock.json', content: bytes('npm/osv-fix/package-lock.json') },
        { path: 'srv/app/package.json', content: bytes('npm/osv-fix/package.json') },
        { path: 'srv/rust/Cargo.lock', content: bytes('rust/net2/Cargo.lock') },
        ...tree('java/metadata-only-jars/', 'opt/lib/'),
        ...tree('java/debian12-jars/', 'usr/share/java/'),
      ],
      'zstd',
      64 * 1024,
    );
    const cleanup = await layer([{ path: 'usr/lib/python3/dist-packages/.wh.PyYAML-6.0.dist-info', content: '' }], 'none');
    const inv = await inventoryOfLayers([base, apps, cleanup], opts);

    expect(inv.warnings).toEqual([]);
    expect(inv.partial).toBe(false);
    expect(inv.layersRead).toBe(3);
    expect(inv.os).toMatchObject({ id: 'debian', versionId: '12', versionCodename: 'bookworm' });

    const deb = inv.packages.filter((p) => p.ecosystem === 'Debian');
    expect(bySource(deb)).toEqual(expectedBySource('fixtures/dpkg/debian12-host/var/lib/dpkg/status'));
    expect(deb.every((p) => p.layerDigest === base.digest && p.path === 'var/lib/dpkg/status')).toBe(true);

    const pypi = Object.entries(expected)
      .filter(([f]) => f.includes('debian12-site-packages') && !f.includes('PyYAML'))
      .flatMap(([, es]) => es.map((e) => `${e['package']}@${e['version']}`));
    expect(ids(inv.packages, 'PyPI')).toEqual([...new Set(pypi)].sort());

    const go = inv.packages.filter((p) => p.ecosystem === 'Go');
    expect(go).toEqual([
      { ecosystem: 'Go', name: 'stdlib', version: '1.19.8', purl: 'pkg:golang/stdlib@1.19.8', layerDigest: apps.digest, path: 'usr/local/bin/gofixture' },
    ]);

    const npm = expected['fixtures/npm/osv-fix/package-lock.json']!.map((e) => `${e['package']}@${e['version']}`);
    expect(ids(inv.packages, 'npm')).toEqual([...new Set(npm)].sort());
    expect(inv.packages.find((p) => p.name === 'hosted-git-info' && p.version === '1.6.0')?.path).toBe('srv/app/package-lock.json');

    expect(ids(inv.packages, 'crates.io')).toEqual(expected['fixtures/rust/net2/Cargo.lock']!.map((e) => `${e['package']}@${e['version']}`).sort());

    const maven = Object.entries(expected)
      .filter(([f]) => f.includes('debian12-jars'))
      .flatMap(([, es]) => es.map((e) => `${e['package']}@${e['version']}`));
    expect(ids(inv.packages, 'Maven')).toEqual([...new Set(maven)].sort());
    const nested = inv.packages.find((p) => p.path === 'opt/lib/nested/app-with-nested-jars.jar!BOOT-INF/lib/snakeyaml-1.33.jar');
    expect(nested?.name).toBe('org.yaml:snakeyaml');
  });

  it('reads an Alpine image', async () => {
    const l = await layer(tree('apk/alpine-3.18/', ''), 'gzip');
    const inv = await inventoryOfLayers([l], opts);
    expect(inv.warnings).toEqual([]);
    expect(inv.os).toMatchObject({ id: 'alpine', versionId: '3.18.1' });
    expect(inv.packages.every((p) => p.ecosystem === 'Alpine')).toBe(true);
    expect(bySource(inv.packages)).toEqual(expectedBySource('fixtures/apk/alpine-3.18/lib/apk/db/installed'));
  });

  it('reads a SQLite rpmdb (CBL-Mariner, WAL mode) and a Berkeley DB one', async () => {
    const osRelease = 'NAME="Common Base Linux Mariner"\nVERSION="2.0.20220226"\nID=mariner\nVERSION_ID="2.0"\n';
    const mariner = await layer([
      { path: 'etc/os-release', content: osRelease },
      { path: 'var/lib/rpm/rpmdb.sqlite', content: gunzipSync(bytes('rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.gz')) },
    ]);
    const inv = await inventoryOfLayers([mariner], opts);
    expect(inv.warnings).toEqual([]);
    expect(inv.os).toMatchObject({ id: 'mariner', versionId: '2.0' });
    const want = expected['fixtures/rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.gz']!.map((e) => `${e['package']}@${e['version']}`).sort();
    expect(ids(inv.packages, 'rpm')).toEqual(want);
    expect(inv.packages.find((p) => p.name === 'openssl-libs')).toMatchObject({ sourceName: 'openssl', sourceVersion: '1.1.1k-7.cm2' });

    const el8 = await layer([{ path: 'var/lib/rpm/Packages', content: bytes('rpm/bdb-libuuid/var/lib/rpm/Packages') }], 'zstd');
    const inv8 = await inventoryOfLayers([el8], opts);
    expect(inv8.packages).toMatchObject([{ ecosystem: 'rpm', name: 'libuuid', version: '2.32.1-42.el8_8', sourceName: 'util-linux' }]);
  });

  it('reads distroless dpkg status.d entries and ignores their md5sums', async () => {
    const status = bytes('dpkg/scalibr-bookworm-subset/var/lib/dpkg/status').toString('utf8');
    const paras = status.split(/\n\s*\n/).filter((p) => p.trim() !== '');
    const entries: TestEntry[] = paras.map((p) => ({
      path: `var/lib/dpkg/status.d/${/^Package: (\S+)/m.exec(p)![1]}`,
      content: `${p.replace(/^Status:.*\n/m, '')}\n`,
    }));
    entries.push({ path: 'var/lib/dpkg/status.d/acl.md5sums', content: 'd41d8cd98f00b204e9800998ecf8427e  usr/bin/getfacl\n' });
    const inv = await inventoryOfLayers([await layer(entries)], opts);
    expect(inv.warnings).toEqual([]);
    expect(bySource(inv.packages)).toEqual(expectedBySource('fixtures/dpkg/scalibr-bookworm-subset/var/lib/dpkg/status'));
  });

  it('a package deleted by a later layer is gone; a database replaced by a later layer is the new one', async () => {
    const one = await layer([
      { path: 'lib/apk/db/installed', content: 'P:old\nV:1.0-r0\no:old\n\n' },
      { path: 'app/node_modules/left-pad/package.json', content: '{"name":"left-pad","version":"1.3.0"}' },
      { path: 'app/node_modules/@scope/kept/package.json', content: '{"name":"@scope/kept","version":"2.0.0"}' },
      { path: 'app/node_modules/kept/lib/package.json', content: '{"name":"not-a-package-root","version":"9.9.9"}' },
    ]);
    const two = await layer([
      { path: 'lib/apk/db/installed', content: 'P:new\nV:2.0-r1\no:new-src\nA:x86_64\n\n' },
      { path: 'app/node_modules/.wh.left-pad', content: '' },
    ]);
    const inv = await inventoryOfLayers([one, two], opts);
    expect(inv.packages.map((p) => `${p.ecosystem}:${p.name}@${p.version}`)).toEqual(['Alpine:new@2.0-r1', 'npm:@scope/kept@2.0.0']);
    expect(inv.packages[0]).toMatchObject({ sourceName: 'new-src', layerDigest: two.digest, purl: 'pkg:apk/alpine/new@2.0-r1?arch=x86_64' });
  });

  it('a malformed database or an oversized file is a warning with a partial result, never an exception', async () => {
    const l = await layer([
      { path: 'srv/app/package-lock.json', content: '{"lockfileVersion": 2, "packages": {' },
      { path: 'usr/lib/python3/dist-packages/huge-1.0.dist-info/METADATA', content: `Name: huge\nVersion: 1.0\n\n${'x'.repeat(2 * 1024 * 1024)}` },
      { path: 'var/lib/rpm/rpmdb.sqlite', content: 'SQLite format 3\u0000 but not really' },
      { path: 'opt/broken.jar', content: 'PK\u0003\u0004 truncated' },
      { path: 'usr/lib/python3/dist-packages/fine-2.0.dist-info/METADATA', content: 'Metadata-Version: 2.1\nName: fine\nVersion: 2.0\n' },
    ]);
    const inv = await inventoryOfLayers([l], opts);
    expect(inv.partial).toBe(true);
    expect(inv.packages.map((p) => `${p.ecosystem}:${p.name}@${p.version}`)).toEqual(['PyPI:fine@2.0']);
    const w = inv.warnings.join('\n');
    expect(w).toMatch(/srv\/app\/package-lock\.json: malformed/);
    expect(w).toMatch(/huge-1\.0\.dist-info\/METADATA: .* over the .* cap/);
    expect(w).toMatch(/var\/lib\/rpm\/rpmdb\.sqlite: malformed/);
    expect(w).toMatch(/opt\/broken\.jar: not a readable archive/);
  });

  it('reads installed gems, Gemfile.lock and go.mod where an application keeps them', async () => {
    const l = await layer([
      { path: 'usr/local/bundle/specifications/rake-13.0.6.gemspec', content: '# stub\nGem::Specification.new do |s|\n  s.name = "rake".freeze\n  s.version = "13.0.6"\nend\n' },
      { path: 'srv/app/Gemfile.lock', content: 'GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.3)\n      rack-test (>= 0)\n    nokogiri (1.15.4-x86_64-linux)\n\nPLATFORMS\n  ruby\n' },
      { path: 'srv/go/go.mod', content: bytes('go/module/go.mod') },
      { path: 'root/go/pkg/mod/example.com/dep@v1.0.0/go.mod', content: 'module example.com/dep\n\nrequire example.com/other v9.9.9\n' },
    ]);
    const inv = await inventoryOfLayers([l], opts);
    expect(inv.warnings).toEqual([]);
    expect(ids(inv.packages, 'RubyGems')).toEqual(['nokogiri@1.15.4', 'rack@2.2.3', 'rake@13.0.6']);
    expect(ids(inv.packages, 'Go')).toEqual(['github.com/gogo/protobuf@v1.3.1', 'github.com/ipfs/go-bitfield@v1.0.0', 'golang.org/x/image@v0.4.0']);
  });

  it('an empty image has an empty inventory', async () => {
    const inv = await inventoryOfLayers([], opts);
    expect(inv).toEqual({ packages: [], warnings: [], partial: false, layersRead: 0, bytesRead: 0 });
  });
});
