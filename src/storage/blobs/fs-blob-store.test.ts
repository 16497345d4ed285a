import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError, digestOf, type Digest, type ErrorCode } from '../../core/index.js';
import type { UploadId } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

let root: string;
let store: FsBlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-blobs-'));
  store = new FsBlobStore(root);
  await store.init();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function newId(): UploadId {
  return randomUUID() as UploadId;
}

function body(...chunks: (string | Buffer)[]): Readable {
  return Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<BerthError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe(code);
    return err as BerthError;
  }
  throw new Error(`expected ${code}`);
}

/** Every file under `<root>/blobs`, as paths relative to it. */
async function publishedFiles(): Promise<string[]> {
  const entries = await readdir(join(root, 'blobs'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(root.length + 1));
}

async function upload(s: FsBlobStore, data: Buffer): Promise<UploadId> {
  const id = newId();
  await s.beginUpload(id);
  await s.append(id, 0, body(data));
  return id;
}

describe('upload round trip', () => {
  it('begins, appends in chunks, commits and serves the blob', async () => {
    const id = newId();
    await store.beginUpload(id);
    expect(await store.uploadSize(id)).toBe(0);
    expect(await store.append(id, 0, body('hello, '))).toBe(7);
    expect(await store.uploadSize(id)).toBe(7);
    expect(await store.append(id, 7, body('wor', 'ld'), { expectedLength: 5 })).toBe(12);
    const digest = digestOf('hello, world');
    expect(await store.commit(id, digest)).toEqual({ size: 12 });

    expect(await store.stat(digest)).toEqual({ size: 12 });
    expect((await readAll(await store.open(digest))).toString()).toBe('hello, world');
    expect(await publishedFiles()).toEqual([join('blobs', 'sha256', digest.slice(7, 9), digest.slice(7))]);
    // The session is over.
    await rejectsWith(store.uploadSize(id), 'UPLOAD_NOT_FOUND');
    await rejectsWith(store.append(id, 12, body('x')), 'UPLOAD_NOT_FOUND');
    await rejectsWith(store.commit(id, digest), 'UPLOAD_NOT_FOUND');
  });

  it('handles an empty blob', async () => {
    const id = newId();
    await store.beginUpload(id);
    const digest = digestOf('');
    expect(await store.commit(id, digest)).toEqual({ size: 0 });
    expect(await store.stat(digest)).toEqual({ size: 0 });
    expect((await readAll(await store.open(digest))).length).toBe(0);
  });

  it('handles a blob larger than one write batch, in many chunks', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 65_536) chunks.push(data.subarray(i, i + 65_536));
    const id = newId();
    await store.beginUpload(id);
    expect(await store.append(id, 0, Readable.from(chunks), { expectedLength: data.length })).toBe(data.length);
    const digest = digestOf(data);
    expect(await store.commit(id, digest)).toEqual({ size: data.length });
    expect((await readAll(await store.open(digest))).equals(data)).toBe(true);
  });

  it('commits with a sha512 digest', async () => {
    const id = await upload(store, Buffer.from('five hundred and twelve'));
    const digest = digestOf('five hundred and twelve', 'sha512');
    expect(await store.commit(id, digest)).toEqual({ size: 23 });
    expect(await store.stat(digest)).toEqual({ size: 23 });
    expect((await readAll(await store.open(digest))).toString()).toBe('five hundred and twelve');
  });

  it('commits a blob that already exists as a no-op', async () => {
    const digest = digestOf('same');
    await store.commit(await upload(store, Buffer.from('same')), digest);
    expect(await store.commit(await upload(store, Buffer.from('same')), digest)).toEqual({ size: 4 });
    expect((await readAll(await store.open(digest))).toString()).toBe('same');
    expect(await publishedFiles()).toHaveLength(1);
  });

  it('refuses to begin a session id twice', async () => {
    const id = newId();
    await store.beginUpload(id);
    await expect(store.beginUpload(id)).rejects.toThrow();
  });

  it.each(['short', '../../../etc/passwd', 'a/b/c/d/e/f/g/h', `${'a'.repeat(65)}`, 'with space in it'])(
    'treats the malformed upload id %j as unknown',
    async (id) => {
      await rejectsWith(store.beginUpload(id as UploadId), 'UPLOAD_NOT_FOUND');
      await rejectsWith(store.uploadSize(id as UploadId), 'UPLOAD_NOT_FOUND');
      await rejectsWith(store.append(id as UploadId, 0, body('x')), 'UPLOAD_NOT_FOUND');
      await rejectsWith(store.commit(id as UploadId, digestOf('x')), 'UPLOAD_NOT_FOUND');
    },
  );
});

describe('digest mismatch', () => {
  it('throws DIGEST_MISMATCH, publishes nothing and keeps the session', async () => {
    const id = await upload(store, Buffer.from('actual bytes'));
    const claimed = digestOf('other bytes');
    const err = await rejectsWith(store.commit(id, claimed), 'DIGEST_MISMATCH');
    expect(err.detail).toEqual({ actual: digestOf('actual bytes') });

    expect(await store.stat(claimed)).toBeUndefined();
    expect(await store.stat(digestOf('actual bytes'))).toBeUndefined();
    expect(await publishedFiles()).toEqual([]);
    await rejectsWith(store.open(claimed), 'BLOB_NOT_FOUND');

    // The client may still fix it.
    expect(await store.uploadSize(id)).toBe(12);
    expect(await store.commit(id, digestOf('actual bytes'))).toEqual({ size: 12 });
  });

  it('throws DIGEST_MISMATCH for a sha512 digest of other bytes', async () => {
    const id = await upload(store, Buffer.from('abc'));
    await rejectsWith(store.commit(id, digestOf('abd', 'sha512')), 'DIGEST_MISMATCH');
    expect(await publishedFiles()).toEqual([]);
  });
});

describe('append checks', () => {
  it('throws UPLOAD_OFFSET_MISMATCH at the wrong offset and keeps the bytes', async () => {
    const id = await upload(store, Buffer.from('abc'));
    for (const offset of [0, 2, 4, 100]) {
      const err = await rejectsWith(store.append(id, offset, body('zzz')), 'UPLOAD_OFFSET_MISMATCH');
      expect(err.detail).toEqual({ size: 3 });
    }
    expect(await store.uploadSize(id)).toBe(3);
    expect(await store.append(id, 3, body('def'))).toBe(6);
    expect(await store.commit(id, digestOf('abcdef'))).toEqual({ size: 6 });
  });

  it('throws UPLOAD_OFFSET_MISMATCH for a non-zero first offset', async () => {
    const id = newId();
    await store.beginUpload(id);
    await rejectsWith(store.append(id, 1, body('x')), 'UPLOAD_OFFSET_MISMATCH');
    expect(await store.uploadSize(id)).toBe(0);
  });

  it('throws SIZE_INVALID when the body is shorter than declared; the bytes that arrived stay', async () => {
    const id = await upload(store, Buffer.from('abc'));
    await rejectsWith(store.append(id, 3, body('de'), { expectedLength: 5 }), 'SIZE_INVALID');
    expect(await store.uploadSize(id)).toBe(5);
    expect(await store.append(id, 5, body('f'))).toBe(6);
    expect(await store.commit(id, digestOf('abcdef'))).toEqual({ size: 6 });
  });

  it('throws SIZE_INVALID when the body is longer than declared; the session stays consistent', async () => {
    const full = Buffer.from('abcdefgh');
    const id = await upload(store, full.subarray(0, 3));
    await rejectsWith(store.append(id, 3, body('de', 'fgh'), { expectedLength: 4 }), 'SIZE_INVALID');
    const size = await store.uploadSize(id);
    // What stays is a prefix of what the client sent, never more than declared.
    expect(size).toBeGreaterThanOrEqual(3);
    expect(size).toBeLessThanOrEqual(3 + 4);
    // Resuming from the reported size yields the client's bytes.
    expect(await store.append(id, size, body(full.subarray(size)))).toBe(full.length);
    expect(await store.commit(id, digestOf(full))).toEqual({ size: full.length });
    expect((await readAll(await store.open(digestOf(full)))).equals(full)).toBe(true);
  });

  it('throws SIZE_INVALID for a single chunk longer than declared, writing nothing past the declaration', async () => {
    const id = newId();
    await store.beginUpload(id);
    await rejectsWith(store.append(id, 0, body('0123456789'), { expectedLength: 4 }), 'SIZE_INVALID');
    expect(await store.uploadSize(id)).toBeLessThanOrEqual(4);
  });

  it('accepts expectedLength 0 with an empty body, and rejects it with a non-empty one', async () => {
    const id = newId();
    await store.beginUpload(id);
    expect(await store.append(id, 0, body(), { expectedLength: 0 })).toBe(0);
    await rejectsWith(store.append(id, 0, body('x'), { expectedLength: 0 }), 'SIZE_INVALID');
  });

  it('survives a body stream that fails midway: the reported size can be resumed', async () => {
    const full = Buffer.from('0123456789');
    const id = newId();
    await store.beginUpload(id);
    // Fails only once the store is reading it: a chunk, then an error on the next read.
    let reads = 0;
    const failing = new Readable({
      read() {
        if (reads++ === 0) this.push(full.subarray(0, 4));
        else this.destroy(new Error('client went away'));
      },
    });
    await expect(store.append(id, 0, failing)).rejects.toThrow('client went away');
    const size = await store.uploadSize(id);
    expect(size).toBeLessThanOrEqual(4);
    await store.append(id, size, body(full.subarray(size)));
    expect(await store.commit(id, digestOf(full))).toEqual({ size: 10 });
  });

  it('rejects a concurrent append or commit on one session with UPLOAD_INVALID', async () => {
    const id = newId();
    await store.beginUpload(id);
    const slow = new PassThrough();
    const first = store.append(id, 0, slow);
    slow.write('abc');
    await rejectsWith(store.append(id, 0, body('zzz')), 'UPLOAD_INVALID');
    await rejectsWith(store.commit(id, digestOf('abc')), 'UPLOAD_INVALID');
    slow.end('def');
    expect(await first).toBe(6);
    // Once the first append is done the session is usable again.
    expect(await store.append(id, 6, body('g'))).toBe(7);
    expect(await store.commit(id, digestOf('abcdefg'))).toEqual({ size: 7 });
  });

  it('does not block appends to other sessions', async () => {
    const a = newId();
    const b = newId();
    await store.beginUpload(a);
    await store.beginUpload(b);
    const slow = new PassThrough();
    const first = store.append(a, 0, slow);
    expect(await store.append(b, 0, body('bbb'))).toBe(3);
    slow.end('aaa');
    expect(await first).toBe(3);
  });

  it('releases the session after a failed append', async () => {
    const id = await upload(store, Buffer.from('abc'));
    await rejectsWith(store.append(id, 9, body('x')), 'UPLOAD_OFFSET_MISMATCH');
    expect(await store.append(id, 3, body('d'))).toBe(4);
  });

  it('honours an abort signal', async () => {
    const id = newId();
    await store.beginUpload(id);
    const controller = new AbortController();
    const slow = new PassThrough();
    const pending = store.append(id, 0, slow, { signal: controller.signal });
    slow.write('abc');
    await new Promise((r) => setImmediate(r));
    controller.abort();
    slow.write('def');
    slow.end();
    await expect(pending).rejects.toThrow();
    expect(await store.uploadSize(id)).toBeLessThanOrEqual(6);
  });
});

describe('restart (a new instance on the same root)', () => {
  it('commits a session begun by the first instance by re-reading its bytes', async () => {
    const id = newId();
    await store.beginUpload(id);
    await store.append(id, 0, body('before restart; '));
    const restarted = new FsBlobStore(root);
    await restarted.init();
    expect(await restarted.uploadSize(id)).toBe(16);
    expect(await restarted.append(id, 16, body('after restart'))).toBe(29);
    const digest = digestOf('before restart; after restart');
    await rejectsWith(restarted.commit(id, digestOf('before restart; ')), 'DIGEST_MISMATCH');
    expect(await restarted.commit(id, digest)).toEqual({ size: 29 });
    expect((await readAll(await restarted.open(digest))).toString()).toBe('before restart; after restart');
    expect(await store.stat(digest)).toEqual({ size: 29 });
  });

  it('commits a session with no appends since the restart', async () => {
    const data = randomBytes(100_000);
    const id = await upload(store, data);
    const restarted = new FsBlobStore(root);
    expect(await restarted.commit(id, digestOf(data))).toEqual({ size: data.length });
  });

  it('commits with a sha512 digest after a restart', async () => {
    const data = randomBytes(50_000);
    const id = await upload(store, data);
    const restarted = new FsBlobStore(root);
    await rejectsWith(restarted.commit(id, digestOf(randomBytes(10), 'sha512')), 'DIGEST_MISMATCH');
    expect(await restarted.commit(id, digestOf(data, 'sha512'))).toEqual({ size: data.length });
    expect((await readAll(await restarted.open(digestOf(data, 'sha512')))).equals(data)).toBe(true);
  });

  it('does not trust the first instance\'s hash once another instance appended', async () => {
    const id = await upload(store, Buffer.from('abc'));
    const other = new FsBlobStore(root);
    await other.append(id, 3, body('def'));
    // The first instance's live hash covers only "abc": it must re-hash, not compare against it.
    await rejectsWith(store.commit(id, digestOf('abc')), 'DIGEST_MISMATCH');
    expect(await store.append(id, 6, body('ghi'))).toBe(9);
    expect(await store.commit(id, digestOf('abcdefghi'))).toEqual({ size: 9 });
  });
});

describe('reads', () => {
  const data = Buffer.from('0123456789abcdef');
  let digest: Digest;

  beforeEach(async () => {
    digest = digestOf(data);
    await store.commit(await upload(store, data), digest);
  });

  it.each([
    [0, 15, '0123456789abcdef'],
    [0, 0, '0'],
    [2, 5, '2345'],
    [15, 15, 'f'],
    [10, 15, 'abcdef'],
  ])('opens the inclusive range %i-%i', async (start, end, expected) => {
    expect((await readAll(await store.open(digest, { range: { start, end } }))).toString()).toBe(expected);
  });

  it('stat of an absent blob is undefined', async () => {
    expect(await store.stat(digestOf('absent'))).toBeUndefined();
    expect(await store.stat(digestOf('absent', 'sha512'))).toBeUndefined();
  });

  it('open of an absent blob throws BLOB_NOT_FOUND naming it', async () => {
    const absent = digestOf('absent');
    const err = await rejectsWith(store.open(absent), 'BLOB_NOT_FOUND');
    expect(err.message).toContain(absent);
  });

  it('keeps sha256 and sha512 blobs apart', async () => {
    expect(await store.stat(digestOf(data, 'sha512'))).toBeUndefined();
  });
});

describe('abort and delete', () => {
  it('abort removes the session and its bytes', async () => {
    const id = await upload(store, Buffer.from('to be dropped'));
    await store.abort(id);
    await rejectsWith(store.uploadSize(id), 'UPLOAD_NOT_FOUND');
    await rejectsWith(store.append(id, 0, body('x')), 'UPLOAD_NOT_FOUND');
    await rejectsWith(store.commit(id, digestOf('to be dropped')), 'UPLOAD_NOT_FOUND');
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
    expect(await publishedFiles()).toEqual([]);
  });

  it('abort of an unknown session is ignored', async () => {
    await expect(store.abort(newId())).resolves.toBeUndefined();
  });

  it('abort after a restart removes the session too', async () => {
    const id = await upload(store, Buffer.from('x'));
    await new FsBlobStore(root).abort(id);
    await rejectsWith(store.uploadSize(id), 'UPLOAD_NOT_FOUND');
  });

  it('an aborted id may be begun afresh', async () => {
    const id = await upload(store, Buffer.from('old'));
    await store.abort(id);
    await store.beginUpload(id);
    expect(await store.uploadSize(id)).toBe(0);
    await store.append(id, 0, body('new'));
    expect(await store.commit(id, digestOf('new'))).toEqual({ size: 3 });
  });

  it('delete removes a committed blob; deleting an absent one is ignored', async () => {
    const digest = digestOf('doomed');
    await store.commit(await upload(store, Buffer.from('doomed')), digest);
    const keep = digestOf('kept');
    await store.commit(await upload(store, Buffer.from('kept')), keep);
    await store.delete(digest);
    expect(await store.stat(digest)).toBeUndefined();
    await rejectsWith(store.open(digest), 'BLOB_NOT_FOUND');
    await expect(store.delete(digest)).resolves.toBeUndefined();
    await expect(store.delete(digestOf('never', 'sha512'))).resolves.toBeUndefined();
    expect(await store.stat(keep)).toEqual({ size: 4 });
  });

  it('commit leaves no upload file behind', async () => {
    const id = await upload(store, Buffer.from('moved'));
    await store.commit(id, digestOf('moved'));
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
    expect((await stat(join(root, 'blobs', 'sha256'))).isDirectory()).toBe(true);
  });
});

describe('writeTo (the download path)', () => {
  async function committed(data: Buffer): Promise<Digest> {
    const id = newId();
    await store.beginUpload(id);
    await store.append(id, 0, body(data));
    const digest = digestOf(data);
    await store.commit(id, digest);
    return digest;
  }

  /** Copies each chunk: the store reuses its buffers once the sink's promise resolves. */
  async function collect(digest: Digest, opts: Parameters<FsBlobStore['writeTo']>[2] = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await store.writeTo(digest, async (chunk) => void chunks.push(Buffer.from(chunk)), opts);
    return Buffer.concat(chunks);
  }

  it('delivers every byte in order across many reused buffers, even with a slow sink', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const digest = await committed(data);
    expect((await collect(digest)).equals(data)).toBe(true);
    const slow: Buffer[] = [];
    await store.writeTo(digest, async (chunk) => {
      const copy = Buffer.from(chunk);
      await new Promise((r) => setTimeout(r, 2));
      slow.push(copy);
    });
    expect(Buffer.concat(slow).equals(data)).toBe(true);
  });

  it('delivers a range, and nothing for an empty blob', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const digest = await committed(data);
    const part = await collect(digest, { range: { start: 1024 * 1024 - 5, end: 2 * 1024 * 1024 + 5 } });
    expect(part.equals(data.subarray(1024 * 1024 - 5, 2 * 1024 * 1024 + 6))).toBe(true);
    expect((await collect(await committed(Buffer.alloc(0)))).length).toBe(0);
  });

  it('throws BLOB_NOT_FOUND for an absent blob, and stops when the sink fails', async () => {
    await rejectsWith(store.writeTo(digestOf('absent'), async () => undefined), 'BLOB_NOT_FOUND');
    const digest = await committed(randomBytes(6 * 1024 * 1024));
    let calls = 0;
    await expect(
      store.writeTo(digest, async () => {
        calls++;
        throw new Error('client went away');
      }),
    ).rejects.toThrow('client went away');
    expect(calls).toBeLessThanOrEqual(5);
  });
});

describe('commit with a record step (what garbage collection relies on)', () => {
  it('keeps the upload until record resolves, and ensure() publishes again what was deleted meanwhile', async () => {
    const data = Buffer.from('recorded under the lock');
    const digest = digestOf(data);
    const id = await upload(store, data);
    const result = await store.commit(id, digest, async (published) => {
      expect(published.size).toBe(data.length);
      expect(await store.stat(digest)).toEqual({ size: data.length });
      expect(await readdir(join(root, 'uploads'))).toEqual([id]);
      // A collection unlinks the file before the row is recorded.
      await store.delete(digest);
      expect(await store.stat(digest)).toBeUndefined();
      // No append may change the bytes ensure() publishes from.
      await rejectsWith(store.append(id, data.length, body('x')), 'UPLOAD_INVALID');
      await published.ensure();
      expect(await store.stat(digest)).toEqual({ size: data.length });
      await published.ensure();
    });
    expect(result).toEqual({ size: data.length });
    expect((await readAll(await store.open(digest))).equals(data)).toBe(true);
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
  });

  it('keeps the session when record throws', async () => {
    const data = Buffer.from('not recorded');
    const id = await upload(store, data);
    await expect(store.commit(id, digestOf(data), async () => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    expect(await store.uploadSize(id)).toBe(data.length);
    expect(await store.commit(id, digestOf(data))).toEqual({ size: data.length });
  });

  it('replaces a damaged file with the verified bytes when the same blob is published again', async () => {
    const data = Buffer.from('the right bytes');
    const digest = digestOf(data);
    await store.commit(await upload(store, data), digest);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(root, 'blobs', store.nameOf(digest)), 'the wrong bytes');
    expect((await store.hash(digest))?.digest).not.toBe(digest);
    await store.commit(await upload(store, data), digest);
    expect((await store.hash(digest))?.digest).toBe(digest);
  });
});

describe('inventory (garbage collection and fsck)', () => {
  it('lists blob files by folder with their digests, and leftovers without one', async () => {
    const a = digestOf('a');
    const b = digestOf('bb', 'sha512');
    await store.commit(await upload(store, Buffer.from('a')), a);
    await store.commit(await upload(store, Buffer.from('bb')), b);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(root, 'blobs', `${store.nameOf(a)}.0123abcd.tmp`), 'partial');
    await writeFile(join(root, 'blobs', 'README'), 'x');
    const found: { digest: string | undefined; name: string }[] = [];
    for await (const batch of store.files()) found.push(...batch);
    expect(found).toEqual(
      expect.arrayContaining([
        { digest: a, name: store.nameOf(a) },
        { digest: b, name: store.nameOf(b) },
        { digest: undefined, name: `${store.nameOf(a)}.0123abcd.tmp` },
        { digest: undefined, name: 'README' },
      ]),
    );
    expect(found).toHaveLength(4);
    expect(await store.fileInfo(store.nameOf(a))).toMatchObject({ size: 1 });
    await store.removeFile('README');
    expect(await store.fileInfo('README')).toBeUndefined();
    await expect(store.removeFile('../metadata.db')).rejects.toThrow(/not in the blob area/);
  });

  it('hashes a stored blob, and moves one to quarantine', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const digest = digestOf(data);
    await store.commit(await upload(store, data), digest);
    expect(await store.hash(digest)).toMatchObject({ digest, size: data.length });
    expect(await store.hash(digestOf('absent'))).toBeUndefined();
    const moved = await store.quarantine(digest);
    expect(moved).toContain(join(root, 'quarantine'));
    expect(await store.stat(digest)).toBeUndefined();
    expect(await store.quarantine(digest)).toBeUndefined();
  });
});
