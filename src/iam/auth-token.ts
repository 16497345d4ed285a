import { createHmac } from 'node:crypto';
import { BerthError, constantTimeEqual } from '../core/index.js';

/**
 * ECR authorization tokens: the password of `docker login -u AWS`, returned base64-encoded as
 * `AWS:<token>` by GetAuthorizationToken (ECR API reference, AuthorizationData). berth's token is
 * self-describing and signed, so any node holding the same key accepts it without a lookup:
 *
 *     base64url(JSON claims) '.' base64url(HMAC-SHA256(key, 'berth-token-v1.' + payload))
 *
 * Only base64url characters and one '.', so never a ':' (the aws CLI and docker split the decoded
 * `AWS:<password>` on the first ':') and nothing HTTP Basic or a shell would mangle. The claims use
 * one-letter keys to keep the token short, since docker stores it in config.json.
 */

export interface TokenClaims {
  accountId: string;
  arn: string;
  accessKeyId: string;
  kind: 'root' | 'user' | 'assumed-role';
  userName?: string;
  /** An assumed-role session's role (name, ARN with path, AROA id) and session name. */
  role?: { name: string; arn: string; id: string; session: string };
  region: string;
  /** ms since the epoch */
  issuedAt: number;
  /** ms since the epoch; the token is valid while now < expiresAt */
  expiresAt: number;
}

export type TokenErrorKind = 'malformed' | 'bad-signature' | 'expired' | 'wrong-region';

/** A token that does not authenticate. An UNAUTHENTICATED BerthError; the message never quotes the token. */
export class TokenError extends BerthError {
  constructor(
    readonly kind: TokenErrorKind,
    message: string,
  ) {
    super('UNAUTHENTICATED', message);
  }
}

/** ECR's token lifetime: 12 hours. */
export const DEFAULT_TOKEN_TTL_MS = 12 * 3600_000;

const DOMAIN = 'berth-token-v1.';
const KINDS: readonly TokenClaims['kind'][] = ['root', 'user', 'assumed-role'];
/** Far above any real token (claims are a few hundred bytes); bounds the work on garbage input. */
const MAX_TOKEN_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The claims on the wire. */
interface WireClaims {
  a: string; // accountId
  p: string; // arn (principal)
  k: string; // accessKeyId
  t: TokenClaims['kind'];
  u?: string; // userName
  o?: [string, string, string, string]; // role: name, arn, id, session
  r: string; // region
  i: number; // issuedAt
  e: number; // expiresAt
}

/**
 * Issues and verifies authorization tokens under one 32-byte key, derived by the caller from the
 * master key (HKDF-SHA256, info 'berth auth-token v1'), so every node of a deployment agrees.
 */
export class AuthTokenSigner {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('an auth-token key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  /** A token for `claims`, valid from `now` (ms) for `ttlMs`. */
  issue(claims: Omit<TokenClaims, 'issuedAt' | 'expiresAt'>, now: number, ttlMs = DEFAULT_TOKEN_TTL_MS): string {
    if (!Number.isSafeInteger(now) || now < 0) throw new RangeError('now must be a non-negative integer of ms');
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer');
    for (const field of ['accountId', 'arn', 'accessKeyId', 'region'] as const) {
      if (typeof claims[field] !== 'string' || claims[field] === '') throw new TypeError(`token claim ${field} must be a non-empty string`);
    }
    if (!KINDS.includes(claims.kind)) throw new TypeError(`token claim kind must be one of ${KINDS.join(', ')}`);
    const wire: WireClaims = {
      a: claims.accountId,
      p: claims.arn,
      k: claims.accessKeyId,
      t: claims.kind,
      ...(claims.userName !== undefined ? { u: claims.userName } : {}),
      ...(claims.role ? { o: [claims.role.name, claims.role.arn, claims.role.id, claims.role.session] as [string, string, string, string] } : {}),
      r: claims.region,
      i: now,
      e: now + ttlMs,
    };
    const payload = Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /**
   * The claims of a token this key issued, if it is still valid at `now` (ms) and was issued for
   * `expectedRegion`. The signature is checked, in constant time, before the payload is parsed.
   * Throws TokenError: 'malformed', 'bad-signature', 'expired' or 'wrong-region'.
   */
  verify(token: string, now: number, expectedRegion: string): TokenClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw malformed();
    const dot = token.indexOf('.');
    if (dot < 0 || dot !== token.lastIndexOf('.')) throw malformed();
    const payload = token.slice(0, dot);
    const signature = token.slice(dot + 1);
    // A base64 string of length 4n+1 encodes no whole byte: not something issue() produces.
    if (!BASE64URL.test(payload) || !BASE64URL.test(signature) || payload.length % 4 === 1) throw malformed();

    if (!constantTimeEqual(this.mac(payload), signature)) {
      throw new TokenError('bad-signature', 'the authorization token was not issued by this registry, or was altered');
    }
    const claims = decodeClaims(payload);
    if (!claims) throw malformed();
    if (!(now < claims.expiresAt)) throw new TokenError('expired', 'the authorization token has expired');
    if (claims.region !== expectedRegion) {
      throw new TokenError('wrong-region', `the authorization token was issued for region ${claims.region}, not ${expectedRegion}`);
    }
    return claims;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(DOMAIN).update(payload).digest('base64url');
  }
}

function malformed(): TokenError {
  return new TokenError('malformed', 'the authorization token is malformed');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeClaims(payload: string): TokenClaims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(Buffer.from(payload, 'base64url')));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const w = value as Partial<Record<keyof WireClaims, unknown>>;
  const text = (v: unknown): v is string => typeof v === 'string' && v !== '';
  const time = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!text(w.a) || !text(w.p) || !text(w.k) || !text(w.r) || !time(w.i) || !time(w.e) || w.e <= w.i) return undefined;
  if (!KINDS.includes(w.t as TokenClaims['kind'])) return undefined;
  if (w.u !== undefined && typeof w.u !== 'string') return undefined;
  if (w.o !== undefined && !(Array.isArray(w.o) && w.o.length === 4 && w.o.every(text))) return undefined;
  const role = w.o as [string, string, string, string] | undefined;
  return {
    accountId: w.a,
    arn: w.p,
    accessKeyId: w.k,
    kind: w.t as TokenClaims['kind'],
    ...(w.u !== undefined ? { userName: w.u } : {}),
    ...(role ? { role: { name: role[0], arn: role[1], id: role[2], session: role[3] } } : {}),
    region: w.r,
    issuedAt: w.i,
    expiresAt: w.e,
  };
}

