import { operation } from '../operation.js';
import { readTagMutability } from './repository-settings.js';

/** PutImageTagMutability: applies to later pushes; existing tags stay where they are. */
export const putImageTagMutability = operation({
  action: 'ecr:PutImageTagMutability',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const mutability = readTagMutability(input, true)!;
    return { accountId, name, mutability, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, mutability }, ctx) {
    const repo = await ctx.registry.updateRepository(await ctx.registry.repository(accountId, name, { origin: ctx.origin }), mutability);
    return {
      registryId: accountId,
      repositoryName: name,
      imageTagMutability: repo.row.tagMutability,
      ...(repo.row.tagMutabilityExclusions ? { imageTagMutabilityExclusionFilters: repo.row.tagMutabilityExclusions } : {}),
    };
  },
});
