import type { Capability } from '../capabilities.js';

/** Image scanning: inventory, the vulnerability database, matching, scan jobs (docs/scanning.md). */
export const scanningCapability: Capability = {
  name: 'scanning',
  async start() {},
};
