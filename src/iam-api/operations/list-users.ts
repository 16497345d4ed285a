import { MARKER, MAX_ITEMS, PATH_PREFIX, USER_NAME } from '../identities.js';
import { decodeMarker, encodeMarker, operation } from '../operation.js';
import { userXml } from '../shapes.js';

/** ListUsers: the account's users in name order, `MaxItems` (default 100) at a time, optionally under `PathPrefix`. */
export const listUsers = operation({
  action: 'iam:ListUsers',
  mutates: false,
  prepare(params, ctx) {
    const pathPrefix = params.optionalString('PathPrefix', PATH_PREFIX);
    const marker = params.optionalString('Marker', MARKER);
    const maxItems = params.optionalInteger('MaxItems', MAX_ITEMS) ?? 100;
    return { pathPrefix, marker, maxItems, target: { kind: 'users' as const, accountId: ctx.principal.accountId } };
  },
  async run({ pathPrefix, marker, maxItems }, ctx) {
    const after = marker === undefined ? undefined : decodeMarker(marker, (key) => USER_NAME.pattern.test(key));
    const rows = await ctx.meta.users.list(ctx.principal.accountId, {
      limit: maxItems + 1,
      ...(after !== undefined ? { after } : {}),
      ...(pathPrefix !== undefined ? { pathPrefix } : {}),
    });
    const page = rows.slice(0, maxItems);
    const isTruncated = rows.length > maxItems;
    return {
      Users: { member: page.map(userXml) },
      IsTruncated: isTruncated,
      Marker: isTruncated ? encodeMarker(page[page.length - 1]!.userName) : undefined,
    };
  },
});
