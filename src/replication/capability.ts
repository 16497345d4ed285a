import type { Capability } from '../capabilities.js';
import { registerPeerEndpoint } from './peer-endpoint.js';
import { BACKFILL_JOB, COPY_JOB, ReplicationService, type CopyJob } from './service.js';

declare module '../capabilities.js' {
  interface Services {
    replication: ReplicationService;
  }
}

/** Retry delays of a copy: 2 s, 4 s, ... up to 5 minutes, with jitter (a peer that is down comes back). */
function copyBackoff(attempts: number): number {
  const base = Math.min(300_000, 2000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Replication to other accounts and to peer regions (docs/replication.md). */
export const replicationCapability: Capability = {
  name: 'replication',
  async start(ctx) {
    const service = new ReplicationService(ctx);
    ctx.services.replication = service;
    // Each push that a rule matches becomes copy jobs in the push's own transaction.
    ctx.events.inTransaction((tx, event) => service.onEvent(tx, event));
    ctx.jobs.register<CopyJob>({
      kind: COPY_JOB,
      concurrency: 4,
      // About an hour of retries in all: a peer down for maintenance is caught up with.
      maxAttempts: 16,
      leaseMs: 30_000,
      backoffMs: copyBackoff,
      run: (payload, job, ctl) => service.runCopy(payload, job, ctl),
    });
    // One backfill at a time per node, paced: pushes' copies keep their slots (docs/replication.md).
    ctx.jobs.register<{ backfillId: string }>({
      kind: BACKFILL_JOB,
      concurrency: 1,
      maxAttempts: 10,
      leaseMs: 30_000,
      run: (payload, job, ctl) => service.runBackfill(payload, job, ctl),
    });
    registerPeerEndpoint(ctx.server, {
      registry: ctx.registry,
      policies: ctx.policies,
      region: ctx.config.region,
      meta: ctx.meta,
      auth: ctx.auth,
      authorizer: ctx.authorizer,
      createRepository: service.createRepository,
      operatorAccount: ctx.config.accountId,
    });
  },
};
