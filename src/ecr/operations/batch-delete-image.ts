import { operation } from '../operation.js';
import { readImageIds, type EcrImageFailure, type EcrImageId } from './image-inputs.js';

/**
 * BatchDeleteImage, per id with per-item `failures` (ECR API reference, BatchDeleteImage):
 * - by digest: the manifest and all its tags go;
 * - by tag (optionally with its digest, which must match): the tag goes, and when it was the
 *   image's last tag, the image goes too;
 * - a manifest that an index in the repository lists is never deleted (failure
 *   ImageReferencedByManifestList); deleting its last tag fails the same way and keeps the tag.
 * `imageIds` in the answer are the ids that succeeded, with the digest filled in.
 */
export const batchDeleteImage = operation({
  action: 'ecr:BatchDeleteImage',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    return { accountId, name, ids: readImageIds(input), resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, ids }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const deleted: EcrImageId[] = [];
    const failures: EcrImageFailure[] = [];
    // In order, one at a time: a later id sees what an earlier one removed.
    for (const r of ids) {
      if ('failure' in r) {
        failures.push(r.failure);
        continue;
      }
      const result = await ctx.registry.deleteImage(repo, r.id);
      if (result.ok) {
        deleted.push({ imageDigest: result.digest, ...(r.raw.imageTag !== undefined ? { imageTag: r.raw.imageTag } : {}) });
      } else if (result.reason === 'referenced') {
        failures.push({ imageId: r.raw, failureCode: 'ImageReferencedByManifestList', failureReason: `Requested image referenced by manifest list: [${result.index}]` });
      } else if (result.reason === 'tag-digest-mismatch') {
        failures.push({ imageId: r.raw, failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'Invalid request parameters: the image tag does not point at the image digest given' });
      } else {
        failures.push({ imageId: r.raw, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
      }
    }
    return { imageIds: deleted, failures };
  },
});
