import type { Readable } from 'node:stream';
import type { Digest } from '../../core/index.js';

export type UploadId = string & { readonly __brand: 'UploadId' };

/** An inclusive byte range within a blob, already checked against its size. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Content-addressed blob bytes plus upload sessions. No HTTP types cross this seam.
 * Implementations: fs (default); s3 arrives with scale-out. Committed blobs are immutable, so
 * every read method is safe to call concurrently with anything.
 */
export interface BlobStore {
  /** Size of a committed blob, or undefined if absent. Never throws BLOB_NOT_FOUND. */
  stat(digest: Digest): Promise<{ size: number } | undefined>;
  /** Stream a committed blob, optionally a byte range. Throws BLOB_NOT_FOUND. */
  open(digest: Digest, opts?: { range?: ByteRange; signal?: AbortSignal }): Promise<Readable>;
  /**
   * Feed a committed blob (or a range of it) to `sink`, one chunk at a time, in order. A chunk is
   * only valid until the promise `sink` returns resolves: the store reuses its memory, which is
   * what makes this faster than `open` for serving downloads. Throws BLOB_NOT_FOUND before the
   * first chunk; a sink that rejects or an aborted `signal` stops it.
   */
  writeTo(digest: Digest, sink: (chunk: Buffer) => Promise<void>, opts?: { range?: ByteRange; signal?: AbortSignal }): Promise<void>;
  /** A time-limited URL a client may fetch directly, or undefined if this driver can't. */
  presign?(digest: Digest, ttlSeconds: number): Promise<string | undefined>;
  /** Start an upload session whose bytes survive a restart of the process. */
  beginUpload(id: UploadId): Promise<void>;
  /** Bytes received so far. Throws UPLOAD_NOT_FOUND. */
  uploadSize(id: UploadId): Promise<number>;
  /**
   * Append a stream at `offset`, which must equal the bytes received so far (throws
   * UPLOAD_OFFSET_MISMATCH otherwise, so OCI can answer 416). With `expectedLength`, a stream that
   * ends short or runs long throws SIZE_INVALID and the session keeps only whole earlier appends'
   * bytes plus whatever arrived, which `uploadSize` reports. Returns the new size. One append per
   * session at a time: a concurrent one throws UPLOAD_INVALID.
   */
  append(id: UploadId, offset: number, chunk: Readable, opts?: { expectedLength?: number; signal?: AbortSignal }): Promise<number>;
  /**
   * Verify the digest over all appended bytes, then publish the blob atomically and end the
   * session. Throws DIGEST_MISMATCH (the session stays, so the client may still fix it) or
   * UPLOAD_NOT_FOUND. Publishing a blob that already exists is a no-op.
   */
  commit(id: UploadId, expected: Digest): Promise<{ size: number }>;
  /** Sessions whose bytes are stored, with when they were last written (for the sweeper). */
  listUploads(): Promise<{ id: UploadId; modifiedAt: number }[]>;
  /** Drop a session and its bytes. Unknown ids are ignored. */
  abort(id: UploadId): Promise<void>;
  /** Delete a committed blob. Absent blobs are ignored. */
  delete(digest: Digest): Promise<void>;
}
