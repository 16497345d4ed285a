import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, type ErrorCode } from '../core/index.js';
import { SigV4Error, type SigV4ErrorKind } from '../iam/index.js';
import { xmlDocument } from './xml.js';

/** The two Query APIs of this door, by the `Version` parameter each request carries. */
export type QueryApi = 'iam' | 'sts';

export const API_VERSIONS = { iam: '2010-05-08', sts: '2011-06-15' } as const satisfies Record<QueryApi, string>;

export const NAMESPACES = {
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
} as const satisfies Record<QueryApi, string>;

interface WireError {
  readonly code: string;
  readonly status: number;
}

const sender = (code: string, status: number): WireError => ({ code, status });

/**
 * Domain error → IAM error code and HTTP status (IAM API Reference, each operation's "Errors" and
 * "Common Errors"). Most codes belong to the registry and cannot reach this door; they still get
 * the IAM error closest in meaning, so that adding a code forces a decision here too.
 */
const QUERY_ERRORS = {
  NAME_INVALID: sender('ValidationError', 400),
  TAG_INVALID: sender('ValidationError', 400),
  REPOSITORY_NOT_FOUND: sender('NoSuchEntity', 404),
  REPOSITORY_EXISTS: sender('EntityAlreadyExists', 409),
  REPOSITORY_NOT_EMPTY: sender('DeleteConflict', 409),
  BLOB_NOT_FOUND: sender('NoSuchEntity', 404),
  DIGEST_INVALID: sender('ValidationError', 400),
  DIGEST_MISMATCH: sender('ValidationError', 400),
  SIZE_INVALID: sender('ValidationError', 400),
  RANGE_INVALID: sender('ValidationError', 400),
  UPLOAD_NOT_FOUND: sender('NoSuchEntity', 404),
  UPLOAD_OFFSET_MISMATCH: sender('ValidationError', 400),
  UPLOAD_INVALID: sender('ValidationError', 400),
  UPLOAD_EMPTY: sender('ValidationError', 400),
  LAYER_EXISTS: sender('EntityAlreadyExists', 409),
  LAYER_PART_TOO_SMALL: sender('ValidationError', 400),
  LAYER_INACCESSIBLE: sender('NoSuchEntity', 404),
  MANIFEST_NOT_FOUND: sender('NoSuchEntity', 404),
  MANIFEST_INVALID: sender('ValidationError', 400),
  MANIFEST_TOO_LARGE: sender('ValidationError', 400),
  MANIFEST_BLOB_UNKNOWN: sender('NoSuchEntity', 404),
  MANIFEST_CHILD_UNKNOWN: sender('NoSuchEntity', 404),
  MANIFEST_REFERENCED: sender('DeleteConflict', 409),
  MANIFEST_NOT_ACCEPTABLE: sender('ValidationError', 400),
  TAG_IMMUTABLE: sender('ValidationError', 400),
  IMAGE_EXISTS: sender('EntityAlreadyExists', 409),
  IMAGE_DIGEST_MISMATCH: sender('ValidationError', 400),
  TOO_MANY_TAGS: sender('LimitExceeded', 409),
  TAG_PARAMETER_INVALID: sender('ValidationError', 400),
  INVALID_PARAMETER: sender('ValidationError', 400),
  PAGINATION_INVALID: sender('ValidationError', 400),
  UNAUTHENTICATED: sender('InvalidClientTokenId', 403),
  TOKEN_EXPIRED: sender('ExpiredToken', 403),
  ACCESS_DENIED: sender('AccessDenied', 403),
  LIMIT_EXCEEDED: sender('LimitExceeded', 409),
  THROTTLED: sender('Throttling', 400),
  UNSUPPORTED: sender('ValidationError', 400),
  INTERNAL: sender('ServiceFailure', 500),
} as const satisfies Record<ErrorCode, WireError>;

/**
 * SigV4 failures as the Query services name them ("Common Errors" of the IAM and STS API
 * references): a wrong scope or an expired signature is reported as SignatureDoesNotMatch.
 */
const SIGV4_ERRORS = {
  missing: sender('MissingAuthenticationToken', 403),
  incomplete: sender('IncompleteSignature', 400),
  mismatch: sender('SignatureDoesNotMatch', 403),
  scope: sender('SignatureDoesNotMatch', 403),
  expired: sender('SignatureDoesNotMatch', 403),
} as const satisfies Record<SigV4ErrorKind, WireError>;

/**
 * An error that only the Query protocol or IAM knows (InvalidAction, NoSuchEntity,
 * DeleteConflict, ...), thrown by this door with AWS's code and status.
 */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function noSuchEntity(message: string): QueryError {
  return new QueryError('NoSuchEntity', message, 404);
}

export function entityAlreadyExists(message: string): QueryError {
  return new QueryError('EntityAlreadyExists', message, 409);
}

export function deleteConflict(message: string): QueryError {
  return new QueryError('DeleteConflict', message, 409);
}

export function limitExceeded(message: string): QueryError {
  return new QueryError('LimitExceeded', message, 409);
}

/**
 * Write `err` as a Query-protocol error:
 * `<ErrorResponse xmlns><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`,
 * `text/xml`, AWS's status. Type is Receiver for server faults (5xx, which SDKs retry), else Sender.
 */
export function sendQueryError(reply: FastifyReply, err: unknown): FastifyReply {
  let wire: WireError;
  let message: string;
  if (err instanceof SigV4Error) {
    wire = SIGV4_ERRORS[err.kind];
    message = err.message;
  } else if (err instanceof QueryError) {
    wire = err;
    message = err.message;
  } else if (err instanceof BerthError) {
    wire = QUERY_ERRORS[err.code];
    message = err.message;
  } else if (typeof (err as { statusCode?: unknown })?.statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
    // Fastify's own refusals: body over the limit, malformed request.
    const status = (err as { statusCode: number }).statusCode;
    wire = { code: status === 413 ? 'RequestEntityTooLarge' : 'MalformedInput', status };
    message = (err as Error).message;
  } else {
    reply.log.error({ err }, 'request failed');
    wire = QUERY_ERRORS.INTERNAL;
    message = `internal error; request id ${reply.request.id}`;
  }
  const body = xmlDocument('ErrorResponse', NAMESPACES[apiOfRequest(reply.request)], {
    Error: { Type: wire.status >= 500 ? 'Receiver' : 'Sender', Code: wire.code, Message: message },
    RequestId: reply.request.id,
  });
  return reply.code(wire.status).header('content-type', 'text/xml').header('x-amzn-RequestId', reply.request.id).send(body);
}

/** Which API a request spoke, for the namespace of its error; IAM unless its Version is STS's. */
function apiOfRequest(req: FastifyRequest): QueryApi {
  if (!Buffer.isBuffer(req.body)) return 'iam';
  return new URLSearchParams(req.body.toString('utf8')).get('Version') === API_VERSIONS.sts ? 'sts' : 'iam';
}
