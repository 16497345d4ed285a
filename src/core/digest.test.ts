import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { digestAlgorithm, digestHex, digestOf, isDigest, parseDigest, type Digest } from './digest.js';

const HEX64 = 'a'.repeat(64);
const HEX128 = '0123456789abcdef'.repeat(8);

function thrown(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error('expected the call to throw');
}

describe('parseDigest', () => {
  it.each([
    ['sha256 with 64 lowercase hex', `sha256:${HEX64}`],
    ['sha256 of mixed hex digits', `sha256:${'0123456789abcdef'.repeat(4)}`],
    ['sha512 with 128 lowercase hex', `sha512:${HEX128}`],
  ])('accepts %s', (_label, raw) => {
    expect(parseDigest(raw)).toBe(raw);
  });

  it.each([
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['one uppercase hex digit', `sha256:${'a'.repeat(63)}F`],
    ['sha256 with 63 hex', `sha256:${'a'.repeat(63)}`],
    ['sha256 with 65 hex', `sha256:${'a'.repeat(65)}`],
    ['sha256 with 128 hex', `sha256:${HEX128}`],
    ['sha512 with 64 hex', `sha512:${HEX64}`],
    ['sha512 with 127 hex', `sha512:${HEX128.slice(1)}`],
    ['non-hex characters of the right length', `sha256:${'g'.repeat(64)}`],
    ['an empty encoded part', 'sha256:'],
    ['an uppercase algorithm', `SHA256:${HEX64}`],
    ['no colon', `sha256${HEX64}`],
    ['the hex alone', HEX64],
    ['the empty string', ''],
    ['a second colon', `sha256:${HEX64}:x`],
    ['surrounding whitespace', ` sha256:${HEX64} `],
    ['a path separator', `sha256:../${HEX64}`],
  ])('rejects %s with DIGEST_INVALID', (_label, raw) => {
    expect(thrown(() => parseDigest(raw)).code).toBe('DIGEST_INVALID');
  });

  it.each([
    ['md5', `md5:${'a'.repeat(32)}`],
    ['sha384', `sha384:${'a'.repeat(96)}`],
    ['blake3', `blake3:${HEX64}`],
    ['a registered-looking algorithm with a separator', `sha256+b64u:${HEX64}`],
  ])('rejects the unknown algorithm %s and names the supported ones', (_label, raw) => {
    const err = thrown(() => parseDigest(raw));
    expect(err.code).toBe('DIGEST_INVALID');
    expect(err.message).toContain(raw.slice(0, raw.indexOf(':')));
    expect(err.message).toMatch(/sha256/);
    expect(err.message).toMatch(/sha512/);
  });

  it('says how many hex characters the algorithm needs', () => {
    expect(thrown(() => parseDigest(`sha512:${HEX64}`)).message).toContain('128');
    expect(thrown(() => parseDigest(`sha256:${HEX128}`)).message).toContain('64');
  });

  it('truncates a very long input in its message', () => {
    const err = thrown(() => parseDigest('x'.repeat(10_000)));
    expect(err.message.length).toBeLessThan(200);
  });
});

describe('isDigest', () => {
  it.each([
    [`sha256:${HEX64}`, true],
    [`sha512:${HEX128}`, true],
    [`sha256:${'A'.repeat(64)}`, false],
    [`md5:${'a'.repeat(32)}`, false],
    ['latest', false],
    ['', false],
  ])('%s -> %s', (raw, expected) => {
    expect(isDigest(raw)).toBe(expected);
  });
});

describe('digestOf', () => {
  // Test vectors from FIPS 180-2.
  it.each([
    ['', 'sha256', 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'sha256', 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abc',
      'sha512',
      'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
  ] as const)('digestOf(%j, %s)', (data, algorithm, expected) => {
    expect(digestOf(data, algorithm)).toBe(expected);
    expect(digestOf(Buffer.from(data), algorithm)).toBe(expected);
  });

  it('defaults to sha256 and produces a digest parseDigest accepts', () => {
    const d = digestOf('hello');
    expect(digestAlgorithm(d)).toBe('sha256');
    expect(parseDigest(d)).toBe(d);
    expect(parseDigest(digestOf('hello', 'sha512'))).toMatch(/^sha512:[a-f0-9]{128}$/);
  });

  it('splits a digest into algorithm and hex', () => {
    const d = `sha512:${HEX128}` as Digest;
    expect(digestAlgorithm(d)).toBe('sha512');
    expect(digestHex(d)).toBe(HEX128);
  });
});
