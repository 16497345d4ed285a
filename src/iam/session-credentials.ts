import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BerthError } from '../core/index.js';
import { generateSecretAccessKey } from './credentials.js';
import type { Principal } from './principal.js';

/** What a session token carries: the temporary key pair, whose identity it acts as, until when. */
export interface SessionClaims {
  /** The temporary access key id (`ASIA…`) the token belongs to. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The long-term key that requested the session: when it is deactivated, the session ends too. */
  readonly sourceAccessKeyId: string;
  readonly principal: Principal;
  readonly expiresAt: number;
}

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiresAt: number;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * Temporary credentials (STS GetSessionToken) without server-side state: the session token is
 * the claims, AES-256-GCM encrypted under a key derived from the master key, so every node can
 * open it and nothing else can read the secret inside or forge one. A request signed with an
 * `ASIA…` key must carry its token (X-Amz-Security-Token); the token names that key id, so a
 * token cannot be reused with another key.
 */
export class SessionCredentials {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a session-token key is 32 bytes');
  }

  issue(caller: Principal, sourceAccessKeyId: string, now: number, durationMs: number): TemporaryCredentials {
    const { viaSession: _, ...principal } = caller;
    let accessKeyId = 'ASIA';
    for (const byte of randomBytes(16)) accessKeyId += ALPHABET[byte % 32];
    const claims: SessionClaims = {
      accessKeyId,
      secretAccessKey: generateSecretAccessKey(),
      sourceAccessKeyId,
      principal,
      expiresAt: now + durationMs,
    };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
    const sessionToken = Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url');
    return { accessKeyId, secretAccessKey: claims.secretAccessKey, sessionToken, expiresAt: claims.expiresAt };
  }

  /**
   * The claims of `sessionToken` for `accessKeyId`. Throws UNAUTHENTICATED for a token that is
   * malformed, altered, or of another key, and TOKEN_EXPIRED once it has expired.
   */
  open(accessKeyId: string, sessionToken: string, now: number): SessionClaims {
    const invalid = () => new BerthError('UNAUTHENTICATED', 'The security token included in the request is invalid.');
    const raw = Buffer.from(sessionToken, 'base64url');
    if (raw.length < 12 + 16 + 2 || raw.toString('base64url') !== sessionToken) throw invalid();
    let claims: SessionClaims;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12), { authTagLength: 16 });
      decipher.setAuthTag(raw.subarray(12, 28));
      claims = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as SessionClaims;
    } catch {
      throw invalid();
    }
    if (claims.accessKeyId !== accessKeyId) throw invalid();
    if (claims.expiresAt <= now) throw new BerthError('TOKEN_EXPIRED', 'The security token included in the request is expired');
    return claims;
  }
}
