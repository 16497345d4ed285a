import { ACCESS_KEY_ID, USER_NAME } from '../identities.js';
import { operation, targetOf } from '../operation.js';
import { ownKey } from './own-key.js';

/** DeleteAccessKey of the named user, or without `UserName` of the caller. It stops working at once, as UpdateAccessKey to Inactive. */
export const deleteAccessKey = operation({
  action: 'iam:DeleteAccessKey',
  mutates: true,
  prepare(params, ctx) {
    const target = targetOf(params.optionalString('UserName', USER_NAME), ctx.principal);
    const accessKeyId = params.requiredString('AccessKeyId', ACCESS_KEY_ID) ?? '';
    return { accessKeyId, target };
  },
  async run({ accessKeyId, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      await ownKey(tx, target, accessKeyId);
      await tx.accessKeys.delete(accessKeyId);
    });
    return undefined;
  },
});
