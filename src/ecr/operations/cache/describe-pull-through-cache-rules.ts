import { decodeNextToken, encodeNextToken, invalid } from '../../validate.js';
import { operation } from '../../operation.js';
import { PREFIX_PATTERN, ruleNotFound, toEcrRule } from './rule-inputs.js';

/** DescribePullThroughCacheRules: all rules (paged) or the named ones (each must exist). */
export const describePullThroughCacheRules = operation({
  action: 'ecr:DescribePullThroughCacheRules',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const raw = input.optionalList('ecrRepositoryPrefixes', { min: 1, max: 100 });
    const prefixes = raw?.map((v, i) => {
      if (typeof v !== 'string' || v.length < 2 || v.length > 30 || !PREFIX_PATTERN.test(v)) {
        throw invalid(`1 validation error detected: Value '${String(v).slice(0, 100)}' at 'ecrRepositoryPrefixes.${i + 1}.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ${PREFIX_PATTERN.source}`);
      }
      return v.replace(/\/$/, '');
    });
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 });
    const nextToken = input.optionalString('nextToken');
    if (prefixes && (maxResults !== undefined || nextToken !== undefined)) {
      throw invalid('Invalid parameter: nextToken and maxResults cannot be used with ecrRepositoryPrefixes');
    }
    return { accountId, prefixes, maxResults: maxResults ?? 100, after: decodeNextToken(nextToken), resource: { accountId } };
  },
  async run({ accountId, prefixes, maxResults, after }, ctx) {
    const rules = await ctx.services.cacheRules.list(accountId);
    if (prefixes) {
      const byPrefix = new Map(rules.map((r) => [r.prefix, r]));
      const missing = prefixes.find((p) => !byPrefix.has(p));
      if (missing !== undefined) throw ruleNotFound(missing, accountId);
      return { pullThroughCacheRules: prefixes.map((p) => toEcrRule(byPrefix.get(p)!)) };
    }
    const rest = after === undefined ? rules : rules.filter((r) => r.prefix > after);
    const page = rest.slice(0, maxResults);
    return {
      pullThroughCacheRules: page.map(toEcrRule),
      ...(rest.length > maxResults ? { nextToken: encodeNextToken(page.at(-1)!.prefix) } : {}),
    };
  },
});
