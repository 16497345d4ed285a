/**
 * Which files of an image the inventory reads, and how much of each it will hold in memory.
 * Every check is on the path and header alone, so unwanted entries are skipped unread.
 */

export type ReaderId =
  | 'os-release'
  | 'alpine-release'
  | 'dpkg'
  | 'apk'
  | 'rpm-sqlite'
  | 'rpm-bdb'
  | 'rpm-ndb'
  | 'npm-lock'
  | 'npm-package'
  | 'python'
  | 'requirements'
  | 'go-mod'
  | 'cargo'
  | 'gemspec'
  | 'gemfile'
  | 'pom'
  | 'manifest'
  | 'composer'
  | 'dotnet-deps';

export type Want =
  | { kind: 'file'; reader: ReaderId; maxBytes: number }
  | { kind: 'archive'; maxBytes: number }
  | { kind: 'elf'; maxBytes: number };

const KiB = 1024;
const MiB = 1024 * 1024;

/** Caps on what one file may take. Package databases are small; archives are read whole. */
export const LIMITS = {
  osRelease: 64 * KiB,
  osDatabase: 128 * MiB,
  lockfile: 32 * MiB,
  metadata: 1 * MiB,
  archive: 128 * MiB,
  /** Executables are streamed, not held: this only bounds time. */
  executable: 1024 * MiB,
  /** Smallest executable worth sniffing for Go build info. */
  minExecutable: 4 * KiB,
};

const NODE_PACKAGE = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/;
const POM = /(?:^|\/)META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const ARCHIVE = /\.(?:jar|war|ear)$/i;
/** Where a language manifest describes someone else's source rather than what is installed. */
const VENDORED = /(?:^|\/)(?:node_modules|site-packages|dist-packages|vendor|pkg\/mod|\.cargo\/registry|gems)\//;

/** What to do with the regular file at `path`, or undefined to skip it. */
export function classify(path: string, size: number, mode: number): Want | undefined {
  const slash = path.lastIndexOf('/');
  const base = slash < 0 ? path : path.slice(slash + 1);
  const dir = slash < 0 ? '' : path.slice(0, slash);
  switch (base) {
    case 'os-release':
      return path === 'etc/os-release' || path === 'usr/lib/os-release' ? file('os-release', LIMITS.osRelease) : undefined;
    case 'alpine-release':
      return path === 'etc/alpine-release' ? file('alpine-release', LIMITS.osRelease) : undefined;
    case 'status':
      return path === 'var/lib/dpkg/status' ? file('dpkg', LIMITS.osDatabase) : undefined;
    case 'installed':
      return path === 'lib/apk/db/installed' ? file('apk', LIMITS.osDatabase) : undefined;
    case 'rpmdb.sqlite':
      return isRpmDir(dir) ? file('rpm-sqlite', LIMITS.osDatabase) : undefined;
    case 'Packages':
      return isRpmDir(dir) ? file('rpm-bdb', LIMITS.osDatabase) : undefined;
    case 'Packages.db':
      return isRpmDir(dir) ? file('rpm-ndb', LIMITS.osDatabase) : undefined;
    case 'package-lock.json':
    case 'npm-shrinkwrap.json':
    case '.package-lock.json':
      return file('npm-lock', LIMITS.lockfile);
    case 'package.json':
      return NODE_PACKAGE.test(path) ? file('npm-package', LIMITS.metadata) : undefined;
    case 'METADATA':
      return dir.endsWith('.dist-info') ? file('python', LIMITS.metadata) : undefined;
    case 'PKG-INFO':
      return dir.endsWith('.egg-info') ? file('python', LIMITS.metadata) : undefined;
    case 'requirements.txt':
      return VENDORED.test(path) ? undefined : file('requirements', LIMITS.metadata);
    case 'go.mod':
      return VENDORED.test(path) ? undefined : file('go-mod', LIMITS.metadata);
    case 'Cargo.lock':
      return VENDORED.test(path) ? undefined : file('cargo', LIMITS.lockfile);
    case 'Gemfile.lock':
      return VENDORED.test(path) ? undefined : file('gemfile', LIMITS.lockfile);
    case 'pom.properties':
      return POM.test(path) ? file('pom', LIMITS.metadata) : undefined;
    case 'composer.lock':
      return VENDORED.test(path) ? undefined : file('composer', LIMITS.lockfile);
    case 'MANIFEST.MF':
      return dir === 'META-INF' || dir.endsWith('/META-INF') ? file('manifest', LIMITS.metadata) : undefined;
  }
  if (dir === 'var/lib/dpkg/status.d' && !base.endsWith('.md5sums')) return file('dpkg', LIMITS.metadata);
  if (base.endsWith('.egg-info')) return file('python', LIMITS.metadata);
  if (base.endsWith('.gemspec') && (dir === 'specifications' || dir.endsWith('/specifications'))) return file('gemspec', LIMITS.metadata);
  if (base.endsWith('.deps.json')) return file('dotnet-deps', LIMITS.lockfile);
  if (ARCHIVE.test(base)) return { kind: 'archive', maxBytes: LIMITS.archive };
  if ((mode & 0o111) !== 0 && size >= LIMITS.minExecutable) return { kind: 'elf', maxBytes: LIMITS.executable };
  return undefined;
}

function isRpmDir(dir: string): boolean {
  return dir === 'var/lib/rpm' || dir === 'usr/lib/sysimage/rpm';
}

function file(reader: ReaderId, maxBytes: number): Want {
  return { kind: 'file', reader, maxBytes };
}
