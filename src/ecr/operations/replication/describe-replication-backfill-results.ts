import { TERMINAL_BACKFILL, type BackfillCursor } from '../../../replication/index.js';
import { epochSeconds, operation } from '../../operation.js';
import { decodeNextToken, encodeNextToken } from '../../validate.js';
import { backfillException, progressOf, readBackfillId, tokenKey } from './shapes.js';

/**
 * DescribeReplicationBackfillResults: status, progress counters (image x tag combinations) and,
 * once the backfill has ended, one result per combination (`resultStatusFilter` COMPLETE or
 * FAILED; `maxResults` 1-1000, default 100; keyset `nextToken`).
 */
export const describeReplicationBackfillResults = operation({
  action: 'ecr:DescribeReplicationBackfillResults',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const id = readBackfillId(input);
    const status = input.optionalEnum('resultStatusFilter', ['COMPLETE', 'FAILED'] as const);
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 1000 }) ?? 100;
    const after = tokenKey(decodeNextToken(input.optionalString('nextToken')), (v): v is BackfillCursor =>
      typeof v === 'object' && v !== null && ['repository', 'digest', 'tag'].every((k) => typeof (v as Record<string, unknown>)[k] === 'string'),
    );
    return { accountId, id, status, maxResults, after, resource: { accountId } };
  },
  async run({ accountId, id, status, maxResults, after }, ctx) {
    let row;
    try {
      row = await ctx.services.replication.backfill(accountId, id);
    } catch (err) {
      throw backfillException(err);
    }
    const ended = TERMINAL_BACKFILL.has(row.status);
    const rows = ended
      ? await ctx.services.replication.backfillResults(id, { ...(after ? { after } : {}), limit: maxResults + 1, ...(status ? { status } : {}) })
      : [];
    const page = rows.slice(0, maxResults);
    const last = page[page.length - 1];
    const progress = progressOf(row);
    return {
      registryId: accountId,
      replicationBackfillId: row.id,
      destination: row.destination,
      status: row.status,
      ...(row.failureCode ? { failureCode: row.failureCode } : {}),
      ...(progress ? { progress } : {}),
      results: page.map((r) => ({
        repositoryName: r.repository,
        imageId: { imageDigest: r.digest, ...(r.tag !== null ? { imageTag: r.tag } : {}) },
        status: r.status,
        ...(r.failureCode ? { failureCode: r.failureCode } : {}),
        ...(r.subImageFailureCodes ? { subImageFailureCodes: r.subImageFailureCodes } : {}),
      })),
      startedAt: epochSeconds(row.startedAt),
      ...(row.endedAt !== null ? { endedAt: epochSeconds(row.endedAt) } : {}),
      ...(rows.length > maxResults && last ? { nextToken: encodeNextToken(JSON.stringify({ repository: last.repository, digest: last.digest, tag: last.tag ?? '' })) } : {}),
    };
  },
});
