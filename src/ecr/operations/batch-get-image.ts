import type { Digest } from '../../core/index.js';
import { operation } from '../operation.js';
import { invalid } from '../validate.js';
import { lookupFailure, readImageIds, type EcrImageFailure } from './image-inputs.js';

/**
 * BatchGetImage: the manifests of up to 100 image ids, each exactly as stored (the text whose
 * sha256 is the digest), with per-id `failures` rather than an error for the whole call. This is
 * ECR's pull: every manifest returned counts for `lastRecordedPullTime`, unless the caller is on
 * the registry's pull-time update exclusion list.
 *
 * `acceptedMediaTypes` lists what the caller can read. ECR converts Docker schema 2 to schema 1 or
 * OCI on request; berth never converts (the body would no longer match its digest), so a manifest
 * of a type not listed is a failure `UnsupportedImageType`.
 */
export const batchGetImage = operation({
  action: 'ecr:BatchGetImage',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const ids = readImageIds(input);
    const accepted = input.optionalList('acceptedMediaTypes', { min: 1, max: 100 })?.map((t, i) => {
      if (typeof t !== 'string' || t.length === 0) throw invalid(`acceptedMediaTypes.${i + 1}.member must be a media type`);
      return mediaTypeOnly(t);
    });
    return { accountId, name, ids, accepted: accepted && new Set(accepted), resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, ids, accepted }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const failures: EcrImageFailure[] = [];
    const valid = ids.flatMap((r) => {
      if ('failure' in r) {
        failures.push(r.failure);
        return [];
      }
      return [r];
    });
    const lookups = await ctx.registry.images.resolve(
      repo,
      valid.map((r) => r.id),
    );
    const manifests = await ctx.registry.images.manifests(
      repo,
      lookups.flatMap((l) => (l.ok ? [l.digest] : [])),
    );
    const images: unknown[] = [];
    const pulled = new Set<Digest>();
    valid.forEach((r, i) => {
      const lookup = lookups[i]!;
      if (!lookup.ok) return void failures.push(lookupFailure(r.raw, lookup));
      const row = manifests.get(lookup.digest);
      // Deleted between the two reads: as if it had never been there.
      if (!row) return void failures.push(lookupFailure(r.raw, { ok: false, reason: 'not-found' }));
      // Archived (or being restored) images are listed but not served (src/lifecycle/): restore first.
      if (row.imageStatus !== undefined && row.imageStatus !== 'ACTIVE') {
        return void failures.push({
          imageId: r.raw,
          failureCode: 'ImageInaccessible',
          failureReason: `The image is ${row.imageStatus}; restore it with UpdateImageStorageClass (targetStorageClass STANDARD) before pulling it`,
        });
      }
      if (accepted && !accepted.has(row.mediaType)) {
        return void failures.push({
          imageId: r.raw,
          failureCode: 'UnsupportedImageType',
          failureReason: `The image is ${row.mediaType}, which is not among the acceptedMediaTypes; berth does not convert manifests`,
        });
      }
      images.push({
        registryId: accountId,
        repositoryName: name,
        imageId: { imageDigest: row.digest, ...(r.raw.imageTag !== undefined ? { imageTag: r.raw.imageTag } : {}) },
        imageManifest: row.body.toString('utf8'),
        imageManifestMediaType: row.mediaType,
      });
      pulled.add(lookup.digest);
    });
    for (const digest of pulled) ctx.registry.recordPull(repo, digest, ctx.principal.arn);
    return { images, failures };
  },
});

/** `type/subtype` without parameters, lowercased, as media types compare. */
function mediaTypeOnly(value: string): string {
  return value.split(';')[0]!.trim().toLowerCase();
}
