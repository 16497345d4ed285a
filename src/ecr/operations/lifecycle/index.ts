import type { EcrOperation } from '../../operation.js';

/** The lifecycle operations: PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy, StartLifecyclePolicyPreview, GetLifecyclePolicyPreview, UpdateImageStorageClass. */
export const LIFECYCLE_OPERATIONS: Record<string, EcrOperation<any>> = {};
