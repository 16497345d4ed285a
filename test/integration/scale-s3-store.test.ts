/**
 * The S3 blob store (src/storage/blobs/s3-blob-store.ts) against a real S3 protocol server
 * (fauxqs, test/helpers/s3.ts): uploads in chunks that another store instance (another node)
 * continues and completes, multipart blobs, digest checks that leave nothing visible, ranges,
 * presigned URLs, the session sweep's listing, and the inventory that GC and fsck walk.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { Digest } from '../../src/core/index.js';
import type { UploadId } from '../../src/storage/blobs/index.js';
import { S3BlobStore } from '../../src/storage/blobs/s3-blob-store.js';
import { sha256 } from '../helpers/oci-client.js';
import { createTestBucket, stopPrivateS3 } from '../helpers/s3.js';

const MiB = 1024 * 1024;
let nodeA: S3BlobStore;
let nodeB: S3BlobStore;

beforeAll(async () => {
  const env = await createTestBucket();
  const config = loadConfig({ env: { BERTH_DATA_DIR: '/nonexistent', ...env } });
  // Two instances on one bucket: two nodes, each with its own memory (live hashes, busy sessions).
  nodeA = new S3BlobStore(config.s3!);
  nodeB = new S3BlobStore(config.s3!);
  await nodeA.init();
});

afterAll(async () => {
  nodeA?.close();
  nodeB?.close();
  await stopPrivateS3();
});

function id(): UploadId {
  return crypto.randomUUID() as UploadId;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function collect(store: S3BlobStore, digest: Digest, range?: { start: number; end: number }): Promise<Buffer> {
  const parts: Buffer[] = [];
  await store.writeTo(digest, async (chunk) => void parts.push(Buffer.from(chunk)), range ? { range } : {});
  return Buffer.concat(parts);
}

describe('S3 blob store', () => {
  it('continues a session on another node: appends from both, completed on the second, read from the first', async () => {
    const data = randomBytes(3 * MiB + 123);
    const digest = sha256(data) as Digest;
    const upload = id();
    await nodeA.beginUpload(upload);
    expect(await nodeB.uploadSize(upload)).toBe(0);
    expect(await nodeB.append(upload, 0, Readable.from([data.subarray(0, MiB)]))).toBe(MiB);
    expect(await nodeA.append(upload, MiB, Readable.from([data.subarray(MiB, 2 * MiB)]))).toBe(2 * MiB);
    // An append at the wrong offset is refused with the size, from any node.
    await expect(nodeA.append(upload, MiB, Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'UPLOAD_OFFSET_MISMATCH' });
    expect(await nodeB.append(upload, 2 * MiB, Readable.from([data.subarray(2 * MiB)]))).toBe(data.length);
    expect(await nodeA.uploadSize(upload)).toBe(data.length);

    let recorded = 0;
    const { size } = await nodeB.commit(upload, digest, async (published) => {
      recorded = published.size;
      await published.ensure();
    });
    expect(size).toBe(data.length);
    expect(recorded).toBe(data.length);
    expect(await nodeA.stat(digest)).toEqual({ size: data.length });
    // Compared by digest: toEqual walks a Buffer byte by byte, which takes long for megabytes.
    expect(sha256(await collect(nodeA, digest))).toBe(digest);
    expect(sha256(await collect(nodeA, digest, { start: 10, end: MiB + 9 }))).toBe(sha256(data.subarray(10, MiB + 10)));
    expect(await readAll(await nodeB.open(digest, { range: { start: data.length - 5, end: data.length - 1 } }))).toEqual(data.subarray(-5));
    // The session is gone everywhere once the blob is recorded.
    await expect(nodeA.uploadSize(upload)).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
    expect((await nodeA.listUploads()).map((u) => u.id)).not.toContain(upload);
  });

  it('streams a blob larger than a part as a multipart upload, hashed as it arrives', async () => {
    const data = randomBytes(19 * MiB + 7);
    const digest = sha256(data) as Digest;
    const upload = id();
    await nodeA.beginUpload(upload);
    // Many small chunks, as an HTTP body arrives.
    const pieces = Array.from({ length: Math.ceil(data.length / (64 * 1024)) }, (_, i) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));
    expect(await nodeA.append(upload, 0, Readable.from(pieces), { expectedLength: data.length })).toBe(data.length);
    await nodeA.commit(upload, digest);
    expect(await nodeB.stat(digest)).toEqual({ size: data.length });
    expect(sha256(await collect(nodeB, digest))).toBe(digest);
    const inventory = await nodeB.hash(digest);
    expect(inventory).toMatchObject({ digest, size: data.length });
  });

  it('refuses a wrong digest on either node and publishes nothing; the session stays for a retry', async () => {
    const data = randomBytes(9 * MiB);
    const wrong = sha256(Buffer.from('something else')) as Digest;
    const upload = id();
    await nodeA.beginUpload(upload);
    await nodeA.append(upload, 0, Readable.from([data]));
    await expect(nodeA.commit(upload, wrong)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    // Another node has no running hash: it re-reads the chunks while streaming the blob, and aborts.
    await expect(nodeB.commit(upload, wrong)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await nodeA.stat(wrong)).toBeUndefined();
    expect(await nodeB.uploadSize(upload)).toBe(data.length);
    await nodeB.commit(upload, sha256(data) as Digest);
    expect(await nodeA.stat(sha256(data) as Digest)).toEqual({ size: data.length });
  });

  it('keeps nothing of a body longer than declared, and reports a short one', async () => {
    const upload = id();
    await nodeA.beginUpload(upload);
    await expect(nodeA.append(upload, 0, Readable.from([randomBytes(100)]), { expectedLength: 50 })).rejects.toMatchObject({ code: 'SIZE_INVALID' });
    expect(await nodeA.uploadSize(upload)).toBe(0);
    await expect(nodeA.append(upload, 0, Readable.from([randomBytes(40)]), { expectedLength: 50 })).rejects.toMatchObject({ code: 'SIZE_INVALID' });
    expect(await nodeB.uploadSize(upload)).toBe(40);
    await nodeB.abort(upload);
    await expect(nodeA.uploadSize(upload)).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
  });

  it('puts a blob back from the session when it vanished before the commit recorded it (GC rule R2)', async () => {
    const data = randomBytes(2048);
    const digest = sha256(data) as Digest;
    const upload = id();
    await nodeA.beginUpload(upload);
    await nodeA.append(upload, 0, Readable.from([data]));
    await nodeA.commit(upload, digest, async (published) => {
      await nodeB.delete(digest);
      expect(await nodeB.stat(digest)).toBeUndefined();
      await published.ensure();
    });
    expect(await collect(nodeB, digest)).toEqual(data);
  });

  it('hands out presigned URLs that fetch the blob without credentials', async () => {
    const data = randomBytes(4096);
    const digest = sha256(data) as Digest;
    const upload = id();
    await nodeA.beginUpload(upload);
    await nodeA.append(upload, 0, Readable.from([data]));
    await nodeA.commit(upload, digest);
    const url = await nodeA.presign(digest, 60);
    expect(url).toMatch(/X-Amz-Signature=/);
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(data);
  });

  it('walks, inspects, quarantines and removes what the blob area holds (GC and fsck)', async () => {
    const data = randomBytes(1000);
    const digest = sha256(data) as Digest;
    const upload = id();
    await nodeA.beginUpload(upload);
    await nodeA.append(upload, 0, Readable.from([data]));
    await nodeA.commit(upload, digest);
    const names: { digest: Digest | undefined; name: string }[] = [];
    for await (const batch of nodeB.files()) names.push(...batch);
    expect(names).toContainEqual({ digest, name: nodeB.nameOf(digest) });
    const info = await nodeB.fileInfo(nodeB.nameOf(digest));
    expect(info?.size).toBe(data.length);
    expect(info!.changedAt).toBeGreaterThan(0);
    await expect(nodeB.removeFile('../uploads/x')).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
    const moved = await nodeB.quarantine(digest);
    expect(moved).toMatch(/^s3:\/\/.+\/quarantine\//);
    expect(await nodeA.stat(digest)).toBeUndefined();
    expect(await nodeA.quarantine(digest)).toBeUndefined();
    await expect(nodeA.open(digest)).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  });

  it('lists sessions with their last write, for the sweeper', async () => {
    const upload = id();
    const before = Date.now() - 60_000;
    await nodeA.beginUpload(upload);
    await nodeA.append(upload, 0, Readable.from([randomBytes(10)]));
    const listed = (await nodeB.listUploads()).find((u) => u.id === upload);
    expect(listed?.modifiedAt).toBeGreaterThan(before);
    await nodeB.abort(upload);
    expect((await nodeA.listUploads()).map((u) => u.id)).not.toContain(upload);
  });
});
