import type { Capability } from '../capabilities.js';

/** Operations: metrics, structured logs, the audit trail, webhooks, health (docs/operations.md). */
export const operationsCapability: Capability = {
  name: 'operations',
  async start() {},
};
