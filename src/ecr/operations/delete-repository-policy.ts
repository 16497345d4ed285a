import { operation, prepareRepository } from '../operation.js';
import { repositoryPolicyNotFound } from './get-repository-policy.js';

/** DeleteRepositoryPolicy: remove a repository's policy and answer with the removed text. */
export const deleteRepositoryPolicy = operation({
  action: 'ecr:DeleteRepositoryPolicy',
  prepare: prepareRepository,
  async run({ accountId, name }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const policyText = await ctx.policies.deleteRepositoryPolicy(repo);
    if (policyText === undefined) throw repositoryPolicyNotFound(accountId, name);
    return { registryId: accountId, repositoryName: name, policyText };
  },
});
