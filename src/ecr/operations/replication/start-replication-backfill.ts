import { epochSeconds, operation } from '../../operation.js';
import { backfillException, readDestination } from './shapes.js';

/**
 * StartReplicationBackfill: copy to one configured destination what the rules select and was
 * pushed before them. Answers at once with status PREPARING; a paced background job does the
 * work (docs/replication.md). One in progress per destination region
 * (ReplicationBackfillInProgressException), at most 10 per registry (LimitExceededException).
 */
export const startReplicationBackfill = operation({
  action: 'ecr:StartReplicationBackfill',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const destination = readDestination(input, 'destination');
    return { accountId, destination, resource: { accountId } };
  },
  async run({ accountId, destination }, ctx) {
    try {
      const row = await ctx.services.replication.startBackfill(accountId, destination, ctx.requestId);
      return { replicationBackfillId: row.id, registryId: accountId, destination: row.destination, status: row.status, startedAt: epochSeconds(row.startedAt) };
    } catch (err) {
      throw backfillException(err);
    }
  },
});
