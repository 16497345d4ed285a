import { BerthError, isDigest, parseTag, type Digest } from '../../../core/index.js';
import type { ImageId, Repository } from '../../../registry/index.js';
import type { EcrContext } from '../../operation.js';
import { constraint, invalid, type Input } from '../../validate.js';
import { describeImageId, type EcrImageId } from '../image-inputs.js';

/** Read the required `imageId` structure (ImageIdentifier) of StartImageScan and DescribeImageScanFindings. */
export function readImageId(input: Input): { raw: EcrImageId; id: ImageId } {
  const obj = input.object('imageId');
  const imageDigest = obj.optionalString('imageDigest');
  const imageTag = obj.optionalString('imageTag', { min: 1, max: 300 });
  const raw: EcrImageId = { ...(imageDigest !== undefined ? { imageDigest } : {}), ...(imageTag !== undefined ? { imageTag } : {}) };
  if (imageDigest !== undefined && !isDigest(imageDigest)) {
    throw constraint('imageId.imageDigest', imageDigest, 'Member must be a sha256 or sha512 digest');
  }
  if (imageTag === undefined) {
    if (imageDigest === undefined) throw invalid('Invalid parameter at \'imageId\': both tag and digest cannot be null');
    return { raw, id: { kind: 'digest', digest: imageDigest as Digest } };
  }
  let tag;
  try {
    tag = parseTag(imageTag);
  } catch {
    throw constraint('imageId.imageTag', imageTag, 'Member must be a valid image tag');
  }
  return { raw, id: { kind: 'tag', tag, ...(imageDigest !== undefined ? { digest: imageDigest as Digest } : {}) } };
}

/** The digest an image id names in `repo`; ImageNotFoundException when it names nothing. */
export async function resolveImage(ctx: EcrContext, repo: Repository, image: { raw: EcrImageId; id: ImageId }): Promise<Digest> {
  const [lookup] = await ctx.registry.images.resolve(repo, [image.id]);
  if (!lookup?.ok) {
    throw new BerthError(
      'MANIFEST_NOT_FOUND',
      `The image with imageId ${describeImageId(image.raw)} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.accountId}'`,
    );
  }
  return lookup.digest;
}

/** ECR's ImageIdentifier in answers: the digest, and the tag when the caller named one. */
export function answerImageId(image: { raw: EcrImageId }, digest: Digest): EcrImageId {
  return { imageDigest: digest, ...(image.raw.imageTag !== undefined ? { imageTag: image.raw.imageTag } : {}) };
}
