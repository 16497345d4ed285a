import type { Capability } from '../capabilities.js';

/** Replication to other accounts and to peer regions (docs/replication.md). */
export const replicationCapability: Capability = {
  name: 'replication',
  async start() {},
};
