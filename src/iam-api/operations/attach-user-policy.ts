import { POLICY_ARN, USER_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { attachManagedPolicy, loadHolder } from './policy-holders.js';

/**
 * AttachUserPolicy: attach a managed policy (customer managed, or AWS's ECR policies by their
 * ARNs) to a user. Attaching it again succeeds and changes nothing; at most 10 per user.
 */
export const attachUserPolicy = operation({
  action: 'iam:AttachUserPolicy',
  mutates: true,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const policyArn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    return { policyArn, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ policyArn, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'user', target.accountId, target.userName);
      await attachManagedPolicy(tx, holder, policyArn);
    });
    return undefined;
  },
});
