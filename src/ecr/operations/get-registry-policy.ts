import { AwsJsonError } from '../errors.js';
import { operation } from '../operation.js';

/** GetRegistryPolicy: the caller's registry policy as it was put; RegistryPolicyNotFoundException when there is none. */
export const getRegistryPolicy = operation({
  action: 'ecr:GetRegistryPolicy',
  prepare(_input, ctx) {
    return { resource: { accountId: ctx.principal.accountId } };
  },
  async run(_prepared, ctx) {
    const accountId = ctx.principal.accountId;
    const policyText = await ctx.policies.registryPolicyText(accountId);
    if (policyText === undefined) throw registryPolicyNotFound(accountId);
    return { registryId: accountId, policyText };
  },
});

/** ECR-only error: no domain code needed, the OCI door never reports it. */
export function registryPolicyNotFound(accountId: string): AwsJsonError {
  return new AwsJsonError('RegistryPolicyNotFoundException', `Registry policy does not exist in the registry with id '${accountId}'`);
}
