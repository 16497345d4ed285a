import { MAX_TEMPLATES, type CreationTemplate } from '../../../templates/index.js';
import { AwsJsonError } from '../../errors.js';
import { operation } from '../../operation.js';
import { readTemplateFields, readTemplatePrefix, toEcrTemplate } from './template-inputs.js';

/** CreateRepositoryCreationTemplate. Registry-scoped; the caller also needs what the template grants at creation (ECR's IAM list). */
export const createRepositoryCreationTemplate = operation({
  action: 'ecr:CreateRepositoryCreationTemplate',
  prepare(input, ctx) {
    const accountId = ctx.principal.accountId;
    return { accountId, prefix: readTemplatePrefix(input), fields: readTemplateFields(input, true), resource: { accountId } };
  },
  async run({ accountId, prefix, fields }, ctx) {
    await ctx.authorize('ecr:CreateRepository', { accountId });
    if (fields.lifecyclePolicy) await ctx.authorize('ecr:PutLifecyclePolicy', { accountId });
    if (fields.repositoryPolicy) await ctx.authorize('ecr:SetRepositoryPolicy', { accountId });
    const now = ctx.now();
    const template: CreationTemplate = {
      resourceTags: [],
      imageTagMutability: 'MUTABLE',
      appliedFor: [],
      ...fields,
      prefix,
      createdAt: now,
      updatedAt: now,
    };
    const result = await ctx.services.templates.create(accountId, template);
    if (result === 'exists') throw new AwsJsonError('TemplateAlreadyExistsException', `The repository creation template with prefix '${prefix}' already exists`);
    if (result === 'limit') throw new AwsJsonError('LimitExceededException', `The registry already has the maximum of ${MAX_TEMPLATES} repository creation templates`);
    return { registryId: accountId, repositoryCreationTemplate: toEcrTemplate(template) };
  },
});
