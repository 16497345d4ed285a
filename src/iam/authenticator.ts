import { createHash } from 'node:crypto';
import { BerthError, constantTimeEqual } from '../core/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import type { Principal } from './principal.js';
import type { SecretBox } from './secret-box.js';
import type { AccessKeyRow } from '../storage/metadata/index.js';
import { AuthTokenSigner, TokenError } from './auth-token.js';
import { SessionCredentials, type TemporaryCredentials } from './session-credentials.js';
import { parseAuthorization, verifySignature, type SignedRequest } from './sigv4.js';

/** How long a verified Authorization header is remembered: bounds the staleness of a revoked key. */
const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;

/**
 * Resolves callers to principals and decides whether they may act. Until the ECR token flow and the
 * policy engine land (#3, #4), the OCI door takes HTTP Basic with an access key id and its secret,
 * and a principal may act only inside its own account.
 */
export class Authenticator {
  /** Verified headers by their sha256, so a secret never sits in memory as a map key. */
  private readonly cache = new Map<string, { principal: Principal; expires: number }>();

  private readonly tokens: AuthTokenSigner;
  private readonly sessions: SessionCredentials;

  constructor(
    private readonly meta: MetadataStore,
    private readonly box: SecretBox,
    private readonly region: string,
  ) {
    this.tokens = new AuthTokenSigner(box.deriveKey('berth auth-token v1'));
    this.sessions = new SessionCredentials(box.deriveKey('berth session-token v1'));
  }

  /**
   * The principal of a SigV4-signed request (the ECR, IAM and STS doors). The signature must be
   * scoped to one of `opts.regions` (default: this deployment's region) and one of `services`, and
   * cover `host`. The key's status is read on every call, so a deactivated key fails at once.
   * Throws SigV4Error (bad or missing signature) or UNAUTHENTICATED (unknown or inactive key).
   */
  async authenticateSigned(
    req: SignedRequest,
    services: readonly string[],
    opts: { requireSignedHeaders?: readonly string[]; regions?: readonly string[] } = {},
  ): Promise<Principal> {
    const parsed = parseAuthorization(req);
    let secret: string;
    let principal: Principal;
    if (parsed.accessKeyId.startsWith('ASIA')) {
      // Temporary credentials: the token carries the secret and the identity (see SessionCredentials).
      if (parsed.sessionToken === undefined) throw new BerthError('UNAUTHENTICATED', 'The security token included in the request is invalid.');
      const claims = this.sessions.open(parsed.accessKeyId, parsed.sessionToken, Date.now());
      const source = await this.meta.accessKeys.get(claims.sourceAccessKeyId);
      if (!source || source.status !== 'Active') {
        throw new BerthError('UNAUTHENTICATED', 'The security token included in the request is invalid: the key that created it is no longer active.');
      }
      secret = claims.secretAccessKey;
      principal = { ...claims.principal, viaSession: true };
    } else {
      const key = /^[A-Z0-9]{16,128}$/.test(parsed.accessKeyId) ? await this.meta.accessKeys.get(parsed.accessKeyId) : undefined;
      if (!key || key.status !== 'Active') {
        throw new BerthError('UNAUTHENTICATED', 'The security token included in the request is invalid.');
      }
      secret = this.box.open(key.secretEnc);
      principal = principalOf(key);
    }
    verifySignature(req, parsed, secret, {
      now: new Date(),
      // IAM is a global service that AWS's clients sign for us-east-1 whatever their region.
      expectedRegion: opts.regions?.includes(parsed.region) ? parsed.region : this.region,
      expectedServices: services,
      ...(opts.requireSignedHeaders ? { requireSignedHeaders: opts.requireSignedHeaders } : {}),
    });
    return principal;
  }

  /**
   * Temporary credentials acting as `principal` (STS GetSessionToken). `sourceAccessKeyId` is the
   * long-term key that asked: deactivating it ends the session too.
   */
  issueSessionCredentials(principal: Principal, sourceAccessKeyId: string, now: number, durationMs: number): TemporaryCredentials {
    return this.sessions.issue(principal, sourceAccessKeyId, now, durationMs);
  }

  /**
   * A registry password for `principal` (ECR GetAuthorizationToken): self-describing and signed,
   * so every node holding the master key accepts it without a lookup. Never contains ':'.
   */
  issueRegistryToken(principal: Principal, now: number): { token: string; expiresAt: number } {
    const token = this.tokens.issue(
      {
        accountId: principal.accountId,
        arn: principal.arn,
        accessKeyId: principal.accessKeyId,
        kind: principal.kind,
        ...(principal.userName !== undefined ? { userName: principal.userName } : {}),
        // A role session keeps its role through the registry door, so its role's policies apply there.
        ...(principal.kind === 'assumed-role' && principal.roleName && principal.roleArn && principal.roleId && principal.sessionName
          ? { role: { name: principal.roleName, arn: principal.roleArn, id: principal.roleId, session: principal.sessionName } }
          : {}),
        region: this.region,
      },
      now,
    );
    return { token, expiresAt: this.tokens.verify(token, now, this.region).expiresAt };
  }

  /** The principal of an `Authorization` header. Throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new BerthError('UNAUTHENTICATED', 'authentication required: log in with an access key id and its secret');
    const cacheKey = createHash('sha256').update(authorization).digest('base64');
    const now = Date.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expires > now) return hit.principal;

    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization.trim());
    if (!match) throw new BerthError('UNAUTHENTICATED', 'unsupported authorization scheme; use HTTP Basic');
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new BerthError('UNAUTHENTICATED', 'malformed Basic credentials');
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (user === 'AWS') {
      const principal = await this.principalOfToken(password, now);
      this.remember(cacheKey, principal, now);
      return principal;
    }
    const key = /^[A-Z0-9]{16,128}$/.test(user) ? await this.meta.accessKeys.get(user) : undefined;
    // Compare even when the key is unknown, so timing does not reveal which key ids exist.
    const secret = key && key.status === 'Active' ? this.box.open(key.secretEnc) : '\0'.repeat(40);
    if (!constantTimeEqual(secret, password) || !key || key.status !== 'Active') {
      throw new BerthError('UNAUTHENTICATED', 'invalid access key id or secret');
    }
    const principal = principalOf(key);
    this.remember(cacheKey, principal, now);
    return principal;
  }

  private async principalOfToken(token: string, now: number): Promise<Principal> {
    try {
      const claims = this.tokens.verify(token, now, this.region);
      // A token outlives nothing it was issued for: a deactivated or deleted key ends it too.
      const key = await this.meta.accessKeys.get(claims.accessKeyId);
      if (!key || key.status !== 'Active') throw new BerthError('UNAUTHENTICATED', 'the access key this authorization token was issued for is no longer active');
      return {
        kind: claims.kind,
        accountId: claims.accountId,
        arn: claims.arn,
        accessKeyId: claims.accessKeyId,
        ...(claims.userName !== undefined ? { userName: claims.userName } : {}),
        ...(claims.role
          ? { roleName: claims.role.name, roleArn: claims.role.arn, roleId: claims.role.id, sessionName: claims.role.session, viaSession: true }
          : {}),
      };
    } catch (err) {
      if (err instanceof TokenError) {
        const why = err.kind === 'expired' ? 'has expired; get a new one with aws ecr get-login-password' : err.kind === 'wrong-region' ? 'was issued for another region' : 'is not valid';
        throw new BerthError('UNAUTHENTICATED', `the authorization token ${why}`);
      }
      throw err;
    }
  }

  /** Forget every verified header (an IAM change: a key deactivated or deleted stops working at once). */
  forgetAll(): void {
    this.cache.clear();
  }

  private remember(cacheKey: string, principal: Principal, now: number): void {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(cacheKey, { principal, expires: now + CACHE_TTL_MS });
  }


}


function principalOf(key: AccessKeyRow): Principal {
  return key.userName === null
    ? { kind: 'root', accountId: key.accountId, arn: `arn:aws:iam::${key.accountId}:root`, accessKeyId: key.accessKeyId }
    : {
        kind: 'user',
        accountId: key.accountId,
        arn: `arn:aws:iam::${key.accountId}:user/${key.userName}`,
        accessKeyId: key.accessKeyId,
        userName: key.userName,
      };
}
