import type { OsRelease, Package } from '../types.js';

/**
 * Read a Clair (claircore) IndexReport: the package list another scanner extracted from an image,
 * with its source packages and distribution. Lets an inventory that was taken elsewhere be
 * matched by berth. Source names written `name (version)` carry the source version, as in dpkg.
 * Throws on invalid JSON.
 */
export function readClairIndexReport(text: string): { os?: OsRelease; packages: Package[] } {
  const doc = JSON.parse(text) as {
    packages?: Record<string, ClairPackage>;
    distributions?: Record<string, { did?: string; version_id?: string; version_code_name?: string; name?: string; pretty_name?: string }>;
  };
  let os: OsRelease | undefined;
  for (const d of Object.values(doc.distributions ?? {})) {
    if (!d.did) continue;
    os = { id: d.did };
    if (d.version_id) os.versionId = d.version_id;
    if (d.version_code_name) os.versionCodename = d.version_code_name;
    if (d.name) os.name = d.name;
    if (d.pretty_name) os.prettyName = d.pretty_name;
    break;
  }
  const ecosystem = os?.id === 'ubuntu' ? 'Ubuntu' : os?.id === 'alpine' ? 'Alpine' : 'Debian';
  const packages: Package[] = [];
  for (const p of Object.values(doc.packages ?? {})) {
    if (!p.name || !p.version || (p.kind && p.kind !== 'binary')) continue;
    let sourceName = p.name;
    let sourceVersion = p.version;
    const m = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(p.source?.name?.trim() ?? '');
    if (m?.[1]) {
      sourceName = m[1];
      sourceVersion = m[2] ?? (p.source?.version || p.version);
    }
    packages.push({ ecosystem, name: p.name, version: p.version, sourceName, sourceVersion });
  }
  return os ? { os, packages } : { packages };
}

interface ClairPackage {
  name?: string;
  version?: string;
  kind?: string;
  source?: { name?: string; version?: string };
}
