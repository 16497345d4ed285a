/**
 * Repository creation templates. Replication calls `ctx.services.templates.createRepository(
 * accountId, name, 'REPLICATION')` to create a destination repository with the matching template
 * (or ECR's defaults), or `settingsFor(accountId, name, 'REPLICATION')` for the settings alone;
 * see TemplateService in templates.ts.
 */
export {
  TemplateService,
  APPLIED_FOR,
  MAX_TEMPLATES,
  type AppliedFor,
  type CreationTemplate,
  type TemplateSettings,
  type LifecyclePolicyWriter,
} from './templates.js';
