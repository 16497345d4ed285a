import { storedPolicyOperation } from './stored-policy.js';

/** DeleteLifecyclePolicy: remove the policy and answer with what it was. */
export const deleteLifecyclePolicy = storedPolicyOperation('ecr:DeleteLifecyclePolicy', (lifecycle, repo) => lifecycle.deletePolicy(repo));
