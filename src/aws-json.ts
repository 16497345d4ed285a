import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Principal, SigV4ErrorKind } from './iam/index.js';

/**
 * The AWS JSON 1.1 protocol plumbing that every JSON door shares (ECR, Secrets Manager): a
 * SigV4-signed `POST /` whose operation is `X-Amz-Target`, a JSON object body, and errors as
 * `{"__type","message"}` with `x-amzn-ErrorType`. Each door keeps only its own error names.
 */

/** An error of the JSON wire protocol itself (unknown operation, malformed body), named as AWS names it. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** SigV4 failures in the names AWS's JSON services use. */
export const SIGV4_TYPES = {
  missing: 'MissingAuthenticationTokenException',
  incomplete: 'IncompleteSignatureException',
  mismatch: 'InvalidSignatureException',
  scope: 'InvalidSignatureException',
  expired: 'InvalidSignatureException',
} as const satisfies Record<SigV4ErrorKind, string>;

/**
 * Authenticate a signed JSON request for `service`. The body is the exact bytes the signature
 * covers (the router hands it over as a Buffer). X-Amz-Target must be signed: it chooses the
 * operation, so an unsigned one would let a captured request be replayed as another operation
 * within the signature's 15 minutes.
 */
export function authenticateJsonRequest(auth: Authenticator, req: FastifyRequest, service: string): Promise<Principal> {
  const url = req.raw.url ?? '/';
  const q = url.indexOf('?');
  return auth.authenticateSigned(
    {
      method: req.method,
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      // headersDistinct keeps repeated headers apart, as SigV4 joins them; injected requests lack it.
      headers: req.raw.headersDistinct ?? req.headers,
      body: requestBody(req),
    },
    [service],
    { requireSignedHeaders: ['x-amz-target'] },
  );
}

export function requestBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** The request body as a JSON object (empty body: `{}`); SerializationException otherwise. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsJsonError('SerializationException', 'The request body is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AwsJsonError('SerializationException', 'The request body must be a JSON object');
  }
  return json as Record<string, unknown>;
}

/** Fastify's own refusals (unsupported content type, body over the limit, malformed request) as AWS names them. */
export function frameworkRefusal(err: unknown): { type: string; status: number; message: string } | undefined {
  const status = (err as { statusCode?: unknown })?.statusCode;
  if (typeof status !== 'number' || status >= 500) return undefined;
  return { type: 'SerializationException', status, message: (err as Error).message };
}

/** Write one AWS JSON error. */
export function sendAwsJsonError(reply: FastifyReply, status: number, type: string, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/x-amz-json-1.1')
    .header('x-amzn-ErrorType', type)
    .header('x-amzn-RequestId', reply.request.id)
    .send(JSON.stringify({ __type: type, message, ...extra }));
}

/** An unexpected failure: logged with its stack, answered without it. */
export function sendInternalError(reply: FastifyReply, err: unknown, type: string): FastifyReply {
  reply.log.error({ err }, 'request failed');
  return sendAwsJsonError(reply, 500, type, `internal error; request id ${reply.request.id}`);
}
