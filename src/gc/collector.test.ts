import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError, digestOf, parseAccountId, parseRepositoryName, type Digest } from '../core/index.js';
import { FsBlobStore, type PublishedBlob, type UploadId } from '../storage/blobs/index.js';
import { HOUR, openFixture, type Fixture } from '../../test/helpers/gc-fixture.js';
import { GcSchedule } from './schedule.js';
import type { RemovedItem } from './collector.js';

let f: Fixture;

beforeEach(async () => {
  f = await openFixture();
});

afterEach(async () => {
  await f.close();
});

async function isStored(digest: Digest): Promise<boolean> {
  return (await f.blobs.stat(digest)) !== undefined;
}

async function isRecorded(digest: Digest): Promise<boolean> {
  return (await f.meta.gc.recorded([digest])).has(digest);
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BerthError);
  expect((err as BerthError).code).toBe(code);
}

describe('what garbage collection removes', () => {
  it('removes an unreferenced blob once the grace period has passed: links, row and file', async () => {
    const repo = await f.repo('team/app');
    const blob = await f.pushBlob(repo);
    f.clock.now += HOUR / 2;
    let report = await f.gc.run({ graceMs: HOUR });
    expect(report).toMatchObject({ scannedBlobs: 1, recentBlobs: 1, removedBlobs: 0 });
    expect(await isStored(blob.digest)).toBe(true);

    f.clock.now += HOUR;
    const removed: RemovedItem[] = [];
    report = await f.gc.run({ graceMs: HOUR, onRemove: (item) => removed.push(item) });
    expect(report).toMatchObject({ scannedBlobs: 1, removedBlobs: 1, removedBytes: blob.size, removedLinks: 1, recentBlobs: 0 });
    expect(removed).toEqual([{ kind: 'blob', digest: blob.digest, size: blob.size }]);
    expect(await isStored(blob.digest)).toBe(false);
    expect(await isRecorded(blob.digest)).toBe(false);
    await expectCode(f.registry.statBlob(repo, blob.digest), 'BLOB_NOT_FOUND');
  });

  it('keeps a blob that a manifest of another repository and account references, and releases it when that manifest goes', async () => {
    const a = await f.repo('team/a');
    const other = await f.registry.repository(parseAccountId('111122223333'), parseRepositoryName('team/b'), { forPush: true });
    const config = await f.pushBlob(a);
    const layer = await f.pushBlob(a);
    await f.pushBlob(other, await readFile(join(f.root, 'blobs', f.blobs.nameOf(config.digest))));
    await f.pushBlob(other, await readFile(join(f.root, 'blobs', f.blobs.nameOf(layer.digest))));
    const manifest = await f.pushManifest(other, 'v1', [config, layer]);
    f.clock.now += 2 * HOUR;

    const report = await f.gc.run({ graceMs: HOUR });
    expect(report).toMatchObject({ scannedBlobs: 2, referencedBlobs: 2, removedBlobs: 0 });
    expect(await isStored(layer.digest)).toBe(true);

    await f.registry.deleteManifest(other, { kind: 'digest', digest: manifest });
    const after = await f.gc.run({ graceMs: HOUR });
    expect(after).toMatchObject({ removedBlobs: 2, removedBytes: config.size + layer.size, removedLinks: 4 });
    expect(await isStored(config.digest)).toBe(false);
    expect(await isStored(layer.digest)).toBe(false);
  });

  it('keeps the blobs of an untagged manifest (untagging is lifecycle business, not GC)', async () => {
    const repo = await f.repo('team/app');
    const config = await f.pushBlob(repo);
    const layer = await f.pushBlob(repo);
    await f.pushManifest(repo, 'v1', [config, layer]);
    await f.registry.deleteManifest(repo, { kind: 'tag', tag: 'v1' as never });
    f.clock.now += 48 * HOUR;
    const report = await f.gc.run({ graceMs: HOUR });
    expect(report).toMatchObject({ referencedBlobs: 2, removedBlobs: 0 });
    expect(await isStored(layer.digest)).toBe(true);
  });

  it('counts an upload again, or a mount, as a fresh link that protects an unreferenced blob', async () => {
    const a = await f.repo('team/a');
    const b = await f.repo('team/b');
    const data = randomBytes(64);
    const blob = await f.pushBlob(a, data);
    f.clock.now += 2 * HOUR;
    await f.pushBlob(a, data);
    expect(await f.gc.run({ graceMs: HOUR })).toMatchObject({ recentBlobs: 1, removedBlobs: 0 });
    f.clock.now += 2 * HOUR;
    expect(await f.registry.mountBlob(b, a, blob.digest)).toEqual({ size: 64 });
    expect(await f.gc.run({ graceMs: HOUR })).toMatchObject({ recentBlobs: 1, removedBlobs: 0 });
    f.clock.now += 2 * HOUR;
    expect(await f.gc.run({ graceMs: HOUR })).toMatchObject({ removedBlobs: 1, removedLinks: 2 });
  });

  it('reports in a dry run exactly what a run then removes, and changes nothing', async () => {
    const repo = await f.repo('team/app');
    const kept = await f.pushBlob(repo);
    await f.pushManifest(repo, 'v1', [kept]);
    const doomed = [await f.pushBlob(repo), await f.pushBlob(repo, randomBytes(5000))];
    f.clock.now += 2 * HOUR;
    const would: RemovedItem[] = [];
    const dry = await f.gc.run({ graceMs: HOUR, dryRun: true, onRemove: (i) => would.push(i) });
    expect(dry).toMatchObject({ dryRun: true, removedBlobs: 2, removedBytes: 5100, referencedBlobs: 1 });
    for (const blob of doomed) expect(await isStored(blob.digest)).toBe(true);
    const did: RemovedItem[] = [];
    const real = await f.gc.run({ graceMs: HOUR, onRemove: (i) => did.push(i) });
    expect(real).toMatchObject({ dryRun: false, removedBlobs: 2, removedBytes: 5100 });
    expect(did).toEqual(would);
  });

  it('walks the tables in pages: more blobs than a page, mixed kept and removed', async () => {
    const repo = await f.repo('team/many');
    const all: { digest: Digest; size: number }[] = [];
    for (let i = 0; i < 520; i++) all.push(await f.pushBlob(repo, Buffer.from(`blob ${i}`)));
    // Every third blob is referenced by a manifest.
    for (let i = 0; i < all.length; i += 3) await f.pushManifest(repo, `t${i}`, [all[i]!]);
    f.clock.now += 2 * HOUR;
    const report = await f.gc.run({ graceMs: HOUR });
    const referenced = Math.ceil(520 / 3);
    expect(report).toMatchObject({ scannedBlobs: 520, referencedBlobs: referenced, removedBlobs: 520 - referenced });
    expect((await f.meta.gc.countBlobs()).count).toBe(referenced);
    for (const [i, blob] of all.entries()) expect(await isStored(blob.digest), `blob ${i}`).toBe(i % 3 === 0);
  });

  it('removes files without a row past the grace period, and leftovers of an interrupted publish', async () => {
    const data = Buffer.from('published, never recorded');
    const digest = digestOf(data);
    const path = join(f.root, 'blobs', f.blobs.nameOf(digest));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, data);
    await writeFile(`${path}.0123456789ab.tmp`, data);
    // The files were written now: the grace counts from the real time of the file.
    f.clock.now = Date.now();
    expect(await f.gc.run({ graceMs: HOUR })).toMatchObject({ removedFiles: 0, scannedFiles: 2 });
    f.clock.now = Date.now() + 2 * HOUR;
    const removed: RemovedItem[] = [];
    const report = await f.gc.run({ graceMs: HOUR, onRemove: (i) => removed.push(i) });
    expect(report).toMatchObject({ removedFiles: 2, removedFileBytes: 2 * data.length });
    expect(removed.map((r) => r.kind === 'file' && r.digest)).toEqual(expect.arrayContaining([digest, undefined]));
    expect(await isStored(digest)).toBe(false);
  });
});

describe('garbage collection racing pushes, replayed step by step', () => {
  async function orphan() {
    const repo = await f.repo('race/app');
    const data = randomBytes(256);
    const blob = await f.pushBlob(repo, data);
    f.clock.now += 2 * HOUR;
    return { repo, data, blob, cutoff: f.clock.now - HOUR };
  }

  it('an upload that completes between the row deletion and the file deletion keeps its file', async () => {
    const { repo, data, blob, cutoff } = await orphan();
    const removed = await f.gc.removeRows([blob.digest], cutoff);
    expect(removed.blobs.map((b) => b.digest)).toEqual([blob.digest]);
    // The file is still there; the upload records the row again.
    await f.pushBlob(repo, data);
    expect([...(await f.gc.removeFiles([blob.digest]))]).toEqual([]);
    expect(await isStored(blob.digest)).toBe(true);
    expect(await f.registry.statBlob(repo, blob.digest)).toEqual({ size: 256 });
  });

  it('an upload whose published file is deleted before it is recorded publishes it again', async () => {
    // A blob store that lets the test act between publishing and recording.
    let between: ((digest: Digest) => Promise<void>) | undefined;
    class Paused extends FsBlobStore {
      override commit(id: UploadId, expected: Digest, record?: (p: PublishedBlob) => Promise<void>) {
        return super.commit(id, expected, async (published) => {
          await between?.(expected);
          await record?.(published);
        });
      }
    }
    await f.close();
    f = await openFixture({ blobs: (root) => new Paused(root) });
    const { repo, data, blob, cutoff } = await orphan();
    between = async (digest) => {
      // A collection, seeing the old row, deletes row and file after the upload published its copy.
      expect(await isStored(digest)).toBe(true);
      expect((await f.gc.removeRows([digest], cutoff)).blobs).toHaveLength(1);
      expect([...(await f.gc.removeFiles([digest]))]).toEqual([digest]);
      expect(await isStored(digest)).toBe(false);
    };
    await f.pushBlob(repo, data);
    between = undefined;
    expect(await isRecorded(blob.digest)).toBe(true);
    expect(await readFile(join(f.root, 'blobs', f.blobs.nameOf(blob.digest)))).toEqual(data);
    const report = await f.gc.run({ graceMs: HOUR });
    expect(report.removedBlobs).toBe(0);
  });

  it('a fresh upload whose file a stray sweep removes before it is recorded publishes it again', async () => {
    let between: ((digest: Digest) => Promise<void>) | undefined;
    class Paused extends FsBlobStore {
      override commit(id: UploadId, expected: Digest, record?: (p: PublishedBlob) => Promise<void>) {
        return super.commit(id, expected, async (published) => {
          await between?.(expected);
          await record?.(published);
        });
      }
    }
    await f.close();
    f = await openFixture({ blobs: (root) => new Paused(root) });
    const repo = await f.repo('race/fresh');
    const data = randomBytes(300);
    between = async (digest) => {
      expect([...(await f.gc.removeFiles([digest]))]).toEqual([digest]);
    };
    const blob = await f.pushBlob(repo, data);
    expect(await readFile(join(f.root, 'blobs', f.blobs.nameOf(blob.digest)))).toEqual(data);
    expect(await f.registry.statBlob(repo, blob.digest)).toEqual({ size: 300 });
  });

  it('a manifest push after the row deletion fails with MANIFEST_BLOB_UNKNOWN; one before it keeps the blob', async () => {
    const { repo, blob, cutoff } = await orphan();
    await f.gc.removeRows([blob.digest], cutoff);
    await expectCode(f.pushManifest(repo, 'late', [blob]), 'MANIFEST_BLOB_UNKNOWN');
    await f.gc.removeFiles([blob.digest]);

    const second = await orphan();
    await f.pushManifest(second.repo, 'early', [second.blob]);
    expect((await f.gc.removeRows([second.blob.digest], second.cutoff)).blobs).toEqual([]);
    expect([...(await f.gc.removeFiles([second.blob.digest]))]).toEqual([]);
    expect(await isStored(second.blob.digest)).toBe(true);
  });

  it('a mount after the row deletion finds nothing; one before it protects the blob', async () => {
    const { repo, blob, cutoff } = await orphan();
    const target = await f.repo('race/target');
    await f.gc.removeRows([blob.digest], cutoff);
    expect(await f.registry.mountBlob(target, repo, blob.digest)).toBeUndefined();

    const second = await orphan();
    expect(await f.registry.mountBlob(target, second.repo, second.blob.digest)).toEqual({ size: 256 });
    expect((await f.gc.removeRows([second.blob.digest], second.cutoff)).blobs).toEqual([]);
  });

  it('two collections at once remove each blob once and leave nothing behind', async () => {
    const repo = await f.repo('race/twice');
    for (let i = 0; i < 50; i++) await f.pushBlob(repo);
    f.clock.now += 2 * HOUR;
    const [one, two] = await Promise.all([f.gc.run({ graceMs: HOUR }), f.gc.run({ graceMs: HOUR })]);
    expect(one.removedBlobs + two.removedBlobs).toBe(50);
    expect((await f.meta.gc.countBlobs()).count).toBe(0);
    const files: unknown[] = [];
    for await (const batch of f.blobs.files()) files.push(...batch);
    expect(files).toEqual([]);
  });
});

describe('the server schedule', () => {
  it('runs one collection at a time and stops a run in progress', async () => {
    const repo = await f.repo('team/app');
    for (let i = 0; i < 20; i++) await f.pushBlob(repo);
    f.clock.now += 2 * HOUR;
    const logged: string[] = [];
    const schedule = new GcSchedule(f.gc, { intervalMs: 0, graceMs: HOUR, logger: { info: (_o, m) => logged.push(m), error: (_o, m) => logged.push(m) } });
    const first = schedule.runOnce();
    expect(schedule.runOnce()).toBe(first);
    expect((await first)?.removedBlobs).toBe(20);
    expect(logged).toEqual(['garbage collection done']);

    for (let i = 0; i < 520; i++) await f.pushBlob(repo, Buffer.from(`b${i}`));
    f.clock.now += 2 * HOUR;
    const cut = schedule.runOnce();
    await schedule.stop();
    expect(await cut).toBeUndefined();
    expect(await schedule.runOnce()).toBeUndefined();
    // Stopped between two pages: some removed, the rest still whole (row and file).
    const left = (await f.meta.gc.countBlobs()).count;
    expect(left).toBeGreaterThan(0);
    for (const row of await f.meta.gc.blobPage(undefined, 2000)) expect(await isStored(row.digest as Digest)).toBe(true);
  });
});
