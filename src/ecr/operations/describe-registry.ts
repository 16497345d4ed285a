import { operation } from '../operation.js';

/**
 * DescribeRegistry: the caller's registry id and its replication configuration. Registry-scoped:
 * there is no `registryId` input; it always describes the caller's own registry. With nothing
 * configured ECR answers `replicationConfiguration: {rules: []}`, not an absent member.
 */
export const describeRegistry = operation({
  action: 'ecr:DescribeRegistry',
  prepare(_input, ctx) {
    return { resource: { accountId: ctx.principal.accountId } };
  },
  async run(_prepared, ctx) {
    const replicationConfiguration = ctx.services.replication ? await ctx.services.replication.configuration(ctx.principal.accountId) : { rules: [] };
    return { registryId: ctx.principal.accountId, replicationConfiguration };
  },
});
