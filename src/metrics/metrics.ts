import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobCounts } from '../storage/metadata/index.js';

/** What the metrics read on each scrape (cheap queries; storage per account is cached). */
export interface MetricSources {
  jobCounts(): Promise<JobCounts[]>;
  uploadsInProgress(): Promise<number>;
  storageByAccount(): Promise<{ accountId: string; bytes: number }[]>;
  now(): number;
}

/** How long the storage figures are reused: summing the blobs of every account is the one costly query. */
const STORAGE_TTL_MS = 60_000;

/**
 * berth's Prometheus metrics, in a registry of their own (several servers may run in one process,
 * as tests do). Counters move on the request path (a few label lookups per request); gauges of
 * the queue, uploads and storage are computed when Prometheus scrapes.
 */
export class BerthMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'door' | 'operation' | 'status'>;
  private readonly duration: Histogram<'door' | 'operation'>;
  private readonly bytesIn: Counter<'door'>;
  private readonly bytesOut: Counter<'door'>;
  private readonly events: Counter<'type'>;
  private readonly outcomes: Counter<'capability' | 'outcome'>;
  private readonly deliveries: Counter<'result'>;
  private readonly auditRecords: Counter<'kind'>;
  private jobCounts: Promise<JobCounts[]> | undefined;
  private storageCache: { at: number; value: Promise<{ accountId: string; bytes: number }[]> } | undefined;

  constructor(sources: MetricSources, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
    this.requests = new Counter({ name: 'berth_http_requests_total', help: 'HTTP requests answered, by door (oci, ecr, iam, sts, other), operation and status.', labelNames: ['door', 'operation', 'status'], registers });
    this.duration = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'Time from request to response, by door and operation.',
      labelNames: ['door', 'operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.bytesIn = new Counter({ name: 'berth_http_received_bytes_total', help: 'Request body bytes received, by door.', labelNames: ['door'], registers });
    this.bytesOut = new Counter({ name: 'berth_http_sent_bytes_total', help: 'Response bytes sent (headers and body), by door.', labelNames: ['door'], registers });
    this.events = new Counter({ name: 'berth_events_total', help: 'Registry events, by type (image.pushed, scan.completed, lifecycle.expired, ...).', labelNames: ['type'], registers });
    this.outcomes = new Counter({
      name: 'berth_background_outcomes_total',
      help: 'Outcomes of scans, replications, lifecycle actions and pull-through cache fills (the event type after the dot).',
      labelNames: ['capability', 'outcome'],
      registers,
    });
    this.deliveries = new Counter({ name: 'berth_webhook_deliveries_total', help: 'Webhook delivery attempts, by result (delivered, retry, failed).', labelNames: ['result'], registers });
    this.auditRecords = new Counter({ name: 'berth_audit_records_total', help: 'Audit records queued, by kind (request, service).', labelNames: ['kind'], registers });

    // The three job gauges share one query per scrape (`render` forgets it first).
    const jobs = () => (this.jobCounts ??= sources.jobCounts());
    new Gauge({
      name: 'berth_jobs',
      help: 'Jobs in the durable queue, by kind and state (queued, running, done, failed).',
      labelNames: ['kind', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const c of await jobs()) this.set({ kind: c.kind, state: c.state }, c.count);
      },
    });
    new Gauge({
      name: 'berth_job_queue_depth',
      help: 'Jobs waiting or running, by kind.',
      labelNames: ['kind'],
      registers,
      async collect() {
        this.reset();
        const depth = new Map<string, number>();
        for (const c of await jobs()) if (c.state === 'queued' || c.state === 'running') depth.set(c.kind, (depth.get(c.kind) ?? 0) + c.count);
        for (const [kind, n] of depth) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'berth_job_oldest_age_seconds',
      help: 'Age of the oldest queued job (since it became due), by kind.',
      labelNames: ['kind'],
      registers,
      async collect() {
        this.reset();
        const now = sources.now();
        for (const c of await jobs()) if (c.state === 'queued') this.set({ kind: c.kind }, Math.max(0, (now - c.oldestRunAt) / 1000));
      },
    });
    new Gauge({
      name: 'berth_uploads_in_progress',
      help: 'Upload sessions open (started and neither completed nor cancelled).',
      registers,
      async collect() {
        this.set(await sources.uploadsInProgress());
      },
    });
    const storage = () => {
      const now = sources.now();
      if (!this.storageCache || now - this.storageCache.at > STORAGE_TTL_MS) {
        const value = sources.storageByAccount();
        this.storageCache = { at: now, value };
        value.catch(() => (this.storageCache = undefined));
      }
      return this.storageCache.value;
    };
    new Gauge({
      name: 'berth_storage_bytes',
      help: 'Bytes of the blobs each account references (a blob shared by two accounts counts in both; refreshed at most every minute).',
      labelNames: ['account'],
      registers,
      async collect() {
        this.reset();
        for (const s of await storage()) this.set({ account: s.accountId }, s.bytes);
      },
    });
  }

  /** One answered request. */
  observeRequest(door: string, operation: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.requests.inc({ door, operation, status: String(status) });
    this.duration.observe({ door, operation }, seconds);
    if (bytesIn > 0) this.bytesIn.inc({ door }, bytesIn);
    if (bytesOut > 0) this.bytesOut.inc({ door }, bytesOut);
  }

  /** One registry event; the background capabilities' ones also count as outcomes. */
  countEvent(type: string): void {
    this.events.inc({ type });
    const dot = type.indexOf('.');
    const capability = type.slice(0, dot);
    if (capability === 'scan' || capability === 'replication' || capability === 'lifecycle' || capability === 'cache') {
      this.outcomes.inc({ capability, outcome: type.slice(dot + 1) });
    }
  }

  countDelivery(result: 'delivered' | 'retry' | 'failed'): void {
    this.deliveries.inc({ result });
  }

  countAudit(kind: 'request' | 'service'): void {
    this.auditRecords.inc({ kind });
  }

  /** The text exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.jobCounts = undefined;
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
