import { POLICY_ARN, ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { detachManagedPolicy, loadHolder } from './policy-holders.js';

/** DetachRolePolicy: NoSuchEntity when the policy is not attached to the role. */
export const detachRolePolicy = operation({
  action: 'iam:DetachRolePolicy',
  mutates: true,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const policyArn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    return { policyArn, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ policyArn, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'role', target.accountId, target.roleName);
      await detachManagedPolicy(tx, holder, policyArn);
    });
    return undefined;
  },
});
