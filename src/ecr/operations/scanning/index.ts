import type { EcrOperation } from '../../operation.js';
import { batchGetRepositoryScanningConfiguration } from './batch-get-repository-scanning-configuration.js';
import { describeImageScanFindings } from './describe-image-scan-findings.js';
import { getRegistryScanningConfiguration, putRegistryScanningConfiguration } from './registry-scanning-configuration.js';
import { startImageScan } from './start-image-scan.js';

/** The scanning operations: PutRegistryScanningConfiguration, GetRegistryScanningConfiguration, BatchGetRepositoryScanningConfiguration, StartImageScan, DescribeImageScanFindings. */
export const SCANNING_OPERATIONS: Record<string, EcrOperation<any>> = {
  PutRegistryScanningConfiguration: putRegistryScanningConfiguration,
  GetRegistryScanningConfiguration: getRegistryScanningConfiguration,
  BatchGetRepositoryScanningConfiguration: batchGetRepositoryScanningConfiguration,
  StartImageScan: startImageScan,
  DescribeImageScanFindings: describeImageScanFindings,
};
