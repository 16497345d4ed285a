import { AwsJsonError } from '../errors.js';
import { operation, prepareRepository } from '../operation.js';

/** GetRepositoryPolicy: the policy text exactly as it was set; RepositoryPolicyNotFoundException when there is none. */
export const getRepositoryPolicy = operation({
  action: 'ecr:GetRepositoryPolicy',
  prepare: prepareRepository,
  async run({ accountId, name }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const policyText = await ctx.policies.repositoryPolicyText(repo);
    if (policyText === undefined) throw repositoryPolicyNotFound(accountId, name);
    return { registryId: accountId, repositoryName: name, policyText };
  },
});

/** ECR-only error: no domain code needed, the OCI door never reports it. */
export function repositoryPolicyNotFound(accountId: string, name: string): AwsJsonError {
  return new AwsJsonError(
    'RepositoryPolicyNotFoundException',
    `Repository policy does not exist for the repository with name '${name}' in the registry with id '${accountId}'`,
  );
}
