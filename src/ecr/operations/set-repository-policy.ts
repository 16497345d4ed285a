import { BerthError } from '../../core/index.js';
import type { PolicyDocument } from '../../iam/policy/index.js';
import { parseRepositoryPolicy, type Repository } from '../../registry/index.js';
import { operation, type EcrContext } from '../operation.js';
import { parsePolicyText, readPolicyText } from './policy-text.js';

/**
 * SetRepositoryPolicy: attach or replace a repository's policy, answering with the text as sent.
 * The policy is parsed after authorization, so a caller without permission learns nothing about
 * its validity. Without `force`, a policy under which the caller could not call
 * SetRepositoryPolicy again is refused (lock-out protection, ECR API reference); with it, it is
 * stored anyway.
 */
export const setRepositoryPolicy = operation({
  action: 'ecr:SetRepositoryPolicy',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const policyText = readPolicyText(input);
    const force = input.optionalBoolean('force') ?? false;
    return { accountId, name, policyText, force, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, policyText, force }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const doc = parsePolicyText('repository', () => parseRepositoryPolicy(policyText));
    if (!force) await refuseLockOut(ctx, repo, doc);
    await ctx.policies.setRepositoryPolicy(repo, doc);
    return { registryId: accountId, repositoryName: name, policyText: doc.text };
  },
});

/**
 * Throw INVALID_PARAMETER when, with `doc` in effect, the caller would be refused
 * ecr:SetRepositoryPolicy on the repository: the same decision the authorizer would make on the
 * next call (identity policies included), with the new policy in place of the stored one.
 */
async function refuseLockOut(ctx: EcrContext, repo: Repository, doc: PolicyDocument): Promise<void> {
  const decision = await ctx.decide('ecr:SetRepositoryPolicy', { accountId: repo.accountId, repositoryName: repo.name }, doc);
  if (decision.effect !== 'Allow') {
    throw new BerthError(
      'INVALID_PARAMETER',
      `Invalid parameter at 'PolicyText' failed to satisfy constraint: 'The repository policy would prevent ${ctx.principal.arn} ` +
        `from calling SetRepositoryPolicy on this repository again (${decision.reason}); set force to true to apply it anyway'`,
    );
  }
}
