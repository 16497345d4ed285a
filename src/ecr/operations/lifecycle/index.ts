import type { EcrOperation } from '../../operation.js';
import { deleteLifecyclePolicy } from './delete-lifecycle-policy.js';
import { getLifecyclePolicy } from './get-lifecycle-policy.js';
import { getLifecyclePolicyPreview } from './get-lifecycle-policy-preview.js';
import { putLifecyclePolicy } from './put-lifecycle-policy.js';
import { startLifecyclePolicyPreview } from './start-lifecycle-policy-preview.js';
import { updateImageStorageClass } from './update-image-storage-class.js';

/** The lifecycle operations: PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy, StartLifecyclePolicyPreview, GetLifecyclePolicyPreview, UpdateImageStorageClass. */
export const LIFECYCLE_OPERATIONS: Record<string, EcrOperation<any>> = {
  PutLifecyclePolicy: putLifecyclePolicy,
  GetLifecyclePolicy: getLifecyclePolicy,
  DeleteLifecyclePolicy: deleteLifecyclePolicy,
  StartLifecyclePolicyPreview: startLifecyclePolicyPreview,
  GetLifecyclePolicyPreview: getLifecyclePolicyPreview,
  UpdateImageStorageClass: updateImageStorageClass,
};
