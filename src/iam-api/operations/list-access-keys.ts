import { ACCESS_KEY_ID, MARKER, MAX_ITEMS, USER_NAME } from '../identities.js';
import { decodeMarker, encodeMarker, loadIdentity, operation, targetOf } from '../operation.js';
import { accessKeyMetadataXml } from '../shapes.js';

/** ListAccessKeys of the named user, or without `UserName` of the caller; oldest first, never the secrets. */
export const listAccessKeys = operation({
  action: 'iam:ListAccessKeys',
  mutates: false,
  prepare(params, ctx) {
    const target = targetOf(params.optionalString('UserName', USER_NAME), ctx.principal);
    const marker = params.optionalString('Marker', MARKER);
    const maxItems = params.optionalInteger('MaxItems', MAX_ITEMS) ?? 100;
    return { marker, maxItems, target };
  },
  async run({ marker, maxItems, target }, ctx) {
    const { userName } = await loadIdentity(ctx.meta, target);
    const keys = await ctx.meta.accessKeys.list(target.accountId, userName);
    let start = 0;
    if (marker !== undefined) {
      const after = decodeMarker(marker, (key) => ACCESS_KEY_ID.pattern.test(key));
      // At most two keys per identity: paging in memory is simplest.
      start = keys.findIndex((key) => key.accessKeyId === after) + 1;
      if (start === 0) start = keys.length;
    }
    const page = keys.slice(start, start + maxItems);
    const isTruncated = start + maxItems < keys.length;
    return {
      UserName: userName ?? undefined,
      AccessKeyMetadata: { member: page.map(accessKeyMetadataXml) },
      IsTruncated: isTruncated,
      Marker: isTruncated ? encodeMarker(page[page.length - 1]!.accessKeyId) : undefined,
    };
  },
});
