import { rootArn, userArn } from '../identities.js';
import { operation } from '../operation.js';

/**
 * STS GetCallerIdentity: the account, ARN and unique id of whoever signed the request. It needs no
 * permission (AWS answers it even when every action is denied). For the root, UserId is the
 * account id; for a user, its `AIDA…` id, and the ARN carries the user's path; for a role session
 * (AssumeRole), the session's ARN `arn:aws:sts::<account>:assumed-role/<role>/<session>` and
 * `<role id>:<session>`.
 */
export const getCallerIdentity = operation({
  action: 'sts:GetCallerIdentity',
  mutates: false,
  prepare() {
    return { target: null };
  },
  async run(_prepared, ctx) {
    const { principal } = ctx;
    if (principal.kind === 'root') {
      return { Arn: rootArn(principal.accountId), UserId: principal.accountId, Account: principal.accountId };
    }
    if (principal.kind === 'assumed-role') {
      return { Arn: principal.arn, UserId: `${principal.roleId ?? ''}:${principal.sessionName ?? ''}`, Account: principal.accountId };
    }
    const user = principal.userName === undefined ? undefined : await ctx.meta.users.get(principal.accountId, principal.userName);
    return {
      Arn: user ? userArn(user) : principal.arn,
      UserId: user?.userId ?? principal.accessKeyId,
      Account: principal.accountId,
    };
  },
});
