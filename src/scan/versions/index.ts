/**
 * Version orderings per OSV ecosystem. `compareVersions(ecosystem, a, b)` answers like a
 * comparator (negative, 0, positive); `orderingFor(ecosystem)` gives the parse/compare pair so a
 * matcher can parse a version once and compare it against many range events.
 *
 * Each ordering follows its ecosystem's own tool: dpkg (`dpkg --compare-versions`), apk
 * (apk-tools' tokenizer), rpm (rpmvercmp + epoch/release), PEP 440 (@renovatebot/pep440, with
 * the legacy ordering for strings PEP 440 rejects), Maven (ComparableVersion), SemVer 2.0
 * (npm, crates.io, NuGet's variant), Go (semver with a `v` prefix), RubyGems (Gem::Version),
 * Packagist (PHP version_compare).
 */
import { apkOrdering } from './apk.js';
import { dpkgOrdering } from './dpkg.js';
import { goOrdering } from './go.js';
import { mavenOrdering } from './maven.js';
import { nugetOrdering } from './nuget.js';
import { packagistOrdering } from './packagist.js';
import { pep440Ordering } from './pep440.js';
import { rpmOrdering } from './rpm.js';
import { rubygemsOrdering } from './rubygems.js';
import { semverOrdering } from './semver.js';
import { VersionError, type VersionFamily, type VersionOrdering } from './types.js';

export { VersionError, type VersionFamily, type VersionOrdering } from './types.js';

const orderings: Record<VersionFamily, VersionOrdering> = {
  dpkg: dpkgOrdering,
  apk: apkOrdering,
  rpm: rpmOrdering,
  pep440: pep440Ordering,
  maven: mavenOrdering,
  semver: semverOrdering,
  go: goOrdering,
  rubygems: rubygemsOrdering,
  nuget: nugetOrdering,
  packagist: packagistOrdering,
};

// OSV ecosystem names (schema/osv-ecosystems.json) without their `:<release>` suffix.
const families: Record<string, VersionFamily> = {
  debian: 'dpkg',
  ubuntu: 'dpkg',
  alpine: 'apk',
  wolfi: 'apk',
  chainguard: 'apk',
  'red hat': 'rpm',
  almalinux: 'rpm',
  'rocky linux': 'rpm',
  opensuse: 'rpm',
  suse: 'rpm',
  'azure linux': 'rpm',
  mageia: 'rpm',
  'photon os': 'rpm',
  openeuler: 'rpm',
  pypi: 'pep440',
  maven: 'maven',
  npm: 'semver',
  'crates.io': 'semver',
  swifturl: 'semver',
  pub: 'semver',
  hex: 'semver',
  go: 'go',
  rubygems: 'rubygems',
  nuget: 'nuget',
  packagist: 'packagist',
};

/** The ecosystem without a release or repository suffix: `Debian:12` -> `Debian`. */
export function baseEcosystem(ecosystem: string): string {
  const i = ecosystem.indexOf(':');
  return i < 0 ? ecosystem : ecosystem.slice(0, i);
}

/**
 * The ordering family of an OSV ecosystem: `Debian:12` -> dpkg, `Alpine:v3.20` -> apk,
 * `Red Hat:...`/`AlmaLinux`/`Rocky Linux`/`openSUSE`/`SUSE` -> rpm, `PyPI` -> pep440, ...
 * Returns undefined for an ecosystem berth has no ordering for.
 */
export function ecosystemFamily(ecosystem: string): VersionFamily | undefined {
  return families[baseEcosystem(ecosystem).toLowerCase()];
}

/** The ordering for an ecosystem; throws VersionError when berth has none. */
export function orderingFor(ecosystem: string): VersionOrdering {
  const family = ecosystemFamily(ecosystem);
  if (family === undefined) throw new VersionError(`no version ordering for ecosystem ${JSON.stringify(ecosystem)}`);
  return orderings[family];
}

/** The ordering of one family (for tests and tools that know the family already). */
export function orderingOf(family: VersionFamily): VersionOrdering {
  return orderings[family];
}

/**
 * Compare two versions of one ecosystem: negative when a < b, 0 when equal, positive when a > b.
 * Throws VersionError for an unknown ecosystem or a version the ordering cannot parse.
 */
export function compareVersions(ecosystem: string, a: string, b: string): number {
  const o = orderingFor(ecosystem);
  return o.compare(o.parse(a), o.parse(b));
}

export { compareNevra, parseNevra, type Nevra } from './rpm.js';
