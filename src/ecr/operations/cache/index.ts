import type { EcrOperation } from '../../operation.js';
import { createPullThroughCacheRule } from './create-pull-through-cache-rule.js';
import { deletePullThroughCacheRule } from './delete-pull-through-cache-rule.js';
import { describePullThroughCacheRules } from './describe-pull-through-cache-rules.js';
import { updatePullThroughCacheRule } from './update-pull-through-cache-rule.js';
import { validatePullThroughCacheRule } from './validate-pull-through-cache-rule.js';

/** The cache operations: CreatePullThroughCacheRule, DescribePullThroughCacheRules, UpdatePullThroughCacheRule, DeletePullThroughCacheRule, ValidatePullThroughCacheRule. */
export const PULL_THROUGH_CACHE_OPERATIONS: Record<string, EcrOperation<any>> = {
  CreatePullThroughCacheRule: createPullThroughCacheRule,
  DescribePullThroughCacheRules: describePullThroughCacheRules,
  UpdatePullThroughCacheRule: updatePullThroughCacheRule,
  DeletePullThroughCacheRule: deletePullThroughCacheRule,
  ValidatePullThroughCacheRule: validatePullThroughCacheRule,
};
