import { MARKER, MAX_ITEMS, POLICY_PATH_PREFIX, ROLE_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { attachedPolicies, loadHolder, pageOf } from './policy-holders.js';

/**
 * ListAttachedRolePolicies: the managed policies attached to a role (name and ARN), in ARN order,
 * optionally only those under `PathPrefix`, `MaxItems` (default 100) at a time.
 */
export const listAttachedRolePolicies = operation({
  action: 'iam:ListAttachedRolePolicies',
  mutates: false,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const pathPrefix = params.optionalString('PathPrefix', POLICY_PATH_PREFIX);
    const marker = params.optionalString('Marker', MARKER);
    const maxItems = params.optionalInteger('MaxItems', MAX_ITEMS) ?? 100;
    return { pathPrefix, marker, maxItems, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ pathPrefix, marker, maxItems, target }, ctx) {
    const holder = await loadHolder(ctx.meta, 'role', target.accountId, target.roleName);
    const attached = await attachedPolicies(ctx.meta, holder, pathPrefix);
    const page = pageOf(attached, (p) => p.PolicyArn, { marker, maxItems, isKey: (key) => key.startsWith('arn:aws:iam::') });
    return { AttachedPolicies: { member: page.items }, IsTruncated: page.isTruncated, Marker: page.marker };
  },
});
