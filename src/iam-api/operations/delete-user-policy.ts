import { POLICY_NAME, USER_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { loadHolder, noSuchInlinePolicy } from './policy-holders.js';

/** DeleteUserPolicy: remove one inline policy of a user; NoSuchEntity for a user or policy that does not exist. */
export const deleteUserPolicy = operation({
  action: 'iam:DeleteUserPolicy',
  mutates: true,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    return { policyName, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ policyName, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'user', target.accountId, target.userName);
      if (!(await tx.policies.deleteInlinePolicy(holder, policyName))) throw noSuchInlinePolicy('user', policyName);
    });
    return undefined;
  },
});
