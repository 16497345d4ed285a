import { operation } from '../../operation.js';

/**
 * PutReplicationConfiguration: replace the registry's replication rules (destinations as region +
 * registry id, `PREFIX_MATCH` repository filters; at most 10 rules, 25 unique destinations, 100
 * filters per rule). Registry-scoped. berth also refuses a destination region that is neither its
 * own nor a configured peer's, since it could never be reached (docs/replication.md).
 */
export const putReplicationConfiguration = operation({
  action: 'ecr:PutReplicationConfiguration',
  prepare(input, ctx) {
    return { raw: input.raw('replicationConfiguration'), resource: { accountId: ctx.principal.accountId } };
  },
  async run({ raw }, ctx) {
    const replicationConfiguration = await ctx.services.replication.putConfiguration(ctx.principal.accountId, raw);
    return { replicationConfiguration };
  },
});
