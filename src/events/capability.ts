import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Capability, CapabilityContext } from '../capabilities.js';
import { isBerthError, requestContextOf } from '../core/index.js';
import type { UploadId } from '../storage/blobs/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import { AuditTrail, isAudited, recordOfCall, recordOfEvent, type AuditRecord, type CallOutcome } from '../audit/index.js';
import { collectStatus, StatusStore, type DeploymentStatus } from '../health/index.js';
import { BerthMetrics } from '../metrics/index.js';
import { PermanentJobError } from '../jobs/index.js';
import { deliver, displayUrl, toEcrEvent, wants, WEBHOOK_JOB, type DeliveryPayload } from '../webhooks/index.js';
import type { RegistryEvent } from './bus.js';

/** What the operations capability offers the rest of berth (and tests). */
export interface OperationsService {
  readonly metrics: BerthMetrics;
  readonly audit: AuditTrail;
  /** The summary `berth status` prints. */
  status(): Promise<DeploymentStatus>;
}

declare module '../capabilities.js' {
  interface Services {
    operations: OperationsService;
  }
}

/** Attempts of one webhook delivery: with the runner's backoff (1 s doubling to 5 min) about an hour and a half of retries. */
const DELIVERY_ATTEMPTS = 24;
/** The readiness probe's blob-store check is repeated at most this often. */
const BLOB_CHECK_MS = 5000;

/** The event types of the background capabilities, which are audited as service events. */
function isCapabilityEvent(type: string): boolean {
  return /^(scan|replication|lifecycle|cache)\./.test(type);
}

/**
 * Operations: Prometheus metrics, request ids in the logs and the jobs, the audit trail, ECR
 * events delivered to webhooks, and health endpoints (docs/operations.md).
 */
export const operationsCapability: Capability = {
  name: 'operations',
  async start(ctx: CapabilityContext) {
    const { config, meta, server, jobs, events, log } = ctx;
    const region = config.region;
    const statusStore = new StatusStore(meta.kysely);
    const metrics = new BerthMetrics(
      {
        jobCounts: () => meta.jobs.counts(),
        uploadsInProgress: () => statusStore.uploadsInProgress(),
        storageByAccount: () => statusStore.storageByAccount(),
        now: Date.now,
      },
      { defaultMetrics: ctx.background },
    );
    const audit = new AuditTrail(meta, log);
    ctx.services.operations = { metrics, audit, status: () => collectStatus(meta, config) };

    // ---- who was allowed or denied, and why -------------------------------------------------
    ctx.authorizer.observe((d, request) => {
      const call = request?.call;
      if (!call) return;
      (call.decisions ??= []).push({ action: d.action, resource: d.resource, effect: d.effect, reason: d.reason, ...(d.statement ? { statement: d.statement } : {}) });
    });

    // ---- per request: metrics and the audit record ------------------------------------------
    // Bytes on the wire per request: what the connection carried since the previous response
    // ended (headers included; a request's body may arrive with its headers, before any hook).
    const counted = new WeakMap<object, { read: number; written: number }>();
    const outcomes = new WeakMap<object, Partial<CallOutcome>>();
    server.addHook('onSend', (req, reply, payload, done) => {
      const context = requestContextOf(req.raw);
      const call = context?.call;
      if (call?.door && (typeof payload === 'string' || Buffer.isBuffer(payload)) && payload.length < 65_536) {
        const status = reply.statusCode;
        if (status >= 400) outcomes.set(req.raw, errorOf(call.door, payload.toString()));
        else if (call.door === 'ecr' && payload.length < 4096 && isAudited(call, req.method, status)) {
          try {
            outcomes.set(req.raw, { responseElements: JSON.parse(payload.toString()) as Record<string, unknown> });
          } catch {
            // Not JSON: no responseElements.
          }
        }
      }
      done(null, payload);
    });
    server.addHook('onResponse', (req, reply, done) => {
      try {
        observe(req, reply);
      } catch (err) {
        req.log.error({ err }, 'metrics or audit of a request failed');
      }
      done();
    });
    const observe = (req: FastifyRequest, reply: FastifyReply) => {
      const context = requestContextOf(req.raw);
      const call = context?.call;
      const status = reply.statusCode;
      const door = call?.door ?? 'other';
      const operation = call?.operation ?? (call?.door ? 'unknown' : (req.routeOptions.url ?? 'unmatched'));
      const socket = req.raw.socket as { bytesRead?: number; bytesWritten?: number } | null;
      let bytesIn = 0;
      let bytesOut = 0;
      if (socket && typeof socket.bytesRead === 'number') {
        const before = counted.get(socket) ?? { read: 0, written: 0 };
        const now = { read: socket.bytesRead, written: socket.bytesWritten ?? 0 };
        bytesIn = now.read - before.read;
        bytesOut = now.written - before.written;
        counted.set(socket, now);
      }
      metrics.observeRequest(door, operation, status, reply.elapsedTime / 1000, bytesIn, bytesOut);
      if (context && call && isAudited(call, req.method, status)) {
        const outcome: CallOutcome = { status, ...outcomes.get(req.raw) };
        const ua = req.headers['user-agent'];
        if (typeof ua === 'string') outcome.userAgent = ua;
        audit.add(recordOfCall(context, call, outcome, region, Date.now()));
        metrics.countAudit('request');
      }
    };

    // ---- registry events: metrics, service audit records, webhooks -------------------------
    const seenInTransaction = new WeakSet<RegistryEvent>();
    /** Events that a background capability caused rather than a request (a lifecycle delete, a scan result). */
    const isServiceEvent = (event: RegistryEvent) => isCapabilityEvent(event.type) || (event.type !== 'image.pulled' && !event.byCall);
    const deliveriesOf = async (event: RegistryEvent, db: MetadataStore): Promise<DeliveryPayload[]> => {
      if (config.webhooks.length === 0) return [];
      const ecrEvent = toEcrEvent(await withImageTags(event, db), region);
      if (!ecrEvent) return [];
      return config.webhooks.filter((w) => wants(w, ecrEvent['detail-type'])).map((w) => ({ url: w.url, event: ecrEvent }));
    };
    events.inTransaction(async (tx, event) => {
      seenInTransaction.add(event);
      // Durable with the change: the record and the deliveries exist exactly when it committed.
      if (isServiceEvent(event)) {
        await audit.recordIn(tx, recordOfEvent(event, region));
        metrics.countAudit('service');
      }
      for (const payload of await deliveriesOf(event, tx)) {
        await jobs.enqueue(WEBHOOK_JOB, payload, { maxAttempts: DELIVERY_ATTEMPTS, ...(event.requestId ? { requestId: event.requestId } : {}) }, tx);
      }
    });
    events.on((event) => {
      metrics.countEvent(event.type);
      if (seenInTransaction.has(event)) return;
      // An event emitted outside a transaction (a capability's outcome): recorded and delivered now.
      if (!isCapabilityEvent(event.type)) return;
      void (async () => {
        await audit.record(recordOfEvent(event, region));
        metrics.countAudit('service');
        for (const payload of await deliveriesOf(event, meta)) {
          await jobs.enqueue(WEBHOOK_JOB, payload, { maxAttempts: DELIVERY_ATTEMPTS, ...(event.requestId ? { requestId: event.requestId } : {}) });
        }
      })().catch((err: unknown) => log.error({ err, event: event.type }, 'event not recorded'));
    });

    // ---- webhook deliveries -----------------------------------------------------------------
    jobs.register<DeliveryPayload>({
      kind: WEBHOOK_JOB,
      concurrency: 4,
      maxAttempts: DELIVERY_ATTEMPTS,
      leaseMs: 60_000,
      async run(payload, job, ctl) {
        const webhook = config.webhooks.find((w) => w.url === payload.url);
        if (!webhook) throw new PermanentJobError(`the webhook ${displayUrl(payload.url)} is no longer configured`);
        const result = await deliver(webhook, payload.event, job.attempts, ctl.signal);
        const last = job.attempts >= job.maxAttempts;
        metrics.countDelivery(result.ok ? 'delivered' : last ? 'failed' : 'retry');
        await audit.record(deliveryRecord(payload, job.attempts, result, region, job.requestId)).catch((err: unknown) => ctl.log.error({ err }, 'delivery not audited'));
        if (!result.ok) throw new Error(`webhook ${displayUrl(payload.url)} answered ${result.status ?? result.error}`);
        return { status: result.status, attempts: job.attempts };
      },
    });

    // ---- audit retention --------------------------------------------------------------------
    const retentionMs = config.audit.retentionSeconds * 1000;
    jobs.every({
      name: 'audit.prune',
      intervalMs: retentionMs > 0 ? Math.min(retentionMs, 3600_000) : 0,
      async run(signal) {
        const removed = await audit.prune(Date.now() - retentionMs, signal);
        if (removed > 0) log.info({ removed, retentionSeconds: config.audit.retentionSeconds }, 'audit records pruned');
      },
    });

    // ---- health, readiness, metrics, status -------------------------------------------------
    let closing = false;
    server.addHook('preClose', (done) => {
      closing = true;
      done();
    });
    server.addHook('onClose', async () => {
      await audit.flush();
    });
    let blobCheck: { at: number; ok: Promise<string | undefined> } | undefined;
    const checkBlobs = () => {
      const now = Date.now();
      if (!blobCheck || now - blobCheck.at > BLOB_CHECK_MS) {
        const id = `readyz-${randomUUID()}` as UploadId;
        blobCheck = {
          at: now,
          ok: ctx.blobs.beginUpload(id).then(
            () => ctx.blobs.abort(id).then(() => undefined),
            (err: unknown) => `blob store not writable: ${(err as Error).message}`,
          ),
        };
      }
      return blobCheck.ok;
    };
    server.get('/healthz', async (_req, reply) => reply.code(200).send({ status: 'ok' }));
    server.get('/readyz', async (_req, reply) => {
      const problems: string[] = [];
      if (closing) problems.push('shutting down');
      const db = await statusStore.ping().then(
        () => undefined,
        (err: unknown) => `metadata store not answering: ${(err as Error).message}`,
      );
      if (db) problems.push(db);
      const blobs = await checkBlobs();
      if (blobs) problems.push(blobs);
      return reply.code(problems.length === 0 ? 200 : 503).send(problems.length === 0 ? { status: 'ready' } : { status: 'not ready', problems });
    });
    server.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.code(200).header('content-type', contentType).send(body);
    });
    // The summary of `berth status --url`: the deployment's root credentials only (it names every account).
    server.get('/status', async (req, reply) => {
      try {
        const principal = await ctx.auth.authenticate(req.headers.authorization);
        if (principal.kind !== 'root' || principal.accountId !== config.accountId) {
          return reply.code(403).send({ message: 'berth status needs the root access key of the deployment account' });
        }
      } catch (err) {
        if (isBerthError(err)) return reply.code(401).header('www-authenticate', 'Basic realm="berth"').send({ message: err.message });
        throw err;
      }
      return reply.code(200).send(await collectStatus(meta, config));
    });

    return {
      async close() {
        await audit.close();
      },
    };
  },
};

/** A scan event with the image's tags, as ECR's `ECR Image Scan` event names them (the scanner reports the digest only). */
async function withImageTags(event: RegistryEvent, db: MetadataStore): Promise<RegistryEvent> {
  if (!event.type.startsWith('scan.') || !('detail' in event) || !event.digest || Array.isArray(event.detail['imageTags'])) return event;
  const repo = await db.repositories.get(event.accountId, event.repository);
  if (!repo) return event;
  const tags = (await db.tags.forDigests(repo.id, [event.digest])).get(event.digest) ?? [];
  return { ...event, detail: { ...event.detail, imageTags: tags } };
}

/** The error a response carried, in its protocol's shape (ECR JSON, IAM/STS XML, OCI error JSON). */
function errorOf(door: string, body: string): Partial<CallOutcome> {
  try {
    if (door === 'iam' || door === 'sts') {
      const code = /<Code>([^<]{1,200})<\/Code>/.exec(body)?.[1];
      const message = /<Message>([^<]{0,2000})<\/Message>/.exec(body)?.[1];
      return { ...(code ? { errorCode: code } : {}), ...(message ? { errorMessage: message } : {}) };
    }
    const json = JSON.parse(body) as { __type?: string; message?: string; errors?: { code?: string; message?: string }[] };
    if (json.__type) return { errorCode: json.__type.split('#').at(-1)!, ...(json.message ? { errorMessage: json.message } : {}) };
    const first = json.errors?.[0];
    if (first?.code) return { errorCode: first.code, ...(first.message ? { errorMessage: first.message } : {}) };
  } catch {
    // Not the protocol's error shape: no code.
  }
  return {};
}

/** A delivery attempt, as an audit record (a service event of the account the event belongs to). */
function deliveryRecord(payload: DeliveryPayload, attempt: number, result: { ok: boolean; status?: number; error?: string; durationMs: number }, region: string, requestId: string | null): AuditRecord {
  const event = payload.event;
  const repository = typeof event.detail['repository-name'] === 'string' ? event.detail['repository-name'] : undefined;
  return {
    eventVersion: '1.08',
    eventTime: new Date().toISOString(),
    eventSource: 'webhooks.berth',
    eventName: 'WebhookDelivery',
    awsRegion: region,
    sourceIPAddress: 'webhooks.berth',
    userAgent: 'berth-webhooks/1',
    userIdentity: { type: 'AWSService', invokedBy: 'berth.webhooks', accountId: event.account },
    requestParameters: null,
    responseElements: null,
    ...(result.ok ? {} : { errorCode: result.status ? `HTTP${result.status}` : 'DeliveryFailed', errorMessage: result.error ?? `the receiver answered ${result.status}` }),
    requestID: requestId ?? event.id,
    eventID: randomUUID(),
    readOnly: false,
    resources: repository ? [{ ARN: `arn:aws:ecr:${region}:${event.account}:repository/${repository}`, accountId: event.account, type: 'AWS::ECR::Repository' }] : [],
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: event.account,
    serviceEventDetails: {
      url: displayUrl(payload.url),
      eventId: event.id,
      detailType: event['detail-type'],
      attempt,
      delivered: result.ok,
      ...(result.status ? { status: result.status } : {}),
      durationMs: result.durationMs,
    },
  };
}
