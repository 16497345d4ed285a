/**
 * Domain errors. The core throws `BerthError` with a code from this closed union; each front door
 * maps codes to its own wire shape (see `oci/errors.ts`). Codes never carry an HTTP status.
 */
export type ErrorCode =
  | 'NAME_INVALID'
  | 'TAG_INVALID'
  | 'REPOSITORY_NOT_FOUND'
  | 'REPOSITORY_EXISTS'
  | 'REPOSITORY_NOT_EMPTY'
  | 'BLOB_NOT_FOUND'
  | 'DIGEST_INVALID'
  | 'DIGEST_MISMATCH'
  | 'SIZE_INVALID'
  | 'RANGE_INVALID'
  | 'UPLOAD_NOT_FOUND'
  | 'UPLOAD_OFFSET_MISMATCH'
  | 'UPLOAD_INVALID'
  | 'UPLOAD_EMPTY'
  | 'LAYER_EXISTS'
  | 'LAYER_PART_TOO_SMALL'
  | 'LAYER_INACCESSIBLE'
  | 'MANIFEST_NOT_FOUND'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_TOO_LARGE'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_CHILD_UNKNOWN'
  | 'MANIFEST_REFERENCED'
  | 'MANIFEST_NOT_ACCEPTABLE'
  | 'TAG_IMMUTABLE'
  | 'IMAGE_EXISTS'
  | 'IMAGE_DIGEST_MISMATCH'
  | 'TOO_MANY_TAGS'
  | 'TAG_PARAMETER_INVALID'
  | 'INVALID_PARAMETER'
  | 'PAGINATION_INVALID'
  | 'UNAUTHENTICATED'
  | 'TOKEN_EXPIRED'
  | 'ACCESS_DENIED'
  | 'LIMIT_EXCEEDED'
  | 'THROTTLED'
  | 'UNSUPPORTED'
  | 'INTERNAL';

export class BerthError extends Error {
  override readonly name = 'BerthError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isBerthError(err: unknown, code?: ErrorCode): err is BerthError {
  return err instanceof BerthError && (code === undefined || err.code === code);
}
