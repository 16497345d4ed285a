import { POLICY_ARN, ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { attachManagedPolicy, loadHolder } from './policy-holders.js';

/**
 * AttachRolePolicy: attach a managed policy (customer managed, or AWS's ECR policies by their
 * ARNs) to a role. Attaching it again succeeds and changes nothing; at most 10 per role.
 */
export const attachRolePolicy = operation({
  action: 'iam:AttachRolePolicy',
  mutates: true,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const policyArn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    return { policyArn, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ policyArn, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'role', target.accountId, target.roleName);
      await attachManagedPolicy(tx, holder, policyArn);
    });
    return undefined;
  },
});
