import { UnsupportedImageError } from '../../../scan/index.js';
import { AwsJsonError } from '../../errors.js';
import { operation } from '../../operation.js';
import { scanningService } from './registry-scanning-configuration.js';
import { answerImageId, readImageId, resolveImage } from './scan-inputs.js';

/**
 * StartImageScan: a manual basic scan of one image (for an index, of its platform images). ECR's
 * limit of one basic scan per image per 24 hours counts the scan on push (LimitExceededException);
 * under ENHANCED scanning manual scans are not supported (ValidationException); an archived image
 * is ImageArchivedException; an artifact that is not a container image is
 * UnsupportedImageTypeException.
 */
export const startImageScan = operation({
  action: 'ecr:StartImageScan',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const image = readImageId(input);
    return { accountId, name, image, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, image }, ctx) {
    const service = scanningService(ctx);
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const digest = await resolveImage(ctx, repo, image);
    const manifest = await ctx.registry.getManifest(repo, { kind: 'digest', digest });
    if (manifest.imageStatus === 'ARCHIVED' || manifest.imageStatus === 'ACTIVATING') {
      throw new AwsJsonError('ImageArchivedException', `The image with digest '${digest}' is archived and cannot be scanned; restore it first`);
    }
    try {
      const status = await service.startImageScan(repo, digest);
      return { registryId: accountId, repositoryName: name, imageId: answerImageId(image, digest), imageScanStatus: status };
    } catch (err) {
      if (err instanceof UnsupportedImageError) throw new AwsJsonError('UnsupportedImageTypeException', err.message);
      throw err;
    }
  },
});
