import { operation } from '../../operation.js';
import { readTemplateFields, readTemplatePrefix, templateNotFound, toEcrTemplate } from './template-inputs.js';

/** UpdateRepositoryCreationTemplate: the fields given replace the template's; repositories already created are not touched. */
export const updateRepositoryCreationTemplate = operation({
  action: 'ecr:UpdateRepositoryCreationTemplate',
  prepare(input, ctx) {
    const accountId = ctx.principal.accountId;
    return { accountId, prefix: readTemplatePrefix(input), fields: readTemplateFields(input, false), resource: { accountId } };
  },
  async run({ accountId, prefix, fields }, ctx) {
    const current = await ctx.services.templates.get(accountId, prefix);
    if (!current) throw templateNotFound(prefix);
    await ctx.authorize('ecr:CreateRepository', { accountId });
    if (fields.lifecyclePolicy) await ctx.authorize('ecr:PutLifecyclePolicy', { accountId });
    if (fields.repositoryPolicy) await ctx.authorize('ecr:SetRepositoryPolicy', { accountId });
    const next = { ...current, ...fields, updatedAt: ctx.now() };
    // Setting the mutability without exclusions drops the old exclusions.
    if (fields.imageTagMutability && !fields.imageTagMutabilityExclusionFilters) delete next.imageTagMutabilityExclusionFilters;
    for (const key of ['repositoryPolicy', 'lifecyclePolicy', 'customRoleArn', 'description'] as const) {
      if (next[key] === '') delete next[key];
    }
    await ctx.services.templates.replace(accountId, next);
    return { registryId: accountId, repositoryCreationTemplate: toEcrTemplate(next) };
  },
});
