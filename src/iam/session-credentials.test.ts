import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../core/index.js';
import type { Principal } from './principal.js';
import { SessionCredentials } from './session-credentials.js';

const KEY = randomBytes(32);
const USER: Principal = { kind: 'user', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/ci', accessKeyId: 'AKIAEXAMPLE000000001', userName: 'ci' };
const NOW = 1_800_000_000_000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof BerthError) return err.code;
    throw err;
  }
  return undefined;
}

describe('SessionCredentials', () => {
  const sessions = new SessionCredentials(KEY);

  it('issues an ASIA key whose token opens to the same secret, identity and expiry', () => {
    const creds = sessions.issue(USER, USER.accessKeyId, NOW, 3600_000);
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds.expiresAt).toBe(NOW + 3600_000);
    const claims = sessions.open(creds.accessKeyId, creds.sessionToken, NOW + 1000);
    expect(claims.secretAccessKey).toBe(creds.secretAccessKey);
    expect(claims.principal).toEqual(USER);
    expect(claims.sourceAccessKeyId).toBe(USER.accessKeyId);
  });

  it('keeps the secret out of the token text', () => {
    const creds = sessions.issue(USER, USER.accessKeyId, NOW, 3600_000);
    expect(Buffer.from(creds.sessionToken, 'base64url').toString('latin1')).not.toContain(creds.secretAccessKey);
  });

  it('refuses a token once expired, with TOKEN_EXPIRED', () => {
    const creds = sessions.issue(USER, USER.accessKeyId, NOW, 900_000);
    expect(codeOf(() => sessions.open(creds.accessKeyId, creds.sessionToken, NOW + 899_999))).toBeUndefined();
    expect(codeOf(() => sessions.open(creds.accessKeyId, creds.sessionToken, NOW + 900_000))).toBe('TOKEN_EXPIRED');
  });

  it('refuses an altered token, a token of another key id, a token from another master key, and garbage', () => {
    const creds = sessions.issue(USER, USER.accessKeyId, NOW, 3600_000);
    const other = sessions.issue(USER, USER.accessKeyId, NOW, 3600_000);
    const raw = Buffer.from(creds.sessionToken, 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(codeOf(() => sessions.open(creds.accessKeyId, raw.toString('base64url'), NOW))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => sessions.open(other.accessKeyId, creds.sessionToken, NOW))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => new SessionCredentials(randomBytes(32)).open(creds.accessKeyId, creds.sessionToken, NOW))).toBe('UNAUTHENTICATED');
    for (const junk of ['', 'x', 'not base64 !', 'A'.repeat(60)]) {
      expect(codeOf(() => sessions.open(creds.accessKeyId, junk, NOW)), junk).toBe('UNAUTHENTICATED');
    }
  });

  it('does not carry the session marker into a session of its own', () => {
    const creds = sessions.issue({ ...USER, viaSession: true }, USER.accessKeyId, NOW, 3600_000);
    expect(sessions.open(creds.accessKeyId, creds.sessionToken, NOW).principal).not.toHaveProperty('viaSession');
  });
});
