import type { FastifyReply } from 'fastify';
import { BerthError, type ErrorCode } from '../core/index.js';
import { SigV4Error, type SigV4ErrorKind } from '../iam/index.js';

/**
 * Domain error → ECR `__type`. Every modelled ECR error is a client fault (HTTP 400); only
 * ServerException is a server fault (500), which SDKs retry (ECR API reference, "Common errors").
 */
const ECR_TYPES = {
  NAME_INVALID: 'InvalidParameterException',
  TAG_INVALID: 'InvalidParameterException',
  REPOSITORY_NOT_FOUND: 'RepositoryNotFoundException',
  REPOSITORY_EXISTS: 'RepositoryAlreadyExistsException',
  REPOSITORY_NOT_EMPTY: 'RepositoryNotEmptyException',
  BLOB_NOT_FOUND: 'LayersNotFoundException',
  DIGEST_INVALID: 'InvalidParameterException',
  DIGEST_MISMATCH: 'InvalidLayerException',
  SIZE_INVALID: 'InvalidParameterException',
  RANGE_INVALID: 'InvalidParameterException',
  UPLOAD_NOT_FOUND: 'UploadNotFoundException',
  UPLOAD_OFFSET_MISMATCH: 'InvalidLayerPartException',
  UPLOAD_INVALID: 'InvalidLayerPartException',
  UPLOAD_EMPTY: 'EmptyUploadException',
  LAYER_EXISTS: 'LayerAlreadyExistsException',
  LAYER_PART_TOO_SMALL: 'LayerPartTooSmallException',
  LAYER_INACCESSIBLE: 'LayerInaccessibleException',
  MANIFEST_NOT_FOUND: 'ImageNotFoundException',
  MANIFEST_INVALID: 'InvalidParameterException',
  MANIFEST_TOO_LARGE: 'InvalidParameterException',
  MANIFEST_BLOB_UNKNOWN: 'LayersNotFoundException',
  MANIFEST_CHILD_UNKNOWN: 'ReferencedImagesNotFoundException',
  MANIFEST_REFERENCED: 'InvalidParameterException',
  MANIFEST_NOT_ACCEPTABLE: 'UnsupportedImageTypeException',
  TAG_IMMUTABLE: 'ImageTagAlreadyExistsException',
  IMAGE_EXISTS: 'ImageAlreadyExistsException',
  IMAGE_DIGEST_MISMATCH: 'ImageDigestDoesNotMatchException',
  TOO_MANY_TAGS: 'TooManyTagsException',
  TAG_PARAMETER_INVALID: 'InvalidTagParameterException',
  INVALID_PARAMETER: 'InvalidParameterException',
  PAGINATION_INVALID: 'InvalidParameterException',
  UNAUTHENTICATED: 'UnrecognizedClientException',
  TOKEN_EXPIRED: 'ExpiredTokenException',
  ACCESS_DENIED: 'AccessDeniedException',
  LIMIT_EXCEEDED: 'LimitExceededException',
  THROTTLED: 'ThrottlingException',
  UNSUPPORTED: 'ValidationException',
  INTERNAL: 'ServerException',
} as const satisfies Record<ErrorCode, string>;

/** SigV4 failures in the names AWS's JSON services use. */
const SIGV4_TYPES = {
  missing: 'MissingAuthenticationTokenException',
  incomplete: 'IncompleteSignatureException',
  mismatch: 'InvalidSignatureException',
  scope: 'InvalidSignatureException',
  expired: 'InvalidSignatureException',
} as const satisfies Record<SigV4ErrorKind, string>;

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

/** Write `err` as an AWS JSON 1.1 error: `{"__type","message"}`, `x-amzn-ErrorType`, AWS's status. */
export function sendEcrError(reply: FastifyReply, err: unknown): FastifyReply {
  let type: string;
  let status = 400;
  let message: string;
  let extra: Record<string, unknown> = {};
  if (err instanceof SigV4Error) {
    type = SIGV4_TYPES[err.kind];
    status = 403;
    message = err.message;
  } else if (err instanceof AwsJsonError) {
    type = err.type;
    status = err.status;
    message = err.message;
  } else if (err instanceof BerthError) {
    type = ECR_TYPES[err.code];
    message = err.message;
    if (err.code === 'INTERNAL') status = 500;
    if (err.code === 'UNAUTHENTICATED' || err.code === 'TOKEN_EXPIRED') status = 403;
    // InvalidLayerPartException carries the upload's position beside the message.
    if (type === 'InvalidLayerPartException' && err.detail) extra = pick(err.detail, ['registryId', 'repositoryName', 'uploadId', 'lastValidByteReceived']);
  } else if (typeof (err as { statusCode?: unknown })?.statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
    // Fastify's own refusals: unsupported content type, body over the limit, malformed request.
    type = 'SerializationException';
    status = (err as { statusCode: number }).statusCode;
    message = (err as Error).message;
  } else {
    reply.log.error({ err }, 'request failed');
    type = 'ServerException';
    status = 500;
    message = `internal error; request id ${reply.request.id}`;
  }
  return reply
    .code(status)
    .header('content-type', 'application/x-amz-json-1.1')
    .header('x-amzn-ErrorType', type)
    .header('x-amzn-RequestId', reply.request.id)
    .send(JSON.stringify({ __type: type, message, ...extra }));
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
