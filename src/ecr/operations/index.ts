import type { EcrOperation } from '../operation.js';
import { createRepository } from './create-repository.js';
import { deleteRepository } from './delete-repository.js';
import { describeRepositories } from './describe-repositories.js';
import { getAuthorizationToken } from './get-authorization-token.js';
import { putImageScanningConfiguration } from './put-image-scanning-configuration.js';
import { putImageTagMutability } from './put-image-tag-mutability.js';
import { listTagsForResource, tagResource, untagResource } from './resource-tags.js';
import { describeRegistry } from './describe-registry.js';
import { getAccountSetting } from './get-account-setting.js';
import { putAccountSetting } from './put-account-setting.js';
import { registerPullTimeUpdateExclusion } from './register-pull-time-update-exclusion.js';
import { deregisterPullTimeUpdateExclusion } from './deregister-pull-time-update-exclusion.js';
import { listPullTimeUpdateExclusions } from './list-pull-time-update-exclusions.js';
import { batchCheckLayerAvailability } from './batch-check-layer-availability.js';
import { batchDeleteImage } from './batch-delete-image.js';
import { batchGetImage } from './batch-get-image.js';
import { completeLayerUpload } from './complete-layer-upload.js';
import { describeImages } from './describe-images.js';
import { getDownloadUrlForLayer } from './get-download-url-for-layer.js';
import { initiateLayerUpload } from './initiate-layer-upload.js';
import { listImageReferrers } from './list-image-referrers.js';
import { listImages } from './list-images.js';
import { putImage } from './put-image.js';
import { uploadLayerPart } from './upload-layer-part.js';
import { setRepositoryPolicy } from './set-repository-policy.js';
import { getRepositoryPolicy } from './get-repository-policy.js';
import { deleteRepositoryPolicy } from './delete-repository-policy.js';
import { putRegistryPolicy } from './put-registry-policy.js';
import { getRegistryPolicy } from './get-registry-policy.js';
import { deleteRegistryPolicy } from './delete-registry-policy.js';
import { LIFECYCLE_OPERATIONS } from './lifecycle/index.js';
import { SCANNING_OPERATIONS } from './scanning/index.js';
import { REPLICATION_OPERATIONS } from './replication/index.js';
import { PULL_THROUGH_CACHE_OPERATIONS } from './cache/index.js';
import { TEMPLATE_OPERATIONS } from './templates/index.js';

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
  DescribeRegistry: describeRegistry,
  GetAccountSetting: getAccountSetting,
  PutAccountSetting: putAccountSetting,
  RegisterPullTimeUpdateExclusion: registerPullTimeUpdateExclusion,
  DeregisterPullTimeUpdateExclusion: deregisterPullTimeUpdateExclusion,
  ListPullTimeUpdateExclusions: listPullTimeUpdateExclusions,
  DescribeImages: describeImages,
  ListImages: listImages,
  BatchGetImage: batchGetImage,
  PutImage: putImage,
  BatchDeleteImage: batchDeleteImage,
  ListImageReferrers: listImageReferrers,
  InitiateLayerUpload: initiateLayerUpload,
  UploadLayerPart: uploadLayerPart,
  CompleteLayerUpload: completeLayerUpload,
  BatchCheckLayerAvailability: batchCheckLayerAvailability,
  GetDownloadUrlForLayer: getDownloadUrlForLayer,
  SetRepositoryPolicy: setRepositoryPolicy,
  GetRepositoryPolicy: getRepositoryPolicy,
  DeleteRepositoryPolicy: deleteRepositoryPolicy,
  PutRegistryPolicy: putRegistryPolicy,
  GetRegistryPolicy: getRegistryPolicy,
  DeleteRegistryPolicy: deleteRegistryPolicy,
  // The capabilities' operations, one folder each.
  ...LIFECYCLE_OPERATIONS,
  ...SCANNING_OPERATIONS,
  ...REPLICATION_OPERATIONS,
  ...PULL_THROUGH_CACHE_OPERATIONS,
  ...TEMPLATE_OPERATIONS,
};
