import { ACCESS_KEY_ID, USER_NAME } from '../identities.js';
import { operation, targetOf } from '../operation.js';
import { ownKey } from './own-key.js';

/**
 * UpdateAccessKey: Active or Inactive. An inactive key fails from the next request on at the ECR,
 * IAM and STS doors (signed requests read the key's status each time) and so do the registry
 * tokens issued for it; a login with the key itself is refused within the 10 s the OCI door
 * remembers a verified header.
 */
export const updateAccessKey = operation({
  action: 'iam:UpdateAccessKey',
  mutates: true,
  prepare(params, ctx) {
    const target = targetOf(params.optionalString('UserName', USER_NAME), ctx.principal);
    const accessKeyId = params.requiredString('AccessKeyId', ACCESS_KEY_ID) ?? '';
    const status = params.requiredString('Status', { member: 'status', values: ['Active', 'Inactive'] }) as 'Active' | 'Inactive' | undefined;
    return { accessKeyId, status: status ?? 'Inactive', target };
  },
  async run({ accessKeyId, status, target }, ctx) {
    await ctx.meta.transaction(async (tx) => {
      await ownKey(tx, target, accessKeyId);
      await tx.accessKeys.setStatus(accessKeyId, status);
    });
    return undefined;
  },
});
