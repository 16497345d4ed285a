import type { Capability } from '../capabilities.js';

/** Pull-through cache rules, repository creation templates and upstream secrets (docs/pull-through-cache.md). */
export const pullThroughCacheCapability: Capability = {
  name: 'pull-through-cache',
  async start() {},
};
