import type { EcrOperation } from '../../operation.js';

/** The scanning operations: PutRegistryScanningConfiguration, GetRegistryScanningConfiguration, BatchGetRepositoryScanningConfiguration, StartImageScan, DescribeImageScanFindings. */
export const SCANNING_OPERATIONS: Record<string, EcrOperation<any>> = {};
