import type { Readable } from 'node:stream';
import type { Digest } from '../../core/index.js';

export type UploadId = string & { readonly __brand: 'UploadId' };

/** An inclusive byte range within a blob, already checked against its size. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What `BlobStore.commit` hands to its `record` callback. */
export interface PublishedBlob {
  readonly size: number;
  /** Publish the blob again from the session's bytes if it is no longer stored; else do nothing. */
  ensure(): Promise<void>;
}

/** A file in the blob area, as `BlobInventory.files` finds it. */
export interface StoredFile {
  /** The digest the file is stored under; undefined for a file whose name is not a digest's (a leftover). */
  readonly digest: Digest | undefined;
  /** Path relative to the blob area, for reports, `fileInfo` and `removeFile`. */
  readonly name: string;
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
   * Verify the digest over all appended bytes, publish the blob atomically, run `record`, then end
   * the session. Throws DIGEST_MISMATCH (the session stays, so the client may still fix it) or
   * UPLOAD_NOT_FOUND. Publishing a blob that already exists replaces it with the verified bytes.
   *
   * `record` is where the caller records the blob in the metadata. The session's bytes are kept
   * (and the session refuses appends) until it resolves, so that `published.ensure()` can put the
   * blob back if garbage collection removed it after it was published: the caller calls it inside
   * the transaction that records the blob, under the lock GC's deletions take (see
   * docs/architecture.md, "Garbage collection"). When `record` throws, the session stays and the
   * error propagates; the published file, unrecorded, is garbage.
   */
  commit(id: UploadId, expected: Digest, record?: (published: PublishedBlob) => Promise<void>): Promise<{ size: number }>;
  /** Sessions whose bytes are stored, with when they were last written (for the sweeper). */
  listUploads(): Promise<{ id: UploadId; modifiedAt: number }[]>;
  /** Drop a session and its bytes. Unknown ids are ignored. */
  abort(id: UploadId): Promise<void>;
  /** Delete a committed blob. Absent blobs are ignored. */
  delete(digest: Digest): Promise<void>;
}

/**
 * What garbage collection and fsck need beyond serving: walking what is stored, re-hashing it, and
 * moving aside what is damaged. A separate seam from BlobStore, which serves requests.
 */
export interface BlobInventory {
  /**
   * Every file in the blob area, a batch (one folder) at a time, so memory stays bounded whatever
   * the number of blobs. Files published during the walk may or may not be seen.
   */
  files(opts?: { signal?: AbortSignal }): AsyncIterable<StoredFile[]>;
  /** The name `files` reports for the blob `digest`. */
  nameOf(digest: Digest): string;
  /** Size of a file `files` reported, and when it was last published or changed (ms); undefined once it is gone. */
  fileInfo(name: string): Promise<{ size: number; changedAt: number } | undefined>;
  /**
   * Hash a stored blob with its digest's algorithm; undefined when it is not stored. `changedAt`
   * is the file's, taken before reading: a later `fileInfo` with another value means the file was
   * replaced (published again) meanwhile.
   */
  hash(digest: Digest, opts?: { signal?: AbortSignal }): Promise<{ digest: Digest; size: number; changedAt: number } | undefined>;
  /** Move a stored blob out of the blob area (fsck's repair of a damaged file); returns where it went. */
  quarantine(digest: Digest): Promise<string | undefined>;
  /** Remove a file that `files` reported without a digest. Absent files are ignored. */
  removeFile(name: string): Promise<void>;
}
