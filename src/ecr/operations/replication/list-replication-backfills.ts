import { operation } from '../../operation.js';
import { decodeNextToken, encodeNextToken } from '../../validate.js';
import { summaryOf, tokenKey } from './shapes.js';

/**
 * ListReplicationBackfills: the registry's backfills, newest first, those that ended listed for 90
 * days. `maxResults` 1-50, default 25; keyset `nextToken`.
 */
export const listReplicationBackfills = operation({
  action: 'ecr:ListReplicationBackfills',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const maxResults = input.optionalInteger('maxResults', { min: 1, max: 50 }) ?? 25;
    const after = tokenKey(decodeNextToken(input.optionalString('nextToken')), (v): v is { startedAt: number; id: string } =>
      typeof v === 'object' && v !== null && typeof (v as { startedAt?: unknown }).startedAt === 'number' && typeof (v as { id?: unknown }).id === 'string',
    );
    return { accountId, maxResults, after, resource: { accountId } };
  },
  async run({ accountId, maxResults, after }, ctx) {
    const rows = await ctx.services.replication.backfillPage(accountId, { ...(after ? { after } : {}), limit: maxResults + 1 });
    const page = rows.slice(0, maxResults);
    const last = page[page.length - 1];
    return {
      registryId: accountId,
      backfills: page.map(summaryOf),
      ...(rows.length > maxResults && last ? { nextToken: encodeNextToken(JSON.stringify({ startedAt: last.startedAt, id: last.id })) } : {}),
    };
  },
});
