import { MARKER, MAX_ITEMS, POLICY_NAME, ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { loadHolder, pageOf } from './policy-holders.js';

/** ListRolePolicies: the names of a role's inline policies, in name order, `MaxItems` (default 100) at a time. */
export const listRolePolicies = operation({
  action: 'iam:ListRolePolicies',
  mutates: false,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const marker = params.optionalString('Marker', MARKER);
    const maxItems = params.optionalInteger('MaxItems', MAX_ITEMS) ?? 100;
    return { marker, maxItems, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ marker, maxItems, target }, ctx) {
    const holder = await loadHolder(ctx.meta, 'role', target.accountId, target.roleName);
    const names = (await ctx.meta.policies.listInlinePolicies(holder)).map((p) => p.policyName);
    const page = pageOf(names, (name) => name, { marker, maxItems, isKey: (key) => POLICY_NAME.pattern.test(key) });
    return { PolicyNames: { member: page.items }, IsTruncated: page.isTruncated, Marker: page.marker };
  },
});
