import { storedPolicyOperation } from './stored-policy.js';

/** GetLifecyclePolicy: the stored text and when the policy was last evaluated (absent if never). */
export const getLifecyclePolicy = storedPolicyOperation('ecr:GetLifecyclePolicy', (lifecycle, repo) => lifecycle.getPolicy(repo));
