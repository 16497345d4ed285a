import { describe, expect, it } from 'vitest';
import { BerthError } from '../core/index.js';
import { RateLimiter } from './rate-limiter.js';

function limiter(rates: Record<string, number>) {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new RateLimiter(new Map(Object.entries(rates)), { now: () => clock.now }) };
}

function throttled(fn: () => void): BerthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('THROTTLED');
    return err as BerthError;
  }
  throw new Error('expected THROTTLED');
}

describe('RateLimiter', () => {
  it('lets a burst of one second through, then refuses until tokens come back', () => {
    const { clock, limiter: l } = limiter({ PutImage: 10 });
    for (let i = 0; i < 10; i++) l.admit('111111111111', 'PutImage');
    const err = throttled(() => l.admit('111111111111', 'PutImage'));
    expect(err.message).toMatch(/PutImage is limited to 10 requests per second/);
    expect(err.detail).toEqual({ operation: 'PutImage', limit: 10, retryAfterSeconds: 1 });
    clock.now += 100; // one token
    l.admit('111111111111', 'PutImage');
    throttled(() => l.admit('111111111111', 'PutImage'));
    clock.now += 10_000; // refills up to the burst, not beyond
    for (let i = 0; i < 10; i++) l.admit('111111111111', 'PutImage');
    throttled(() => l.admit('111111111111', 'PutImage'));
  });

  it('keeps a bucket per account and per operation', () => {
    const { limiter: l } = limiter({ PutImage: 1, InitiateLayerUpload: 1 });
    l.admit('111111111111', 'PutImage');
    throttled(() => l.admit('111111111111', 'PutImage'));
    l.admit('222222222222', 'PutImage');
    l.admit('111111111111', 'InitiateLayerUpload');
  });

  it('does not limit operations without a rate, or with a rate of 0', () => {
    const { limiter: l } = limiter({ PutImage: 0 });
    for (let i = 0; i < 10_000; i++) {
      l.admit('111111111111', 'PutImage');
      l.admit('111111111111', 'DescribeImages');
    }
  });

  it('sustains the configured rate over time', () => {
    const { clock, limiter: l } = limiter({ BatchGetImage: 50 });
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms += 5) {
      clock.now += 5;
      try {
        l.admit('111111111111', 'BatchGetImage');
        admitted++;
      } catch {
        // throttled
      }
    }
    // 10 s at 50/s, plus the initial burst.
    expect(admitted).toBeGreaterThanOrEqual(500);
    expect(admitted).toBeLessThanOrEqual(551);
  });

  it('suggests how long to wait for a slow rate', () => {
    const { limiter: l } = limiter({ PutImage: 0.25 });
    l.admit('111111111111', 'PutImage');
    expect(throttled(() => l.admit('111111111111', 'PutImage')).detail?.['retryAfterSeconds']).toBe(4);
  });
});
