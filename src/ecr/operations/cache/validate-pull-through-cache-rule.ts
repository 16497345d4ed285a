import { operation } from '../../operation.js';
import { findRule, readPrefix, toEcrRule } from './rule-inputs.js';

/**
 * ValidatePullThroughCacheRule: read the secret and authenticate against the upstream (a /v2/
 * check). A failure is reported in `isValid`/`failure`, never as an exception.
 */
export const validatePullThroughCacheRule = operation({
  action: 'ecr:ValidatePullThroughCacheRule',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    return { accountId, prefix: readPrefix(input), resource: { accountId } };
  },
  async run({ accountId, prefix }, ctx) {
    const rule = await findRule(ctx, accountId, prefix);
    const { createdAt: _c, updatedAt: _u, upstreamRegistry: _k, ...shape } = toEcrRule(rule);
    let failure: string | undefined;
    try {
      if (rule.credentialArn) await ctx.services.pullThroughCache.credentials(accountId, rule.credentialArn);
      await ctx.services.pullThroughCache.clientFor(rule).ping(undefined, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]) });
    } catch (err) {
      failure = (err as Error).message;
    }
    return { ...shape, isValid: failure === undefined, ...(failure !== undefined ? { failure } : {}) };
  },
});
