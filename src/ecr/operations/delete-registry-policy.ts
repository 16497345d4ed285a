import { operation } from '../operation.js';
import { registryPolicyNotFound } from './get-registry-policy.js';

/** DeleteRegistryPolicy: remove the caller's registry policy and answer with the removed text. */
export const deleteRegistryPolicy = operation({
  action: 'ecr:DeleteRegistryPolicy',
  prepare(_input, ctx) {
    return { resource: { accountId: ctx.principal.accountId } };
  },
  async run(_prepared, ctx) {
    const accountId = ctx.principal.accountId;
    const policyText = await ctx.policies.deleteRegistryPolicy(accountId);
    if (policyText === undefined) throw registryPolicyNotFound(accountId);
    return { registryId: accountId, policyText };
  },
});
