import { epochSeconds, operation } from '../../operation.js';
import { lifecyclePolicyNotFound } from './errors.js';

/** DeleteLifecyclePolicy: remove the policy and answer with what it was. */
export const deleteLifecyclePolicy = operation({
  action: 'ecr:DeleteLifecyclePolicy',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    return { accountId, name, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name }, ctx) {
    const repo = await ctx.registry.repository(accountId, name);
    const policy = await ctx.services.lifecycle.deletePolicy(repo);
    if (!policy) throw lifecyclePolicyNotFound(accountId, name);
    return {
      registryId: accountId,
      repositoryName: name,
      lifecyclePolicyText: policy.text,
      ...(policy.lastEvaluatedAt !== null ? { lastEvaluatedAt: epochSeconds(policy.lastEvaluatedAt) } : {}),
    };
  },
});
