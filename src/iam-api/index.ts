export { queryDoor, type QueryDeps } from './plugin.js';
export {
  identityPoliciesOf,
  requestPrincipalOf,
  invalidateIdentityPolicies,
  IDENTITY_POLICY_TTL_MS,
  type NamedPolicy,
} from './identity-policies.js';
export { AWS_MANAGED_POLICIES, type AwsManagedPolicy } from './aws-managed-policies.js';
