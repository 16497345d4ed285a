import { walkLayers, type Collector, type LayerSource } from '../layers/index.js';
import type { OsRelease, Package } from './types.js';
import { classify, type ReaderId } from './catalog.js';
import { ArchiveCollector, BufferCollector, GoBinaryCollector, type Kept } from './collectors.js';
import { parseOsRelease } from './os-release.js';
import { readApkInstalled } from './readers/apk.js';
import { readDpkgStatus } from './readers/dpkg.js';
import { readGoMod } from './readers/go.js';
import { readManifestIdentity, readPomProperties } from './readers/java.js';
import { readInstalledPackageJson, readPackageLock } from './readers/npm.js';
import { readPythonMetadata, readRequirements } from './readers/python.js';
import { readGemfileLock, readGemspec } from './readers/ruby.js';
import { readCargoLock } from './readers/rust.js';
import { readComposerLock, readDotnetDeps } from './readers/php-dotnet.js';
import { readRpmBdb, readRpmNdb, readRpmSqlite, rpmPackages } from './readers/rpm.js';

export type { Package, OsRelease } from './types.js';
export type { LayerSource } from '../layers/index.js';
export { parseOsRelease } from './os-release.js';
export { readDpkgStatus } from './readers/dpkg.js';
export { readApkInstalled } from './readers/apk.js';
export { readRpmSqlite, readRpmBdb, readRpmNdb, parseRpmHeader, rpmPackages, rpmEvr, type RpmHeader } from './readers/rpm.js';
export { readPackageLock, readInstalledPackageJson } from './readers/npm.js';
export { readPythonMetadata, readRequirements } from './readers/python.js';
export { readGoBinary, readGoMod, goBinaryPackages, goStdlibVersion, type GoBuildInfo } from './readers/go.js';
export { readJavaArchive, readPomProperties, readManifestIdentity } from './readers/java.js';
export { readCargoLock } from './readers/rust.js';
export { readGemspec, readGemfileLock } from './readers/ruby.js';
export { readClairIndexReport } from './readers/clair.js';
export { readComposerLock, readDotnetDeps } from './readers/php-dotnet.js';

/** What was found in an image's layers, after whiteouts are applied in layer order. */
export interface Inventory {
  os?: OsRelease;
  packages: Package[];
  /** Human-readable problems (cap reached, malformed database, ...); never fatal. */
  warnings: string[];
  /** True when some content could not be read (cap, timeout, corrupt layer or database). */
  partial: boolean;
  layersRead: number;
  /** Decompressed tar bytes read over all layers. */
  bytesRead: number;
}

const MAX_WARNINGS = 100;

/**
 * Files read only once every layer is applied: OS databases need the final os-release for their
 * ecosystem, loose manifests need to know whether a pom.properties sits beside them. Every other
 * file is parsed as soon as it is complete and only its packages are held.
 */
const DEFERRED = new Set<ReaderId>(['os-release', 'alpine-release', 'dpkg', 'apk', 'rpm-sqlite', 'rpm-bdb', 'rpm-ndb', 'manifest']);
const NO_POMS = new Set<string>();

function malformed(path: string, err: unknown): string {
  return `${path}: malformed, skipped (${(err as Error)?.message ?? String(err)})`;
}

/**
 * Read every layer as a stream, apply whiteouts, and run the package readers on the surviving
 * files. Never throws for bad content: problems become warnings and set `partial`.
 * Rejects only when `signal` aborts (with its reason).
 */
export async function inventoryOfLayers(
  layers: readonly LayerSource[],
  opts: { maxLayerBytes: number; layerTimeoutMs: number; signal?: AbortSignal },
): Promise<Inventory> {
  let partial = false;
  const walked = await walkLayers<Kept>(layers, {
    maxLayerBytes: opts.maxLayerBytes,
    layerTimeoutMs: opts.layerTimeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    select(entry, warn): Collector<Kept> | undefined {
      const want = classify(entry.path, entry.size, entry.mode);
      if (!want) return undefined;
      if (entry.size > want.maxBytes) {
        if (want.kind !== 'elf') {
          warn(`${entry.path}: ${entry.size} bytes is over the ${want.maxBytes}-byte cap for this kind of file; not read`);
          partial = true;
        }
        return undefined;
      }
      if (want.kind === 'file') {
        if (DEFERRED.has(want.reader)) return new BufferCollector(want.reader, want.maxBytes);
        const { reader } = want;
        return new BufferCollector(reader, want.maxBytes, (data) => {
          try {
            return { kind: 'packages', reader, packages: readFile(reader, data, entry.path, undefined, NO_POMS), warnings: [] };
          } catch (err) {
            return { kind: 'packages', reader, packages: [], warnings: [malformed(entry.path, err)] };
          }
        });
      }
      if (want.kind === 'archive') return new ArchiveCollector(entry.path, want.maxBytes);
      return new GoBinaryCollector(entry.path);
    },
  });
  const warnings = walked.warnings;
  partial ||= walked.partial;

  const byPath = walked.files;
  const dataOf = (path: string, reader: ReaderId): Buffer | undefined => {
    const f = byPath.get(path)?.value;
    return f?.kind === 'file' && f.reader === reader ? f.data : undefined;
  };
  let os: OsRelease | undefined;
  const osText = dataOf('etc/os-release', 'os-release') ?? dataOf('usr/lib/os-release', 'os-release');
  if (osText) os = parseOsRelease(osText.toString('utf8'));
  const alpineRelease = dataOf('etc/alpine-release', 'alpine-release')?.toString('utf8').trim();
  if (!os && alpineRelease) os = { id: 'alpine', versionId: alpineRelease };

  // exploded jars: a loose MANIFEST.MF counts only when its META-INF has no pom.properties
  const metaInfWithPom = new Set<string>();
  for (const f of byPath.values()) {
    if (f.value.reader === 'pom') metaInfWithPom.add(f.path.slice(0, f.path.indexOf('/maven/', f.path.lastIndexOf('META-INF'))));
  }

  const found: Package[] = [];
  const fail = (path: string, err: unknown): void => {
    warnings.push(malformed(path, err));
    partial = true;
  };
  for (const f of byPath.values()) {
    const where = { layerDigest: f.layerDigest, path: f.path };
    if (f.value.kind === 'packages') {
      for (const p of f.value.packages) found.push({ ...p, layerDigest: f.layerDigest, path: p.path ?? f.path });
      if (f.value.warnings.length > 0) {
        warnings.push(...f.value.warnings);
        partial = true;
      }
      continue;
    }
    try {
      const pkgs = readFile(f.value.reader, f.value.data, f.path, os, metaInfWithPom);
      for (const p of pkgs) found.push({ ...p, ...where });
    } catch (err) {
      fail(f.path, err);
    }
  }

  const packages = dedupe(found);
  if (warnings.length > MAX_WARNINGS) {
    const more = warnings.length - MAX_WARNINGS;
    warnings.length = MAX_WARNINGS;
    warnings.push(`... and ${more} more warnings`);
  }
  const inv: Inventory = { packages, warnings, partial, layersRead: walked.layersRead, bytesRead: walked.bytesRead };
  if (os) inv.os = os;
  return inv;
}

/** Run the reader for one kept file. Throws for a malformed file (the caller warns). */
function readFile(reader: ReaderId, data: Buffer, path: string, os: OsRelease | undefined, metaInfWithPom: Set<string>): Package[] {
  const text = (): string => data.toString('utf8');
  switch (reader) {
    case 'os-release':
    case 'alpine-release':
      return [];
    case 'dpkg':
      return readDpkgStatus(text(), os?.id === 'ubuntu' ? 'Ubuntu' : 'Debian');
    case 'apk':
      return readApkInstalled(text(), apkEcosystem(os));
    case 'rpm-sqlite':
      return rpmPackages(readRpmSqlite(data), 'rpm', os?.id ?? 'redhat');
    case 'rpm-bdb':
      return rpmPackages(readRpmBdb(data), 'rpm', os?.id ?? 'redhat');
    case 'rpm-ndb':
      return rpmPackages(readRpmNdb(data), 'rpm', os?.id ?? 'opensuse');
    case 'npm-lock':
      return readPackageLock(text()).map(({ lockPath: _lockPath, ...p }) => p);
    case 'npm-package': {
      const p = readInstalledPackageJson(text());
      return p ? [p] : [];
    }
    case 'python': {
      const p = readPythonMetadata(text());
      return p ? [p] : [];
    }
    case 'requirements':
      return readRequirements(text());
    case 'go-mod':
      return readGoMod(text());
    case 'cargo':
      return readCargoLock(text());
    case 'gemspec': {
      const p = readGemspec(text());
      return p ? [p] : [];
    }
    case 'gemfile':
      return readGemfileLock(text());
    case 'pom': {
      const p = readPomProperties(text());
      return p ? [p] : [];
    }
    case 'composer':
      return readComposerLock(text());
    case 'dotnet-deps':
      return readDotnetDeps(text());
    case 'manifest': {
      const metaInf = path.slice(0, -'/MANIFEST.MF'.length);
      if (metaInfWithPom.has(metaInf)) return [];
      // the archive directory's name (`log4j-1.2.17.jar/META-INF/MANIFEST.MF`) helps name it
      const owner = metaInf.slice(0, -'META-INF'.length).replace(/\/$/, '');
      const p = readManifestIdentity(text(), owner || undefined);
      return p ? [p] : [];
    }
  }
}

function apkEcosystem(os: OsRelease | undefined): string {
  switch (os?.id) {
    case 'wolfi':
      return 'Wolfi';
    case 'chainguard':
      return 'Chainguard';
    default:
      return 'Alpine';
  }
}

/**
 * One entry per (ecosystem, name, version): the same package recorded in two places (a
 * lockfile and node_modules, a dist-info and an egg-info) is reported once, at its first path.
 * Sorted by ecosystem, name, version.
 */
function dedupe(pkgs: Package[]): Package[] {
  const seen = new Map<string, Package>();
  for (const p of pkgs) {
    const key = `${p.ecosystem}\u0000${p.name}\u0000${p.version}`;
    if (!seen.has(key)) seen.set(key, p);
  }
  return [...seen.values()].sort(
    (a, b) => cmp(a.ecosystem, b.ecosystem) || cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.path ?? '', b.path ?? ''),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
