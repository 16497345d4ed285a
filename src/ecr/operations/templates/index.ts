import type { EcrOperation } from '../../operation.js';
import { createRepositoryCreationTemplate } from './create-repository-creation-template.js';
import { deleteRepositoryCreationTemplate } from './delete-repository-creation-template.js';
import { describeRepositoryCreationTemplates } from './describe-repository-creation-templates.js';
import { updateRepositoryCreationTemplate } from './update-repository-creation-template.js';

/** The templates operations: CreateRepositoryCreationTemplate, DescribeRepositoryCreationTemplates, UpdateRepositoryCreationTemplate, DeleteRepositoryCreationTemplate. */
export const TEMPLATE_OPERATIONS: Record<string, EcrOperation<any>> = {
  CreateRepositoryCreationTemplate: createRepositoryCreationTemplate,
  DescribeRepositoryCreationTemplates: describeRepositoryCreationTemplates,
  UpdateRepositoryCreationTemplate: updateRepositoryCreationTemplate,
  DeleteRepositoryCreationTemplate: deleteRepositoryCreationTemplate,
};
