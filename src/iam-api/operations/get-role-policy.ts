import { POLICY_NAME, ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { encodePolicyDocument } from '../policy-documents.js';
import { loadHolder, noSuchInlinePolicy } from './policy-holders.js';

/** GetRolePolicy: one inline policy of a role, its document URL-encoded as IAM returns it. */
export const getRolePolicy = operation({
  action: 'iam:GetRolePolicy',
  mutates: false,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    return { policyName, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ policyName, target }, ctx) {
    const holder = await loadHolder(ctx.meta, 'role', target.accountId, target.roleName);
    const document = await ctx.meta.policies.getInlinePolicy(holder, policyName);
    if (document === undefined) throw noSuchInlinePolicy('role', policyName);
    return { RoleName: holder.name, PolicyName: policyName, PolicyDocument: encodePolicyDocument(document) };
  },
});
