import { epochSeconds, operation } from '../../operation.js';
import { lifecyclePolicyNotFound } from './errors.js';

/** GetLifecyclePolicy: the stored text and when the policy was last evaluated (absent if never). */
export const getLifecyclePolicy = operation({
  action: 'ecr:GetLifecyclePolicy',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    return { accountId, name, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name }, ctx) {
    const repo = await ctx.registry.repository(accountId, name);
    const policy = await ctx.services.lifecycle.getPolicy(repo);
    if (!policy) throw lifecyclePolicyNotFound(accountId, name);
    return {
      registryId: accountId,
      repositoryName: name,
      lifecyclePolicyText: policy.text,
      ...(policy.lastEvaluatedAt !== null ? { lastEvaluatedAt: epochSeconds(policy.lastEvaluatedAt) } : {}),
    };
  },
});
