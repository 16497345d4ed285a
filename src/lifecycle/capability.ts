import type { Capability } from '../capabilities.js';
import { LifecycleService, PREVIEW_JOB, RESTORE_JOB, RUN_JOB } from './service.js';

declare module '../capabilities.js' {
  interface Services {
    lifecycle: LifecycleService;
  }
}

/** Lifecycle policies: the evaluator, previews, the scheduled run and the archive (docs/lifecycle.md). */
export const lifecycleCapability: Capability = {
  name: 'lifecycle',
  async start(ctx) {
    const service = new LifecycleService({
      meta: ctx.meta,
      registry: ctx.registry,
      jobs: ctx.jobs,
      events: ctx.registry.events,
      previewTtlMs: ctx.config.lifecycle.previewTtlSeconds * 1000,
    });
    ctx.services.lifecycle = service;

    ctx.jobs.register<{ accountId: string; name: string; repositoryId: number; startedAt: number }>({
      kind: PREVIEW_JOB,
      concurrency: 1,
      maxAttempts: 3,
      run: (payload, job) => service.runPreview(payload, job.attempts >= job.maxAttempts),
    });
    ctx.jobs.register<{ accountId: string; name: string; repositoryId: number }>({
      kind: RUN_JOB,
      concurrency: 1,
      maxAttempts: 3,
      leaseMs: 5 * 60_000,
      async run(payload, job, ctl) {
        const report = await service.runRepository(payload, job.requestId ?? undefined);
        if (report) {
          ctl.log.info(
            { repo: report.repository, expired: report.expired.length, archived: report.archived.length, skipped: report.skipped.length },
            'lifecycle policy applied',
          );
        }
        return report ? { expired: report.expired.length, archived: report.archived.length, skipped: report.skipped.length } : { skipped: 'no policy' };
      },
    });
    ctx.jobs.register<{ accountId: string; name: string; repositoryId: number; digests: string[] }>({
      kind: RESTORE_JOB,
      concurrency: 2,
      maxAttempts: 5,
      run: (payload, job) => service.restore(payload, job.requestId ?? undefined),
    });

    // ECR: pushing an archived image again restores it; in the push's own transaction.
    ctx.registry.events.inTransaction(async (tx, event) => {
      if (event.type === 'image.pushed') await service.activateOnPush(tx, event);
    });

    // The scheduled run: one node enqueues a run job per repository with a policy.
    ctx.jobs.every({
      name: 'lifecycle',
      intervalMs: ctx.config.lifecycle.intervalSeconds * 1000,
      async run() {
        await service.enqueueRuns();
      },
    });
  },
};
