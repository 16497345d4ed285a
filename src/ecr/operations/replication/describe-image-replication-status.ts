import { BerthError, isDigest, parseTag, type Tag } from '../../../core/index.js';
import type { ImageId } from '../../../registry/index.js';
import { operation } from '../../operation.js';
import { invalid } from '../../validate.js';

/**
 * DescribeImageReplicationStatus: the image's status at each destination it was sent to
 * (IN_PROGRESS, COMPLETE, FAILED with a `failureCode`); an empty list for an image no rule sent
 * anywhere. The image is named by digest or tag; an unknown one is ImageNotFoundException.
 */
export const describeImageReplicationStatus = operation({
  action: 'ecr:DescribeImageReplicationStatus',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const raw = input.object('imageId');
    const digest = raw.optionalString('imageDigest');
    const tag = raw.optionalString('imageTag', { min: 1, max: 300 });
    let id: ImageId;
    if (digest !== undefined) {
      if (!isDigest(digest)) throw invalid(`Invalid parameter at 'imageId.imageDigest' failed to satisfy constraint: '${digest.slice(0, 100)}' is not a digest`);
      id = tag !== undefined ? { kind: 'tag', tag: readTag(tag), digest } : { kind: 'digest', digest };
    } else if (tag !== undefined) {
      id = { kind: 'tag', tag: readTag(tag) };
    } else {
      throw invalid("Invalid parameter at 'imageId' failed to satisfy constraint: 'an image id needs imageDigest or imageTag'");
    }
    return { accountId, name, id, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, id }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const [found] = await ctx.registry.images.resolve(repo, [id]);
    if (!found || !found.ok) {
      const shown = id.kind === 'tag' ? `imageTag=${id.tag}` : `imageDigest=${id.digest}`;
      throw new BerthError('MANIFEST_NOT_FOUND', `The image with imageId {${shown}} does not exist within the repository with name '${name}' in the registry with id '${accountId}'`);
    }
    const statuses = await ctx.services.replication.statuses(accountId, name, found.digest);
    return {
      repositoryName: name,
      imageId: { imageDigest: found.digest, ...(id.kind === 'tag' ? { imageTag: id.tag } : {}) },
      replicationStatuses: statuses.map((s) => ({
        region: s.region,
        registryId: s.registryId,
        status: s.status,
        ...(s.failureCode ? { failureCode: s.failureCode } : {}),
      })),
    };
  },
});

function readTag(tag: string): Tag {
  try {
    return parseTag(tag);
  } catch {
    throw invalid(`Invalid parameter at 'imageId.imageTag' failed to satisfy constraint: '${tag.slice(0, 100)}' is not a valid tag`);
  }
}
