import type { Digest } from '../../../core/index.js';
import { parseManifest, type Repository } from '../../../registry/index.js';
import { basicFinding, enhancedFinding, type ScanService, type ScanSummary, type Severity, type StoredFinding } from '../../../scan/index.js';
import { AwsJsonError } from '../../errors.js';
import { epochSeconds, operation, type EcrContext } from '../../operation.js';
import { decodeNextToken, encodeNextToken, invalid } from '../../validate.js';
import { describeImageId } from '../image-inputs.js';
import { scanningService } from './registry-scanning-configuration.js';
import { answerImageId, readImageId, resolveImage } from './scan-inputs.js';

/** One scanned image manifest that the answer covers (an index covers its platform images). */
interface Part {
  digest: Digest;
  platform?: string;
  architecture?: string;
  scan: ScanSummary;
}

/**
 * DescribeImageScanFindings: the scan's status and, once it has results, its findings in report
 * order (gravest first), `maxResults` 1-1000 (default 100) per page with an opaque `nextToken`.
 * BASIC scans answer `findings`, ENHANCED ones `enhancedFindings` (Inspector's shape). Never
 * scanned: ScanNotFoundException. For an index, the findings of its platform images, each with a
 * `platform` attribute.
 */
export const describeImageScanFindings = operation({
  action: 'ecr:DescribeImageScanFindings',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const image = readImageId(input);
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 }) ?? 100;
    const after = decodeNextToken(input.optionalString('nextToken'));
    const from = after === undefined ? 0 : Number(after);
    if (!Number.isSafeInteger(from) || from < 0) throw invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: the token was not issued by this API");
    return { accountId, name, image, maxResults, from, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, image, maxResults, from }, ctx) {
    const service = scanningService(ctx);
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const digest = await resolveImage(ctx, repo, image);
    const parts = await partsOf(ctx, service, repo, digest);
    if (parts.length === 0) {
      throw new AwsJsonError(
        'ScanNotFoundException',
        `Image scan does not exist for the image with '${describeImageId(answerImageId(image, digest))}' in the repository with name '${name}' in the registry with id '${accountId}'`,
      );
    }
    const status = combinedStatus(parts);
    const answer = {
      registryId: accountId,
      repositoryName: name,
      imageId: answerImageId(image, digest),
      imageScanStatus: { status: status.status, description: status.description },
    };
    const withResults = parts.filter((p) => p.scan.completedAt !== null && (p.scan.status === 'COMPLETE' || p.scan.status === 'ACTIVE'));
    if (withResults.length === 0) return answer;
    const counts: Partial<Record<Severity, number>> = {};
    for (const p of withResults) for (const [s, n] of Object.entries(p.scan.counts)) counts[s as Severity] = (counts[s as Severity] ?? 0) + n;
    // The page: walk the parts in order, skipping the findings already returned.
    const page: { finding: StoredFinding; part: Part }[] = [];
    let skip = from;
    let total = 0;
    for (const part of withResults) {
      total += part.scan.findingCount;
      if (page.length >= maxResults) continue;
      if (skip >= part.scan.findingCount) {
        skip -= part.scan.findingCount;
        continue;
      }
      const rows = await service.findingsPage(repo, part.digest, part.scan.scanType, skip, maxResults - page.length);
      skip = 0;
      for (const finding of rows) page.push({ finding: part.platform ? { ...finding, platform: part.platform } : finding, part });
    }
    const next = from + page.length;
    const completedAt = Math.max(...withResults.map((p) => p.scan.completedAt!));
    const sourceTimes = withResults.map((p) => p.scan.sourceUpdatedAt).filter((t): t is number => t !== null);
    const enhanced = withResults[0]!.scan.scanType === 'ENHANCED';
    let facts: { tags: string[]; pushedAt: number } | undefined;
    if (enhanced) {
      const [info] = await ctx.registry.images.describe(repo, [digest]);
      facts = { tags: info?.tags ?? [], pushedAt: info?.pushedAt ?? completedAt };
    }
    return {
      ...answer,
      imageScanFindings: {
        imageScanCompletedAt: epochSeconds(completedAt),
        ...(sourceTimes.length > 0 ? { vulnerabilitySourceUpdatedAt: epochSeconds(Math.max(...sourceTimes)) } : {}),
        findingSeverityCounts: counts,
        ...(enhanced
          ? {
              enhancedFindings: page.map(({ finding, part }) =>
                enhancedFinding(
                  finding,
                  {
                    accountId,
                    region: ctx.region,
                    repository: name,
                    digest: part.digest,
                    tags: facts!.tags,
                    pushedAt: facts!.pushedAt,
                    scannedAt: part.scan.completedAt!,
                    ...(part.architecture ? { architecture: part.architecture } : {}),
                    ...(part.platform ? { platform: part.platform } : {}),
                  },
                  part.scan.completedAt!,
                ),
              ),
            }
          : { findings: page.map(({ finding }) => basicFinding(finding)) }),
      },
      ...(next < total ? { nextToken: encodeNextToken(String(next)) } : {}),
    };
  },
});

/** The scans that answer for `digest`: its own, or for an index, those of its platform images. */
async function partsOf(ctx: EcrContext, service: ScanService, repo: Repository, digest: Digest): Promise<Part[]> {
  const own = await service.scanOf(repo, digest);
  if (own) return [{ digest, scan: own }];
  const manifest = await ctx.registry.getManifest(repo, { kind: 'digest', digest });
  const parsed = parseManifest(manifest.body, manifest.mediaType);
  if (parsed.children.length === 0) return [];
  const targets = new Set(await service.imageTargets(digest, manifest.body, manifest.mediaType));
  const parts: Part[] = [];
  for (const child of parsed.children) {
    if (!targets.has(child.digest)) continue;
    const scan = await service.scanOf(repo, child.digest);
    if (!scan) continue;
    const os = typeof child.platform?.['os'] === 'string' ? child.platform['os'] : undefined;
    const arch = typeof child.platform?.['architecture'] === 'string' ? child.platform['architecture'] : undefined;
    const variant = typeof child.platform?.['variant'] === 'string' ? `/${child.platform['variant']}` : '';
    parts.push({ digest: child.digest, scan, ...(os && arch ? { platform: `${os}/${arch}${variant}` } : {}), ...(arch ? { architecture: arch } : {}) });
  }
  return parts;
}

/** One status for several platform images: in progress while any is, failed only when all failed. */
function combinedStatus(parts: readonly Part[]): { status: string; description: string } {
  if (parts.length === 1) return { status: parts[0]!.scan.status, description: parts[0]!.scan.description };
  const busy = parts.find((p) => p.scan.status === 'IN_PROGRESS');
  if (busy) return { status: busy.scan.status, description: busy.scan.description };
  const done = parts.filter((p) => p.scan.status === 'COMPLETE' || p.scan.status === 'ACTIVE');
  if (done.length === 0) return { status: parts[0]!.scan.status, description: parts[0]!.scan.description };
  const partial = parts.find((p) => p.scan.status === 'FAILED' || /partial/.test(p.scan.description));
  return {
    status: done.some((p) => p.scan.status === 'ACTIVE') ? 'ACTIVE' : 'COMPLETE',
    description: partial ? `The scan was completed, but the results are partial: ${partial.platform ?? partial.digest}: ${partial.scan.description}` : done[0]!.scan.description,
  };
}
