import type { EcrOperation } from '../../operation.js';

/** The cache operations: CreatePullThroughCacheRule, DescribePullThroughCacheRules, UpdatePullThroughCacheRule, DeletePullThroughCacheRule, ValidatePullThroughCacheRule. */
export const PULL_THROUGH_CACHE_OPERATIONS: Record<string, EcrOperation<any>> = {};
