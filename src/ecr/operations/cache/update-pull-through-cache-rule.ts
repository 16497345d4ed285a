import { AwsJsonError } from '../../errors.js';
import { epochSeconds, operation } from '../../operation.js';
import { checkSecret, findRule, readCredentialArn, readPrefix } from './rule-inputs.js';

/** UpdatePullThroughCacheRule: only the credential secret and the custom role can change. */
export const updatePullThroughCacheRule = operation({
  action: 'ecr:UpdatePullThroughCacheRule',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const prefix = readPrefix(input);
    const credentialArn = readCredentialArn(input);
    const customRoleArn = input.optionalString('customRoleArn', { max: 2048 });
    return { accountId, prefix, credentialArn, customRoleArn, resource: { accountId } };
  },
  async run({ accountId, prefix, credentialArn, customRoleArn }, ctx) {
    const rule = await findRule(ctx, accountId, prefix);
    if (credentialArn === undefined && customRoleArn === undefined) {
      throw new AwsJsonError('InvalidParameterException', 'Either credentialArn or customRoleArn must be specified');
    }
    if (credentialArn) await checkSecret(ctx, accountId, credentialArn);
    const updatedAt = ctx.now();
    await ctx.services.cacheRules.update(accountId, prefix, {
      ...(credentialArn !== undefined ? { credentialArn } : {}),
      ...(customRoleArn !== undefined ? { customRoleArn: customRoleArn || null } : {}),
      updatedAt,
    });
    ctx.services.pullThroughCache.invalidate(accountId);
    const cred = credentialArn ?? rule.credentialArn;
    const role = customRoleArn !== undefined ? customRoleArn || null : rule.customRoleArn;
    return {
      ecrRepositoryPrefix: prefix,
      registryId: accountId,
      updatedAt: epochSeconds(updatedAt),
      ...(cred ? { credentialArn: cred } : {}),
      ...(role ? { customRoleArn: role } : {}),
      ...(rule.upstreamRegistry === 'ecr' ? { upstreamRepositoryPrefix: rule.upstreamPrefix } : {}),
    };
  },
});
