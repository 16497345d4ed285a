/**
 * The registry scanning configuration (ECR PutRegistryScanningConfiguration) and how it decides
 * the scan frequency of one repository (BatchGetRepositoryScanningConfiguration): ecr-semantics.md
 * section (d.1).
 */

export type ScanType = 'BASIC' | 'ENHANCED';
export type ScanFrequency = 'SCAN_ON_PUSH' | 'CONTINUOUS_SCAN' | 'MANUAL';

export interface ScanFilter {
  filter: string;
  filterType: 'WILDCARD';
}

export interface ScanRule {
  scanFrequency: ScanFrequency;
  repositoryFilters: ScanFilter[];
}

export interface RegistryScanningConfiguration {
  scanType: ScanType;
  rules: ScanRule[];
}

/** Never configured: BASIC with no rules (GetRegistryScanningConfiguration). */
export const DEFAULT_SCANNING_CONFIGURATION: RegistryScanningConfiguration = { scanType: 'BASIC', rules: [] };

/**
 * ECR's scanning filter: without `*` it matches any repository whose name contains it; with `*`
 * it is a glob over the whole name (`*prod` matches `repo-prod`, not `prod-repo`).
 */
export function scanFilterMatches(filter: string, name: string): boolean {
  if (!filter.includes('*')) return name.includes(filter);
  const re = new RegExp(`^${filter.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

/** What applies to one repository: how often its images are scanned, and the filters that decided it. */
export interface RepositoryScanning {
  scanFrequency: ScanFrequency;
  appliedScanFilters: ScanFilter[];
  /** Whether a push is scanned. */
  scanOnPush: boolean;
  /** Whether pushes get scanned at all (ENHANCED leaves unmatched repositories unscanned). */
  scanned: boolean;
}

/**
 * The effective scanning of repository `name`:
 * - BASIC: a matching SCAN_ON_PUSH rule, or the repository's own legacy `scanOnPush`, scans on
 *   push; everything else is MANUAL (StartImageScan).
 * - ENHANCED: CONTINUOUS_SCAN wins over SCAN_ON_PUSH when both match; no rules at all means
 *   continuous scanning of every repository; a repository no rule matches is not scanned.
 */
export function repositoryScanning(config: RegistryScanningConfiguration, name: string, legacyScanOnPush: boolean): RepositoryScanning {
  const matching = (frequency: ScanFrequency) => {
    const rule = config.rules.find((r) => r.scanFrequency === frequency);
    return rule ? rule.repositoryFilters.filter((f) => scanFilterMatches(f.filter, name)) : [];
  };
  if (config.scanType === 'BASIC') {
    const push = matching('SCAN_ON_PUSH');
    if (push.length > 0) return { scanFrequency: 'SCAN_ON_PUSH', appliedScanFilters: push, scanOnPush: true, scanned: true };
    if (legacyScanOnPush) return { scanFrequency: 'SCAN_ON_PUSH', appliedScanFilters: [], scanOnPush: true, scanned: true };
    return { scanFrequency: 'MANUAL', appliedScanFilters: [], scanOnPush: false, scanned: true };
  }
  if (config.rules.length === 0) return { scanFrequency: 'CONTINUOUS_SCAN', appliedScanFilters: [], scanOnPush: true, scanned: true };
  const continuous = matching('CONTINUOUS_SCAN');
  if (continuous.length > 0) return { scanFrequency: 'CONTINUOUS_SCAN', appliedScanFilters: continuous, scanOnPush: true, scanned: true };
  const push = matching('SCAN_ON_PUSH');
  if (push.length > 0) return { scanFrequency: 'SCAN_ON_PUSH', appliedScanFilters: push, scanOnPush: true, scanned: true };
  return { scanFrequency: 'MANUAL', appliedScanFilters: [], scanOnPush: false, scanned: false };
}
