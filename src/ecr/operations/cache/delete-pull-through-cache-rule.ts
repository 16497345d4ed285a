import { operation } from '../../operation.js';
import { findRule, readPrefix, toEcrRule } from './rule-inputs.js';

/** DeletePullThroughCacheRule: the repositories it created stay, as ordinary repositories. */
export const deletePullThroughCacheRule = operation({
  action: 'ecr:DeletePullThroughCacheRule',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    return { accountId, prefix: readPrefix(input), resource: { accountId } };
  },
  async run({ accountId, prefix }, ctx) {
    const rule = await findRule(ctx, accountId, prefix);
    await ctx.services.cacheRules.delete(accountId, prefix);
    ctx.services.pullThroughCache.invalidate(accountId);
    const { updatedAt: _u, upstreamRegistry: _k, ...shape } = toEcrRule(rule);
    return shape;
  },
});
