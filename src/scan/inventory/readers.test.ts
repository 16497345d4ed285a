import { describe, expect, it } from 'vitest';
import { openSync, readSync, closeSync } from 'node:fs';
import { GoBinaryCollector, hasGoBuildIdNote } from './collectors.js';
import { classify } from './catalog.js';
import {
  goStdlibVersion,
  parseOsRelease,
  readDpkgStatus,
  readGemfileLock,
  readGoBinary,
  readGoMod,
  readManifestIdentity,
  readPackageLock,
  readPythonMetadata,
  readRequirements,
  readComposerLock,
  readDotnetDeps,
} from './index.js';
import { GO_BUILDINFO_MAGIC } from './readers/go.js';

const MODINFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const MODINFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const modinfo = [
  'path\texample.com/app',
  'mod\texample.com/app\tv1.2.3\th1:abc=',
  'dep\tgolang.org/x/net\tv0.7.0\th1:def=',
  'dep\tgithub.com/old/thing\tv1.0.0\th1:ghi=',
  '=>\tgithub.com/fork/thing\tv1.0.1\th1:jkl=',
  'dep\tgithub.com/local/thing\tv0.0.0',
  '=>\t../local\t',
  'build\t-compiler=gc',
  '',
].join('\n');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** An ELF-shaped file with an inline (Go >= 1.18) build-info blob somewhere in the middle. */
function inlineGoBinary(goVersion: string): Buffer {
  const header = Buffer.alloc(32);
  GO_BUILDINFO_MAGIC.copy(header);
  header[14] = 8;
  header[15] = 2;
  const mod = Buffer.concat([MODINFO_START, Buffer.from(modinfo), MODINFO_END]);
  return Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]),
    Buffer.alloc(70_000, 0x90),
    // a copy of the magic in rodata, not followed by a valid header
    GO_BUILDINFO_MAGIC,
    Buffer.from('some other string constants'),
    Buffer.alloc(13, 0x90),
    header,
    uvarint(goVersion.length),
    Buffer.from(goVersion),
    uvarint(mod.length),
    mod,
    Buffer.alloc(5000, 0),
  ]);
}

/** A minimal ELF64 with one PT_LOAD and a pointer-format (Go < 1.18) build-info header. */
function pointerGoBinary(goVersion: string, withNote = false): Buffer {
  const base = 0x400000;
  const buf = Buffer.alloc(4096);
  if (withNote) {
    // .note.go.buildid: namesz 4, descsz 0, type 4, "Go\0\0"
    buf.writeUInt32LE(4, 128);
    buf.writeUInt32LE(0, 132);
    buf.writeUInt32LE(4, 136);
    buf.write('Go\0\0', 140, 'latin1');
  }
  buf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  buf.writeUInt16LE(2, 16); // ET_EXEC
  buf.writeBigUInt64LE(64n, 32); // e_phoff
  buf.writeUInt16LE(56, 54); // e_phentsize
  buf.writeUInt16LE(1, 56); // e_phnum
  buf.writeUInt32LE(1, 64); // PT_LOAD
  buf.writeBigUInt64LE(0n, 64 + 8); // p_offset
  buf.writeBigUInt64LE(BigInt(base), 64 + 16); // p_vaddr
  buf.writeBigUInt64LE(4096n, 64 + 32); // p_filesz
  const mod = Buffer.concat([MODINFO_START, Buffer.from(modinfo), MODINFO_END]);
  const verAt = 1024;
  const modAt = 1536;
  buf.write(goVersion, verAt);
  mod.copy(buf, modAt);
  const strHdr = 512; // two Go string headers: {ptr, len}
  buf.writeBigUInt64LE(BigInt(base + verAt), strHdr);
  buf.writeBigUInt64LE(BigInt(goVersion.length), strHdr + 8);
  buf.writeBigUInt64LE(BigInt(base + modAt), strHdr + 16);
  buf.writeBigUInt64LE(BigInt(mod.length), strHdr + 24);
  const hdr = 256;
  GO_BUILDINFO_MAGIC.copy(buf, hdr);
  buf[hdr + 14] = 8;
  buf[hdr + 15] = 0;
  buf.writeBigUInt64LE(BigInt(base + strHdr), hdr + 16);
  buf.writeBigUInt64LE(BigInt(base + strHdr + 16), hdr + 24);
  return buf;
}

const wantModules = [
  'example.com/app@v1.2.3',
  'github.com/fork/thing@v1.0.1',
  'github.com/local/thing@v0.0.0',
  'golang.org/x/net@v0.7.0',
  'stdlib@1.21.0-rc.2',
];

async function stream(buf: Buffer, chunk: number) {
  const c = new GoBinaryCollector('usr/bin/app');
  for (let i = 0; i < buf.length; i += chunk) if (!c.push(buf.subarray(i, i + chunk))) break;
  return c.finish();
}

describe('Go binaries', () => {
  it('reads inline build info from a file image, with replacements applied', () => {
    const info = readGoBinary(inlineGoBinary('go1.21rc2'));
    expect(info?.goVersion).toBe('go1.21rc2');
    expect(info?.main).toEqual({ path: 'example.com/app', version: 'v1.2.3' });
  });

  it('reads the pointer format of Go < 1.18 through the program headers', () => {
    const info = readGoBinary(pointerGoBinary('go1.16.15'));
    expect(info?.goVersion).toBe('go1.16.15');
    expect(info?.deps.map((d) => `${d.path}@${d.version}`)).toEqual(['golang.org/x/net@v0.7.0', 'github.com/fork/thing@v1.0.1', 'github.com/local/thing@v0.0.0']);
  });

  it('finds inline build info in a stream, whatever the chunk boundaries', async () => {
    for (const chunk of [7, 13, 31, 1000, 65536]) {
      const kept = await stream(inlineGoBinary('go1.21rc2'), chunk);
      expect(kept?.kind).toBe('packages');
      if (kept?.kind !== 'packages') continue;
      expect(kept.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(wantModules);
      expect(kept.packages.every((p) => p.ecosystem === 'Go')).toBe(true);
    }
  });

  it('a pre-1.18 Go binary in a stream is held whole and resolved when it has the Go build-ID note', async () => {
    const kept = await stream(pointerGoBinary('go1.16.15', true), 100);
    expect(kept).toMatchObject({ kind: 'packages', warnings: [] });
    expect(kept?.kind === 'packages' && kept.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual([
      'example.com/app@v1.2.3',
      'github.com/fork/thing@v1.0.1',
      'github.com/local/thing@v0.0.0',
      'golang.org/x/net@v0.7.0',
      'stdlib@1.16.15',
    ]);
  });

  it('without the note it is a warning; a non-Go ELF or a script is nothing', async () => {
    const old = await stream(pointerGoBinary('go1.16.15'), 100);
    expect(old).toMatchObject({ kind: 'packages', packages: [] });
    expect(old?.kind === 'packages' && old.warnings[0]).toMatch(/before Go 1\.18/);
    expect(await stream(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(10_000)]), 512)).toBeUndefined();
    expect(await stream(Buffer.from('#!/bin/sh\necho hi\n'), 4)).toBeUndefined();
  });

  it('tells a Go executable by its build-ID note in the first 64 KiB', () => {
    const head = (file: string | URL): Buffer => {
      const fd = openSync(file, 'r');
      const b = Buffer.alloc(64 * 1024);
      const n = readSync(fd, b, 0, b.length, 0);
      closeSync(fd);
      return b.subarray(0, n);
    };
    expect(hasGoBuildIdNote(head(new URL('../../../../shared/vulndata/fixtures/go/binary/gofixture-go1.19.8-linux-amd64', import.meta.url)))).toBe(true);
    expect(hasGoBuildIdNote(head(process.execPath))).toBe(false); // node itself: a C++ ELF
  });

  it('turns Go versions into the stdlib versions OSV uses', () => {
    expect(goStdlibVersion('go1.19.8')).toBe('1.19.8');
    expect(goStdlibVersion('go1.20')).toBe('1.20.0');
    expect(goStdlibVersion('go1.22.1 X:boringcrypto')).toBe('1.22.1');
    expect(goStdlibVersion('go1.21rc2')).toBe('1.21.0-rc.2');
    expect(goStdlibVersion('devel go1.23-abcdef')).toBeUndefined();
  });

  it('go.mod: require blocks, single lines and versioned replacements', () => {
    const pkgs = readGoMod(
      'module m\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/net v0.7.0 // indirect\n\t"github.com/a/b" v1.0.0\n)\nrequire github.com/c/d v2.0.0+incompatible\nreplace github.com/a/b => github.com/fork/b v1.0.1\nreplace github.com/c/d => ../d\n',
    );
    expect(pkgs.map((p) => `${p.name}@${p.version}`)).toEqual(['golang.org/x/net@v0.7.0', 'github.com/fork/b@v1.0.1', 'github.com/c/d@v2.0.0+incompatible']);
  });
});

describe('small readers', () => {
  it('os-release: quoting, comments, missing ID', () => {
    expect(parseOsRelease('# c\nID="ubuntu"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nPRETTY_NAME=\'Ubuntu 22.04.4 LTS\'\n')).toEqual({
      id: 'ubuntu',
      versionId: '22.04',
      versionCodename: 'jammy',
      prettyName: 'Ubuntu 22.04.4 LTS',
    });
    expect(parseOsRelease('NAME=nothing\n')).toBeUndefined();
  });

  it('dpkg: only installed packages; Source with and without a version', () => {
    const pkgs = readDpkgStatus(
      [
        'Package: gone',
        'Status: deinstall ok config-files',
        'Version: 1.0',
        '',
        'Package: libfoo1',
        'Status: install ok installed',
        'Architecture: amd64',
        'Source: foo (1.2-3)',
        'Version: 1.2-3+b1',
        'Description: multi',
        ' line',
        '',
        'Package: held',
        'Status: hold ok installed',
        'Version: 2:0.1',
        '',
      ].join('\n'),
      'Ubuntu',
    );
    expect(pkgs).toEqual([
      { ecosystem: 'Ubuntu', name: 'libfoo1', version: '1.2-3+b1', sourceName: 'foo', sourceVersion: '1.2-3', purl: 'pkg:deb/ubuntu/libfoo1@1.2-3%2Bb1?arch=amd64' },
      { ecosystem: 'Ubuntu', name: 'held', version: '2:0.1', sourceName: 'held', sourceVersion: '2:0.1', purl: 'pkg:deb/ubuntu/held@2%3A0.1' },
    ]);
  });

  it('npm lockfile v1 (nested dependencies, aliases)', () => {
    const pkgs = readPackageLock(
      JSON.stringify({
        lockfileVersion: 1,
        dependencies: {
          a: { version: '1.0.0', dependencies: { b: { version: '2.0.0' } } },
          c: { version: 'npm:real-c@3.0.0' },
          d: { version: 'file:../d' },
        },
      }),
    );
    expect(pkgs.map((p) => `${p.name}@${p.version} ${p.lockPath}`)).toEqual([
      'a@1.0.0 node_modules/a',
      'b@2.0.0 node_modules/a/node_modules/b',
      'c@3.0.0 node_modules/c',
    ]);
  });

  it('npm lockfile v3 skips the root, links and workspace folders', () => {
    const pkgs = readPackageLock(
      JSON.stringify({
        lockfileVersion: 3,
        packages: {
          '': { name: 'root', version: '1.0.0' },
          'packages/ws': { name: 'ws', version: '0.1.0' },
          'node_modules/ws': { resolved: 'packages/ws', link: true },
          'node_modules/@s/x': { version: '4.0.0' },
          'node_modules/alias': { name: 'real', version: '5.0.0' },
        },
      }),
    );
    expect(pkgs.map((p) => `${p.name}@${p.version}`)).toEqual(['@s/x@4.0.0', 'real@5.0.0']);
  });

  it('python metadata stops at the body; requirements keep only exact pins', () => {
    expect(readPythonMetadata('Metadata-Version: 2.1\nName: a_b\nVersion: 1.0\n\nVersion: 9.9\n')).toMatchObject({ name: 'a_b', version: '1.0', purl: 'pkg:pypi/a-b@1.0' });
    expect(readPythonMetadata('Name: only-name\n')).toBeUndefined();
    const reqs = readRequirements('-r base.txt\nx>=1.0\ny==2.0 ; python_version > "3"\nz[extra]==3.0\nY==2.0\nw==1.*\n--hash=sha256:abc\n');
    expect(reqs.map((p) => `${p.name}@${p.version}`)).toEqual(['y@2.0', 'z@3.0']);
  });

  it('manifest identity falls back to the file name, and gives up without a version', () => {
    expect(readManifestIdentity('Manifest-Version: 1.0\nImplementation-Title: Apache Commons IO\nImplementation-Version: 2.11.0\nImplementation-Vendor-Id: commons-io\n', 'lib/commons-io-2.11.0.jar')).toMatchObject({
      name: 'commons-io:commons-io',
      version: '2.11.0',
    });
    expect(readManifestIdentity('Manifest-Version: 1.0\nCreated-By: javac\n', 'x.jar')).toBeUndefined();
  });

  it('Gemfile.lock reads only the GEM specs', () => {
    expect(readGemfileLock('GIT\n  specs:\n    fromgit (1.0)\n\nGEM\n  specs:\n    rack (2.2.3)\n\nBUNDLED WITH\n   2.4.1\n').map((p) => p.name)).toEqual(['rack']);
  });

  it('composer.lock (Packagist) and .deps.json (NuGet)', () => {
    const composer = readComposerLock(
      JSON.stringify({ packages: [{ name: 'symfony/http-kernel', version: 'v5.4.20' }, { name: 'x' }], 'packages-dev': [{ name: 'phpunit/phpunit', version: '9.6.3' }] }),
    );
    expect(composer.map((p) => `${p.ecosystem}:${p.name}@${p.version}`)).toEqual(['Packagist:symfony/http-kernel@5.4.20', 'Packagist:phpunit/phpunit@9.6.3']);
    const deps = readDotnetDeps(
      JSON.stringify({
        libraries: {
          'app/1.0.0': { type: 'project' },
          'Newtonsoft.Json/12.0.1': { type: 'package', sha512: 'x' },
          'System.Text.Encodings.Web/4.7.0': { type: 'package' },
        },
      }),
    );
    expect(deps.map((p) => `${p.ecosystem}:${p.name}@${p.version}`)).toEqual(['NuGet:Newtonsoft.Json@12.0.1', 'NuGet:System.Text.Encodings.Web@4.7.0']);
  });

  it('classifies paths without reading them', () => {
    expect(classify('var/lib/dpkg/status', 10, 0o644)).toMatchObject({ kind: 'file', reader: 'dpkg' });
    expect(classify('usr/var/lib/dpkg/status', 10, 0o644)).toBeUndefined();
    expect(classify('app/node_modules/x/node_modules/@s/y/package.json', 10, 0o644)).toMatchObject({ reader: 'npm-package' });
    expect(classify('app/node_modules/x/test/package.json', 10, 0o644)).toBeUndefined();
    expect(classify('usr/lib/python3/dist-packages/pkg/requirements.txt', 10, 0o644)).toBeUndefined();
    expect(classify('usr/bin/tool', 1 << 20, 0o755)).toMatchObject({ kind: 'elf' });
    expect(classify('usr/share/doc/readme', 1 << 20, 0o644)).toBeUndefined();
    expect(classify('usr/lib/sysimage/rpm/Packages.db', 10, 0o644)).toMatchObject({ reader: 'rpm-ndb' });
    expect(classify('app/bin/App.deps.json', 10, 0o644)).toMatchObject({ reader: 'dotnet-deps' });
    expect(classify('var/www/vendor/acme/lib/composer.lock', 10, 0o644)).toBeUndefined();
  });
});
