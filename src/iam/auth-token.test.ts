import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthTokenSigner, DEFAULT_TOKEN_TTL_MS, TokenError, type TokenClaims, type TokenErrorKind } from './auth-token.js';

const KEY = Buffer.alloc(32, 7);
const REGION = 'eu-west-1';
const NOW = 1_790_000_000_000;
const USER: Omit<TokenClaims, 'issuedAt' | 'expiresAt'> = {
  accountId: '111122223333',
  arn: 'arn:aws:iam::111122223333:user/ci-bot',
  accessKeyId: 'AKIAUSERKEY000000001',
  kind: 'user',
  userName: 'ci-bot',
  region: REGION,
};

const signer = new AuthTokenSigner(KEY);

function rejects(fn: () => unknown, kind: TokenErrorKind): TokenError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).kind).toBe(kind);
    expect((err as TokenError).code).toBe('UNAUTHENTICATED');
    return err as TokenError;
  }
  throw new Error(`expected TokenError ${kind}`);
}

/** A token over any payload text, signed with the right key: reaches the claim checks. */
function signedPayload(json: string | Buffer, key = KEY): string {
  const payload = Buffer.from(json).toString('base64url');
  return `${payload}.${createHmac('sha256', key).update(`berth-token-v1.${payload}`).digest('base64url')}`;
}

describe('AuthTokenSigner', () => {
  it('round-trips the claims, with a 12-hour default lifetime', () => {
    const token = signer.issue(USER, NOW);
    expect(signer.verify(token, NOW, REGION)).toEqual({ ...USER, issuedAt: NOW, expiresAt: NOW + 12 * 3600_000 });
    expect(DEFAULT_TOKEN_TTL_MS).toBe(12 * 3600_000);
  });

  it('round-trips root and assumed-role principals, without a user name', () => {
    const root = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root', accessKeyId: 'AKIAROOT000000000001', kind: 'root', region: REGION } as const;
    expect(signer.verify(signer.issue(root, NOW, 60_000), NOW, REGION)).toEqual({ ...root, issuedAt: NOW, expiresAt: NOW + 60_000 });
    const role = { ...root, arn: 'arn:aws:sts::111122223333:assumed-role/deploy/session-1', accessKeyId: 'ASIATEMP000000000001', kind: 'assumed-role' } as const;
    const claims = signer.verify(signer.issue(role, NOW), NOW, REGION);
    expect(claims.kind).toBe('assumed-role');
    expect(claims).not.toHaveProperty('userName');
  });

  it('is accepted by another signer holding the same key (another node)', () => {
    expect(new AuthTokenSigner(Buffer.from(KEY)).verify(signer.issue(USER, NOW), NOW + 1, REGION).arn).toBe(USER.arn);
  });

  it('is valid until just before expiresAt, and expired from then on', () => {
    const token = signer.issue(USER, NOW, 1000);
    signer.verify(token, NOW + 999, REGION);
    expect(rejects(() => signer.verify(token, NOW + 1000, REGION), 'expired').message).toBe('the authorization token has expired');
    rejects(() => signer.verify(token, NOW + 10 * 86_400_000, REGION), 'expired');
  });

  it('rejects a token for another region', () => {
    const err = rejects(() => signer.verify(signer.issue(USER, NOW), NOW, 'us-east-1'), 'wrong-region');
    expect(err.message).toContain('eu-west-1');
  });

  it('rejects a token issued under another key', () => {
    const other = new AuthTokenSigner(randomBytes(32));
    rejects(() => signer.verify(other.issue(USER, NOW), NOW, REGION), 'bad-signature');
  });

  it('rejects a tampered payload, even one that is valid JSON', () => {
    const token = signer.issue(USER, NOW);
    const [, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ a: '999999999999', p: 'arn:aws:iam::999999999999:root', k: 'AKIAX', t: 'root', r: REGION, i: NOW, e: NOW + 1e9 })).toString('base64url');
    rejects(() => signer.verify(`${forged}.${signature}`, NOW, REGION), 'bad-signature');
    // One character changed anywhere in the payload.
    for (const i of [0, 10, token.indexOf('.') - 1]) {
      const c = token[i] === 'A' ? 'B' : 'A';
      rejects(() => signer.verify(token.slice(0, i) + c + token.slice(i + 1), NOW, REGION), 'bad-signature');
    }
  });

  it('rejects a tampered, truncated or extended signature', () => {
    const token = signer.issue(USER, NOW);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    rejects(() => signer.verify(token.slice(0, -1) + last, NOW, REGION), 'bad-signature');
    rejects(() => signer.verify(token.slice(0, -1), NOW, REGION), 'bad-signature');
    rejects(() => signer.verify(`${token}A`, NOW, REGION), 'bad-signature');
  });

  it('checks the signature before reading the payload', () => {
    // Garbage claims under a bad signature are a bad signature, not malformed: nothing unsigned is parsed.
    rejects(() => signer.verify(`${Buffer.from('not json').toString('base64url')}.${'A'.repeat(43)}`, NOW, REGION), 'bad-signature');
  });

  it('never contains a colon or anything outside base64url and one dot', () => {
    for (let i = 0; i < 500; i++) {
      const name = randomBytes(randomInt(1, 40)).toString('latin1');
      const token = signer.issue(
        { ...USER, arn: `arn:aws:iam::111122223333:user/${name}:x`, userName: `${name}:ü:`, accessKeyId: randomBytes(10).toString('hex') },
        NOW + i,
        randomInt(1, DEFAULT_TOKEN_TTL_MS),
      );
      expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
      expect(token).not.toContain(':');
      expect(signer.verify(token, NOW + i, REGION).userName).toBe(`${name}:ü:`);
      // What GetAuthorizationToken returns, decoded the way the aws CLI does: split on the first ':'.
      const decoded = Buffer.from(Buffer.from(`AWS:${token}`).toString('base64'), 'base64').toString('utf8');
      expect(decoded.split(':')).toEqual(['AWS', token]);
    }
  });

  it('stays compact', () => {
    expect(signer.issue(USER, NOW).length).toBeLessThan(300);
  });

  it.each<[string, string]>([
    ['an empty token', ''],
    ['no dot', 'abcdef'],
    ['two dots', 'abc.def.ghi'],
    ['an empty payload', '.abc'],
    ['an empty signature', 'abc.'],
    ['a lone dot', '.'],
    ['standard base64 characters', 'ab+/.abc'],
    ['padding', 'abcd==.abc'],
    ['a colon', 'AWS:abc.def'],
    ['whitespace', 'abc .def'],
    ['a payload of impossible length', 'abcde.abc'],
    ['an enormous token', `${'A'.repeat(5000)}.${'A'.repeat(43)}`],
  ])('rejects %s as malformed', (_label, token) => {
    rejects(() => signer.verify(token, NOW, REGION), 'malformed');
  });

  it('rejects a non-string as malformed', () => {
    rejects(() => signer.verify(undefined as unknown as string, NOW, REGION), 'malformed');
  });

  const valid = { a: '111122223333', p: 'arn:aws:iam::111122223333:root', k: 'AKIA1', t: 'root', r: REGION, i: NOW, e: NOW + 1000 };

  it('accepts a hand-made token with every field right (the fixture below is sound)', () => {
    expect(signer.verify(signedPayload(JSON.stringify(valid)), NOW, REGION).accountId).toBe('111122223333');
  });

  it.each<[string, string | Buffer]>([
    ['text that is not JSON', 'not json'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['a JSON string', '"claims"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['a JSON array', JSON.stringify([valid])],
    ['an empty object', '{}'],
    ...(['a', 'p', 'k', 't', 'r', 'i', 'e'] as const).map((field): [string, string] => {
      const { [field]: _dropped, ...rest } = valid;
      return [`claims without ${field}`, JSON.stringify(rest)];
    }),
    ['an empty account id', JSON.stringify({ ...valid, a: '' })],
    ['a numeric account id', JSON.stringify({ ...valid, a: 111122223333 })],
    ['an unknown kind', JSON.stringify({ ...valid, t: 'admin' })],
    ['a non-string user name', JSON.stringify({ ...valid, u: 7 })],
    ['a fractional time', JSON.stringify({ ...valid, e: NOW + 0.5 })],
    ['a string time', JSON.stringify({ ...valid, e: String(NOW + 1000) })],
    ['an expiry not after issue', JSON.stringify({ ...valid, e: NOW })],
  ])('rejects a signed payload of %s as malformed', (_label, json) => {
    rejects(() => signer.verify(signedPayload(json), NOW, REGION), 'malformed');
  });

  it('does not echo the token in any message', () => {
    const token = signer.issue(USER, NOW, 1000);
    for (const fn of [
      () => signer.verify(token, NOW + 1000, REGION),
      () => signer.verify(token, NOW, 'us-east-1'),
      () => signer.verify(`${token}x`, NOW, REGION),
      () => signer.verify(`${token}.x`, NOW, REGION),
    ]) {
      try {
        fn();
      } catch (err) {
        expect((err as Error).message).not.toContain(token.slice(0, 20));
        continue;
      }
      throw new Error('expected a rejection');
    }
  });

  it('refuses a key that is not 32 bytes, and nonsense lifetimes or claims', () => {
    expect(() => new AuthTokenSigner(Buffer.alloc(16))).toThrow(RangeError);
    expect(() => signer.issue(USER, NOW, 0)).toThrow(RangeError);
    expect(() => signer.issue(USER, NOW, 1.5)).toThrow(RangeError);
    expect(() => signer.issue(USER, Number.NaN)).toThrow(RangeError);
    expect(() => signer.issue({ ...USER, region: '' }, NOW)).toThrow(TypeError);
    expect(() => signer.issue({ ...USER, kind: 'admin' as 'user' }, NOW)).toThrow(TypeError);
  });

  it('does not share state with the key buffer it was given', () => {
    const key = Buffer.from(KEY);
    const own = new AuthTokenSigner(key);
    const token = own.issue(USER, NOW);
    key.fill(0);
    expect(own.verify(token, NOW, REGION).arn).toBe(USER.arn);
  });
});
