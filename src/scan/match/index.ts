/**
 * Matching installed packages against OSV records.
 *
 * The rules follow the OSV schema's evaluation algorithm (https://ossf.github.io/osv-schema/,
 * "Evaluation") and shared/vulndata/README.md ("Expected findings"):
 * - ecosystems with a release (`Debian:12`, `Alpine:v3.20`) match only records for that release;
 * - Debian, Alpine and rpm-family records name the SOURCE package, so an OS package is looked up
 *   by its source name and compared at its source version;
 * - only ECOSYSTEM and SEMVER ranges are evaluated (GIT ranges hold commit hashes), plus the
 *   explicit `versions[]` list; withdrawn records never match;
 * - one finding per (package, advisory id), whatever the number of matching `affected` entries.
 *
 * Parsed range events are cached per range object (a WeakMap), so matching many packages
 * against the same records parses each event version once.
 */
import type { OsvAffected, OsvRange, OsvRecord } from '../osv.js';
import { recordSeverity, type EcrSeverity } from '../severity.js';
import { baseEcosystem, ecosystemFamily, orderingFor, type VersionOrdering } from '../versions/index.js';

/** One installed package, as the inventory reports it. */
export interface Package {
  /**
   * The OSV ecosystem (`Debian`, `Alpine`, `PyPI`, `npm`, `Go`, `Maven`, `crates.io`, `RubyGems`,
   * `NuGet`, `Packagist`, `Red Hat`, `AlmaLinux`, `Rocky Linux`, `openSUSE`, `SUSE`, `Azure Linux`,
   * ...), optionally already carrying its release (`Debian:12`, `Alpine:v3.20`). Package-manager
   * names are accepted too: `dpkg`/`deb`, `apk`, `rpm`, `pypi`/`python`, `go`/`golang`,
   * `maven`/`java`, `cargo`, `gem`, `composer`. For OS package managers the release comes from
   * the image's OsRelease (see osvEcosystemOf).
   */
  ecosystem: string;
  /** The installed (binary) package name; for language packages, the package name. */
  name: string;
  version: string;
  /** OS packages: dpkg `Source:` name, apk origin `o:`, rpm source package name. */
  sourceName?: string;
  /** OS packages: the source version (dpkg `Source: name (version)`), when it differs. */
  sourceVersion?: string;
  layerDigest?: string;
  path?: string;
  purl?: string;
}

/** The image's /etc/os-release (ID, VERSION_ID, VERSION_CODENAME, NAME). */
export interface OsRelease {
  id: string;
  versionId?: string;
  versionCodename?: string;
  name?: string;
  /** PRETTY_NAME: openSUSE and SUSE records name their release by it. */
  prettyName?: string;
}

export interface Finding {
  /** The OSV record id (GHSA-…, DSA-…, GO-…, PYSEC-…). */
  id: string;
  aliases: string[];
  /** The OSV ecosystem the package was matched in (`Debian:12`, `PyPI`, …). */
  ecosystem: string;
  /** The name the record names (the source package for OS packages). */
  packageName: string;
  /** The version compared (the source version for OS packages; Go without its `v`). */
  packageVersion: string;
  /** The lowest `fixed` above the installed version in a matching range; absent when none. */
  fixedVersion?: string;
  severity: EcrSeverity;
  score?: number;
  vector?: string;
  cvssVersion?: string;
  vendorSeverity?: string;
  /** The package as the inventory gave it (layer, path, binary name). */
  package: Package;
  /** The matched record (summary, details, references, dates). */
  record: OsvRecord;
}

// Package-manager and case variants -> OSV ecosystem name.
const ECOSYSTEM_ALIASES: Record<string, string> = {
  debian: 'Debian',
  dpkg: 'Debian',
  deb: 'Debian',
  ubuntu: 'Ubuntu',
  alpine: 'Alpine',
  apk: 'Alpine',
  wolfi: 'Wolfi',
  chainguard: 'Chainguard',
  pypi: 'PyPI',
  python: 'PyPI',
  pip: 'PyPI',
  go: 'Go',
  golang: 'Go',
  maven: 'Maven',
  java: 'Maven',
  jar: 'Maven',
  npm: 'npm',
  node: 'npm',
  'crates.io': 'crates.io',
  cargo: 'crates.io',
  rust: 'crates.io',
  rubygems: 'RubyGems',
  gem: 'RubyGems',
  nuget: 'NuGet',
  packagist: 'Packagist',
  composer: 'Packagist',
  'red hat': 'Red Hat',
  redhat: 'Red Hat',
  almalinux: 'AlmaLinux',
  'rocky linux': 'Rocky Linux',
  opensuse: 'openSUSE',
  suse: 'SUSE',
  'azure linux': 'Azure Linux',
};

// Debian codenames -> release numbers (distro-info-data), for images whose os-release has a
// codename but no VERSION_ID (testing/sid images, or minimal os-release files).
const DEBIAN_CODENAMES: Record<string, string> = {
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};

/** The OSV ecosystem name for a package-manager or differently-cased name (`dpkg` -> `Debian`). */
export function canonicalEcosystem(ecosystem: string): string {
  const base = baseEcosystem(ecosystem);
  const canon = ECOSYSTEM_ALIASES[base.toLowerCase()];
  if (canon === undefined) return ecosystem;
  return canon + ecosystem.slice(base.length);
}

function majorMinor(versionId: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(versionId);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/**
 * The OSV ecosystem to look a package's advisories up in: `Debian:12` for a Debian 12 image's
 * dpkg packages, `Alpine:v3.20` for Alpine 3.20.x, `PyPI` for a Python package. Returns
 * undefined when the release cannot be told (an OS package with no usable os-release), so the
 * caller can report the package as unmatched rather than match it against every release.
 */
export function osvEcosystemOf(pkg: Package, os: OsRelease | undefined): string | undefined {
  const eco = canonicalEcosystem(pkg.ecosystem);
  if (eco.includes(':')) return eco;
  const osId = os?.id.toLowerCase();
  switch (eco) {
    case 'Debian': {
      if (osId === 'ubuntu') return ubuntuEcosystem(os);
      const major = /^(\d+)/.exec(os?.versionId ?? '')?.[1];
      if (major !== undefined) return `Debian:${major}`;
      const codename = os?.versionCodename?.toLowerCase();
      const n = codename ? DEBIAN_CODENAMES[codename] : undefined;
      return n !== undefined ? `Debian:${n}` : undefined;
    }
    case 'Ubuntu':
      return ubuntuEcosystem(os);
    case 'Alpine': {
      const mm = os?.versionId ? majorMinor(os.versionId) : undefined;
      if (mm !== undefined) return `Alpine:v${mm}`;
      return os?.versionId === 'edge' ? 'Alpine:edge' : undefined;
    }
    case 'rpm':
      return rpmEcosystem(os);
    default:
      if (pkg.ecosystem.toLowerCase() === 'rpm') return rpmEcosystem(os);
      return ecosystemFamily(eco) === undefined ? undefined : eco;
  }
}

function ubuntuEcosystem(os: OsRelease | undefined): string | undefined {
  const mm = os?.versionId ? majorMinor(os.versionId) : undefined;
  if (mm === undefined) return undefined;
  // Ubuntu's LTS releases are the .04 of even years.
  const [yy, month] = mm.split('.').map(Number) as [number, number];
  return yy % 2 === 0 && month === 4 ? `Ubuntu:${mm}:LTS` : `Ubuntu:${mm}`;
}

function rpmEcosystem(os: OsRelease | undefined): string | undefined {
  if (!os) return undefined;
  const major = /^(\d+)/.exec(os.versionId ?? '')?.[1];
  switch (os.id.toLowerCase()) {
    case 'almalinux':
      return major ? `AlmaLinux:${major}` : undefined;
    case 'rocky':
      return major ? `Rocky Linux:${major}` : undefined;
    case 'opensuse-leap':
    case 'opensuse-tumbleweed':
    case 'opensuse':
      return os.prettyName ? `openSUSE:${os.prettyName}` : undefined;
    case 'sles':
    case 'suse':
      return os.prettyName ? `SUSE:${os.prettyName}` : undefined;
    case 'mariner':
    case 'azurelinux':
      return major ? `Azure Linux:${major}` : undefined;
    default:
      // Red Hat's OSV ecosystem names a CPE product stream, which os-release does not give.
      return undefined;
  }
}

/** PEP 503 name normalisation: lowercase, runs of `-`, `_`, `.` become one `-`. */
export function normalizePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * A package name as an ecosystem compares it: PEP 503 for PyPI, lowercase for the
 * case-insensitive registries (NuGet, Packagist), unchanged elsewhere.
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  switch (baseEcosystem(canonicalEcosystem(ecosystem))) {
    case 'PyPI':
      return normalizePypiName(name);
    case 'NuGet':
    case 'Packagist':
      return name.toLowerCase();
    default:
      return name;
  }
}

const SOURCE_NAMED: ReadonlySet<string> = new Set([
  'Debian',
  'Ubuntu',
  'Alpine',
  'Wolfi',
  'Chainguard',
  'AlmaLinux',
  'Rocky Linux',
  'openSUSE',
  'SUSE',
  'Azure Linux',
  'Red Hat',
]);

/** The name to look a package's records up by (normalised; the source name for OS packages). */
export function lookupName(pkg: Package, ecosystem: string): string {
  const base = baseEcosystem(ecosystem);
  const name = SOURCE_NAMED.has(base) ? (pkg.sourceName ?? pkg.name) : pkg.name;
  return normalizePackageName(base, name);
}

/** The version to compare: the source version for OS packages, Go without `v`/`go`. */
export function lookupVersion(pkg: Package, ecosystem: string): string {
  const base = baseEcosystem(ecosystem);
  if (SOURCE_NAMED.has(base)) return pkg.sourceVersion ?? pkg.version;
  if (base === 'Go') {
    const v = pkg.version;
    if (v.startsWith('go')) return v.slice(2);
    if (v.startsWith('v')) return v.slice(1);
  }
  return pkg.version;
}

/**
 * The index key of a (ecosystem, name) pair: base ecosystem plus normalised name. Records are
 * stored under the keys of their `affected` entries (affectedKeys), packages looked up by
 * packageKey; the release is checked afterwards.
 */
export function indexKey(ecosystem: string, name: string): string {
  const base = baseEcosystem(canonicalEcosystem(ecosystem));
  return `${base}\u0000${normalizePackageName(base, name)}`;
}

/** The distinct index keys of a record's affected packages (for a database index). */
export function affectedKeys(record: OsvRecord): string[] {
  const keys = new Set<string>();
  for (const a of record.affected) if (a.package) keys.add(indexKey(a.package.ecosystem, a.package.name));
  return [...keys];
}

/** Does a record's affected ecosystem apply to the package's release? */
function ecosystemApplies(recordEcosystem: string, pkgEcosystem: string): boolean {
  if (recordEcosystem === pkgEcosystem) return true;
  const recBase = baseEcosystem(recordEcosystem);
  if (recBase !== baseEcosystem(pkgEcosystem)) return false;
  // A record without a release suffix applies to every release; for Maven/Packagist/VSCode the
  // suffix names a repository, which berth cannot tell from an installed jar.
  if (recBase === recordEcosystem) return true;
  return recBase === 'Maven' || recBase === 'Packagist';
}

type ParsedEvent = { kind: 0 | 1 | 2 | 3; raw: string; v: unknown };
const INTRODUCED = 0;
const FIXED = 1;
const LAST_AFFECTED = 2;
const LIMIT = 3;
const ZERO = Symbol('zero');

// Parsed, sorted events per range; null when an event does not parse in this ordering.
const parsedRanges = new WeakMap<OsvRange, { ordering: VersionOrdering; events: ParsedEvent[] } | null>();

function parsedRange(range: OsvRange, ordering: VersionOrdering): ParsedEvent[] | null {
  const hit = parsedRanges.get(range);
  if (hit !== undefined && (hit === null || hit.ordering === ordering)) return hit?.events ?? null;
  let events: ParsedEvent[] | null = [];
  try {
    for (const e of range.events) {
      if (e.introduced !== undefined) {
        events.push({
          kind: INTRODUCED,
          raw: e.introduced,
          v: e.introduced === '0' ? ZERO : ordering.parse(e.introduced),
        });
      } else if (e.fixed !== undefined) events.push({ kind: FIXED, raw: e.fixed, v: ordering.parse(e.fixed) });
      else if (e.last_affected !== undefined) {
        events.push({ kind: LAST_AFFECTED, raw: e.last_affected, v: ordering.parse(e.last_affected) });
      } else if (e.limit !== undefined) {
        events.push({ kind: LIMIT, raw: e.limit, v: e.limit === '*' ? ZERO : ordering.parse(e.limit) });
      }
    }
    // Sort by version, "0" lowest; at one version, introduced before the events that close.
    events.sort((a, b) => {
      const c = compareEvent(ordering, a.v, b.v);
      return c !== 0 ? c : a.kind - b.kind;
    });
  } catch {
    events = null;
  }
  parsedRanges.set(range, events === null ? null : { ordering, events });
  return events;
}

function compareEvent(ordering: VersionOrdering, a: unknown, b: unknown): number {
  if (a === ZERO) return b === ZERO ? 0 : -1;
  if (b === ZERO) return 1;
  return ordering.compare(a, b);
}

/**
 * Evaluate one ECOSYSTEM/SEMVER range for a parsed version. Returns undefined when not
 * affected, else `{ fixed }` with the lowest fixed event above the version (or undefined).
 */
function rangeAffects(
  events: ParsedEvent[],
  ordering: VersionOrdering,
  v: unknown,
): { fixed: string | undefined } | undefined {
  let affected = false;
  let limited = false;
  let hasLimit = false;
  for (const e of events) {
    if (e.kind === LIMIT) {
      hasLimit = true;
      // '*' (ZERO here) means no limit; otherwise the version must be below some limit.
      if (e.v === ZERO || ordering.compare(v, e.v) < 0) limited = true;
      continue;
    }
    const c = e.v === ZERO ? 1 : ordering.compare(v, e.v);
    if (e.kind === INTRODUCED) {
      if (c >= 0) affected = true;
    } else if (e.kind === FIXED) {
      if (c >= 0) affected = false;
    } else if (c > 0) affected = false;
  }
  if (!affected || (hasLimit && !limited)) return undefined;
  let fixed: string | undefined;
  for (const e of events) {
    if (e.kind === FIXED && ordering.compare(e.v, v) > 0) {
      fixed = e.raw;
      break; // events are sorted, the first one above is the lowest
    }
  }
  return { fixed };
}

/**
 * Does one `affected` entry cover the version? Returns undefined when not, else the fixed
 * version of the matching range (undefined when that range has no fix above the version).
 */
export function affectedCovers(
  affected: OsvAffected,
  ordering: VersionOrdering,
  version: string,
  parsed: unknown,
): { fixed: string | undefined } | undefined {
  let hit: { fixed: string | undefined } | undefined;
  for (const range of affected.ranges) {
    if (range.type === 'GIT') continue;
    const events = parsedRange(range, ordering);
    if (events === null) continue;
    const r = rangeAffects(events, ordering, parsed);
    if (r === undefined) continue;
    if (hit === undefined || (r.fixed !== undefined && (hit.fixed === undefined || lowerFixed(ordering, r.fixed, hit.fixed)))) {
      hit = r;
    }
  }
  if (hit === undefined && affected.versions.includes(version)) hit = { fixed: undefined };
  return hit;
}

function lowerFixed(ordering: VersionOrdering, a: string, b: string): boolean {
  try {
    return ordering.compare(ordering.parse(a), ordering.parse(b)) < 0;
  } catch {
    return false;
  }
}

/**
 * Match one package against candidate records (typically those an index returned for its
 * name; any others are filtered out here). Returns one finding per matching record, in the
 * order of `records`. A version the ecosystem cannot parse matches only `versions[]` lists.
 */
export function matchPackage(pkg: Package, os: OsRelease | undefined, records: readonly OsvRecord[]): Finding[] {
  const ecosystem = osvEcosystemOf(pkg, os);
  if (ecosystem === undefined) return [];
  let ordering: VersionOrdering;
  try {
    ordering = orderingFor(ecosystem);
  } catch {
    return [];
  }
  const name = lookupName(pkg, ecosystem);
  const version = lookupVersion(pkg, ecosystem);
  const base = baseEcosystem(ecosystem);
  let parsed: unknown;
  let parsable = true;
  try {
    parsed = ordering.parse(version);
  } catch {
    parsable = false;
  }
  const findings: Finding[] = [];
  // One finding per advisory id, even when two sources carry a record with the same id.
  const seen = new Set<string>();
  for (const record of records) {
    if (record.withdrawn !== undefined || seen.has(record.id)) continue;
    let hit: { fixed: string | undefined } | undefined;
    let hitAffected: OsvAffected | undefined;
    for (const affected of record.affected) {
      const p = affected.package;
      if (p === undefined || !ecosystemApplies(p.ecosystem, ecosystem)) continue;
      if (normalizePackageName(base, p.name) !== name) continue;
      const r = parsable
        ? affectedCovers(affected, ordering, version, parsed)
        : affected.versions.includes(version)
          ? { fixed: undefined }
          : undefined;
      if (r === undefined) continue;
      if (hit === undefined || (r.fixed !== undefined && (hit.fixed === undefined || lowerFixed(ordering, r.fixed, hit.fixed)))) {
        hit = r;
        hitAffected = affected;
      }
    }
    if (hit === undefined) continue;
    seen.add(record.id);
    const sev = recordSeverity(record, hitAffected);
    const finding: Finding = {
      id: record.id,
      aliases: record.aliases,
      ecosystem,
      packageName: name,
      packageVersion: version,
      severity: sev.severity,
      package: pkg,
      record,
    };
    if (hit.fixed !== undefined) finding.fixedVersion = hit.fixed;
    if (sev.score !== undefined) finding.score = sev.score;
    if (sev.vector !== undefined) finding.vector = sev.vector;
    if (sev.cvssVersion !== undefined) finding.cvssVersion = sev.cvssVersion;
    if (sev.vendorSeverity !== undefined) finding.vendorSeverity = sev.vendorSeverity;
    findings.push(finding);
  }
  return findings;
}

/**
 * An in-memory index of records by (base ecosystem, normalised name), for matching a whole
 * inventory: `new OsvIndex(records).match(packages, os)`.
 */
export class OsvIndex {
  private readonly byKey = new Map<string, OsvRecord[]>();

  constructor(records: Iterable<OsvRecord> = []) {
    for (const r of records) this.add(r);
  }

  add(record: OsvRecord): void {
    for (const key of affectedKeys(record)) {
      const list = this.byKey.get(key);
      if (list) list.push(record);
      else this.byKey.set(key, [record]);
    }
  }

  /** The records that name this package (any release); matchPackage filters further. */
  candidates(pkg: Package, os: OsRelease | undefined): OsvRecord[] {
    const ecosystem = osvEcosystemOf(pkg, os);
    if (ecosystem === undefined) return [];
    return this.byKey.get(indexKey(ecosystem, lookupName(pkg, ecosystem))) ?? [];
  }

  match(packages: Iterable<Package>, os: OsRelease | undefined): Finding[] {
    const out: Finding[] = [];
    for (const pkg of packages) {
      const candidates = this.candidates(pkg, os);
      if (candidates.length > 0) for (const f of matchPackage(pkg, os, candidates)) out.push(f);
    }
    return out;
  }
}
