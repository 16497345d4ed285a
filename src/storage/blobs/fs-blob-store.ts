import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { randomBytes, type Hash } from 'node:crypto';
import { BerthError, digestAlgorithm, digestHex, newHasher, type Digest, type DigestAlgorithm } from '../../core/index.js';
import type { BlobInventory, BlobStore, ByteRange, PublishedBlob, StoredFile, UploadId } from './blob-store.js';

/** Writes are gathered into batches of this size: fewer syscalls and thread-pool hops per byte. */
const WRITE_BATCH = 1 << 20;
const READ_CHUNK = 1 << 20;
const DOWNLOAD_BUFFERS = 4;

interface LiveHash {
  hash: Hash;
  /** Bytes fed to `hash`; valid only while it equals the file size. */
  offset: number;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/**
 * Blobs as files under `<root>/blobs/<alg>/<2 hex>/<hex>`, uploads as files under `<root>/uploads/`.
 * A blob appears only by rename of a hard link to a fully written, fsynced and verified upload
 * file, so a crash leaves either no blob or the whole blob. Upload bytes are hashed as they arrive;
 * after a restart (when the in-memory hash state is gone) the commit re-reads the upload file to
 * verify it. The upload file stays until the caller has recorded the blob, so the blob can be
 * published again if garbage collection removed it in between (see `BlobStore.commit`).
 */
export class FsBlobStore implements BlobStore, BlobInventory {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  private readonly quarantineDir: string;
  private readonly hashes = new Map<UploadId, LiveHash>();
  private readonly busy = new Set<UploadId>();

  constructor(root: string) {
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
    this.quarantineDir = join(root, 'quarantine');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
  }

  private blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.blobsDir, digestAlgorithm(digest), hex.slice(0, 2), hex);
  }

  private uploadPath(id: UploadId): string {
    if (!/^[a-zA-Z0-9-]{8,64}$/.test(id)) throw new BerthError('UPLOAD_NOT_FOUND', 'no such upload session');
    return join(this.uploadsDir, id);
  }

  async stat(digest: Digest): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.blobPath(digest))).size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async open(digest: Digest, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BerthError('BLOB_NOT_FOUND', `blob ${digest} is not stored`, undefined, { cause: err });
      throw err;
    }
    return createReadStream('', {
      fd: handle,
      highWaterMark: READ_CHUNK,
      ...(opts.range ? { start: opts.range.start, end: opts.range.end } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  async writeTo(digest: Digest, sink: (chunk: Buffer) => Promise<void>, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BerthError('BLOB_NOT_FOUND', `blob ${digest} is not stored`, undefined, { cause: err });
      throw err;
    }
    try {
      let position = opts.range?.start ?? 0;
      const end = opts.range ? opts.range.end + 1 : (await handle.stat()).size;
      // A few reusable buffers, each written before it is read into again: no allocation and no
      // page faults per chunk, and the next read overlaps the previous write. Measured on a 256 MiB
      // blob: about 1.4x the throughput of a ReadStream with the same chunk size.
      const pool = Array.from({ length: DOWNLOAD_BUFFERS }, () => Buffer.allocUnsafeSlow(READ_CHUNK));
      const pending: (Promise<void> | undefined)[] = new Array(DOWNLOAD_BUFFERS);
      let i = 0;
      while (position < end) {
        opts.signal?.throwIfAborted();
        await pending[i];
        const buffer = pool[i]!;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_CHUNK, end - position), position);
        if (bytesRead === 0) throw new BerthError('INTERNAL', `blob ${digest} is shorter than recorded`);
        position += bytesRead;
        pending[i] = sink(buffer.subarray(0, bytesRead));
        // Surface a failed write at once rather than when the slot comes round again.
        pending[i]!.catch(() => undefined);
        i = (i + 1) % DOWNLOAD_BUFFERS;
      }
      await Promise.all(pending);
    } finally {
      await handle.close();
    }
  }

  async beginUpload(id: UploadId): Promise<void> {
    const handle = await open(this.uploadPath(id), 'wx');
    await handle.close();
    this.hashes.set(id, { hash: newHasher('sha256'), offset: 0 });
  }

  async uploadSize(id: UploadId): Promise<number> {
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch (err) {
      if (isNotFound(err)) throw new BerthError('UPLOAD_NOT_FOUND', 'no such upload session', undefined, { cause: err });
      throw err;
    }
  }

  async append(
    id: UploadId,
    offset: number,
    chunk: Readable,
    opts: { expectedLength?: number; signal?: AbortSignal } = {},
  ): Promise<number> {
    if (this.busy.has(id)) throw new BerthError('UPLOAD_INVALID', 'another request is writing to this upload session');
    this.busy.add(id);
    try {
      const size = await this.uploadSize(id);
      if (size !== offset) {
        throw new BerthError('UPLOAD_OFFSET_MISMATCH', `upload has ${size} bytes; a chunk must start at ${size}, not ${offset}`, {
          size,
        });
      }
      let live = this.hashes.get(id);
      if (live && live.offset !== size) {
        this.hashes.delete(id);
        live = undefined;
      }
      const handle = await open(this.uploadPath(id), 'r+');
      let written = 0;
      let position = size;
      try {
        const pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = async () => {
          if (pendingBytes === 0) return;
          const batch = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending.length = 0;
          pendingBytes = 0;
          let done = 0;
          while (done < batch.length) {
            const { bytesWritten } = await handle.write(batch, done, batch.length - done, position);
            done += bytesWritten;
            position += bytesWritten;
          }
          live?.hash.update(batch);
          if (live) live.offset += batch.length;
          written += batch.length;
        };
        for await (const data of chunk) {
          opts.signal?.throwIfAborted();
          const buf = data as Buffer;
          if (opts.expectedLength !== undefined && written + pendingBytes + buf.length > opts.expectedLength) {
            throw new BerthError('SIZE_INVALID', `body is longer than the ${opts.expectedLength} bytes declared`);
          }
          pending.push(buf);
          pendingBytes += buf.length;
          if (pendingBytes >= WRITE_BATCH) await flush();
        }
        await flush();
      } catch (err) {
        // Whatever reached the file stays (it is a prefix of the client's bytes, which the upload
        // status reports), but the live hash no longer covers the file exactly.
        this.hashes.delete(id);
        throw err;
      } finally {
        await handle.close();
      }
      if (opts.expectedLength !== undefined && written !== opts.expectedLength) {
        throw new BerthError('SIZE_INVALID', `body has ${written} bytes but ${opts.expectedLength} were declared`);
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
      const path = this.uploadPath(id);
      const size = await this.uploadSize(id);
      const algorithm = digestAlgorithm(expected);
      const live = this.hashes.get(id);
      let actual: string;
      if (live && live.offset === size && algorithm === 'sha256') {
        actual = `sha256:${live.hash.copy().digest('hex')}`;
      } else {
        actual = await hashFile(path, algorithm);
      }
      if (actual !== expected) {
        throw new BerthError('DIGEST_MISMATCH', `uploaded content has digest ${actual}, not ${expected}`, { actual });
      }
      const handle = await open(path, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const target = this.blobPath(expected);
      await publish(path, target);
      if (record) {
        // `busy` still holds the session: no append can change the bytes `ensure` publishes from.
        await record({
          size,
          ensure: async () => {
            if (!(await exists(target))) await publish(path, target);
          },
        });
      }
      await rm(path, { force: true });
      this.hashes.delete(id);
      return { size };
    } finally {
      this.busy.delete(id);
    }
  }

  async listUploads(): Promise<{ id: UploadId; modifiedAt: number }[]> {
    const out: { id: UploadId; modifiedAt: number }[] = [];
    for (const name of await readdir(this.uploadsDir)) {
      const info = await stat(join(this.uploadsDir, name)).catch(() => undefined);
      if (info?.isFile()) out.push({ id: name as UploadId, modifiedAt: info.mtimeMs });
    }
    return out;
  }

  async abort(id: UploadId): Promise<void> {
    if (!/^[a-zA-Z0-9-]{8,64}$/.test(id)) return;
    this.hashes.delete(id);
    await rm(this.uploadPath(id), { force: true });
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  // ---- BlobInventory ------------------------------------------------------------------------

  async *files(opts: { signal?: AbortSignal } = {}): AsyncIterable<StoredFile[]> {
    for (const top of await readdirSorted(this.blobsDir)) {
      const topPath = join(this.blobsDir, top.name);
      if (!top.isDirectory()) {
        yield [{ digest: undefined, name: top.name }];
        continue;
      }
      const algorithm = Object.hasOwn(HEX_LENGTH, top.name) ? (top.name as DigestAlgorithm) : undefined;
      for (const folder of await readdirSorted(topPath)) {
        opts.signal?.throwIfAborted();
        const folderPath = join(topPath, folder.name);
        if (!folder.isDirectory()) {
          yield [{ digest: undefined, name: relative(this.blobsDir, folderPath) }];
          continue;
        }
        const batch: StoredFile[] = [];
        for (const entry of await readdirSorted(folderPath)) {
          const name = relative(this.blobsDir, join(folderPath, entry.name));
          const isBlobName =
            algorithm !== undefined &&
            entry.isFile() &&
            entry.name.length === HEX_LENGTH[algorithm] &&
            /^[0-9a-f]+$/.test(entry.name) &&
            entry.name.startsWith(folder.name);
          batch.push({ digest: isBlobName ? (`${algorithm}:${entry.name}` as Digest) : undefined, name });
        }
        if (batch.length > 0) yield batch;
      }
    }
  }

  async fileInfo(name: string): Promise<{ size: number; changedAt: number } | undefined> {
    try {
      const info = await stat(this.inventoryPath(name));
      // ctime moves when the file is linked into place (publish), mtime when its bytes were written.
      return { size: info.size, changedAt: Math.max(info.mtimeMs, info.ctimeMs) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  nameOf(digest: Digest): string {
    return relative(this.blobsDir, this.blobPath(digest));
  }

  async hash(digest: Digest, opts: { signal?: AbortSignal } = {}): Promise<{ digest: Digest; size: number; changedAt: number } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const hash = newHasher(digestAlgorithm(digest));
    let size = 0;
    let changedAt: number;
    try {
      const info = await handle.stat();
      changedAt = Math.max(info.mtimeMs, info.ctimeMs);
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        opts.signal?.throwIfAborted();
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, size);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        size += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return { digest: `${digestAlgorithm(digest)}:${hash.digest('hex')}` as Digest, size, changedAt };
  }

  async quarantine(digest: Digest): Promise<string | undefined> {
    await mkdir(this.quarantineDir, { recursive: true });
    const target = join(this.quarantineDir, `${digestAlgorithm(digest)}-${digestHex(digest)}-${Date.now()}`);
    try {
      await rename(this.blobPath(digest), target);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return target;
  }

  async removeFile(name: string): Promise<void> {
    await rm(this.inventoryPath(name), { force: true });
  }

  /** A name from `files`, resolved inside the blob area and nowhere else. */
  private inventoryPath(name: string): string {
    const path = join(this.blobsDir, name);
    if (!path.startsWith(this.blobsDir + sep)) throw new BerthError('INVALID_PARAMETER', `${name} is not in the blob area`);
    return path;
  }
}

/**
 * Put the bytes of `source` at `target` atomically, replacing whatever is there: a hard link under
 * a temporary name renamed over `target` (a copy where the filesystem has no hard links), then an
 * fsync of the folder so the entry survives a power cut. `source` stays.
 */
async function publish(source: string, target: string): Promise<void> {
  const folder = dirname(target);
  await mkdir(folder, { recursive: true });
  const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await link(source, temporary);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EMLINK') throw err;
    await copyFile(source, temporary);
    const handle = await open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  try {
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncDir(folder);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function readdirSorted(dir: string) {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function hashFile(path: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
  const hash = newHasher(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest('hex')}`;
}

/** Make a rename durable: the directory entry must reach the disk too. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}
