import { operation, prepareRepository } from '../operation.js';
import { LAYER_PART_RULES } from './layer-parts.js';

/**
 * InitiateLayerUpload: open an upload session. It is the registry's ordinary session, the one the
 * OCI door opens on `POST /v2/<name>/blobs/uploads/`, so either door can continue or inspect it.
 * `partSize` is advisory (ECR API reference).
 */
export const initiateLayerUpload = operation({
  action: 'ecr:InitiateLayerUpload',
  prepare: prepareRepository,
  async run({ accountId, name }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { forPush: true, origin: ctx.origin });
    const uploadId = await ctx.registry.startUpload(repo);
    return { uploadId, partSize: LAYER_PART_RULES.suggestedPartBytes };
  },
});
