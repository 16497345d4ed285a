import { BerthError, isDigest, type Digest } from '../../core/index.js';
import type { ImageInfo, Repository } from '../../registry/index.js';
import { epochSeconds, operation, type EcrContext } from '../operation.js';
import { decodeNextToken, encodeNextToken, invalid } from '../validate.js';
import { describeImageId, readImageFilter, readImageIds } from './image-inputs.js';

/**
 * DescribeImages: one ImageDetail per manifest (digest), with all its tags. Either an explicit
 * `imageIds` list, which fails as a whole with ImageNotFoundException when one id does not resolve
 * (unlike BatchGetImage's per-item failures), or pages of the repository in digest order
 * (`maxResults` 1-1000, default 100; keyset `nextToken`), filtered by `filter.tagStatus`. The two
 * are exclusive (ECR API reference, DescribeImages).
 */
export const describeImages = operation({
  action: 'ecr:DescribeImages',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const ids = input.has('imageIds') ? readImageIds(input) : undefined;
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 });
    const nextToken = input.optionalString('nextToken');
    if (ids && (maxResults !== undefined || nextToken !== undefined)) {
      throw invalid('Invalid parameter: imageIds cannot be combined with maxResults or nextToken');
    }
    const after = decodeNextToken(nextToken);
    if (after !== undefined && !isDigest(after)) throw invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: the token was not issued by this API");
    return { accountId, name, ids, maxResults: maxResults ?? 100, after, filter: readImageFilter(input), resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, ids, maxResults, after, filter }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const detail = (info: ImageInfo) => toImageDetail(accountId, name, info);
    if (ids) {
      // Wholesale: the first malformed id is a bad request, the first unknown one fails the call.
      const valid = ids.map((r) => {
        if ('failure' in r) throw invalid(`Invalid parameter at 'imageIds': ${r.failure.failureReason}`);
        return r;
      });
      const lookups = await ctx.registry.images.resolve(
        repo,
        valid.map((r) => r.id),
      );
      const digests: Digest[] = [];
      lookups.forEach((lookup, i) => {
        if (!lookup.ok) {
          throw new BerthError(
            'MANIFEST_NOT_FOUND',
            `The image with imageId ${describeImageId(valid[i]!.raw)} does not exist within the repository with name '${name}' in the registry with id '${accountId}'`,
          );
        }
        if (!digests.includes(lookup.digest)) digests.push(lookup.digest);
      });
      // In the order asked, one detail per digest however many ids named it.
      const byDigest = new Map((await ctx.registry.images.describe(repo, digests)).map((info) => [info.digest, info]));
      return {
        imageDetails: await withScanSummaries(
          ctx,
          repo,
          digests.flatMap((d) => {
            const info = byDigest.get(d);
            return info ? [detail(info)] : [];
          }),
        ),
      };
    }
    const rows = await ctx.registry.images.describePage(repo, {
      ...(after !== undefined ? { after } : {}),
      limit: maxResults + 1,
      tagStatus: filter.tagStatus,
      imageStatus: filter.imageStatus,
    });
    const page = rows.slice(0, maxResults);
    return {
      imageDetails: await withScanSummaries(ctx, repo, page.map(detail)),
      ...(rows.length > maxResults ? { nextToken: encodeNextToken(page[page.length - 1]!.digest) } : {}),
    };
  },
});

/**
 * The scan status and findings summary of each scanned image (src/scan/). ECR's AWS_NATIVE engine
 * leaves them out; berth fills them, which clients that read them (the console, older SDK
 * examples) expect. An image never scanned has neither.
 */
async function withScanSummaries<T extends { imageDigest: string }>(ctx: EcrContext, repo: Repository, details: T[]): Promise<T[]> {
  const scans = await ctx.services.scanning?.summaries(
    repo,
    details.map((d) => d.imageDigest),
  );
  if (!scans || scans.size === 0) return details;
  return details.map((d) => {
    const scan = scans.get(d.imageDigest);
    if (!scan) return d;
    return {
      ...d,
      imageScanStatus: { status: scan.status, description: scan.description },
      ...(scan.completedAt !== null && (scan.status === 'COMPLETE' || scan.status === 'ACTIVE')
        ? {
            imageScanFindingsSummary: {
              imageScanCompletedAt: epochSeconds(scan.completedAt),
              ...(scan.sourceUpdatedAt !== null ? { vulnerabilitySourceUpdatedAt: epochSeconds(scan.sourceUpdatedAt) } : {}),
              findingSeverityCounts: scan.counts,
            },
          }
        : {}),
    };
  });
}

/** ECR's ImageDetail, with the archive state (imageStatus, lastArchivedAt, lastActivatedAt; src/lifecycle/). */
function toImageDetail(registryId: string, repositoryName: string, info: ImageInfo) {
  return {
    registryId,
    repositoryName,
    imageDigest: info.digest,
    ...(info.tags.length > 0 ? { imageTags: info.tags } : {}),
    // Config and layers; for an index, its largest child (as the ECR model documents).
    imageSizeInBytes: info.imageSize,
    imagePushedAt: epochSeconds(info.pushedAt),
    imageManifestMediaType: info.mediaType,
    ...(info.configMediaType !== null ? { artifactMediaType: info.configMediaType } : {}),
    ...(info.lastPulledAt !== null ? { lastRecordedPullTime: epochSeconds(info.lastPulledAt) } : {}),
    ...(info.subject !== null ? { subjectManifestDigest: info.subject } : {}),
    imageStatus: info.imageStatus ?? 'ACTIVE',
    ...(info.lastArchivedAt ? { lastArchivedAt: epochSeconds(info.lastArchivedAt) } : {}),
    ...(info.lastActivatedAt ? { lastActivatedAt: epochSeconds(info.lastActivatedAt) } : {}),
  };
}
