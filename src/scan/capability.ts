import type { Capability } from '../capabilities.js';
import { REMATCH_JOB, SCAN_JOB, ScanService, type ScanJobPayload } from './service.js';

declare module '../capabilities.js' {
  interface Services {
    scanning: ScanService;
  }
}

/** Image scanning: inventory, the vulnerability database, matching, scan jobs (docs/scanning.md). */
export const scanningCapability: Capability = {
  name: 'scanning',
  async start(ctx) {
    const service = new ScanService({
      meta: ctx.meta,
      blobs: ctx.blobs,
      registry: ctx.registry,
      jobs: ctx.jobs,
      events: ctx.registry.events,
      config: ctx.config,
    });
    ctx.services.scanning = service;
    ctx.jobs.register<ScanJobPayload>({
      kind: SCAN_JOB,
      // Scans read layers (CPU and I/O): one at a time per node; the dedupe key keeps one per image.
      concurrency: 1,
      maxAttempts: 3,
      leaseMs: 120_000,
      run: (payload, job, ctl) => service.runScan(payload, job, ctl),
    });
    ctx.jobs.register<Record<string, never>>({
      kind: REMATCH_JOB,
      concurrency: 1,
      maxAttempts: 3,
      leaseMs: 120_000,
      run: (_payload, _job, ctl) => service.rematch(ctl.signal),
    });
    ctx.registry.events.inTransaction(async (tx, event) => {
      if (event.type === 'image.pushed') await service.onImagePushed(tx, event);
      else if (event.type === 'image.deleted') await service.onImageDeleted(tx, event.accountId, event.repository, event.digest);
    });
  },
};
