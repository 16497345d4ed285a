import type { Services } from '../../../capabilities.js';
import type { Repository } from '../../../registry/index.js';
import { epochSeconds, operation, prepareRepository } from '../../operation.js';
import { lifecyclePolicyNotFound } from './errors.js';

type StoredPolicy = Awaited<ReturnType<Services['lifecycle']['getPolicy']>>;

/**
 * GetLifecyclePolicy and DeleteLifecyclePolicy: the same input, the same not-found error and
 * the same answer (the policy's text and when it was last evaluated, absent if never); only what
 * they do to the stored policy differs.
 */
export function storedPolicyOperation(action: string, act: (lifecycle: Services['lifecycle'], repo: Repository) => Promise<StoredPolicy>) {
  return operation({
    action,
    prepare: prepareRepository,
    async run({ accountId, name }, ctx) {
      const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
      const policy = await act(ctx.services.lifecycle, repo);
      if (!policy) throw lifecyclePolicyNotFound(accountId, name);
      return {
        registryId: accountId,
        repositoryName: name,
        lifecyclePolicyText: policy.text,
        ...(policy.lastEvaluatedAt !== null ? { lastEvaluatedAt: epochSeconds(policy.lastEvaluatedAt) } : {}),
      };
    },
  });
}
