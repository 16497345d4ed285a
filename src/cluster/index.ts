export { LocalInvalidator, PgInvalidator, type CacheInvalidator, type CacheTopic, type Drop } from './invalidation.js';
export { withClusterLock, withLeadership } from './leader.js';
