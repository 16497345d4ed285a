import { operation, repositoryArn } from '../operation.js';
import { toEcrRepository } from '../shapes.js';

/** DeleteRepository: refused while images remain unless `force`; answers with the repository as it was. */
export const deleteRepository = operation({
  action: 'ecr:DeleteRepository',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    return { accountId, name, force: input.optionalBoolean('force') ?? false, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, force }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const row = await ctx.registry.deleteRepository(repo, { force, arn: repositoryArn(ctx.region, accountId, name) });
    return { repository: toEcrRepository(ctx, row) };
  },
});
