import { MARKER, MAX_ITEMS, POLICY_NAME, USER_NAME } from '../identities.js';
import { operation } from '../operation.js';
import { loadHolder, pageOf } from './policy-holders.js';

/** ListUserPolicies: the names of a user's inline policies, in name order, `MaxItems` (default 100) at a time. */
export const listUserPolicies = operation({
  action: 'iam:ListUserPolicies',
  mutates: false,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const marker = params.optionalString('Marker', MARKER);
    const maxItems = params.optionalInteger('MaxItems', MAX_ITEMS) ?? 100;
    return { marker, maxItems, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ marker, maxItems, target }, ctx) {
    const holder = await loadHolder(ctx.meta, 'user', target.accountId, target.userName);
    const names = (await ctx.meta.policies.listInlinePolicies(holder)).map((p) => p.policyName);
    const page = pageOf(names, (name) => name, { marker, maxItems, isKey: (key) => POLICY_NAME.pattern.test(key) });
    return { PolicyNames: { member: page.items }, IsTruncated: page.isTruncated, Marker: page.marker };
  },
});
