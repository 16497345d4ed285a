import { BerthError, isBerthError, parseDigest } from '../../core/index.js';
import { operation } from '../operation.js';
import { constraint, invalid } from '../validate.js';
import { LayerPartTracker } from './layer-parts.js';
import { UPLOAD_ID } from './upload-layer-part.js';

/** The model's pattern of a layer digest. */
export const LAYER_DIGEST = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;

/**
 * CompleteLayerUpload: verify the session's bytes against the one digest in `layerDigests` and
 * link the blob to the repository (ECR API reference, CompleteLayerUpload): a mismatch is
 * InvalidLayerException (the session stays, as in the OCI door), no bytes EmptyUploadException, a
 * non-final part under 5 MiB LayerPartTooSmallException, and a layer the repository already holds
 * LayerAlreadyExistsException, which Docker-era clients treat as success.
 */
export const completeLayerUpload = operation({
  action: 'ecr:CompleteLayerUpload',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const uploadId = input.string('uploadId', { pattern: UPLOAD_ID });
    const digests = input.list('layerDigests', { min: 1, max: 100 }).map((d, i) => {
      if (typeof d !== 'string' || !LAYER_DIGEST.test(d)) throw constraint(`layerDigests.${i + 1}.member`, d, `Member must satisfy regular expression pattern: ${LAYER_DIGEST.source.slice(1, -1)}`);
      return d;
    });
    // The model allows a list, but an upload is one blob: clients send exactly one digest.
    if (digests.length !== 1) throw invalid(`layerDigests must hold exactly one digest, the digest of the whole layer; got ${digests.length}`);
    return { accountId, name, uploadId, digest: parseDigest(digests[0]!), resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, uploadId, digest }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const tracker = LayerPartTracker.of(ctx.registry);
    // Checked first, so a client retrying a completion that succeeded hears "already exists".
    if ((await ctx.registry.linkedBlobSizes(repo, [digest])).has(digest)) {
      await ctx.registry.cancelUpload(repo, uploadId).catch((err: unknown) => {
        if (!isBerthError(err, 'UPLOAD_NOT_FOUND')) throw err;
      });
      tracker.forget(uploadId);
      throw new BerthError('LAYER_EXISTS', `The layer '${digest}' already exists in the repository with name '${name}' in registry with id '${accountId}'`);
    }
    const { size } = await ctx.registry.uploadStatus(repo, uploadId);
    if (size === 0) throw new BerthError('UPLOAD_EMPTY', `The upload with id '${uploadId}' contains no data`);
    tracker.checkComplete(uploadId);
    await ctx.registry.completeUpload(repo, uploadId, digest);
    tracker.forget(uploadId);
    return { registryId: accountId, repositoryName: name, uploadId, layerDigest: digest };
  },
});
