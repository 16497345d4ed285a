import { epochSeconds, operation } from '../../operation.js';
import { backfillException, readBackfillId } from './shapes.js';

/**
 * StopReplicationBackfill: the backfill becomes STOPPING, and STOPPED once the copy in flight is
 * done; what was copied stays. An ended backfill is ReplicationBackfillInvalidStatusException, an
 * unknown id ReplicationBackfillNotFoundException.
 */
export const stopReplicationBackfill = operation({
  action: 'ecr:StopReplicationBackfill',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    return { accountId, id: readBackfillId(input), resource: { accountId } };
  },
  async run({ accountId, id }, ctx) {
    try {
      const row = await ctx.services.replication.stopBackfill(accountId, id);
      return { registryId: accountId, replicationBackfillId: row.id, destination: row.destination, status: row.status, startedAt: epochSeconds(row.startedAt) };
    } catch (err) {
      throw backfillException(err);
    }
  },
});
