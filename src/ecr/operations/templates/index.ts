import type { EcrOperation } from '../../operation.js';

/** The templates operations: CreateRepositoryCreationTemplate, DescribeRepositoryCreationTemplates, UpdateRepositoryCreationTemplate, DeleteRepositoryCreationTemplate. */
export const TEMPLATE_OPERATIONS: Record<string, EcrOperation<any>> = {};
