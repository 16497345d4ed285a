import { deleteConflict, noSuchEntity } from '../errors.js';
import { POLICY_ARN, parsePolicyArn } from '../identities.js';
import { operation } from '../operation.js';
import { invalidArn, managedPolicyTarget } from './policy-holders.js';

/**
 * DeletePolicy: a customer managed policy and its versions. As in IAM, a policy still attached to
 * a user or role is refused (DeleteConflict) rather than detached silently. AWS managed policies
 * belong to no account and cannot be deleted (AccessDenied).
 */
export const deletePolicy = operation({
  action: 'iam:DeletePolicy',
  mutates: true,
  prepare(params, ctx) {
    const arn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    return { target: managedPolicyTarget(arn, ctx.principal.accountId, true) };
  },
  async run({ target }, ctx) {
    const arn = target.policyArn;
    if (!parsePolicyArn(arn)) throw invalidArn(arn);
    await ctx.meta.transaction(async (tx) => {
      if (!(await tx.policies.getManagedPolicy(arn))) throw noSuchEntity(`Policy ${arn} was not found.`);
      if ((await tx.policies.countPolicyAttachments(arn)) > 0) throw deleteConflict('Cannot delete a policy attached to entities.');
      await tx.policies.deleteManagedPolicy(arn);
    });
    return undefined;
  },
});
