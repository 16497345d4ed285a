import { deleteConflict } from '../errors.js';
import { ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { loadHolder } from './policy-holders.js';

/**
 * DeleteRole. As in IAM, a role that still has inline or attached policies is refused
 * (DeleteConflict) rather than having them removed along with it. Sessions of the role stop
 * carrying its permissions at once: a role created again under the same name has a new id, and
 * the old sessions are not its sessions.
 */
export const deleteRole = operation({
  action: 'iam:DeleteRole',
  mutates: true,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    return { target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'role', target.accountId, target.roleName);
      if ((await tx.policies.listInlinePolicies(holder)).length > 0) throw deleteConflict('Cannot delete entity, must delete policies first.');
      if ((await tx.policies.listAttachedPolicies(holder)).length > 0) throw deleteConflict('Cannot delete entity, must detach all policies first.');
      await tx.policies.deleteRole(holder.accountId, holder.name);
    });
    return undefined;
  },
});
