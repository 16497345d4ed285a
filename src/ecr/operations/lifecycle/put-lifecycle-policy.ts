import { operation } from '../../operation.js';

/**
 * PutLifecyclePolicy: validate the policy with ECR's rules (InvalidParameterException naming the
 * offending rule) and store it in place of any other; answers with the canonical text (rules
 * ordered by priority), as ECR does.
 */
export const putLifecyclePolicy = operation({
  action: 'ecr:PutLifecyclePolicy',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const text = input.string('lifecyclePolicyText', { min: 100, max: 30_720 });
    return { accountId, name, text, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, text }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const lifecyclePolicyText = await ctx.services.lifecycle.putPolicy(repo, text);
    return { registryId: accountId, repositoryName: name, lifecyclePolicyText };
  },
});
