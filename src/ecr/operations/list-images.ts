import { isDigest, parseTag } from '../../core/index.js';
import { operation } from '../operation.js';
import { decodeNextToken, encodeNextToken, invalid } from '../validate.js';
import { readImageFilter } from './image-inputs.js';

/**
 * ListImages: one ImageIdentifier per (digest, tag) pair, plus one with only `imageDigest` for each
 * manifest no tag points at, so an image with three tags appears three times (unlike
 * DescribeImages). Pages in (digest, tag) order: `maxResults` 1-1000, default 100, keyset
 * `nextToken`. `filter.tagStatus` TAGGED / UNTAGGED / ANY.
 */
export const listImages = operation({
  action: 'ecr:ListImages',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 }) ?? 100;
    const after = decodePairToken(input.optionalString('nextToken'));
    return { accountId, name, maxResults, after, filter: readImageFilter(input), resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, maxResults, after, filter }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const rows = await ctx.registry.images.idPage(repo, { ...(after ? { after } : {}), limit: maxResults + 1, tagStatus: filter.tagStatus, imageStatus: filter.imageStatus });
    const page = rows.slice(0, maxResults);
    const last = page[page.length - 1];
    return {
      imageIds: page.map((r) => ({ imageDigest: r.digest, ...(r.tag !== null ? { imageTag: r.tag } : {}) })),
      ...(rows.length > maxResults && last ? { nextToken: encodeNextToken(`${last.digest} ${last.tag ?? ''}`) } : {}),
    };
  },
});

/** The token's key is `<digest> <tag>` (empty tag for an untagged manifest); neither part contains a space. */
function decodePairToken(token: string | undefined): { digest: string; tag: string } | undefined {
  const key = decodeNextToken(token);
  if (key === undefined) return undefined;
  const space = key.indexOf(' ');
  const digest = key.slice(0, space);
  const tag = key.slice(space + 1);
  const tagOk = (() => {
    try {
      return tag === '' || parseTag(tag) === tag;
    } catch {
      return false;
    }
  })();
  if (space < 0 || !isDigest(digest) || !tagOk) throw invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: the token was not issued by this API");
  return { digest, tag };
}
