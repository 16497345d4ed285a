import type { RepositoryRow } from '../storage/metadata/index.js';
import { epochSeconds, repositoryArn, repositoryUri, type EcrContext } from './operation.js';

/** ECR's `Repository` structure. */
export function toEcrRepository(ctx: EcrContext, row: RepositoryRow) {
  return {
    repositoryArn: repositoryArn(ctx.region, row.accountId, row.name),
    registryId: row.accountId,
    repositoryName: row.name,
    repositoryUri: repositoryUri(ctx, row.accountId, row.name),
    createdAt: epochSeconds(row.createdAt),
    imageTagMutability: row.tagMutability,
    ...(row.tagMutabilityExclusions ? { imageTagMutabilityExclusionFilters: row.tagMutabilityExclusions } : {}),
    imageScanningConfiguration: { scanOnPush: row.scanOnPush },
    encryptionConfiguration: { encryptionType: row.encryptionType, ...(row.kmsKey ? { kmsKey: row.kmsKey } : {}) },
  };
}

export interface EcrTag {
  Key: string;
  Value: string;
}
