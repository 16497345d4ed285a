import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteMetadata, type MetadataStore } from '../storage/metadata/index.js';
import { JobRunner, PermanentJobError } from './runner.js';

const quiet = { info() {}, warn() {}, error() {} };

describe('JobRunner', () => {
  let dir: string;
  let meta: MetadataStore;
  const runners: JobRunner[] = [];
  const runner = (opts: { pollMs?: number } = {}) => {
    const r = new JobRunner(meta, { log: quiet, pollMs: opts.pollMs ?? 20 });
    runners.push(r);
    return r;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-jobs-'));
    meta = await openSqliteMetadata(join(dir, 'metadata.db'));
  });
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs an enqueued job once and stores its result', async () => {
    const r = runner();
    const seen: unknown[] = [];
    r.register<{ n: number }>({ kind: 'double', run: async (p) => (seen.push(p), { doubled: p.n * 2 }) });
    r.start();
    const { id } = await r.enqueue('double', { n: 21 });
    await r.drain(['double'], { timeoutMs: 5000 });
    expect(seen).toEqual([{ n: 21 }]);
    const job = await meta.jobs.get(id);
    expect(job).toMatchObject({ state: 'done', attempts: 1, result: { doubled: 42 } });
  });

  it('retries a failing job with backoff, then marks it failed with the last error', async () => {
    const r = runner();
    let calls = 0;
    r.register({
      kind: 'flaky',
      maxAttempts: 3,
      backoffMs: () => 10,
      run: async () => {
        calls++;
        throw new Error(`attempt ${calls} broke`);
      },
    });
    r.start();
    const { id } = await r.enqueue('flaky', {});
    await r.drain(['flaky'], { timeoutMs: 5000 });
    expect(calls).toBe(3);
    expect(await meta.jobs.get(id)).toMatchObject({ state: 'failed', attempts: 3, lastError: 'attempt 3 broke' });
  });

  it('succeeds on a retry after a failure', async () => {
    const r = runner();
    let calls = 0;
    r.register({ kind: 'second-time', backoffMs: () => 5, run: async () => (++calls === 1 ? Promise.reject(new Error('not yet')) : 'ok') });
    r.start();
    const { id } = await r.enqueue('second-time', {});
    await r.drain(['second-time'], { timeoutMs: 5000 });
    expect(await meta.jobs.get(id)).toMatchObject({ state: 'done', attempts: 2, result: 'ok', lastError: null });
  });

  it('does not retry a permanent failure', async () => {
    const r = runner();
    let calls = 0;
    r.register({ kind: 'doomed', run: async () => (calls++, Promise.reject(new PermanentJobError('bad input'))) });
    r.start();
    const { id } = await r.enqueue('doomed', {});
    await r.drain(['doomed'], { timeoutMs: 5000 });
    expect(calls).toBe(1);
    expect(await meta.jobs.get(id)).toMatchObject({ state: 'failed', lastError: 'bad input' });
  });

  it('keeps one waiting job per dedupe key', async () => {
    const r = runner();
    const a = await r.enqueue('scan', { image: 1 }, { key: 'repo@sha256:1' });
    const b = await r.enqueue('scan', { image: 1 }, { key: 'repo@sha256:1' });
    const c = await r.enqueue('scan', { image: 2 }, { key: 'repo@sha256:2' });
    expect(b).toEqual({ id: a.id, created: false });
    expect(c.created).toBe(true);
    expect(await meta.jobs.pending(['scan'])).toBe(2);
  });

  it('enqueued inside a rolled-back transaction, a job does not exist', async () => {
    const r = runner();
    await expect(
      meta.transaction(async (tx) => {
        await r.enqueue('scan', {}, {}, tx);
        throw new Error('push failed');
      }),
    ).rejects.toThrow('push failed');
    expect(await meta.jobs.pending(['scan'])).toBe(0);
  });

  it('a job whose node died is claimed again when its lease runs out', async () => {
    // A node claimed the job and vanished: its lease expired a moment ago.
    await meta.jobs.enqueue('copy', { x: 1 }, Date.now(), { runAt: Date.now() - 200_000 });
    const [claimed] = await meta.transaction((tx) => tx.jobs.claim(['copy'], 'dead-node', Date.now() - 120_000, 60_000, 1));
    expect(claimed?.state).toBe('running');
    const r = runner();
    const ran: number[] = [];
    r.register({ kind: 'copy', run: async (_p, job) => void ran.push(job.attempts) });
    r.start();
    await r.drain(['copy'], { timeoutMs: 5000 });
    expect(ran).toEqual([2]);
  });

  it('runs jobs of one kind no more than its concurrency at once', async () => {
    const r = runner();
    let active = 0;
    let peak = 0;
    r.register({
      kind: 'slow',
      concurrency: 2,
      run: async () => {
        peak = Math.max(peak, ++active);
        await new Promise((res) => setTimeout(res, 30));
        active--;
      },
    });
    for (let i = 0; i < 6; i++) await r.enqueue('slow', { i });
    r.start();
    await r.drain(['slow'], { timeoutMs: 5000 });
    expect(peak).toBe(2);
  });

  it('stopping interrupts a running job and gives its attempt back for the next start', async () => {
    const r = runner();
    r.register({ kind: 'long', run: (_p, _j, ctl) => new Promise((_res, rej) => ctl.signal.addEventListener('abort', () => rej(new Error('aborted')))) });
    r.start();
    const { id } = await r.enqueue('long', {});
    for (let i = 0; i < 100 && (await meta.jobs.get(id))?.state !== 'running'; i++) await new Promise((res) => setTimeout(res, 10));
    await r.stop();
    const job = await meta.jobs.get(id);
    expect(job?.state).toBe('queued');
    expect(job?.lastError).toMatch(/interrupted by shutdown/);
  });

  it('a periodic task runs on one runner at a time and remembers its last run', async () => {
    const a = runner();
    const b = runner();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const task = { name: 'tidy', intervalMs: 3600_000, run: async () => (runs++, gate) };
    a.every(task);
    b.every(task);
    const first = a.runPeriodic('tidy');
    await new Promise((res) => setTimeout(res, 20));
    expect(await b.runPeriodic('tidy')).toBe(false); // a holds the lease
    release();
    expect(await first).toBe(true);
    // Not due again within the interval, on either runner.
    expect(await b.runPeriodic('tidy', false)).toBe(false);
    expect(runs).toBe(1);
  });
});
