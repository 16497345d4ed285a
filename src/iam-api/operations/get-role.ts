import { noSuchEntity } from '../errors.js';
import { ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { roleXml } from '../shapes.js';

/** GetRole: the role, its trust policy URL-encoded as IAM returns it. */
export const getRole = operation({
  action: 'iam:GetRole',
  mutates: false,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    return { target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ target }, ctx) {
    const role = await ctx.meta.policies.getRole(target.accountId, target.roleName);
    if (!role) throw noSuchEntity(`The role with name ${target.roleName} cannot be found.`);
    return { Role: roleXml(role) };
  },
});
