import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestContextOf } from '../core/index.js';
import type { Authenticator, SecretBox } from '../iam/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import { API_VERSIONS, NAMESPACES, QueryError, sendQueryError, type QueryApi } from './errors.js';
import { authorizeIdentityCall } from './identities.js';
import type { CacheInvalidator } from '../cluster/index.js';
import type { QueryContext, QueryOperation } from './operation.js';
import { IAM_OPERATIONS, STS_OPERATIONS } from './operations/index.js';
import { QueryParams } from './params.js';
import { xmlDocument } from './xml.js';

export interface QueryDeps {
  meta: MetadataStore;
  box: SecretBox;
  auth: Authenticator;
  /** The deployment's region: STS requests must be signed for it. */
  region: string;
  /** Whether berth serves TLS (`aws:SecureTransport` in policy conditions). */
  isTls: boolean;
  /** Told of every IAM change, so that every node's identity caches drop what it changed. */
  invalidator: CacheInvalidator;
}

/** Query requests are a few form fields; nothing legitimate comes close. */
const BODY_LIMIT = 256 * 1024;

const APIS: Record<QueryApi, { operations: Readonly<Record<string, QueryOperation<any>>> }> = {
  iam: { operations: IAM_OPERATIONS },
  sts: { operations: STS_OPERATIONS },
};

/**
 * The IAM and STS Query APIs: `POST /` with a form body `Action=…&Version=…&…`, SigV4-signed for
 * service `iam` or `sts`; answers are XML as AWS's (IAM API Reference, "Making Query Requests";
 * STS API Reference). The Version selects the API, as the host does at AWS. `app.ts` mounts this
 * door on the shared `POST /` route for `application/x-www-form-urlencoded` (see `aws-router.ts`).
 */
export function queryDoor(deps: QueryDeps) {
  return {
    contentType: 'application/x-www-form-urlencoded',
    bodyLimit: BODY_LIMIT,
    sendError: sendQueryError,
    handle: (req: FastifyRequest, reply: FastifyReply) => handleQuery(deps, req, reply),
  };
}

async function handleQuery(deps: QueryDeps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  reply.header('x-amzn-RequestId', req.id);
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  // Form encoding: '+' is a space, as the SDKs and botocore encode.
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action');
  const version = form.get('Version');
  if (!action) throw new QueryError('MissingAction', 'The request must contain the parameter Action.');
  if (!version) throw new QueryError('MissingParameter', 'The request must contain the parameter Version.');
  const api = (Object.keys(API_VERSIONS) as QueryApi[]).find((name) => API_VERSIONS[name] === version);
  if (!api) throw new QueryError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${version.slice(0, 20)}`);
  // For metrics and the audit trail (src/events/capability.ts scrubs secrets from the parameters).
  const request = requestContextOf(req.raw);
  const call = request?.call;
  if (call) {
    call.door = api;
    call.params = Object.fromEntries([...form].filter(([key]) => key !== 'Action' && key !== 'Version'));
  }

  const url = req.raw.url ?? '/';
  const q = url.indexOf('?');
  const principal = await deps.auth.authenticateSigned(
    { method: req.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: req.raw.headersDistinct ?? req.headers, body },
    [api],
    // IAM is global: AWS's SDKs and CLI sign it for us-east-1 whatever region they are set to.
    // The Action is in the signed body, so a captured request cannot be replayed as another.
    { regions: api === 'iam' ? [deps.region, 'us-east-1'] : [deps.region] },
  );

  if (request) request.actor = principal.arn;
  if (call) call.principal = principal;
  const op = Object.hasOwn(APIS[api].operations, action) ? APIS[api].operations[action] : undefined;
  // Only known names: an operation label a caller could invent would grow the metrics without bound.
  if (call && op) call.operation = action;
  if (!op) throw new QueryError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${version}`);

  const ctx: QueryContext = {
    principal,
    meta: deps.meta,
    box: deps.box,
    auth: deps.auth,
    now: Date.now,
    sourceIp: req.ip,
    isSecureTransport: deps.isTls,
    log: req.log,
  };
  const params = new QueryParams(form);
  const prepared = op.prepare(params, ctx);
  params.throwIfInvalid();
  if (prepared.target) authorizeIdentityCall(principal, op.action, prepared.target);
  const result = await op.run(prepared, ctx);
  if (op.mutates) {
    // What the authorizer and the authenticator remember may have changed, on every node: the
    // change applies from the next request (app.ts drops the caches on 'identity').
    deps.invalidator.invalidate('identity', '');
    req.log.info({ op: op.action, principal: principal.arn, target: prepared.target }, 'identity changed');
  }

  const xml = xmlDocument(`${action}Response`, NAMESPACES[api], {
    ...(result ? { [`${action}Result`]: result } : {}),
    ResponseMetadata: { RequestId: req.id },
  });
  return reply.code(200).header('content-type', 'text/xml').send(xml);
}
