import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Webhook } from '../config/index.js';
import type { EcrEvent } from './eventbridge.js';

export const WEBHOOK_JOB = 'webhook.deliver';

/** A delivery job: which webhook (by URL; its secret stays in the configuration) and the event. */
export interface DeliveryPayload {
  url: string;
  event: EcrEvent;
}

/** Headers of a delivery. */
export const SIGNATURE_HEADER = 'x-berth-signature';
export const TIMESTAMP_HEADER = 'x-berth-timestamp';

/**
 * The signature of a delivery: HMAC-SHA256 under the webhook's secret over `<timestamp>.<body>`,
 * as `sha256=<hex>`. The timestamp (Unix seconds, sent in `X-Berth-Timestamp`) is signed so that
 * a receiver can refuse an old delivery replayed at it (docs/operations.md shows the check).
 */
export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A receiver's check: the signature matches and the timestamp is within `toleranceSeconds` of now. */
export function verifySignature(secret: string, headers: { signature?: string; timestamp?: string }, body: string, opts: { toleranceSeconds?: number; now?: number } = {}): boolean {
  const ts = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(ts)) return false;
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(sign(secret, ts, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Whether `webhook` wants events of this detail-type. */
export function wants(webhook: Webhook, detailType: string): boolean {
  return !webhook.events || webhook.events.includes(detailType);
}

/** What one attempt did. */
export interface AttemptResult {
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
}

/** One attempt to deliver: POST the event, signed; any 2xx is success. */
export async function deliver(webhook: Webhook, event: EcrEvent, attempt: number, signal: AbortSignal, timeoutMs = 10_000): Promise<AttemptResult> {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'berth-webhooks/1',
    'x-berth-event-id': event.id,
    'x-berth-event-type': event['detail-type'],
    'x-berth-delivery-attempt': String(attempt),
    [TIMESTAMP_HEADER]: String(timestamp),
  };
  if (webhook.secret) headers[SIGNATURE_HEADER] = sign(webhook.secret, timestamp, body);
  const started = Date.now();
  try {
    const res = await fetch(webhook.url, { method: 'POST', headers, body, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), redirect: 'manual' });
    // The body is not used; read it so that the connection is released.
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.status >= 200 && res.status < 300, status: res.status, durationMs: Date.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: cause?.code ?? cause?.message ?? (err as Error).message, durationMs: Date.now() - started };
  }
}

/** The URL as records show it: without credentials or query string (which may carry a token). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
