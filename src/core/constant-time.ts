import { timingSafeEqual } from 'node:crypto';

/**
 * Whether `given` equals `expected`, in time independent of where they differ; when the lengths
 * differ it still does one full comparison, so the time reveals only the expected length. For
 * secrets, signatures and MACs: never compare them with `===`.
 */
export function constantTimeEqual(expected: string | Buffer, given: string | Buffer): boolean {
  const a = typeof expected === 'string' ? Buffer.from(expected, 'utf8') : expected;
  const b = typeof given === 'string' ? Buffer.from(given, 'utf8') : given;
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
