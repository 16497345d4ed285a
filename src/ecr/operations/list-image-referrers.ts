import { isDigest, parseDigest } from '../../core/index.js';
import { operation } from '../operation.js';
import { constraint, decodeNextToken, encodeNextToken, invalid } from '../validate.js';

/**
 * ListImageReferrers: the OCI 1.1 referrers (signatures, SBOMs, attestations) whose `subject` is
 * `subjectId.imageDigest`, in digest order; `filter.artifactTypes` (0-5, any of them),
 * `filter.artifactStatus` (default ACTIVE), `maxResults` 1-50. No IAM action of its own: it needs
 * ecr:BatchGetImage (ECR API reference, ListImageReferrers). The subject itself need not be stored,
 * as with the OCI referrers API.
 */
export const listImageReferrers = operation({
  action: 'ecr:BatchGetImage',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const subject = parseDigest(input.object('subjectId').string('imageDigest'));
    const filter = input.optionalObject('filter');
    const artifactTypes = filter?.optionalList('artifactTypes', { max: 5 })?.map((t, i) => {
      if (typeof t !== 'string' || t.length < 1 || t.length > 255) throw constraint(`filter.artifactTypes.${i + 1}.member`, t, 'Member must have length between 1 and 255');
      return t;
    });
    const status = filter?.optionalEnum('artifactStatus', ['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'] as const) ?? 'ACTIVE';
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 50 }) ?? 50;
    const after = decodeNextToken(input.optionalString('nextToken'));
    if (after !== undefined && !isDigest(after)) throw invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: the token was not issued by this API");
    return { accountId, name, subject, artifactTypes, status, maxResults, after, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, subject, artifactTypes, status, maxResults, after }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    // Referrers are archived and restored with their subject (src/lifecycle/): their status is their own row's.
    const rows = await ctx.registry.images.referrerPage(repo, subject, {
      ...(after !== undefined ? { after } : {}),
      ...(artifactTypes !== undefined ? { artifactTypes } : {}),
      imageStatus: status,
      limit: maxResults + 1,
    });
    const page = rows.slice(0, maxResults);
    return {
      referrers: page.map((row) => ({
        digest: row.digest,
        mediaType: row.mediaType,
        ...(row.artifactType !== null ? { artifactType: row.artifactType } : {}),
        size: row.size,
        ...(row.annotations !== null ? { annotations: row.annotations } : {}),
        artifactStatus: row.imageStatus ?? 'ACTIVE',
      })),
      ...(rows.length > maxResults ? { nextToken: encodeNextToken(page[page.length - 1]!.digest) } : {}),
    };
  },
});
