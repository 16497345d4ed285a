import { operation } from '../../operation.js';
import { decodeNextToken, encodeNextToken, invalid } from '../../validate.js';
import { TEMPLATE_PREFIX_PATTERN, toEcrTemplate } from './template-inputs.js';

/** DescribeRepositoryCreationTemplates: all (paged) or those with the given prefixes (unknown ones are simply absent). */
export const describeRepositoryCreationTemplates = operation({
  action: 'ecr:DescribeRepositoryCreationTemplates',
  prepare(input, ctx) {
    const accountId = ctx.principal.accountId;
    const prefixes = input.optionalList('prefixes')?.map((v, i) => {
      if (typeof v !== 'string' || v.length < 1 || v.length > 256 || !TEMPLATE_PREFIX_PATTERN.test(v)) {
        throw invalid(`1 validation error detected: Value '${String(v).slice(0, 100)}' at 'prefixes.${i + 1}.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ${TEMPLATE_PREFIX_PATTERN.source}`);
      }
      return v.replace(/\/$/, '');
    });
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 }) ?? 100;
    return { accountId, prefixes, maxResults, after: decodeNextToken(input.optionalString('nextToken')), resource: { accountId } };
  },
  async run({ accountId, prefixes, maxResults, after }, ctx) {
    let templates = await ctx.services.templates.list(accountId);
    if (prefixes) templates = templates.filter((t) => prefixes.includes(t.prefix));
    const rest = after === undefined ? templates : templates.filter((t) => t.prefix > after);
    const page = rest.slice(0, maxResults);
    return {
      registryId: accountId,
      repositoryCreationTemplates: page.map(toEcrTemplate),
      ...(rest.length > maxResults ? { nextToken: encodeNextToken(page.at(-1)!.prefix) } : {}),
    };
  },
});
