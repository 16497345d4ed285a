import { generateAccessKeyId, generateSecretAccessKey } from '../../iam/index.js';
import { limitExceeded } from '../errors.js';
import { ACCESS_KEYS_PER_IDENTITY, USER_NAME } from '../identities.js';
import { isoDate, loadIdentity, operation, targetOf } from '../operation.js';

/**
 * CreateAccessKey for the named user, or without `UserName` for the caller (root included). The
 * secret is generated like the first-start root key's, stored sealed by the SecretBox, and
 * returned this once. Two keys per identity, as in IAM; a third is LimitExceeded.
 */
export const createAccessKey = operation({
  action: 'iam:CreateAccessKey',
  mutates: true,
  prepare(params, ctx) {
    return { target: targetOf(params.optionalString('UserName', USER_NAME), ctx.principal) };
  },
  async run({ target }, ctx) {
    const secretAccessKey = generateSecretAccessKey();
    const key = await ctx.meta.transaction(async (tx) => {
      const { userName } = await loadIdentity(tx, target);
      if ((await tx.accessKeys.count(target.accountId, userName)) >= ACCESS_KEYS_PER_IDENTITY) {
        throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_IDENTITY}`);
      }
      let accessKeyId = generateAccessKeyId();
      // 80 random bits make a collision all but impossible; checking costs one indexed read.
      while (await tx.accessKeys.get(accessKeyId)) accessKeyId = generateAccessKeyId();
      const row = {
        accessKeyId,
        accountId: target.accountId,
        userName,
        secretEnc: ctx.box.seal(secretAccessKey),
        status: 'Active' as const,
        createdAt: ctx.now(),
      };
      await tx.accessKeys.create(row);
      return row;
    });
    return {
      AccessKey: {
        UserName: key.userName ?? undefined,
        AccessKeyId: key.accessKeyId,
        Status: key.status,
        SecretAccessKey: secretAccessKey,
        CreateDate: isoDate(key.createdAt),
      },
    };
  },
});
