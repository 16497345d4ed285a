import { parseRepositoryName, type AccountId } from '../../core/index.js';
import { operation } from '../operation.js';
import { invalid } from '../validate.js';
import { MAX_RESOURCE_TAGS, parseRepositoryArn, readResourceTags, toEcrTags } from './repository-settings.js';

/** Resolve `resourceArn` to an existing repository (REPOSITORY_NOT_FOUND otherwise). */
function prepareArn(arn: string, region: string) {
  const { accountId, name } = parseRepositoryArn(arn, region);
  const repositoryName = parseRepositoryName(name);
  return { arn, accountId: accountId as AccountId, repositoryName, resource: { accountId, repositoryName } };
}

/** TagResource: merge; existing keys not named stay; at most 50 after the merge. */
export const tagResource = operation({
  action: 'ecr:TagResource',
  prepare(input, ctx) {
    const tags = readResourceTags(input);
    if (!input.has('tags')) throw invalid("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
    return { ...prepareArn(input.string('resourceArn'), ctx.region), tags };
  },
  async run({ arn, accountId, repositoryName, tags }, ctx) {
    await ctx.registry.repository(accountId, repositoryName, { origin: ctx.origin });
    await ctx.registry.tagResource(arn, tags, MAX_RESOURCE_TAGS);
    return {};
  },
});

/** UntagResource: removing a key that is not there is not an error. */
export const untagResource = operation({
  action: 'ecr:UntagResource',
  prepare(input, ctx) {
    const keys = input.list('tagKeys', { max: 50 }).map((k, i) => {
      if (typeof k !== 'string' || k.length < 1 || k.length > 128) throw invalid(`tagKeys.${i + 1}.member must be 1 to 128 characters`);
      return k;
    });
    return { ...prepareArn(input.string('resourceArn'), ctx.region), keys };
  },
  async run({ arn, accountId, repositoryName, keys }, ctx) {
    await ctx.registry.repository(accountId, repositoryName, { origin: ctx.origin });
    await ctx.registry.untagResource(arn, keys);
    return {};
  },
});

export const listTagsForResource = operation({
  action: 'ecr:ListTagsForResource',
  prepare(input, ctx) {
    return prepareArn(input.string('resourceArn'), ctx.region);
  },
  async run({ arn, accountId, repositoryName }, ctx) {
    await ctx.registry.repository(accountId, repositoryName, { origin: ctx.origin });
    return { tags: toEcrTags(await ctx.registry.resourceTags(arn)) };
  },
});
