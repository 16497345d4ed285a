/**
 * A finding as berth stores it, and the two shapes ECR reports it in (DescribeImageScanFindings):
 * the basic `findings[]` and Inspector's `enhancedFindings[]` (ecr-semantics.md section d.3).
 */

export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' | 'UNDEFINED';

export const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'];

/** The package a finding is about, with where it was found. */
export interface FindingPackage {
  ecosystem: string;
  name: string;
  version: string;
  /** OS packages (reported by source package): the installed binary packages built from it. */
  binaries?: string[];
  layerDigest?: string;
  path?: string;
  purl?: string;
}

export interface StoredFinding {
  /** ECR's `name`: the CVE id when the advisory has exactly one, else the advisory's own id. */
  name: string;
  /** The OSV record's id (GO-2023-1751, DSA-5000-1, GHSA-...). */
  advisoryId: string;
  /** Other ids of the same vulnerability, grouped: aliases of this record and of records folded into it. */
  aliases: string[];
  description: string;
  uri: string;
  severity: Severity;
  score?: number;
  vector?: string;
  cvssVersion?: string;
  vendorSeverity?: string;
  package: FindingPackage;
  fixedVersion?: string;
  published?: number;
  modified: number;
  references: string[];
  /** `os/arch` of the platform image, for findings of an index's children. */
  platform?: string;
}

export type BasicFinding = {
  name: string;
  description?: string;
  uri?: string;
  severity: Severity;
  attributes: { key: string; value: string }[];
};

/** ECR's basic finding: name, description, uri, severity and attributes (at most 50, values at most 256 characters). */
export function basicFinding(f: StoredFinding): BasicFinding {
  const attributes: { key: string; value: string }[] = [
    { key: 'package_name', value: f.package.name },
    { key: 'package_version', value: f.package.version },
    { key: 'package_ecosystem', value: f.package.ecosystem },
  ];
  if (f.package.binaries) attributes.push({ key: 'binary_packages', value: f.package.binaries.join(',') });
  if (f.fixedVersion) attributes.push({ key: 'fixed_in_version', value: f.fixedVersion });
  attributes.push({ key: 'advisory_id', value: f.advisoryId });
  if (f.aliases.length > 0) attributes.push({ key: 'aliases', value: f.aliases.join(',') });
  if (f.score !== undefined && f.vector) {
    const prefix = f.cvssVersion?.startsWith('4') ? 'CVSS4' : f.cvssVersion?.startsWith('2') ? 'CVSS2' : 'CVSS3';
    attributes.push({ key: `${prefix}_SCORE`, value: String(f.score) }, { key: `${prefix}_VECTOR`, value: f.vector });
  }
  if (f.package.path) attributes.push({ key: 'file_path', value: f.package.path });
  if (f.package.layerDigest) attributes.push({ key: 'layer_digest', value: f.package.layerDigest });
  if (f.platform) attributes.push({ key: 'platform', value: f.platform });
  return {
    name: f.name,
    ...(f.description ? { description: f.description } : {}),
    ...(f.uri ? { uri: f.uri } : {}),
    severity: f.severity,
    attributes: attributes.slice(0, 50).map((a) => ({ key: a.key.slice(0, 128), value: a.value.slice(0, 256) })),
  };
}

/** What an enhanced finding says about the image it was found in. */
export interface ImageFacts {
  accountId: string;
  region: string;
  repository: string;
  digest: string;
  tags: string[];
  pushedAt: number;
  architecture?: string;
  platform?: string;
  scannedAt: number;
}

/** Inspector's finding, as ECR's DescribeImageScanFindings returns it for ENHANCED scanning. */
export function enhancedFinding(f: StoredFinding, image: ImageFacts, firstObservedAt: number) {
  const s = (ms: number) => ms / 1000;
  const arn = `arn:aws:inspector2:${image.region}:${image.accountId}:finding/${Buffer.from(`${image.repository}@${image.digest}/${f.advisoryId}/${f.package.name}/${f.package.path ?? ''}`).toString('hex').slice(0, 64)}`;
  return {
    awsAccountId: image.accountId,
    description: f.description,
    findingArn: arn,
    firstObservedAt: s(firstObservedAt),
    lastObservedAt: s(image.scannedAt),
    packageVulnerabilityDetails: {
      ...(f.score !== undefined && f.vector ? { cvss: [{ baseScore: f.score, scoringVector: f.vector, source: 'OSV', version: f.cvssVersion ?? '3.1' }] } : { cvss: [] }),
      referenceUrls: f.references.slice(0, 50),
      relatedVulnerabilities: f.aliases,
      source: 'OSV',
      sourceUrl: f.uri,
      ...(f.published !== undefined ? { vendorCreatedAt: s(f.published) } : {}),
      vendorSeverity: f.vendorSeverity ?? f.severity,
      vendorUpdatedAt: s(f.modified),
      vulnerabilityId: f.name,
      vulnerablePackages: [
        {
          name: f.package.name,
          version: f.package.version,
          packageManager: packageManagerOf(f.package.ecosystem),
          ...(f.package.path ? { filePath: f.package.path } : {}),
          ...(f.package.layerDigest ? { sourceLayerHash: f.package.layerDigest } : {}),
          ...(f.fixedVersion ? { fixedInVersion: f.fixedVersion } : {}),
          ...(image.architecture ? { arch: image.architecture } : {}),
        },
      ],
    },
    remediation: {
      recommendation: {
        text: f.fixedVersion ? `Upgrade ${f.package.name} to ${f.fixedVersion} or later.` : `No fixed version of ${f.package.name} is known.`,
        url: f.uri,
      },
    },
    resources: [
      {
        details: {
          awsEcrContainerImage: {
            ...(image.architecture ? { architecture: image.architecture } : {}),
            imageHash: image.digest,
            imageTags: image.tags,
            ...(image.platform ? { platform: image.platform } : {}),
            pushedAt: s(image.pushedAt),
            registry: image.accountId,
            repositoryName: image.repository,
          },
        },
        id: `arn:aws:ecr:${image.region}:${image.accountId}:repository/${image.repository}/${image.digest}`,
        tags: {},
        type: 'AWS_ECR_CONTAINER_IMAGE',
      },
    ],
    ...(f.score !== undefined ? { score: f.score } : {}),
    ...(f.score !== undefined && f.vector
      ? { scoreDetails: { cvss: { adjustments: [], score: f.score, scoreSource: 'OSV', scoringVector: f.vector, version: f.cvssVersion ?? '3.1' } } }
      : {}),
    severity: f.severity,
    status: 'ACTIVE',
    title: `${f.name} - ${f.package.name}`,
    type: 'PACKAGE_VULNERABILITY',
    updatedAt: s(image.scannedAt),
    fixAvailable: f.fixedVersion ? 'YES' : 'NO',
    exploitAvailable: 'NO',
  };
}

/** Inspector's packageManager names. */
function packageManagerOf(ecosystem: string): string {
  const e = ecosystem.split(':')[0]!.toLowerCase();
  const known: Record<string, string> = {
    debian: 'OS',
    ubuntu: 'OS',
    alpine: 'OS',
    'red hat': 'OS',
    almalinux: 'OS',
    'rocky linux': 'OS',
    npm: 'NODEPKG',
    pypi: 'PYTHONPKG',
    go: 'GOBINARY',
    maven: 'JAR',
    'crates.io': 'CARGO',
    rubygems: 'GEMSPEC',
  };
  return known[e] ?? 'OS';
}

/** Counts per severity, only the non-zero ones (findingSeverityCounts). */
export function severityCounts(findings: readonly { severity: Severity }[]): Partial<Record<Severity, number>> {
  const counts: Partial<Record<Severity, number>> = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return counts;
}
