import { AwsJsonError } from '../../errors.js';

/** ECR-only errors of the lifecycle operations: the OCI door never reports them, so they need no domain code. */
export function lifecyclePolicyNotFound(accountId: string, name: string): AwsJsonError {
  return new AwsJsonError(
    'LifecyclePolicyNotFoundException',
    `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${accountId}'`,
  );
}

export function previewNotFound(accountId: string, name: string): AwsJsonError {
  return new AwsJsonError(
    'LifecyclePolicyPreviewNotFoundException',
    `There is no dry run for the repository with name '${name}' in the registry with id '${accountId}'`,
  );
}

export function previewInProgress(accountId: string, name: string): AwsJsonError {
  return new AwsJsonError(
    'LifecyclePolicyPreviewInProgressException',
    `Previous lifecycle policy preview request has not been completed for the repository with name '${name}' in the registry with id '${accountId}'`,
  );
}

export function storageClassUpdateNotSupported(message: string): AwsJsonError {
  return new AwsJsonError('ImageStorageClassUpdateNotSupportedException', message);
}
