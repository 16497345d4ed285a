import { USER_NAME, rootArn } from '../identities.js';
import { isoDate, loadIdentity, operation, targetOf } from '../operation.js';
import { userXml } from '../shapes.js';

/**
 * GetUser: the named user, or without `UserName` the caller. For the root, AWS answers with the
 * account id as UserId, the root ARN, and no UserName or Path.
 */
export const getUser = operation({
  action: 'iam:GetUser',
  mutates: false,
  prepare(params, ctx) {
    return { target: targetOf(params.optionalString('UserName', USER_NAME), ctx.principal) };
  },
  async run({ target }, ctx) {
    const identity = await loadIdentity(ctx.meta, target!);
    if (identity.user) return { User: userXml(identity.user) };
    const account = await ctx.meta.accounts.get(ctx.principal.accountId);
    return {
      User: { UserId: ctx.principal.accountId, Arn: rootArn(ctx.principal.accountId), CreateDate: isoDate(account?.createdAt ?? 0) },
    };
  },
});
