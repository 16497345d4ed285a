import { POLICY_NAME, USER_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { encodePolicyDocument } from '../policy-documents.js';
import { loadHolder, noSuchInlinePolicy } from './policy-holders.js';

/** GetUserPolicy: one inline policy of a user, its document URL-encoded as IAM returns it. */
export const getUserPolicy = operation({
  action: 'iam:GetUserPolicy',
  mutates: false,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    return { policyName, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ policyName, target }, ctx) {
    const holder = await loadHolder(ctx.meta, 'user', target.accountId, target.userName);
    const document = await ctx.meta.policies.getInlinePolicy(holder, policyName);
    if (document === undefined) throw noSuchInlinePolicy('user', policyName);
    return { UserName: holder.name, PolicyName: policyName, PolicyDocument: encodePolicyDocument(document) };
  },
});
