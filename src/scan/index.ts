export { ScanService, UnsupportedImageError, SCAN_JOB, REMATCH_JOB, DESCRIPTIONS, type ScanJobPayload, type ScanStatus, type ScanSummary } from './service.js';
export {
  repositoryScanning,
  scanFilterMatches,
  DEFAULT_SCANNING_CONFIGURATION,
  type RegistryScanningConfiguration,
  type RepositoryScanning,
  type ScanFilter,
  type ScanFrequency,
  type ScanRule,
  type ScanType,
} from './scanning-config.js';
export { basicFinding, enhancedFinding, severityCounts, SEVERITIES, type Severity, type StoredFinding, type ImageFacts } from './findings.js';
export { type StoredInventory } from './scanner.js';
export { toCycloneDx, toSpdx, SBOM_MEDIA_TYPES, type SbomFormat } from './sbom.js';
export { streamProgress, type ImportProgress } from './vulndb/import.js';
export { type ImportCounts, type VulnDbStatus } from './vulndb/store.js';
