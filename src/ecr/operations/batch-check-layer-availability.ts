import { isDigest, type Digest } from '../../core/index.js';
import { operation } from '../operation.js';
import { constraint } from '../validate.js';

/**
 * BatchCheckLayerAvailability: which of up to 100 blobs the repository holds (push
 * de-duplication). Well-formed digests are answered AVAILABLE (with `layerSize`), ARCHIVED (only
 * archived images use it: it is not served until one is restored) or UNAVAILABLE; an
 * empty one is a failure MissingLayerDigest and a malformed one InvalidLayerDigest
 * (ECR API reference, BatchCheckLayerAvailability).
 */
export const batchCheckLayerAvailability = operation({
  action: 'ecr:BatchCheckLayerAvailability',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const digests = input.list('layerDigests', { min: 1, max: 100 }).map((d, i) => {
      if (typeof d !== 'string' || d.length > 1000) throw constraint(`layerDigests.${i + 1}.member`, d, 'Member must be a string of at most 1000 characters');
      return d;
    });
    return { accountId, name, digests, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, digests }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const valid = digests.filter((d): d is Digest => isDigest(d));
    const [sizes, archived] = await Promise.all([ctx.registry.linkedBlobSizes(repo, valid), ctx.registry.archivedBlobs(repo, valid)]);
    const layers: unknown[] = [];
    const failures: unknown[] = [];
    for (const d of digests) {
      if (d === '') failures.push({ layerDigest: d, failureCode: 'MissingLayerDigest', failureReason: 'The layer digest is missing' });
      else if (!isDigest(d)) failures.push({ layerDigest: d, failureCode: 'InvalidLayerDigest', failureReason: 'The layer digest is not a sha256 or sha512 digest' });
      else {
        const size = sizes.get(d);
        const availability = size === undefined ? 'UNAVAILABLE' : archived.has(d) ? 'ARCHIVED' : 'AVAILABLE';
        layers.push(size === undefined ? { layerDigest: d, layerAvailability: availability } : { layerDigest: d, layerAvailability: availability, layerSize: size });
      }
    }
    return { layers, failures };
  },
});
