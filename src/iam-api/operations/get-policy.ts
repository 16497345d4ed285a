import { AWS_MANAGED_POLICIES } from '../aws-managed-policies.js';
import { noSuchEntity } from '../errors.js';
import { POLICY_ARN, parsePolicyArn } from '../identities.js';
import { operation } from '../operation.js';
import { policyXml } from '../shapes.js';
import { invalidArn, managedPolicyTarget } from './policy-holders.js';

/**
 * GetPolicy: a managed policy's facts (not its document: that is GetPolicyVersion's), for a
 * customer managed policy of the account or one of AWS's ECR managed policies. AttachmentCount
 * counts the users and roles of the caller's account it is attached to.
 */
export const getPolicy = operation({
  action: 'iam:GetPolicy',
  mutates: false,
  prepare(params, ctx) {
    const arn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    return { target: managedPolicyTarget(arn, ctx.principal.accountId, false) };
  },
  async run({ target }, ctx) {
    const arn = target.policyArn;
    if (!parsePolicyArn(arn)) throw invalidArn(arn);
    const policy = AWS_MANAGED_POLICIES.get(arn) ?? (await ctx.meta.policies.getManagedPolicy(arn));
    if (!policy) throw noSuchEntity(`Policy ${arn} was not found.`);
    return { Policy: policyXml(policy, await ctx.meta.policies.countPolicyAttachments(arn, ctx.principal.accountId)) };
  },
});
