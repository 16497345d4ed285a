import { BerthError, isDigest, parseTag, type Digest } from '../../../core/index.js';
import type { ImageId } from '../../../registry/index.js';
import { operation } from '../../operation.js';
import { constraint, invalid } from '../../validate.js';
import { storageClassUpdateNotSupported } from './errors.js';

/**
 * UpdateImageStorageClass: ARCHIVE archives the image at once (ARCHIVED: listed only when
 * `imageStatus` asks, not pullable); STANDARD starts a restore (ACTIVATING, then ACTIVE once the
 * restore job ran). An index takes its children along and a subject its referrers; those cannot
 * change class on their own (ImageStorageClassUpdateNotSupportedException), nor can an image
 * already in the target class.
 */
export const updateImageStorageClass = operation({
  action: 'ecr:UpdateImageStorageClass',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const imageId = input.object('imageId');
    const digest = imageId.optionalString('imageDigest');
    const tagValue = imageId.optionalString('imageTag', { min: 1, max: 300 });
    if (digest === undefined && tagValue === undefined) throw invalid('Invalid request parameters: both tag and digest cannot be null');
    if (digest !== undefined && !isDigest(digest)) throw constraint('imageId.imageDigest', digest, 'Member must be a sha256 or sha512 digest');
    let id: ImageId;
    if (tagValue !== undefined) {
      let tag;
      try {
        tag = parseTag(tagValue);
      } catch {
        throw invalid(`Invalid request parameters: image tag '${tagValue.slice(0, 100)}' is not a valid tag`);
      }
      id = { kind: 'tag', tag, ...(digest !== undefined ? { digest: digest as Digest } : {}) };
    } else {
      id = { kind: 'digest', digest: digest as Digest };
    }
    const targetStorageClass = input.enumValue('targetStorageClass', ['STANDARD', 'ARCHIVE'] as const);
    return { accountId, name, id, raw: { digest, tag: tagValue }, targetStorageClass, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, id, raw, targetStorageClass }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const [lookup] = await ctx.registry.images.resolve(repo, [id]);
    const shown = `{imageDigest:'${raw.digest ?? 'null'}', imageTag:'${raw.tag ?? 'null'}'}`;
    if (!lookup || !lookup.ok) {
      throw new BerthError(
        'MANIFEST_NOT_FOUND',
        `The image with imageId ${shown} does not exist within the repository with name '${name}' in the registry with id '${accountId}'`,
      );
    }
    const result = await ctx.services.lifecycle.updateStorageClass(repo, lookup.digest, targetStorageClass, ctx.requestId);
    if (!result.ok) {
      if (result.reason === 'not-found') throw new BerthError('MANIFEST_NOT_FOUND', result.message);
      throw storageClassUpdateNotSupported(result.message);
    }
    return {
      registryId: accountId,
      repositoryName: name,
      imageId: { imageDigest: lookup.digest, ...(raw.tag !== undefined ? { imageTag: raw.tag } : {}) },
      imageStatus: result.status,
    };
  },
});
