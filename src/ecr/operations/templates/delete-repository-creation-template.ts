import { operation } from '../../operation.js';
import { readTemplatePrefix, templateNotFound, toEcrTemplate } from './template-inputs.js';

/** DeleteRepositoryCreationTemplate: returns the deleted template. */
export const deleteRepositoryCreationTemplate = operation({
  action: 'ecr:DeleteRepositoryCreationTemplate',
  prepare(input, ctx) {
    const accountId = ctx.principal.accountId;
    return { accountId, prefix: readTemplatePrefix(input), resource: { accountId } };
  },
  async run({ accountId, prefix }, ctx) {
    const deleted = await ctx.services.templates.delete(accountId, prefix);
    if (!deleted) throw templateNotFound(prefix);
    return { registryId: accountId, repositoryCreationTemplate: toEcrTemplate(deleted) };
  },
});
