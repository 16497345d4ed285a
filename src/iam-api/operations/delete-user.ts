import { deleteConflict, noSuchEntity } from '../errors.js';
import { USER_NAME } from '../identities.js';
import { operation } from '../operation.js';

/**
 * DeleteUser. As in IAM, a user that still has access keys, inline policies or attached policies
 * is refused (DeleteConflict) rather than having them deleted along with it: deleting a user never
 * removes anything else silently.
 */
export const deleteUser = operation({
  action: 'iam:DeleteUser',
  mutates: true,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    return { target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const user = await tx.users.get(target.accountId, target.userName);
      if (!user) throw noSuchEntity(`The user with name ${target.userName} cannot be found.`);
      if ((await tx.accessKeys.count(user.accountId, user.userName)) > 0) {
        throw deleteConflict('Cannot delete entity, must delete access keys first.');
      }
      // A user created later under the same name must not inherit these.
      const holder = { accountId: user.accountId, kind: 'user' as const, name: user.userName };
      if ((await tx.policies.listInlinePolicies(holder)).length > 0) throw deleteConflict('Cannot delete entity, must delete policies first.');
      if ((await tx.policies.listAttachedPolicies(holder)).length > 0) throw deleteConflict('Cannot delete entity, must detach all policies first.');
      await tx.users.delete(user.accountId, user.userName);
    });
    return undefined;
  },
});
