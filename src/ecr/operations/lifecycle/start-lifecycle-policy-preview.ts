import { operation } from '../../operation.js';
import { lifecyclePolicyNotFound, previewInProgress } from './errors.js';

/**
 * StartLifecyclePolicyPreview: a dry run, as a job, of the policy given inline or of the stored
 * one. One preview per repository at a time (LifecyclePolicyPreviewInProgressException); a new
 * one replaces the last result. Nothing is deleted or archived.
 */
export const startLifecyclePolicyPreview = operation({
  action: 'ecr:StartLifecyclePolicyPreview',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const text = input.optionalString('lifecyclePolicyText', { min: 100, max: 30_720 });
    return { accountId, name, text, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, text }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const started = await ctx.services.lifecycle.startPreview(repo, text, ctx.requestId);
    if (!started.ok) throw started.reason === 'no-policy' ? lifecyclePolicyNotFound(accountId, name) : previewInProgress(accountId, name);
    return { registryId: accountId, repositoryName: name, lifecyclePolicyText: started.policyText, status: 'IN_PROGRESS' };
  },
});
