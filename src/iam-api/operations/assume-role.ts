import type { Principal } from '../../iam/index.js';
import { BerthError } from '../../core/index.js';
import { authorize, evaluatePolicy, parsePolicy, requestTimeKeys, type Decision, type PolicyDocument, type RequestContext } from '../../iam/policy/index.js';
import type { MetadataStore, RoleRow } from '../../storage/metadata/index.js';
import { QueryError } from '../errors.js';
import { ROLE_ARN, parseRoleArn, roleArn } from '../identities.js';
import { identityPoliciesOf, requestPrincipalOf } from '../identity-policies.js';
import { operation } from '../operation.js';
import { STORED_POLICY_PARSE_OPTIONS } from '../policy-documents.js';

const HOUR = 3600;
const SESSION_NAME = { member: 'roleSessionName', min: 2, max: 64, pattern: /^[\w+=,.@-]*$/, patternText: '[\\w+=,.@-]*' } as const;
const EXTERNAL_ID = { member: 'externalId', min: 2, max: 1224, pattern: /^[\w+=,.@:/-]*$/, patternText: '[\\w+=,.@:\\/-]*' } as const;

/**
 * STS AssumeRole: temporary credentials (`ASIA…` key, secret, session token) that act as the role
 * `arn:aws:sts::<role account>:assumed-role/<role>/<session>`, for DurationSeconds (900 s up to the
 * role's MaxSessionDuration, default 1 h).
 *
 * Who may assume a role, as AWS decides it ("Policy evaluation logic"; "How to use trust policies
 * with IAM roles"): the role's trust policy must allow `sts:AssumeRole` for the caller, and no
 * policy may deny it. The trust policy is the role's resource policy, so across accounts the
 * caller's identity policies must allow it too; within the role's account the trust policy alone
 * suffices when it names the caller itself (its user ARN, its role's ARN, or "*"), while naming
 * only the account delegates to the account's identity policies, which must then allow it. The
 * policy engine's `authorize` applies that rule. The account root cannot assume roles, as at AWS.
 *
 * A role session may assume a role again (role chaining), for at most one hour. The credentials
 * end when they expire or when the long-term key behind the caller is deactivated.
 */
export const assumeRole = operation({
  action: 'sts:AssumeRole',
  mutates: false,
  prepare(params) {
    params.unsupported(
      ['Policy', 'PolicyArns', 'Tags', 'TransitiveTagKeys', 'SerialNumber', 'TokenCode', 'SourceIdentity', 'ProvidedContexts'],
      'berth has no session policies, session tags, MFA devices or source identities',
    );
    const arn = params.requiredString('RoleArn', ROLE_ARN) ?? '';
    const sessionName = params.requiredString('RoleSessionName', SESSION_NAME) ?? '';
    const duration = params.optionalInteger('DurationSeconds', { member: 'durationSeconds', min: 900, max: 43200 });
    const externalId = params.optionalString('ExternalId', EXTERNAL_ID);
    // Who may assume the role is decided by its trust policy (below), across accounts too.
    return { arn, sessionName, duration, externalId, target: null };
  },
  async run({ arn, sessionName, duration, externalId }, ctx) {
    const caller = ctx.principal;
    if (caller.kind === 'root') throw new QueryError('AccessDenied', 'Roles may not be assumed by root accounts.', 403);
    const parts = parseRoleArn(arn);
    if (!parts) throw new QueryError('ValidationError', `Invalid RoleArn ${arn.slice(0, 200)}: expected arn:aws:iam::<account>:role/<name>`);

    const who = await requestPrincipalOf(ctx.meta, caller);
    const denied = () => new QueryError('AccessDenied', `User: ${who.arn} is not authorized to perform: sts:AssumeRole on resource: ${arn}`, 403);
    const role = await ctx.meta.policies.getRole(parts.accountId, parts.roleName);
    // The ARN must name the role as it is, path included. A role that does not exist is answered
    // like one the caller may not assume, so that callers learn nothing about other accounts.
    if (!role || role.path !== parts.path) {
      ctx.log.info({ op: 'sts:AssumeRole', principal: who.arn, role: arn }, 'no such role');
      throw denied();
    }

    const now = ctx.now();
    const request: RequestContext = {
      principal: who,
      action: 'sts:AssumeRole',
      resource: roleArn(role),
      resourceAccount: role.accountId,
      keys: {
        ...requestTimeKeys(now),
        'aws:SecureTransport': ctx.isSecureTransport,
        'aws:SourceIp': ctx.sourceIp,
        'sts:RoleSessionName': sessionName,
        'sts:ExternalId': externalId,
      },
    };
    const decision = await decide(role, request, caller, ctx.meta);
    ctx.log.info({ op: 'sts:AssumeRole', principal: who.arn, role: request.resource, effect: decision.effect, reason: decision.reason }, 'role trust decided');
    if (decision.effect !== 'Allow') throw denied();

    const seconds = duration ?? HOUR;
    if (caller.kind === 'assumed-role' && seconds > HOUR) {
      throw new QueryError('ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    }
    if (seconds > role.maxSessionDuration) {
      throw new QueryError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const sessionArn = `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${sessionName}`;
    const session: Principal = {
      kind: 'assumed-role',
      accountId: role.accountId,
      arn: sessionArn,
      // The long-term key behind the caller, also behind a chained session: deactivating it ends both.
      accessKeyId: caller.accessKeyId,
      roleName: role.roleName,
      roleArn: request.resource,
      roleId: role.roleId,
      sessionName,
    };
    const credentials = ctx.auth.issueSessionCredentials(session, caller.accessKeyId, now, seconds * 1000);
    return {
      Credentials: {
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        SessionToken: credentials.sessionToken,
        Expiration: new Date(credentials.expiresAt).toISOString(),
      },
      AssumedRoleUser: { AssumedRoleId: `${role.roleId}:${sessionName}`, Arn: sessionArn },
    };
  },
});

/**
 * The trust policy must allow (an Allow from the caller's identity policies alone never lets it in),
 * then AWS's evaluation across the identity and resource sides decides: explicit deny anywhere
 * wins; across accounts both sides must allow; within one account the trust policy's Allow stands
 * on its own only where it names the caller rather than its account.
 */
async function decide(role: RoleRow, request: RequestContext, caller: Principal, meta: MetadataStore): Promise<Decision> {
  const trustName = `trust policy of ${request.resource}`;
  const trust = storedTrustPolicy(role, trustName);
  const trustDecision = evaluatePolicy(trust, request, trustName);
  if (trustDecision.effect !== 'Allow') return trustDecision;
  return authorize({ identityPolicies: await identityPoliciesOf(meta, caller), resourcePolicy: { name: trustName, doc: trust }, ctx: request });
}

function storedTrustPolicy(role: RoleRow, name: string): PolicyDocument {
  try {
    return parsePolicy(role.trustPolicy, 'trust', STORED_POLICY_PARSE_OPTIONS);
  } catch (err) {
    throw new BerthError('INTERNAL', `stored ${name} no longer parses: ${(err as Error).message}`, { role: role.roleName }, { cause: err });
  }
}
