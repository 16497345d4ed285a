import type { FastifyReply } from 'fastify';
import { BerthError, type ErrorCode } from '../core/index.js';
import { AwsJsonError, SIGV4_TYPES, frameworkRefusal, sendAwsJsonError, sendInternalError } from '../aws-json.js';
import { SigV4Error } from '../iam/index.js';

export { AwsJsonError };

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


/** Write `err` as an AWS JSON 1.1 error: `{"__type","message"}`, `x-amzn-ErrorType`, AWS's status. */
export function sendEcrError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof SigV4Error) return sendAwsJsonError(reply, 403, SIGV4_TYPES[err.kind], err.message);
  if (err instanceof AwsJsonError) return sendAwsJsonError(reply, err.status, err.type, err.message);
  if (err instanceof BerthError) {
    const type = ECR_TYPES[err.code];
    const status = err.code === 'INTERNAL' ? 500 : err.code === 'UNAUTHENTICATED' || err.code === 'TOKEN_EXPIRED' ? 403 : 400;
    // InvalidLayerPartException carries the upload's position beside the message.
    const extra =
      type === 'InvalidLayerPartException' && err.detail ? pick(err.detail, ['registryId', 'repositoryName', 'uploadId', 'lastValidByteReceived']) : {};
    return sendAwsJsonError(reply, status, type, err.message, extra);
  }
  const refused = frameworkRefusal(err);
  if (refused) return sendAwsJsonError(reply, refused.status, refused.type, refused.message);
  return sendInternalError(reply, err, 'ServerException');
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
