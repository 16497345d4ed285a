import { parseDigest } from '../../core/index.js';
import { operation } from '../operation.js';
import { LAYER_DIGEST } from './complete-layer-upload.js';

/**
 * GetDownloadUrlForLayer: a short-lived URL from which a plain GET, without credentials, reads the
 * blob. ECR answers with a presigned S3 URL; berth answers with a URL on its own blob endpoint,
 * signed by the registry (see registry/download-url.ts for why an HMAC and what it covers). The
 * blob must belong to an image of the repository: one uploaded but referenced by no manifest is
 * LayerInaccessibleException, an unknown one LayersNotFoundException.
 */
export const getDownloadUrlForLayer = operation({
  action: 'ecr:GetDownloadUrlForLayer',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const layerDigest = parseDigest(input.string('layerDigest', { pattern: LAYER_DIGEST }));
    return { accountId, name, layerDigest, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, layerDigest }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const { path } = await ctx.registry.grantBlobDownload(repo, layerDigest);
    return { downloadUrl: `${ctx.publicUrl}${path}`, layerDigest };
  },
});
