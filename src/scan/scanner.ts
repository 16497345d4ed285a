import type { Readable } from 'node:stream';
import type { Digest } from '../core/index.js';
import type { Descriptor } from '../registry/index.js';
import { SEVERITIES, type Severity, type StoredFinding } from './findings.js';
import { inventoryOfLayers, type Inventory, type LayerSource } from './inventory/index.js';
import { lookupName, matchPackage, osvEcosystemOf, type Finding, type OsRelease, type Package } from './match/index.js';
import { parseOsvRecord, type OsvRecord } from './osv.js';
import { ecosystemKey, packageKey, type StoredRecord, type VulnDbStore } from './vulndb/store.js';

/** Layer media types the inventory reads: tar, gzip'd tar, zstd'd tar (OCI and Docker). */
const LAYER_TYPES = /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)(\.gzip|\+gzip|\+zstd)?$/;

/** Config media types of container images; anything else (an SBOM, a signature, a Helm chart) is an artifact. */
const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** Is this image manifest a container image whose layers berth can read? */
export function isScannableImage(config: Descriptor | undefined, layers: readonly Descriptor[]): boolean {
  return config !== undefined && IMAGE_CONFIG_TYPES.has(config.mediaType) && layers.every((l) => LAYER_TYPES.test(l.mediaType));
}

/** What the scan of one image manifest stores: the inventory (for re-matching and SBOMs) and its findings. */
export interface ImageScanResult {
  inventory: StoredInventory;
  findings: StoredFinding[];
}

/** The inventory as stored with the scan (JSON): enough to re-match without reading layers again. */
export interface StoredInventory {
  os?: OsRelease;
  packages: Package[];
  warnings: string[];
  partial: boolean;
  layersRead: number;
  bytesRead: number;
}

/**
 * Read an image's layers through `open` (streams from the blob store; never extracted) and list
 * what is installed. Budgets per layer: `maxLayerBytes` decompressed bytes and `layerTimeoutMs`.
 */
export async function inventoryOfImage(
  layers: readonly Descriptor[],
  open: (digest: Digest, signal?: AbortSignal) => Promise<Readable>,
  opts: { maxLayerBytes: number; layerTimeoutMs: number; signal?: AbortSignal },
): Promise<StoredInventory> {
  const sources: LayerSource[] = layers.map((l) => ({
    digest: l.digest,
    mediaType: l.mediaType,
    size: l.size,
    open: () => open(l.digest, opts.signal),
  }));
  const inv: Inventory = await inventoryOfLayers(sources, opts);
  return {
    ...(inv.os ? { os: inv.os as OsRelease } : {}),
    packages: inv.packages as Package[],
    warnings: inv.warnings,
    partial: inv.partial,
    layersRead: inv.layersRead,
    bytesRead: inv.bytesRead,
  };
}

/**
 * Match an inventory against the vulnerability database: one index lookup for all packages, then
 * the matcher's rules per package. Findings of records that alias each other (a GHSA and a PYSEC
 * of one CVE) on the same package are grouped into one, which lists the others' ids.
 */
export async function matchInventory(store: VulnDbStore, inventory: StoredInventory): Promise<StoredFinding[]> {
  const queries: { pkg: Package; ecosystem: string; name: string }[] = [];
  for (const pkg of inventory.packages) {
    const ecosystem = osvEcosystemOf(pkg, inventory.os);
    if (ecosystem === undefined) continue;
    queries.push({ pkg, ecosystem, name: lookupName(pkg, ecosystem) });
  }
  const found = await store.lookup(queries);
  const parsed = new Map<string, OsvRecord | null>();
  const recordOf = (r: StoredRecord): OsvRecord | null => {
    let p = parsed.get(r.id);
    if (p === undefined) {
      try {
        p = parseOsvRecord(r.body);
      } catch {
        p = null; // a record the matcher cannot read matches nothing
      }
      parsed.set(r.id, p);
    }
    return p;
  };
  const out: StoredFinding[] = [];
  // OS packages are reported per source package (the advisories name it): one finding for musl
  // whatever the number of its binary packages (musl, musl-utils) installed.
  const bySource = new Map<string, StoredFinding>();
  for (const q of queries) {
    const candidates = found.get(keyOf(q.ecosystem, q.name));
    if (!candidates) continue;
    const records = candidates.map(recordOf).filter((r): r is OsvRecord => r !== null);
    for (const f of groupAliases(matchPackage(q.pkg, inventory.os, records).map(toStoredFinding))) {
      if (!f.package.binaries) {
        out.push(f);
        continue;
      }
      const key = `${f.advisoryId}\0${f.package.ecosystem}\0${f.package.name}\0${f.package.version}`;
      const seen = bySource.get(key);
      if (!seen) {
        bySource.set(key, f);
        out.push(f);
      } else {
        for (const b of f.package.binaries) if (!seen.package.binaries!.includes(b)) seen.package.binaries!.push(b);
      }
    }
  }
  for (const f of bySource.values()) f.package.binaries!.sort();
  return sortFindings(out);
}

// Keys as VulnDbStore.lookup returns them.
function keyOf(ecosystem: string, name: string): string {
  return `${ecosystemKey(ecosystem)}\0${packageKey(ecosystem, name)}`;
}

function toStoredFinding(f: Finding): StoredFinding {
  const r = f.record;
  const ids = [...new Set([...r.aliases, ...r.upstream])].filter((a) => a !== r.id);
  const cves = [r.id, ...ids].filter((a) => /^CVE-\d{4}-\d+$/.test(a));
  const advisory = r.references.find((x) => x.type === 'ADVISORY') ?? r.references.find((x) => x.type === 'WEB') ?? r.references[0];
  const published = r.published ? Date.parse(r.published) : NaN;
  return {
    name: cves.length === 1 ? cves[0]! : r.id,
    advisoryId: r.id,
    aliases: ids,
    description: (r.summary ?? r.details ?? '').slice(0, 1024),
    uri: advisory?.url ?? `https://osv.dev/vulnerability/${encodeURIComponent(r.id)}`,
    severity: f.severity,
    ...(f.score !== undefined ? { score: f.score } : {}),
    ...(f.vector !== undefined ? { vector: f.vector } : {}),
    ...(f.cvssVersion !== undefined ? { cvssVersion: f.cvssVersion } : {}),
    ...(f.vendorSeverity !== undefined ? { vendorSeverity: f.vendorSeverity } : {}),
    package: {
      ecosystem: f.ecosystem,
      // OS packages by their source package, the name and version the advisory speaks of.
      name: f.package.sourceName !== undefined ? f.packageName : f.package.name,
      version: f.packageVersion,
      ...(f.package.sourceName !== undefined ? { binaries: [f.package.name] } : {}),
      ...(f.package.layerDigest ? { layerDigest: f.package.layerDigest } : {}),
      ...(f.package.path ? { path: f.package.path } : {}),
      ...(f.package.purl ? { purl: f.package.purl } : {}),
    },
    ...(f.fixedVersion !== undefined ? { fixedVersion: f.fixedVersion } : {}),
    ...(Number.isFinite(published) ? { published } : {}),
    modified: Date.parse(r.modified),
    references: r.references.map((x) => x.url),
  };
}

/** Fold findings of one package whose advisories share an id (own or alias) into the first of them. */
function groupAliases(findings: StoredFinding[]): StoredFinding[] {
  if (findings.length < 2) return findings;
  const sorted = [...findings].sort((a, b) => a.advisoryId.localeCompare(b.advisoryId));
  const groups: StoredFinding[] = [];
  const idsOf = new Map<StoredFinding, Set<string>>();
  for (const f of sorted) {
    const ids = new Set([f.advisoryId, ...f.aliases]);
    const into = groups.find((g) => [...ids].some((id) => idsOf.get(g)!.has(id)));
    if (!into) {
      groups.push(f);
      idsOf.set(f, ids);
      continue;
    }
    const all = idsOf.get(into)!;
    for (const id of ids) all.add(id);
    into.aliases = [...all].filter((id) => id !== into.advisoryId);
    // The group reports the graver severity and the lowest known fix of its members.
    if (SEVERITIES.indexOf(f.severity) < SEVERITIES.indexOf(into.severity)) {
      into.severity = f.severity;
      if (f.score !== undefined) into.score = f.score;
      if (f.vector !== undefined) into.vector = f.vector;
      if (f.cvssVersion !== undefined) into.cvssVersion = f.cvssVersion;
    }
    if (into.fixedVersion === undefined && f.fixedVersion !== undefined) into.fixedVersion = f.fixedVersion;
    const cves = [...all].filter((a) => /^CVE-\d{4}-\d+$/.test(a));
    into.name = cves.length === 1 ? cves[0]! : into.advisoryId;
  }
  return groups;
}

/** Report order: gravest first, then by name and package. */
export function sortFindings(findings: StoredFinding[]): StoredFinding[] {
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  return findings.sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      a.name.localeCompare(b.name) ||
      a.package.name.localeCompare(b.package.name) ||
      (a.package.path ?? '').localeCompare(b.package.path ?? ''),
  );
}
