import type { FastifyReply } from 'fastify';
import { BerthError, type ErrorCode } from '../core/index.js';

/**
 * Domain error → distribution-spec v1.1 error (status and code, spec section "Error Codes").
 * `satisfies` makes adding an ErrorCode a compile error here until someone decides its OCI shape.
 * Where the spec has no code, the choice follows ECR's registry endpoint (TAG_INVALID for an
 * immutable tag) or Distribution (PAGINATION_NUMBER_INVALID, UNKNOWN).
 */
const OCI_ERRORS = {
  NAME_INVALID: [400, 'NAME_INVALID'],
  TAG_INVALID: [400, 'TAG_INVALID'],
  REPOSITORY_NOT_FOUND: [404, 'NAME_UNKNOWN'],
  REPOSITORY_EXISTS: [409, 'DENIED'],
  REPOSITORY_NOT_EMPTY: [409, 'DENIED'],
  BLOB_NOT_FOUND: [404, 'BLOB_UNKNOWN'],
  DIGEST_INVALID: [400, 'DIGEST_INVALID'],
  DIGEST_MISMATCH: [400, 'DIGEST_INVALID'],
  SIZE_INVALID: [400, 'SIZE_INVALID'],
  RANGE_INVALID: [416, 'SIZE_INVALID'],
  UPLOAD_NOT_FOUND: [404, 'BLOB_UPLOAD_UNKNOWN'],
  UPLOAD_OFFSET_MISMATCH: [416, 'BLOB_UPLOAD_INVALID'],
  UPLOAD_INVALID: [400, 'BLOB_UPLOAD_INVALID'],
  UPLOAD_EMPTY: [400, 'BLOB_UPLOAD_INVALID'],
  LAYER_EXISTS: [409, 'BLOB_UPLOAD_INVALID'],
  LAYER_PART_TOO_SMALL: [400, 'BLOB_UPLOAD_INVALID'],
  // A blob stored in the repository that no manifest references (ECR GetDownloadUrlForLayer).
  LAYER_INACCESSIBLE: [404, 'BLOB_UNKNOWN'],
  MANIFEST_NOT_FOUND: [404, 'MANIFEST_UNKNOWN'],
  MANIFEST_INVALID: [400, 'MANIFEST_INVALID'],
  MANIFEST_TOO_LARGE: [413, 'MANIFEST_INVALID'],
  MANIFEST_BLOB_UNKNOWN: [400, 'MANIFEST_BLOB_UNKNOWN'],
  // Distribution answers a missing child of an index as a missing blob, which is what OCI clients expect.
  MANIFEST_CHILD_UNKNOWN: [400, 'MANIFEST_BLOB_UNKNOWN'],
  MANIFEST_REFERENCED: [409, 'DENIED'],
  MANIFEST_NOT_ACCEPTABLE: [404, 'MANIFEST_UNKNOWN'],
  TAG_IMMUTABLE: [400, 'TAG_INVALID'],
  IMAGE_EXISTS: [409, 'MANIFEST_INVALID'],
  IMAGE_DIGEST_MISMATCH: [400, 'DIGEST_INVALID'],
  TOO_MANY_TAGS: [400, 'DENIED'],
  TAG_PARAMETER_INVALID: [400, 'UNSUPPORTED'],
  INVALID_PARAMETER: [400, 'UNSUPPORTED'],
  PAGINATION_INVALID: [400, 'PAGINATION_NUMBER_INVALID'],
  UNAUTHENTICATED: [401, 'UNAUTHORIZED'],
  TOKEN_EXPIRED: [401, 'UNAUTHORIZED'],
  ACCESS_DENIED: [403, 'DENIED'],
  // A quota (repositories, images, tags): retrying will not help, so not 429.
  LIMIT_EXCEEDED: [403, 'DENIED'],
  THROTTLED: [429, 'TOOMANYREQUESTS'],
  UNSUPPORTED: [405, 'UNSUPPORTED'],
  INTERNAL: [500, 'UNKNOWN'],
} as const satisfies Record<ErrorCode, readonly [number, string]>;

export const BASIC_CHALLENGE = 'Basic realm="berth"';

/** Write `err` as an OCI error response. Non-BerthErrors become 500 UNKNOWN carrying the request id. */
export function sendOciError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof BerthError) {
    const [status, code] = OCI_ERRORS[err.code];
    if (err.code === 'UNAUTHENTICATED' || err.code === 'TOKEN_EXPIRED') reply.header('WWW-Authenticate', BASIC_CHALLENGE);
    if (err.code === 'RANGE_INVALID' && typeof err.detail?.['size'] === 'number') {
      reply.header('Content-Range', `bytes */${err.detail['size']}`);
    }
    if (err.code === 'THROTTLED' && typeof err.detail?.['retryAfterSeconds'] === 'number') {
      reply.header('Retry-After', String(err.detail['retryAfterSeconds']));
    }
    if (err.code === 'UPLOAD_OFFSET_MISMATCH' && typeof err.detail?.['size'] === 'number') {
      reply.header('Range', uploadRange(err.detail['size']));
    }
    if (status >= 500) reply.log.error({ err }, 'request failed');
    return reply
      .code(status)
      .type('application/json')
      .send({ errors: [{ code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) }] });
  }
  // Fastify's own errors (e.g. a malformed request) carry a 4xx statusCode.
  const status = (err as { statusCode?: number })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return reply
      .code(status)
      .type('application/json')
      .send({ errors: [{ code: status === 413 ? 'SIZE_INVALID' : 'UNSUPPORTED', message: (err as Error).message }] });
  }
  reply.log.error({ err }, 'request failed');
  return reply
    .code(500)
    .type('application/json')
    .send({ errors: [{ code: 'UNKNOWN', message: `internal error; request id ${reply.request.id}`, detail: { requestId: reply.request.id } }] });
}

/** The `Range` header of an upload session: bytes received as an inclusive range (Distribution writes 0-0 when empty). */
export function uploadRange(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}
