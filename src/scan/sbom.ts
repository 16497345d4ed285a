import { createHash, randomUUID } from 'node:crypto';
import type { Package } from './match/index.js';
import type { StoredInventory } from './scanner.js';

export type SbomFormat = 'cyclonedx' | 'spdx';

/** Media types of the two documents (and the artifactType of an attached SBOM referrer). */
export const SBOM_MEDIA_TYPES: Record<SbomFormat, string> = {
  cyclonedx: 'application/vnd.cyclonedx+json',
  spdx: 'application/spdx+json',
};

/** What the SBOM describes: the image. */
export interface SbomSubject {
  /** e.g. `registry.example.com/team/app`. */
  repository: string;
  digest: string;
  tags: string[];
  /** Epoch ms, the document's creation time. */
  createdAt: number;
  toolVersion: string;
}

/** The package URL of a package (purl-spec), built when the inventory did not give one. */
export function purlOf(pkg: Package, os: StoredInventory['os']): string | undefined {
  if (pkg.purl) return pkg.purl;
  const v = encodeURIComponent(pkg.version);
  const enc = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/');
  switch (pkg.ecosystem.split(':')[0]!.toLowerCase()) {
    case 'debian':
    case 'ubuntu': {
      const distro = os?.id ?? pkg.ecosystem.toLowerCase();
      const q = [pkg.sourceName && pkg.sourceName !== pkg.name ? `upstream=${encodeURIComponent(pkg.sourceName)}` : '', os?.versionId ? `distro=${distro}-${os.versionId}` : '']
        .filter(Boolean)
        .join('&');
      return `pkg:deb/${distro}/${enc(pkg.name)}@${v}${q ? `?${q}` : ''}`;
    }
    case 'alpine':
      return `pkg:apk/alpine/${enc(pkg.name)}@${v}${os?.versionId ? `?distro=alpine-${os.versionId}` : ''}`;
    case 'npm':
      return `pkg:npm/${enc(pkg.name)}@${v}`;
    case 'pypi':
      return `pkg:pypi/${encodeURIComponent(pkg.name.toLowerCase().replace(/[-_.]+/g, '-'))}@${v}`;
    case 'go':
      return `pkg:golang/${enc(pkg.name)}@${v}`;
    case 'maven': {
      const [group, artifact] = pkg.name.split(':');
      return artifact ? `pkg:maven/${enc(group!)}/${enc(artifact)}@${v}` : undefined;
    }
    case 'crates.io':
      return `pkg:cargo/${enc(pkg.name)}@${v}`;
    case 'rubygems':
      return `pkg:gem/${enc(pkg.name)}@${v}`;
    default:
      return pkg.ecosystem.toLowerCase() === 'rpm' || os ? `pkg:rpm/${os?.id ?? 'unknown'}/${enc(pkg.name)}@${v}` : undefined;
  }
}

function bomRef(pkg: Package, i: number): string {
  return `pkg-${i}-${createHash('sha256').update(`${pkg.ecosystem}\0${pkg.name}\0${pkg.version}\0${pkg.path ?? ''}`).digest('hex').slice(0, 12)}`;
}

/** A CycloneDX 1.5 JSON document (https://cyclonedx.org/docs/1.5/json/) of a scanned image's inventory. */
export function toCycloneDx(inventory: StoredInventory, subject: SbomSubject): Record<string, unknown> {
  const components: Record<string, unknown>[] = [];
  if (inventory.os) {
    components.push({
      type: 'operating-system',
      'bom-ref': 'os',
      name: inventory.os.id,
      ...(inventory.os.versionId ? { version: inventory.os.versionId } : {}),
      ...(inventory.os.name ? { description: inventory.os.name } : {}),
    });
  }
  inventory.packages.forEach((pkg, i) => {
    const purl = purlOf(pkg, inventory.os);
    const properties = [
      { name: 'berth:package:ecosystem', value: pkg.ecosystem },
      ...(pkg.sourceName ? [{ name: 'berth:package:source-name', value: pkg.sourceName }] : []),
      ...(pkg.sourceVersion ? [{ name: 'berth:package:source-version', value: pkg.sourceVersion }] : []),
      ...(pkg.layerDigest ? [{ name: 'berth:layer:digest', value: pkg.layerDigest }] : []),
      ...(pkg.path ? [{ name: 'berth:location:path', value: pkg.path }] : []),
    ];
    components.push({ type: 'library', 'bom-ref': bomRef(pkg, i), name: pkg.name, version: pkg.version, ...(purl ? { purl } : {}), properties });
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date(subject.createdAt).toISOString(),
      tools: { components: [{ type: 'application', name: 'berth', version: subject.toolVersion }] },
      component: {
        type: 'container',
        'bom-ref': 'image',
        name: subject.repository,
        version: subject.digest,
        purl: `pkg:oci/${encodeURIComponent(subject.repository.split('/').pop()!)}@${encodeURIComponent(subject.digest)}?repository_url=${encodeURIComponent(subject.repository)}`,
        ...(subject.tags.length > 0 ? { properties: subject.tags.map((t) => ({ name: 'berth:image:tag', value: t })) } : {}),
      },
      ...(inventory.partial ? { properties: [{ name: 'berth:inventory:partial', value: 'true' }] } : {}),
    },
    components,
  };
}

/** An SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/) of a scanned image's inventory. */
export function toSpdx(inventory: StoredInventory, subject: SbomSubject): Record<string, unknown> {
  const imageId = 'SPDXRef-image';
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: imageId,
      name: subject.repository,
      versionInfo: subject.digest,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: subject.digest.replace(/^sha256:/, '') }].filter(() => subject.digest.startsWith('sha256:')),
    },
  ];
  const relationships: Record<string, unknown>[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  if (inventory.os) {
    packages.push({
      SPDXID: 'SPDXRef-os',
      name: inventory.os.id,
      ...(inventory.os.versionId ? { versionInfo: inventory.os.versionId } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING-SYSTEM',
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-os' });
  }
  inventory.packages.forEach((pkg, i) => {
    const id = `SPDXRef-${bomRef(pkg, i)}`;
    const purl = purlOf(pkg, inventory.os);
    packages.push({
      SPDXID: id,
      name: pkg.name,
      versionInfo: pkg.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'LIBRARY',
      ...(pkg.sourceName ? { sourceInfo: `built from ${pkg.sourceName}${pkg.sourceVersion ? ` ${pkg.sourceVersion}` : ''}` } : {}),
      ...(pkg.path ? { comment: `found at /${pkg.path}${pkg.layerDigest ? ` in layer ${pkg.layerDigest}` : ''}` } : {}),
      ...(purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] } : {}),
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  });
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.repository}@${subject.digest}`,
    documentNamespace: `https://berth.invalid/spdx/${encodeURIComponent(subject.repository)}/${subject.digest}/${randomUUID()}`,
    creationInfo: { created: new Date(subject.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: [`Tool: berth-${subject.toolVersion}`] },
    packages,
    relationships,
  };
}
