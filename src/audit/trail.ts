import type { MetadataStore } from '../storage/metadata/index.js';
import type { AuditRecord } from './record.js';
import { AuditStore, type AuditQuery } from './store.js';

interface TrailLogger {
  error(obj: object, msg: string): void;
}

/** Records buffered before a write is forced; a write also happens `FLUSH_MS` after the first. */
const BATCH = 200;
const FLUSH_MS = 250;
/** Records held when the database does not take them (a long outage): the oldest are dropped beyond it. */
const MAX_BUFFER = 50_000;

/**
 * The audit trail. Records of requests are buffered and written in batches after the response (one
 * transaction per batch, not one per request: the hot path never waits for the trail). Records
 * of background work that must exist exactly when the change does are written in the change's
 * transaction (`recordIn`).
 */
export class AuditTrail {
  private buffer: AuditRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Records written or dropped since start, for metrics. */
  written = 0;
  dropped = 0;

  constructor(
    private readonly meta: MetadataStore,
    private readonly log: TrailLogger,
  ) {}

  /** Queue a request's record; it is written within `FLUSH_MS`. */
  add(record: AuditRecord): void {
    this.buffer.push(record);
    if (this.buffer.length > MAX_BUFFER) this.dropped += this.buffer.splice(0, this.buffer.length - MAX_BUFFER).length;
    if (this.buffer.length >= BATCH) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Write a record inside the transaction `tx` (it exists exactly when what `tx` changes does). */
  async recordIn(tx: MetadataStore, record: AuditRecord): Promise<void> {
    await new AuditStore(tx.kysely, tx.dialect).insert([record]);
    this.written++;
  }

  /** Write a record now, outside any transaction. */
  async record(record: AuditRecord): Promise<void> {
    await new AuditStore(this.meta.kysely, this.meta.dialect).insert([record]);
    this.written++;
  }

  /** Write what is buffered; resolves when it is stored (or failed, and was put back). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.meta
      .transaction((tx) => new AuditStore(tx.kysely, tx.dialect).insert(batch))
      .then(
        () => {
          this.written += batch.length;
        },
        (err: unknown) => {
          this.log.error({ err, records: batch.length }, 'audit records not written; will retry');
          this.buffer = batch.concat(this.buffer);
          if (!this.timer) {
            this.timer = setTimeout(() => void this.flush(), 5000);
            this.timer.unref();
          }
        },
      )
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  /** Records matching `q`, newest first (what is still buffered is written first). */
  async query(q: AuditQuery = {}): Promise<AuditRecord[]> {
    await this.flush();
    return new AuditStore(this.meta.kysely, this.meta.dialect).query(q);
  }

  /** Delete the records older than `before` (epoch ms), in bounded batches. Returns how many went. */
  async prune(before: number, signal?: AbortSignal): Promise<number> {
    let removed = 0;
    for (;;) {
      if (signal?.aborted) return removed;
      const n = await this.meta.transaction((tx) => new AuditStore(tx.kysely, tx.dialect).prune(before));
      removed += n;
      if (n === 0) return removed;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
  }
}
