import type { EcrOperation } from '../operation.js';
import { createRepository } from './create-repository.js';
import { deleteRepository } from './delete-repository.js';
import { describeRepositories } from './describe-repositories.js';
import { getAuthorizationToken } from './get-authorization-token.js';
import { putImageScanningConfiguration } from './put-image-scanning-configuration.js';
import { putImageTagMutability } from './put-image-tag-mutability.js';
import { listTagsForResource, tagResource, untagResource } from './resource-tags.js';

/**
 * Every ECR operation berth answers, by its X-Amz-Target name. docs/compatibility.md lists all 62
 * of ECR's with their status; an operation missing here is answered UnknownOperationException.
 */
export const ECR_OPERATIONS: Record<string, EcrOperation<any>> = {
  GetAuthorizationToken: getAuthorizationToken,
  CreateRepository: createRepository,
  DescribeRepositories: describeRepositories,
  DeleteRepository: deleteRepository,
  PutImageTagMutability: putImageTagMutability,
  PutImageScanningConfiguration: putImageScanningConfiguration,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};
