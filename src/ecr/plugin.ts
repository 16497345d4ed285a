import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../capabilities.js';
import { requestContextOf, type AccountId } from '../core/index.js';
import type { Authenticator, Authorizer } from '../iam/index.js';
import type { RateLimiter } from '../limits/index.js';
import type { Registry, RegistrySettings, RepositoryPolicies } from '../registry/index.js';
import { authenticateJsonRequest, parseJsonObject, requestBody } from '../aws-json.js';
import { AwsJsonError, sendEcrError } from './errors.js';
import type { EcrContext } from './operation.js';
import { ECR_OPERATIONS } from './operations/index.js';
import { Input } from './validate.js';

export interface EcrDeps {
  registry: Registry;
  settings: RegistrySettings;
  policies: RepositoryPolicies;
  auth: Authenticator;
  /** Decides every operation with the policies (docs/access-control.md lists each operation's action). */
  authorizer: Authorizer;
  region: string;
  defaultAccount: AccountId;
  /** Fixed public URL of the registry, or undefined to derive it from each request's Host. */
  publicUrl?: string;
  isTls: boolean;
  /** ECR's request-rate quotas, counted per caller account; absent when rate limiting is off. */
  rateLimits?: RateLimiter;
  services: Services;
}

const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
/** UploadLayerPart carries up to 20 MiB as base64 in JSON. */
const BODY_LIMIT = 32 * 1024 * 1024;

/**
 * The ECR JSON 1.1 API: `POST /` with `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`,
 * SigV4-signed (service `ecr`). Every operation is declared in `operations/`; this door only
 * authenticates, parses, authorizes and answers in AWS's shapes. `app.ts` mounts it on the shared
 * `POST /` route (see `aws-router.ts`), which hands it the body as a Buffer: the signature
 * covers the exact bytes.
 */
export function ecrDoor(deps: EcrDeps) {
  return {
    contentType: 'application/x-amz-json-1.1',
    bodyLimit: BODY_LIMIT,
    sendError: sendEcrError,
    handle: (req: FastifyRequest, reply: FastifyReply) => handleEcr(deps, req, reply),
  };
}

async function handleEcr(deps: EcrDeps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  reply.header('x-amzn-RequestId', req.id);
  const request = requestContextOf(req.raw);
  const call = request?.call;
  if (call) call.door = 'ecr';
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
    throw new AwsJsonError('UnknownOperationException', 'Missing or unknown X-Amz-Target header');
  }
  const name = target.slice(TARGET_PREFIX.length);
  const op = Object.hasOwn(ECR_OPERATIONS, name) ? ECR_OPERATIONS[name] : undefined;
  if (!op) throw new AwsJsonError('UnknownOperationException', `Unknown operation ${name.slice(0, 100)}`);
  if (call) call.operation = name;

  const principal = await authenticateJsonRequest(deps.auth, req, 'ecr');

  if (request) request.actor = principal.arn;
  if (call) call.principal = principal;
  // After authentication (the quota is the caller's account's), before any work.
  deps.rateLimits?.admit(principal.accountId, name);

  const json = parseJsonObject(requestBody(req));

  const ctx: EcrContext = {
    principal,
    region: deps.region,
    registry: deps.registry,
    settings: deps.settings,
    policies: deps.policies,
    sourceIp: req.ip,
    isSecureTransport: deps.isTls,
    auth: deps.auth,
    services: deps.services,
    requestId: req.id,
    origin: request,
    publicUrl: deps.publicUrl ?? `${deps.isTls ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`,
    defaultAccount: deps.defaultAccount,
    now: Date.now,
    // Aborted when the client goes away (a timer per request would cost more than most operations).
    signal: disconnectSignal(reply),
    authorize: (action, resource, requestTags) =>
      deps.authorizer.authorize(principal, action, resource, {
        sourceIp: req.ip,
        secureTransport: deps.isTls,
        request,
        ...(requestTags ? { requestTags } : {}),
      }),
    decide: (action, resource, resourcePolicy) =>
      deps.authorizer.decide(principal, action, resource, { sourceIp: req.ip, secureTransport: deps.isTls }, { resourcePolicy }).then((d) => d.decision),
  };
  if (call) call.params = json;
  const prepared = op.prepare(new Input(json), ctx);
  if (call && prepared.resource.repositoryName !== undefined) {
    call.repository = { accountId: prepared.resource.accountId, name: prepared.resource.repositoryName };
  }
  await ctx.authorize(op.action, prepared.resource, (prepared as { requestTags?: readonly { key: string; value: string }[] }).requestTags);
  const output = await op.run(prepared, ctx);
  return reply
    .code(200)
    .header('content-type', 'application/x-amz-json-1.1')
    .send(JSON.stringify(output ?? {}));
}

/** A signal aborted when the response's connection closes (after the answer, that is harmless). */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => controller.abort());
  return controller.signal;
}
