import { BerthError } from '../core/index.js';

/** Buckets kept at most; past it the least recently used are forgotten (and start full again). */
const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/**
 * ECR's per-account request-rate quotas (ECR service quotas: "Rate of PutImage requests" and the
 * like), as token buckets in memory: each (account, operation) pair has a bucket that holds up to
 * one second's worth of requests and refills at the rate. Checked on every request of both doors,
 * so it costs a Map lookup and a little arithmetic, nothing more; with several nodes each enforces
 * the rate on its own. Operations without a rate, and rates of 0, are not limited.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  /** `rates`: requests per second by operation name. */
  constructor(
    private readonly rates: ReadonlyMap<string, number>,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Count one request of `operation` (an ECR operation name, e.g. `PutImage`) by `accountId`.
   * Throws THROTTLED, with `retryAfterSeconds` in the detail, when the account is over its rate.
   */
  admit(accountId: string, operation: string): void {
    const rate = this.rates.get(operation) ?? 0;
    if (!(rate > 0)) return;
    // A second's worth of requests, and at least one.
    const capacity = Math.max(1, rate);
    const key = `${operation} ${accountId}`;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * rate) / 1000);
      bucket.at = now;
    } else {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: capacity, at: now };
    }
    // Re-inserted: Map order is then least recently used first.
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
      throw new BerthError('THROTTLED', `Rate exceeded: ${operation} is limited to ${rate} requests per second for account ${accountId}`, {
        operation,
        limit: rate,
        retryAfterSeconds,
      });
    }
    bucket.tokens -= 1;
  }
}
