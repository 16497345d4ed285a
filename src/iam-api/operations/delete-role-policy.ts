import { POLICY_NAME, ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { loadHolder, noSuchInlinePolicy } from './policy-holders.js';

/** DeleteRolePolicy: remove one inline policy of a role; NoSuchEntity for a role or policy that does not exist. */
export const deleteRolePolicy = operation({
  action: 'iam:DeleteRolePolicy',
  mutates: true,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    return { policyName, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ policyName, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'role', target.accountId, target.roleName);
      if (!(await tx.policies.deleteInlinePolicy(holder, policyName))) throw noSuchInlinePolicy('role', policyName);
    });
    return undefined;
  },
});
