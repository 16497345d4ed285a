import type { Readable } from 'node:stream';
import type { Hash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type _Object,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BerthError, digestAlgorithm, digestHex, newHasher, type Digest, type DigestAlgorithm } from '../../core/index.js';
import type { S3Config } from '../../config/index.js';
import type { BlobInventory, BlobStore, ByteRange, PublishedBlob, StoredFile, UploadId } from './blob-store.js';

/** Size of the parts of a multipart upload (S3's minimum is 5 MiB, except for the last part). */
const PART_SIZE = 8 << 20;
/** Parts sent at once per upload. */
const PART_CONCURRENCY = 3;
/** CopyObject's limit; larger blobs are published by streaming. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const UPLOAD_ID = /^[a-zA-Z0-9-]{8,64}$/;

interface LiveHash {
  hash: Hash;
  /** Bytes fed to `hash`; valid only while it equals the session's size. */
  offset: number;
}

interface Chunk {
  key: string;
  offset: number;
  size: number;
}

/**
 * Blobs as objects of an S3-compatible bucket, for scale-out deployments where every node serves
 * every blob (docs/deployment.md).
 *
 * Layout: `blobs/<alg>/<2 hex>/<hex>` (content-addressed), upload sessions under
 * `uploads/<id>/`: an empty `session-<ms>` object, then one object per append named by the offset
 * it starts at and when it was written (`chunk-<16 digits>-<ms>`; S3's LastModified has only
 * seconds). The session's state is therefore in the bucket, not in a node's memory: any node can
 * report its size, append to it or complete it, so a chunked upload may be spread over nodes
 * behind a load balancer.
 *
 * Uploads: each append streams its body into its chunk object (a multipart upload in 8 MiB parts
 * once it passes one part, so memory stays bounded). The node that received every chunk keeps a
 * running hash; the commit then knows the digest at once and publishes with a server-side copy
 * (one chunk) or by streaming the chunks into the blob's multipart upload. A commit on another
 * node, or after a restart, hashes while it streams the chunks into the blob's multipart upload
 * and completes that upload only when the digest matches (aborts it otherwise), so an unverified
 * blob is never visible. No ListParts or UploadPartCopy is needed (fauxqs and other small S3
 * servers lack them).
 *
 * Garbage collection (rules R1/R2 of docs/architecture.md) needs `ensure()` to put a blob back
 * from the session's chunks, which stay until the caller has recorded the blob; S3 reads after
 * writes are strongly consistent, which the HEAD in `ensure()` relies on.
 */
export class S3BlobStore implements BlobStore, BlobInventory {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly hashes = new Map<UploadId, LiveHash>();
  private readonly busy = new Set<UploadId>();
  /**
   * Chunk objects this node has seen per session, so that the next look lists only the keys after
   * the last one (ListObjectsV2 StartAfter): an upload of thousands of parts costs one short
   * listing per part, not a listing of every earlier part. Chunks are never removed from a live
   * session, so what was seen stays true; a session that ended elsewhere shows by its missing marker.
   */
  private readonly seen = new Map<UploadId, Chunk[]>();

  constructor(config: S3Config) {
    this.bucket = config.bucket;
    this.client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.accessKeyId && config.secretAccessKey
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
        : {}),
      // Checksums only where S3 requires them: S3-compatible servers differ in which of the newer
      // flexible checksums they accept, and the digest check is berth's own anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Check that the bucket answers (a wrong endpoint or bucket fails at start, not at the first push). */
  async init(): Promise<void> {
    await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 }));
  }

  close(): void {
    this.client.destroy();
  }

  private blobKey(digest: Digest): string {
    const hex = digestHex(digest);
    return `blobs/${digestAlgorithm(digest)}/${hex.slice(0, 2)}/${hex}`;
  }

  private sessionPrefix(id: UploadId): string {
    if (!UPLOAD_ID.test(id)) throw new BerthError('UPLOAD_NOT_FOUND', 'no such upload session');
    return `uploads/${id}/`;
  }

  async stat(digest: Digest): Promise<{ size: number } | undefined> {
    const head = await this.head(this.blobKey(digest));
    return head && { size: head.size };
  }

  async open(digest: Digest, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<Readable> {
    return this.getBody(digest, opts);
  }

  async writeTo(digest: Digest, sink: (chunk: Buffer) => Promise<void>, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<void> {
    const body = await this.getBody(digest, opts);
    try {
      for await (const chunk of body) {
        opts.signal?.throwIfAborted();
        await sink(chunk as Buffer);
      }
    } finally {
      body.destroy();
    }
  }

  async presign(digest: Digest, ttlSeconds: number): Promise<string | undefined> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), { expiresIn: ttlSeconds });
  }

  private async getBody(digest: Digest, opts: { range?: ByteRange; signal?: AbortSignal }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.blobKey(digest),
          ...(opts.range ? { Range: `bytes=${opts.range.start}-${opts.range.end}` } : {}),
        }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new BerthError('BLOB_NOT_FOUND', `blob ${digest} is not stored`, undefined, { cause: err });
      throw err;
    }
  }

  // ---- upload sessions ----------------------------------------------------------------------

  async beginUpload(id: UploadId): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.sessionPrefix(id)}session-${Date.now()}`, Body: Buffer.alloc(0) }));
    this.hashes.set(id, { hash: newHasher('sha256'), offset: 0 });
    this.seen.delete(id);
  }

  /** The session's chunks in offset order, and its size: the bytes of the chunks that follow each other from 0. */
  private async chunks(id: UploadId): Promise<{ chunks: Chunk[]; size: number }> {
    const prefix = this.sessionPrefix(id);
    let marker = false;
    const known = this.seen.get(id) ?? [];
    const found: Chunk[] = [...known];
    // `session-…` sorts after every `chunk-…`, so the marker is always in the listing.
    for await (const object of this.list(prefix, known.at(-1)?.key)) {
      const name = object.Key!.slice(prefix.length);
      if (name.startsWith('session')) marker = true;
      const m = /^chunk-(\d{16})(?:-\d+)?$/.exec(name);
      // (A server that ignores StartAfter lists the known chunks again: skip them.)
      if (m && !(known.length > 0 && object.Key! <= known.at(-1)!.key)) found.push({ key: object.Key!, offset: Number(m[1]), size: object.Size ?? 0 });
    }
    if (!marker) {
      this.seen.delete(id);
      throw new BerthError('UPLOAD_NOT_FOUND', 'no such upload session');
    }
    // Keys sort by offset, then by write time.
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (this.seen.size >= 10_000) this.seen.clear();
    this.seen.set(id, found);
    const chunks: Chunk[] = [];
    let size = 0;
    for (const chunk of found) {
      if (chunk.offset !== size) break;
      chunks.push(chunk);
      size += chunk.size;
    }
    return { chunks, size };
  }

  async uploadSize(id: UploadId): Promise<number> {
    return (await this.chunks(id)).size;
  }

  async append(id: UploadId, offset: number, chunk: Readable, opts: { expectedLength?: number; signal?: AbortSignal } = {}): Promise<number> {
    if (this.busy.has(id)) throw new BerthError('UPLOAD_INVALID', 'another request is writing to this upload session');
    this.busy.add(id);
    try {
      const { size } = await this.chunks(id);
      if (size !== offset) {
        throw new BerthError('UPLOAD_OFFSET_MISMATCH', `upload has ${size} bytes; a chunk must start at ${size}, not ${offset}`, { size });
      }
      let live = this.hashes.get(id);
      if (live && live.offset !== size) {
        this.hashes.delete(id);
        live = undefined;
      }
      let written = 0;
      const expected = opts.expectedLength;
      async function* counted(): AsyncGenerator<Buffer> {
        for await (const data of chunk) {
          opts.signal?.throwIfAborted();
          const buf = data as Buffer;
          if (expected !== undefined && written + buf.length > expected) {
            throw new BerthError('SIZE_INVALID', `body is longer than the ${expected} bytes declared`);
          }
          written += buf.length;
          live?.hash.update(buf);
          if (live) live.offset += buf.length;
          yield buf;
        }
      }
      try {
        await this.writeObject(`${this.sessionPrefix(id)}chunk-${String(size).padStart(16, '0')}-${Date.now()}`, counted());
      } catch (err) {
        // Nothing of a failed append is kept (the chunk object is written whole or not at all).
        this.hashes.delete(id);
        throw err;
      }
      if (expected !== undefined && written !== expected) {
        throw new BerthError('SIZE_INVALID', `body has ${written} bytes but ${expected} were declared`);
      }
      return size + written;
    } finally {
      this.busy.delete(id);
    }
  }

  async commit(id: UploadId, expected: Digest, record?: (published: PublishedBlob) => Promise<void>): Promise<{ size: number }> {
    if (this.busy.has(id)) throw new BerthError('UPLOAD_INVALID', 'another request is writing to this upload session');
    this.busy.add(id);
    try {
      const { chunks, size } = await this.chunks(id);
      const algorithm = digestAlgorithm(expected);
      const live = this.hashes.get(id);
      const target = this.blobKey(expected);
      if (live && live.offset === size && algorithm === 'sha256') {
        const actual = `sha256:${live.hash.copy().digest('hex')}`;
        if (actual !== expected) throw new BerthError('DIGEST_MISMATCH', `uploaded content has digest ${actual}, not ${expected}`, { actual });
        await this.publish(chunks, size, target);
      } else {
        // Hash while streaming into the blob's (invisible until completed) multipart upload.
        const hash = newHasher(algorithm);
        const source = this.readChunks(chunks, (buf) => hash.update(buf));
        await this.writeObject(target, source, () => {
          const actual = `${algorithm}:${hash.digest('hex')}`;
          if (actual !== expected) throw new BerthError('DIGEST_MISMATCH', `uploaded content has digest ${actual}, not ${expected}`, { actual });
        });
      }
      if (record) {
        // `busy` still holds the session: no append can change the chunks `ensure` publishes from.
        await record({
          size,
          ensure: async () => {
            if (!(await this.head(target))) await this.publish(chunks, size, target);
          },
        });
      }
      await this.deletePrefix(this.sessionPrefix(id));
      this.hashes.delete(id);
      this.seen.delete(id);
      return { size };
    } finally {
      this.busy.delete(id);
    }
  }

  /** Write verified chunks as the object `target`: a server-side copy of a single chunk, else a streamed concatenation. */
  private async publish(chunks: Chunk[], size: number, target: string): Promise<void> {
    if (chunks.length === 1 && size <= MAX_COPY_BYTES) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource: `${this.bucket}/${chunks[0]!.key}` }));
      return;
    }
    await this.writeObject(target, this.readChunks(chunks));
  }

  private async *readChunks(chunks: Chunk[], onData?: (buf: Buffer) => void): AsyncGenerator<Buffer> {
    for (const chunk of chunks) {
      if (chunk.size === 0) continue;
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: chunk.key }));
      for await (const data of out.Body as Readable) {
        const buf = data as Buffer;
        onData?.(buf);
        yield buf;
      }
    }
  }

  /**
   * Write `source` as the object `key`: one PutObject when it fits in a part, else a multipart
   * upload with a few parts in flight. `beforeCommit` runs after the last byte and before the
   * object becomes visible; when it (or the source) throws, nothing is written.
   */
  private async writeObject(key: string, source: AsyncIterable<Buffer>, beforeCommit?: () => void): Promise<void> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    let nextPart = 1;
    const parts: { PartNumber: number; ETag: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const take = (): Buffer => {
      const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      const part = all.subarray(0, Math.min(PART_SIZE, all.length));
      const rest = all.subarray(part.length);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
      return part;
    };
    const sendPart = async (body: Buffer) => {
      if (uploadId === undefined) {
        const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
        uploadId = created.UploadId!;
      }
      const partNumber = nextPart++;
      const p = this.client
        .send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }))
        .then(
          (out) => {
            parts.push({ PartNumber: partNumber, ETag: out.ETag! });
          },
          (err: unknown) => {
            failure ??= err;
          },
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= PART_CONCURRENCY) await Promise.race(inFlight);
      if (failure) throw failure;
    };
    try {
      for await (const data of source) {
        pending.push(data);
        pendingBytes += data.length;
        // A part leaves only once more follows it, so the last part is never empty.
        while (pendingBytes > PART_SIZE) await sendPart(take());
      }
      if (uploadId === undefined) {
        beforeCommit?.();
        const body = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
        return;
      }
      if (pendingBytes > 0) await sendPart(take());
      await Promise.all(inFlight);
      if (failure) throw failure;
      beforeCommit?.();
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
      uploadId = undefined;
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (uploadId !== undefined) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      }
      throw err;
    }
  }

  async listUploads(): Promise<{ id: UploadId; modifiedAt: number }[]> {
    const sessions = new Map<string, number>();
    for await (const object of this.list('uploads/')) {
      const [id = '', name = ''] = object.Key!.slice('uploads/'.length).split('/');
      // The time in the name has milliseconds; LastModified only seconds.
      const written = /^(?:session|chunk-\d{16})-(\d+)$/.exec(name);
      const at = written ? Number(written[1]) : (object.LastModified?.getTime() ?? 0);
      sessions.set(id, Math.max(sessions.get(id) ?? 0, at));
    }
    return [...sessions].filter(([id]) => UPLOAD_ID.test(id)).map(([id, modifiedAt]) => ({ id: id as UploadId, modifiedAt }));
  }

  async abort(id: UploadId): Promise<void> {
    if (!UPLOAD_ID.test(id)) return;
    this.hashes.delete(id);
    this.seen.delete(id);
    await this.deletePrefix(this.sessionPrefix(id));
  }

  async delete(digest: Digest): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
  }

  // ---- BlobInventory ------------------------------------------------------------------------

  async *files(opts: { signal?: AbortSignal } = {}): AsyncIterable<StoredFile[]> {
    let token: string | undefined;
    do {
      opts.signal?.throwIfAborted();
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: 'blobs/', ...(token ? { ContinuationToken: token } : {}) }),
      );
      const batch = (page.Contents ?? []).map((o) => {
        const name = o.Key!.slice('blobs/'.length);
        return { digest: digestOfName(name), name };
      });
      if (batch.length > 0) yield batch;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  nameOf(digest: Digest): string {
    return this.blobKey(digest).slice('blobs/'.length);
  }

  async fileInfo(name: string): Promise<{ size: number; changedAt: number } | undefined> {
    const head = await this.head(this.inventoryKey(name));
    return head && { size: head.size, changedAt: head.modifiedAt };
  }

  async hash(digest: Digest, opts: { signal?: AbortSignal } = {}): Promise<{ digest: Digest; size: number; changedAt: number } | undefined> {
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), opts.signal ? { abortSignal: opts.signal } : {});
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const hash = newHasher(digestAlgorithm(digest));
    let size = 0;
    for await (const data of out.Body as Readable) {
      opts.signal?.throwIfAborted();
      hash.update(data as Buffer);
      size += (data as Buffer).length;
    }
    return { digest: `${digestAlgorithm(digest)}:${hash.digest('hex')}` as Digest, size, changedAt: out.LastModified?.getTime() ?? 0 };
  }

  async quarantine(digest: Digest): Promise<string | undefined> {
    const source = this.blobKey(digest);
    if (!(await this.head(source))) return undefined;
    const target = `quarantine/${digestAlgorithm(digest)}-${digestHex(digest)}-${Date.now()}`;
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource: `${this.bucket}/${source}` }));
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: source }));
    return `s3://${this.bucket}/${target}`;
  }

  async removeFile(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.inventoryKey(name) }));
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** A name from `files`, as a key inside the blob area and nowhere else. */
  private inventoryKey(name: string): string {
    if (name.length === 0 || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new BerthError('INVALID_PARAMETER', `${name} is not in the blob area`);
    }
    return `blobs/${name}`;
  }

  private async head(key: string): Promise<{ size: number; modifiedAt: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, modifiedAt: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async *list(prefix: string, startAfter?: string): AsyncGenerator<_Object> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
        }),
      );
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deletePrefix(prefix: string): Promise<void> {
    const keys: string[] = [];
    for await (const object of this.list(prefix)) keys.push(object.Key!);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      if (batch.length === 1) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: batch[0]! }));
        continue;
      }
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  }
}

/** The digest a blob-area name stands for (`sha256/ab/ab…`), or undefined for anything else. */
function digestOfName(name: string): Digest | undefined {
  const [algorithm, folder, hex, ...rest] = name.split('/');
  if (rest.length > 0 || !algorithm || !folder || !hex || !Object.hasOwn(HEX_LENGTH, algorithm)) return undefined;
  const length = HEX_LENGTH[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[0-9a-f]+$/.test(hex) || !hex.startsWith(folder) || folder.length !== 2) return undefined;
  return `${algorithm}:${hex}` as Digest;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

