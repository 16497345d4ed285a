export { PullThroughCache, type CacheAccess, type PullThroughCacheOptions } from './service.js';
export {
  CacheRuleStore,
  matchRule,
  kindOfHost,
  upstreamBaseUrl,
  ECR_UPSTREAM_KINDS,
  KINDS_NEEDING_CREDENTIALS,
  MAX_RULES,
  type CacheRule,
  type UpstreamKind,
} from './rules.js';
