import { QueryError } from '../errors.js';
import { operation } from '../operation.js';

const HOUR = 3600;

/**
 * STS GetSessionToken: temporary credentials (`ASIA…` key, secret, session token) that act as the
 * caller. As AWS: 900 s to 36 h for users (default 12 h), at most 1 h for an account root
 * (default 1 h), and not callable with temporary credentials.
 */
export const getSessionToken = operation({
  action: 'sts:GetSessionToken',
  mutates: false,
  prepare(params, ctx) {
    const isRoot = ctx.principal.kind === 'root';
    const max = isRoot ? HOUR : 36 * HOUR;
    const duration = params.optionalInteger('DurationSeconds', { member: 'durationSeconds', min: 900, max }) ?? (isRoot ? HOUR : 12 * HOUR);
    params.unsupported(['SerialNumber', 'TokenCode'], 'berth has no MFA devices');
    return { duration, target: null };
  },
  async run({ duration }, ctx) {
    if (ctx.principal.viaSession) {
      throw new QueryError('AccessDenied', 'Cannot call GetSessionToken with session credentials', 403);
    }
    const credentials = ctx.auth.issueSessionCredentials(ctx.principal, ctx.principal.accessKeyId, ctx.now(), duration * 1000);
    return {
      Credentials: {
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        SessionToken: credentials.sessionToken,
        Expiration: new Date(credentials.expiresAt).toISOString(),
      },
    };
  },
});
