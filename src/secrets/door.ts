import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../core/index.js';
import { AwsJsonError, SIGV4_TYPES, authenticateJsonRequest, frameworkRefusal, parseJsonObject, requestBody, sendAwsJsonError, sendInternalError } from '../aws-json.js';
import { SigV4Error, type Authenticator, type Authorizer, type Principal } from '../iam/index.js';
import { SecretsError, type SecretInfo, type SecretStore, type SecretValue } from './store.js';

export interface SecretsDoorDeps {
  secrets: SecretStore;
  auth: Authenticator;
  authorizer: Authorizer;
  isTls: boolean;
}

const TARGET_PREFIX = 'secretsmanager.';
const NAME_PATTERN = /^[a-zA-Z0-9/_+=.@-]+$/;

type Handler = (input: Record<string, unknown>, principal: Principal, authorize: (action: string) => Promise<void>) => Promise<unknown>;

/**
 * A subset of AWS Secrets Manager (JSON 1.1, `X-Amz-Target: secretsmanager.<Op>`, SigV4 service
 * `secretsmanager`): CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret, ListSecrets,
 * DeleteSecret, enough for `aws secretsmanager create-secret --name ecr-pullthroughcache/...` and
 * Terraform's secret resources, so that pull-through cache rules can name upstream credentials
 * the ECR way. Authorized with the `secretsmanager:*` actions by the same IAM authorizer (on
 * resource `*`: berth's policy engine knows repository ARNs only).
 */
export function secretsDoor(deps: SecretsDoorDeps) {
  return {
    contentType: 'application/x-amz-json-1.1',
    targetPrefix: TARGET_PREFIX,
    bodyLimit: 1024 * 1024,
    sendError: sendSecretsError,
    handle: (req: FastifyRequest, reply: FastifyReply) => handle(deps, req, reply),
  };
}

const OPERATIONS: Record<string, (deps: SecretsDoorDeps) => Handler> = {
  CreateSecret: (deps) => async (input, principal, authorize) => {
    await authorize('secretsmanager:CreateSecret');
    const name = str(input, 'Name', { required: true, min: 1, max: 512 })!;
    if (!NAME_PATTERN.test(name)) throw new AwsJsonError('ValidationException', `Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!`);
    const description = str(input, 'Description', { max: 2048 });
    const value = secretValue(input);
    const tags = readTags(input);
    const versionId = str(input, 'ClientRequestToken', { min: 32, max: 64 });
    const info = await deps.secrets.create(principal.accountId, {
      name,
      ...(description !== undefined ? { description } : {}),
      ...(value ? { value } : {}),
      ...(tags ? { tags } : {}),
      ...(versionId ? { versionId } : {}),
    });
    return { ARN: info.arn, Name: info.name, ...(info.versionId ? { VersionId: info.versionId } : {}) };
  },
  GetSecretValue: (deps) => async (input, principal, authorize) => {
    await authorize('secretsmanager:GetSecretValue');
    const id = str(input, 'SecretId', { required: true, min: 1, max: 2048 })!;
    const stage = str(input, 'VersionStage');
    if (stage !== undefined && stage !== 'AWSCURRENT') throw new SecretsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
    const { info, value } = await deps.secrets.getValue(principal.accountId, id);
    const versionId = str(input, 'VersionId');
    if (versionId !== undefined && versionId !== info.versionId) throw new SecretsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    return {
      ARN: info.arn,
      Name: info.name,
      VersionId: info.versionId,
      ...(value.kind === 'string' ? { SecretString: value.value } : { SecretBinary: value.value.toString('base64') }),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: info.updatedAt / 1000,
    };
  },
  PutSecretValue: (deps) => async (input, principal, authorize) => {
    await authorize('secretsmanager:PutSecretValue');
    const id = str(input, 'SecretId', { required: true, min: 1, max: 2048 })!;
    const value = secretValue(input);
    if (!value) throw new AwsJsonError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    const versionId = str(input, 'ClientRequestToken', { min: 32, max: 64 });
    const info = await deps.secrets.putValue(principal.accountId, id, value, versionId);
    return { ARN: info.arn, Name: info.name, VersionId: info.versionId, VersionStages: ['AWSCURRENT'] };
  },
  DescribeSecret: (deps) => async (input, principal, authorize) => {
    await authorize('secretsmanager:DescribeSecret');
    const id = str(input, 'SecretId', { required: true, min: 1, max: 2048 })!;
    return describeShape(await deps.secrets.describe(principal.accountId, id, { includeDeleted: true }));
  },
  ListSecrets: (deps) => async (input, principal, authorize) => {
    await authorize('secretsmanager:ListSecrets');
    const max = input.MaxResults;
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100)) {
      throw new AwsJsonError('ValidationException', "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100");
    }
    const limit = (max as number | undefined) ?? 100;
    const token = str(input, 'NextToken');
    let after: string | undefined;
    if (token !== undefined) {
      try {
        after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).after as string;
      } catch {
        throw new AwsJsonError('InvalidNextTokenException', 'The NextToken value is invalid.');
      }
    }
    const includeDeleted = input.IncludePlannedDeletion === true;
    const namePrefixes = readNameFilter(input.Filters);
    const rows = await deps.secrets.list(principal.accountId, {
      limit: limit + 1,
      includeDeleted,
      ...(after !== undefined ? { after } : {}),
      ...(namePrefixes ? { namePrefixes } : {}),
    });
    const page = rows.slice(0, limit);
    return {
      SecretList: page.map(describeShape),
      ...(rows.length > limit ? { NextToken: Buffer.from(JSON.stringify({ after: page.at(-1)!.name })).toString('base64url') } : {}),
    };
  },
  DeleteSecret: (deps) => async (input, principal, authorize) => {
    await authorize('secretsmanager:DeleteSecret');
    const id = str(input, 'SecretId', { required: true, min: 1, max: 2048 })!;
    const force = input.ForceDeleteWithoutRecovery === true;
    const days = input.RecoveryWindowInDays;
    if (force && days !== undefined) {
      throw new AwsJsonError('InvalidParameterException', 'You can\'t use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.');
    }
    if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)) {
      throw new AwsJsonError('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    const { info, deletionDate } = await deps.secrets.delete(principal.accountId, id, { force, recoveryDays: (days as number | undefined) ?? 30 });
    return { ARN: info.arn, Name: info.name, DeletionDate: deletionDate / 1000 };
  },
};

async function handle(deps: SecretsDoorDeps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  reply.header('x-amzn-RequestId', req.id);
  const target = req.headers['x-amz-target'];
  const name = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const make = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (!make) throw new AwsJsonError('UnknownOperationException', `Unknown operation ${name.slice(0, 100)}`);
  const principal = await authenticateJsonRequest(deps.auth, req, 'secretsmanager');
  const input = parseJsonObject(requestBody(req));
  const authorize = (action: string) =>
    deps.authorizer.authorize(principal, action, { accountId: principal.accountId }, { sourceIp: req.ip, secureTransport: deps.isTls });
  const output = await make(deps)(input, principal, authorize);
  return reply.code(200).header('content-type', 'application/x-amz-json-1.1').send(JSON.stringify(output ?? {}));
}

function describeShape(info: SecretInfo) {
  return {
    ARN: info.arn,
    Name: info.name,
    ...(info.description !== null ? { Description: info.description } : {}),
    LastChangedDate: info.updatedAt / 1000,
    ...(info.accessedAt !== null ? { LastAccessedDate: Math.floor(info.accessedAt / 86_400_000) * 86_400 } : {}),
    ...(info.deletedAt !== null ? { DeletedDate: info.deletedAt / 1000 } : {}),
    Tags: info.tags,
    ...(info.versionId ? { VersionIdsToStages: { [info.versionId]: ['AWSCURRENT'] } } : {}),
    CreatedDate: info.createdAt / 1000,
  };
}

function str(input: Record<string, unknown>, name: string, opts: { required?: boolean; min?: number; max?: number } = {}): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (opts.required) throw new AwsJsonError('ValidationException', `1 validation error detected: Value null at '${lower(name)}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AwsJsonError('SerializationException', `${name} must be a string`);
  if ((opts.min !== undefined && v.length < opts.min) || (opts.max !== undefined && v.length > opts.max)) {
    throw new AwsJsonError('ValidationException', `1 validation error detected: Value at '${lower(name)}' failed to satisfy constraint: Member must have length between ${opts.min ?? 0} and ${opts.max ?? 'unbounded'}`);
  }
  return v;
}

function lower(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

function secretValue(input: Record<string, unknown>): SecretValue | undefined {
  const s = str(input, 'SecretString', { max: 65_536 });
  const b = str(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) throw new AwsJsonError('InvalidParameterException', 'You can\'t specify both a binary secret value and a string secret value in the same secret.');
  if (s !== undefined) return { kind: 'string', value: s };
  if (b !== undefined) {
    const value = Buffer.from(b, 'base64');
    if (value.length > 65_536) throw new AwsJsonError('ValidationException', 'SecretBinary must be at most 65536 bytes');
    return { kind: 'binary', value };
  }
  return undefined;
}

function readTags(input: Record<string, unknown>): { Key: string; Value: string }[] | undefined {
  const raw = input.Tags;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new AwsJsonError('SerializationException', 'Tags must be a list');
  return raw.map((t) => {
    const { Key, Value } = (t ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128 || (Value !== undefined && typeof Value !== 'string')) {
      throw new AwsJsonError('ValidationException', 'Tag keys must be 1 to 128 characters and values strings');
    }
    return { Key, Value: (Value as string | undefined) ?? '' };
  });
}

function readNameFilter(filters: unknown): string[] | undefined {
  if (filters === undefined || filters === null) return undefined;
  if (!Array.isArray(filters)) throw new AwsJsonError('SerializationException', 'Filters must be a list');
  const names: string[] = [];
  for (const f of filters as { Key?: unknown; Values?: unknown }[]) {
    if (f?.Key !== 'name') throw new AwsJsonError('InvalidParameterException', `berth supports only the 'name' filter of ListSecrets`);
    if (!Array.isArray(f.Values)) throw new AwsJsonError('InvalidParameterException', 'Filter Values must be a list');
    names.push(...(f.Values as unknown[]).filter((v): v is string => typeof v === 'string'));
  }
  return names;
}

/** `{"__type","message"}` with the status Secrets Manager uses (400 for client faults, 500 otherwise). */
export function sendSecretsError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof SecretsError) return sendAwsJsonError(reply, 400, err.type, err.message);
  if (err instanceof AwsJsonError) return sendAwsJsonError(reply, err.status, err.type, err.message);
  if (err instanceof SigV4Error) return sendAwsJsonError(reply, 403, SIGV4_TYPES[err.kind], err.message);
  if (err instanceof BerthError) {
    const [type, status] =
      err.code === 'ACCESS_DENIED'
        ? ['AccessDeniedException', 400]
        : err.code === 'UNAUTHENTICATED'
          ? ['UnrecognizedClientException', 403]
          : err.code === 'TOKEN_EXPIRED'
            ? ['ExpiredTokenException', 403]
            : err.code === 'INTERNAL'
              ? ['InternalServiceError', 500]
              : ['InvalidParameterException', 400];
    return sendAwsJsonError(reply, status, type, err.message);
  }
  const refused = frameworkRefusal(err);
  if (refused) return sendAwsJsonError(reply, refused.status, refused.type, refused.message);
  return sendInternalError(reply, err, 'InternalServiceError');
}
