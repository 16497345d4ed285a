import { isDigest } from '../../../core/index.js';
import type { PreviewResultRow } from '../../../lifecycle/index.js';
import { epochSeconds, operation } from '../../operation.js';
import { decodeNextToken, encodeNextToken, invalid } from '../../validate.js';
import { readImageIds } from '../image-inputs.js';
import { previewNotFound } from './errors.js';

/**
 * GetLifecyclePolicyPreview: the status of the repository's last preview and, once COMPLETE, the
 * images it would act on, in digest order: pages of `maxResults` (1-100, default 100) with a
 * keyset `nextToken`, or the results of the `imageIds` given (not with paging), narrowed by
 * `filter.tagStatus`. `summary` counts the whole preview whatever the page or filter.
 *
 * Beyond ECR, fields the SDKs ignore: `berth.bytesFreed` (bytes of the blobs only the expiring
 * images reference), `berth.comparison` (for an inline policy previewed while another is stored:
 * the images the two treat differently) and each result's `berthReason`.
 */
export const getLifecyclePolicyPreview = operation({
  action: 'ecr:GetLifecyclePolicyPreview',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const ids = input.has('imageIds') ? readImageIds(input) : undefined;
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 100 });
    const nextToken = input.optionalString('nextToken');
    if (ids && (maxResults !== undefined || nextToken !== undefined)) {
      throw invalid('Invalid parameter: imageIds cannot be combined with maxResults or nextToken');
    }
    const after = decodeNextToken(nextToken);
    if (after !== undefined && !isDigest(after)) throw invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: the token was not issued by this API");
    const tagStatus = input.optionalObject('filter')?.optionalEnum('tagStatus', ['TAGGED', 'UNTAGGED', 'ANY'] as const) ?? 'ANY';
    return { accountId, name, ids, maxResults: maxResults ?? 100, after, tagStatus, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, ids, maxResults, after, tagStatus }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const lifecycle = ctx.services.lifecycle;
    const preview = await lifecycle.getPreview(repo);
    if (!preview) throw previewNotFound(accountId, name);
    const head = { registryId: accountId, repositoryName: name, lifecyclePolicyText: preview.policyText, status: preview.status };
    if (preview.status !== 'COMPLETE' || !preview.summary) {
      return { ...head, previewResults: [], ...(preview.error ? { berth: { error: preview.error } } : {}) };
    }
    const tagged = tagStatus === 'ANY' ? undefined : tagStatus === 'TAGGED';
    let rows: PreviewResultRow[];
    let nextToken: string | undefined;
    if (ids) {
      const digests = new Set<string>();
      const byTag: string[] = [];
      for (const r of ids) {
        if ('failure' in r) throw invalid(`Invalid parameter at 'imageIds': ${r.failure.failureReason}`);
        if (r.id.kind === 'digest') digests.add(r.id.digest);
        else byTag.push(r.id.tag);
      }
      for (const d of (await lifecycle.previewDigestsWithTags(repo, byTag)).values()) digests.add(d);
      rows = await lifecycle.previewResults(repo, { limit: 100, digests: [...digests], ...(tagged !== undefined ? { tagged } : {}) });
    } else {
      const page = await lifecycle.previewResults(repo, { limit: maxResults + 1, ...(after !== undefined ? { after } : {}), ...(tagged !== undefined ? { tagged } : {}) });
      rows = page.slice(0, maxResults);
      if (page.length > maxResults) nextToken = encodeNextToken(rows[rows.length - 1]!.digest);
    }
    const s = preview.summary;
    return {
      ...head,
      previewResults: rows.map((r) => ({
        imageDigest: r.digest,
        ...(r.tags.length > 0 ? { imageTags: r.tags } : {}),
        imagePushedAt: epochSeconds(r.pushedAt),
        action: r.action === 'expire' ? { type: 'EXPIRE' } : { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' },
        appliedRulePriority: r.rulePriority,
        storageClass: r.storageClass,
        berthReason: r.reason,
      })),
      ...(nextToken !== undefined ? { nextToken } : {}),
      summary: {
        expiringImageTotalCount: s.expiringImageTotalCount,
        ...(s.transitioningImageTotalCount > 0
          ? { transitioningImageTotalCounts: [{ targetStorageClass: 'ARCHIVE', imageTotalCount: s.transitioningImageTotalCount }] }
          : {}),
      },
      berth: { bytesFreed: s.bytesFreed, ...(s.comparison ? { comparison: s.comparison } : {}) },
    };
  },
});
