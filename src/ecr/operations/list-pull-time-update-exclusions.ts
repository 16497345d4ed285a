import type { AccountId } from '../../core/index.js';
import { operation } from '../operation.js';
import { decodeNextToken, encodeNextToken } from '../validate.js';

/**
 * ListPullTimeUpdateExclusions: the registry's excluded principal ARNs as a plain list, in ARN
 * order, `maxResults` 1-1000 (default 100, which with the limit of 100 is all of them).
 */
export const listPullTimeUpdateExclusions = operation({
  action: 'ecr:ListPullTimeUpdateExclusions',
  prepare(input, ctx) {
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 }) ?? 100;
    const after = decodeNextToken(input.optionalString('nextToken'));
    return { maxResults, after, resource: { accountId: ctx.principal.accountId } };
  },
  async run({ maxResults, after }, ctx) {
    const rows = await ctx.settings.pullTimeExclusions(ctx.principal.accountId as AccountId, {
      ...(after !== undefined ? { after } : {}),
      limit: maxResults + 1,
    });
    const page = rows.slice(0, maxResults);
    return {
      pullTimeUpdateExclusions: page.map((r) => r.principalArn),
      ...(rows.length > maxResults ? { nextToken: encodeNextToken(page[page.length - 1]!.principalArn) } : {}),
    };
  },
});
