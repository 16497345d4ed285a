import { invalid, decodeNextToken, encodeNextToken, repositoryNameValue } from '../validate.js';
import { operation } from '../operation.js';
import { toEcrRepository } from '../shapes.js';

/**
 * DescribeRepositories: an explicit name list (all must exist, or the whole call fails) or pages
 * of the whole registry in name order (`maxResults` 1-1000, default 100). The two are exclusive.
 */
export const describeRepositories = operation({
  action: 'ecr:DescribeRepositories',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const names = input.optionalList('repositoryNames', { min: 1, max: 100 })?.map((n, i) => {
      if (typeof n !== 'string') throw invalid(`repositoryNames.${i + 1}.member must be a string`);
      return repositoryNameValue(n, `repositoryNames.${i + 1}.member`);
    });
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 });
    const nextToken = input.optionalString('nextToken');
    if (names && (maxResults !== undefined || nextToken !== undefined)) {
      throw invalid('Invalid parameter: repositoryNames cannot be combined with maxResults or nextToken');
    }
    // Named repositories are decided one by one, on their ARNs (as ECR scopes the action); a
    // registry-wide listing on '*'. The dispatcher decides the first; `run` the rest.
    const resource = names ? { accountId, repositoryName: names[0]! } : { accountId };
    return { accountId, names, maxResults: maxResults ?? 100, after: decodeNextToken(nextToken), resource };
  },
  async run({ accountId, names, maxResults, after }, ctx) {
    if (names) {
      for (const name of names.slice(1)) await ctx.authorize('ecr:DescribeRepositories', { accountId, repositoryName: name });
      const rows = await ctx.registry.repositoriesNamed(accountId, names);
      return { repositories: rows.map((r) => toEcrRepository(ctx, r)) };
    }
    const rows = await ctx.registry.repositoryPage(accountId, { ...(after !== undefined ? { after } : {}), limit: maxResults + 1 });
    const page = rows.slice(0, maxResults);
    return {
      repositories: page.map((r) => toEcrRepository(ctx, r)),
      ...(rows.length > maxResults ? { nextToken: encodeNextToken(page[page.length - 1]!.name) } : {}),
    };
  },
});
