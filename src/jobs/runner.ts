import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RequestContext } from '../core/index.js';
import type { EnqueueOptions, JobRow, MetadataStore } from '../storage/metadata/index.js';
import { withLeadership } from '../cluster/leader.js';

/** The part of a pino logger the runner writes to. */
export interface JobLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child?(bindings: object): JobLogger;
}

/** What a running job can do besides its work. */
export interface JobControl {
  /** Aborted when the runner stops or the job's lease was lost (another node took it). */
  readonly signal: AbortSignal;
  readonly log: JobLogger;
  /** Extend the lease now (the runner also does so every third of the lease). */
  heartbeat(): Promise<void>;
  /**
   * The job as a request context, named by the request that caused it (or `job-<id>`): open
   * repositories with `{ origin }` so that the events of the job's changes carry that id.
   */
  readonly origin: RequestContext;
}

export interface JobHandler<P = unknown> {
  readonly kind: string;
  /** Jobs of this kind that one node runs at once; default 1. */
  readonly concurrency?: number;
  /** Default attempts for jobs enqueued without `maxAttempts`. */
  readonly maxAttempts?: number;
  /** How long a claim lasts without a heartbeat; default 60 s. */
  readonly leaseMs?: number;
  /** Delay before attempt n+1 (n = attempts so far); default exponential from 1 s to 5 min, with jitter. */
  backoffMs?(attempts: number): number;
  /** Do the work. Resolves with the job's result (stored as JSON); throws to retry. */
  run(payload: P, job: JobRow, ctl: JobControl): Promise<unknown>;
}

/** Thrown by a handler for a failure that no retry will fix: the job fails at once. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

export interface PeriodicTask {
  readonly name: string;
  readonly intervalMs: number;
  run(signal: AbortSignal): Promise<void>;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Durable background work. Jobs are rows in the metadata store (`jobs`), so they survive a
 * restart and, on PostgreSQL, any node may run them: a node claims due jobs under a lease, renews
 * it while it works, and a job whose node died is claimed again when its lease runs out.
 * Failures are retried with exponential backoff up to the job's attempts; handlers must be
 * idempotent (a job may run again after a crash between its work and its completion).
 *
 * Periodic tasks (lifecycle runs, cache refresh) run on one node at a time: the node that holds
 * the task's lease in `leases`, which also remembers the last run, so that a restart does not
 * reset a daily schedule.
 */
export class JobRunner {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly handlers = new Map<string, JobHandler<any>>();
  private readonly running = new Map<number, { kind: string; done: Promise<void>; abort: AbortController }>();
  private readonly periodic: PeriodicTask[] = [];
  private readonly periodicTimers: NodeJS.Timeout[] = [];
  private readonly periodicRuns = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private started = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly meta: MetadataStore,
    private readonly opts: { log: JobLogger; pollMs?: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  register<P>(handler: JobHandler<P>): void {
    if (this.handlers.has(handler.kind)) throw new Error(`job kind ${handler.kind} is registered twice`);
    this.handlers.set(handler.kind, handler);
    if (this.started) this.wake();
  }

  /** Register a task that runs every `intervalMs` on one node (0 or less: never). */
  every(task: PeriodicTask): void {
    this.periodic.push(task);
    if (this.started) this.startPeriodic(task);
  }

  /**
   * Add a job. Pass `tx` to enqueue inside a transaction, so that the job exists exactly when
   * what caused it was committed (a pushed manifest and its scan).
   */
  async enqueue(kind: string, payload: unknown, opts: EnqueueOptions = {}, tx?: MetadataStore): Promise<{ id: number; created: boolean }> {
    const handler = this.handlers.get(kind);
    // A job caused by a request carries its id (its log lines and events name the request).
    const requestId = opts.requestId;
    const result = await (tx ?? this.meta).jobs.enqueue(kind, payload, this.now(), {
      ...opts,
      ...(requestId !== undefined ? { requestId } : {}),
      ...(opts.maxAttempts === undefined && handler?.maxAttempts ? { maxAttempts: handler.maxAttempts } : {}),
    });
    // A job enqueued in a transaction becomes visible at commit; the next poll (or this nudge) finds it.
    if (!tx) this.wake();
    else setImmediate(() => this.wake());
    return result;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const schedule = () => {
      this.pollTimer = setTimeout(() => {
        this.wake();
        schedule();
      }, this.opts.pollMs ?? 1000);
      this.pollTimer.unref();
    };
    schedule();
    this.wake();
    for (const task of this.periodic) this.startPeriodic(task);
  }

  /** Look for due jobs now. */
  wake(): void {
    if (!this.started || this.stopping.signal.aborted) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.poll()
      .catch((err: unknown) => this.opts.log.error({ err }, 'job poll failed'))
      .finally(() => {
        this.polling = undefined;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.wake();
        } else if (this.running.size === 0) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
      });
  }

  private async poll(): Promise<void> {
    // How many more of each kind this node may run now.
    const free = new Map<string, number>();
    for (const [kind, handler] of this.handlers) {
      let busy = 0;
      for (const r of this.running.values()) if (r.kind === kind) busy++;
      const n = (handler.concurrency ?? 1) - busy;
      if (n > 0) free.set(kind, n);
    }
    for (const [kind, n] of free) {
      const handler = this.handlers.get(kind)!;
      const leaseMs = handler.leaseMs ?? 60_000;
      const claimed = await this.meta.transaction((tx) => tx.jobs.claim([kind], this.owner, this.now(), leaseMs, n));
      for (const job of claimed) this.launch(handler, job);
    }
  }

  private launch(handler: JobHandler<any>, job: JobRow): void {
    const abort = new AbortController();
    const onStop = () => abort.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    const leaseMs = handler.leaseMs ?? 60_000;
    const base = this.opts.log.child?.({ job: job.kind, jobId: job.id, ...(job.requestId ? { requestId: job.requestId } : {}) }) ?? this.opts.log;
    const heartbeat = async () => {
      const kept = await this.meta.jobs.heartbeat(job.id, this.owner, this.now() + leaseMs, this.now());
      if (!kept) abort.abort(new Error('lease lost'));
    };
    const beat = setInterval(() => void heartbeat().catch(() => undefined), Math.max(1000, Math.floor(leaseMs / 3)));
    beat.unref();
    const done = (async () => {
      try {
        const ctl: JobControl = { signal: abort.signal, log: base, heartbeat, origin: { requestId: job.requestId ?? `job-${job.id}` } };
        const result = await handler.run(job.payload, job, ctl);
        await this.meta.jobs.complete(job.id, this.owner, result, this.now());
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (this.stopping.signal.aborted) {
          // Not the job's fault: give the attempt back so that the next start runs it at once.
          await this.meta.jobs.fail(job.id, this.owner, `interrupted by shutdown: ${message}`, this.now(), this.now()).catch(() => undefined);
          return;
        }
        const permanent = err instanceof PermanentJobError;
        const retryAt = !permanent && job.attempts < job.maxAttempts ? this.now() + backoff(handler, job.attempts) : undefined;
        if (retryAt === undefined) base.error({ err, attempts: job.attempts }, 'job failed');
        else base.warn({ err: message, attempts: job.attempts, retryInMs: retryAt - this.now() }, 'job attempt failed; will retry');
        await this.meta.jobs.fail(job.id, this.owner, message, this.now(), retryAt).catch((e: unknown) => base.error({ err: e }, 'could not record a job failure'));
      } finally {
        clearInterval(beat);
        this.stopping.signal.removeEventListener('abort', onStop);
        this.running.delete(job.id);
        this.wake();
      }
    })();
    this.running.set(job.id, { kind: job.kind, done, abort });
  }

  /**
   * Resolve once no job of `kinds` (all kinds when omitted) is queued and due or running, checking
   * every `pollMs`: what `berth lifecycle run` and tests wait on. Jobs waiting for a retry later
   * than `deadline` do not count once the deadline passes; rejects at the deadline otherwise.
   */
  async drain(kinds?: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const list = kinds ?? [...this.handlers.keys()];
    const deadline = this.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      this.wake();
      if ((await this.meta.jobs.pending(list)) === 0) return;
      if (this.now() > deadline) throw new Error(`jobs of ${list.join(', ')} still pending after ${opts.timeoutMs ?? 600_000} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private startPeriodic(task: PeriodicTask): void {
    if (task.intervalMs <= 0) return;
    // Check often enough that a run is at most a minute late, and never more often than the interval.
    const tickMs = Math.min(task.intervalMs, 60_000, MAX_TIMER_MS);
    const timer = setInterval(() => void this.runPeriodic(task, false), tickMs);
    timer.unref();
    this.periodicTimers.push(timer);
  }

  /**
   * Run the task now if this node can take its lease (`force`: whatever the last run; otherwise
   * only when its interval has passed since the last run, on any node). Resolves when the run ends; false when another
   * node holds the task or it was not due.
   */
  async runPeriodic(task: PeriodicTask | string, force = true): Promise<boolean> {
    const t = typeof task === 'string' ? this.periodic.find((p) => p.name === task) : task;
    if (!t) throw new Error(`no periodic task named ${String(task)}`);
    const inProgress = this.periodicRuns.get(t.name);
    if (inProgress) {
      await inProgress;
      return true;
    }
    if (this.stopping.signal.aborted) return false;
    const lease = `periodic:${t.name}`;
    if (this.meta.dialect === 'postgres') {
      // Several nodes: the leader of a task is the node holding its advisory lock, for the whole
      // run; a node that dies mid-run loses it with its connection, so another takes over at its
      // next tick instead of waiting for the lease to expire (src/cluster/leader.ts).
      const outcome = await withLeadership(this.meta, lease, () => this.runLeased(t, lease, force, true));
      return outcome.led && outcome.value;
    }
    return this.runLeased(t, lease, force, false);
  }

  private async runLeased(t: PeriodicTask, lease: string, force: boolean, steal: boolean): Promise<boolean> {
    // The lease outlives a run that takes long; it is renewed while the run goes on.
    const leaseMs = 5 * 60_000;
    const taken = await this.meta.transaction((tx) => tx.jobs.acquireLease(lease, this.owner, this.now(), this.now() + leaseMs, { steal }));
    if (!taken) return false;
    if (!force && taken.lastRunAt !== null && this.now() - taken.lastRunAt < t.intervalMs) return false;
    const started = this.now();
    const renew = setInterval(() => void this.meta.jobs.acquireLease(lease, this.owner, this.now(), this.now() + leaseMs).catch(() => undefined), leaseMs / 3);
    renew.unref();
    const run = (async () => {
      try {
        await t.run(this.stopping.signal);
        await this.meta.jobs.recordLeaseRun(lease, this.owner, started);
      } catch (err) {
        if (!this.stopping.signal.aborted) this.opts.log.error({ err, task: t.name }, 'periodic task failed');
      } finally {
        clearInterval(renew);
        this.periodicRuns.delete(t.name);
      }
    })();
    this.periodicRuns.set(t.name, run);
    await run;
    return true;
  }

  /** Stop claiming, abort the jobs running (their attempt is given back), and wait for them. */
  async stop(): Promise<void> {
    clearTimeout(this.pollTimer);
    for (const t of this.periodicTimers) clearInterval(t);
    this.stopping.abort(new Error('berth is shutting down'));
    await this.polling;
    await Promise.all([...this.running.values()].map((r) => r.done));
    await Promise.all(this.periodicRuns.values());
    for (const t of this.periodic) await this.meta.jobs.releaseLease(`periodic:${t.name}`, this.owner).catch(() => undefined);
  }
}

function backoff(handler: JobHandler<any>, attempts: number): number {
  if (handler.backoffMs) return handler.backoffMs(attempts);
  const base = Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}
