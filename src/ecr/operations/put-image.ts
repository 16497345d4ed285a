import { parseDigest, parseTag } from '../../core/index.js';
import { operation } from '../operation.js';

/** ECR's limit on `imageManifest`, in characters (the model's constraint on the member). */
const MAX_MANIFEST_CHARS = 4_194_304;

/**
 * PutImage: store a manifest (image, index or OCI artifact) and optionally tag it. The manifest
 * goes through the same `Registry.putManifest` as an OCI push (validation, blob links, tag
 * immutability), plus what ECR adds (ECR API reference, PutImage):
 * - the digest is over the exact bytes received; a different `imageDigest` is
 *   ImageDigestDoesNotMatchException;
 * - a manifest without its own `mediaType` needs `imageManifestMediaType`;
 * - a push that changes nothing (same manifest, tag already on it) is ImageAlreadyExistsException;
 * - missing layers are LayersNotFoundException, missing children of an index
 *   ReferencedImagesNotFoundException, moving an immutable tag ImageTagAlreadyExistsException.
 * Re-tagging a stored manifest leaves its imagePushedAt as it was.
 */
export const putImage = operation({
  action: 'ecr:PutImage',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const manifest = input.string('imageManifest', { min: 1, max: MAX_MANIFEST_CHARS });
    const mediaType = input.optionalString('imageManifestMediaType', { min: 1, max: 255 });
    const rawTag = input.optionalString('imageTag', { min: 1, max: 300 });
    const rawDigest = input.optionalString('imageDigest');
    return {
      accountId,
      name,
      manifest,
      mediaType,
      // The registry follows the OCI tag grammar (at most 128 characters), as ECR's registry side does.
      tag: rawTag === undefined ? undefined : parseTag(rawTag),
      digest: rawDigest === undefined ? undefined : parseDigest(rawDigest),
      resource: { accountId, repositoryName: name },
    };
  },
  async run({ accountId, name, manifest, mediaType, tag, digest }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { forPush: true, origin: ctx.origin });
    const result = await ctx.registry.putManifest(repo, tag === undefined ? undefined : { kind: 'tag', tag }, Buffer.from(manifest, 'utf8'), mediaType, {
      ...(digest !== undefined ? { expectedDigest: digest } : {}),
      refuseUnchanged: true,
      requireMediaType: true,
    });
    return {
      image: {
        registryId: accountId,
        repositoryName: name,
        imageId: { imageDigest: result.digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
        imageManifest: manifest,
        imageManifestMediaType: result.mediaType,
      },
    };
  },
});
