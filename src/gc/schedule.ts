import type { GarbageCollector, GcReport } from './collector.js';

/** The part of a pino logger the schedule writes to. */
export interface GcLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** setInterval's longest delay; a longer interval would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The server's periodic collection (`gc.interval`, `BERTH_GC_INTERVAL`; 0 turns it off): one run
 * at a time, the first one interval after start. `stop` ends the timer and cuts a run short
 * between two pages, which leaves nothing half done (see GarbageCollector).
 */
export class GcSchedule {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<GcReport | undefined> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly collector: GarbageCollector,
    private readonly opts: {
      intervalMs: number;
      graceMs: number;
      logger: GcLogger;
      /**
       * Run `fn` only if this node leads the task (scale-out: one node collects at a time, through
       * a PostgreSQL advisory lock, src/cluster/leader.ts); `{ led: false }` skips this run.
       */
      leader?: (fn: () => Promise<GcReport>) => Promise<{ led: true; value: GcReport } | { led: false }>;
    },
  ) {}

  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer || this.abort.signal.aborted) return;
    this.timer = setInterval(() => void this.runOnce(), Math.min(this.opts.intervalMs, MAX_TIMER_MS));
    this.timer.unref();
  }

  /** Run a collection now, or join the one running. Resolves with its report (undefined if it failed or was stopped). */
  runOnce(): Promise<GcReport | undefined> {
    if (this.abort.signal.aborted) return Promise.resolve(undefined);
    if (this.current) return this.current;
    const collect = () => this.collector.run({ graceMs: this.opts.graceMs, signal: this.abort.signal });
    const led = this.opts.leader ? this.opts.leader(collect) : collect().then((value) => ({ led: true as const, value }));
    this.current = led
      .then(
        (outcome) => {
          // Another node is collecting: nothing to do here this time.
          if (!outcome.led) return undefined;
          const report = outcome.value;
          const { removedBlobs, removedBytes, removedFiles, removedFileBytes, scannedBlobs, durationMs } = report;
          this.opts.logger.info({ job: 'gc', scannedBlobs, removedBlobs, removedBytes, removedFiles, removedFileBytes, durationMs }, 'garbage collection done');
          return report;
        },
        (err: unknown) => {
          if (!this.abort.signal.aborted) this.opts.logger.error({ job: 'gc', err }, 'garbage collection failed');
          return undefined;
        },
      )
      .finally(() => {
        this.current = undefined;
      });
    return this.current;
  }

  /** Stop the timer and any run in progress; resolves once nothing runs. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.current;
  }
}
