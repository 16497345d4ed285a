import type { Capability } from '../capabilities.js';

/** Lifecycle policies: the evaluator, previews, the scheduled run and the archive (docs/lifecycle.md). */
export const lifecycleCapability: Capability = {
  name: 'lifecycle',
  async start() {},
};
