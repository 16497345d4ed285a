import { POLICY_ARN, USER_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { detachManagedPolicy, loadHolder } from './policy-holders.js';

/** DetachUserPolicy: NoSuchEntity when the policy is not attached to the user. */
export const detachUserPolicy = operation({
  action: 'iam:DetachUserPolicy',
  mutates: true,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const policyArn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    return { policyArn, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ policyArn, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'user', target.accountId, target.userName);
      await detachManagedPolicy(tx, holder, policyArn);
    });
    return undefined;
  },
});
