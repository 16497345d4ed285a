import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOf, type Digest } from '../core/index.js';
import { HOUR, openFixture, type Fixture } from '../../test/helpers/gc-fixture.js';
import { checkIntegrity, type Finding, type FsckOptions } from './fsck.js';

let f: Fixture;

beforeEach(async () => {
  f = await openFixture();
});

afterEach(async () => {
  await f.close();
});

function fsck(opts: Partial<FsckOptions> = {}) {
  const findings: Finding[] = [];
  return checkIntegrity(f.meta, f.blobs, { graceMs: HOUR, onFinding: (x) => findings.push(x), ...opts }).then((report) => ({ report, findings }));
}

function blobPath(digest: Digest): string {
  return join(f.root, 'blobs', f.blobs.nameOf(digest));
}

/** Change the database behind the stores' back, as damage would (foreign keys off). */
function raw(sql: string, ...params: unknown[]): void {
  const db = new Database(join(f.root, 'metadata.db'));
  try {
    db.pragma('foreign_keys = OFF');
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

async function image(tag = 'v1') {
  const repo = await f.repo('team/app');
  const config = await f.pushBlob(repo);
  const layer = await f.pushBlob(repo, randomBytes(2000));
  const manifest = await f.pushManifest(repo, tag, [config, layer]);
  return { repo, config, layer, manifest };
}

describe('fsck', () => {
  it('finds nothing wrong in a healthy registry, and says what it checked', async () => {
    await image();
    const { report, findings } = await fsck();
    expect(findings).toEqual([]);
    expect(report).toMatchObject({ blobs: 2, files: 2, manifests: 1, problems: 0, repaired: 0, recentFiles: 0 });
    expect(report.hashedBytes).toBe(2100);
  });

  it('finds a referenced blob whose bytes changed; repair moves it aside and a new push heals it', async () => {
    const { layer } = await image();
    await writeFile(blobPath(layer.digest), randomBytes(layer.size));
    let { report, findings } = await fsck();
    expect(findings).toMatchObject([{ kind: 'corrupt-blob', subject: layer.digest }]);
    expect(findings[0]!.advice).toMatch(/push the blob again/);
    expect(report.problems).toBe(1);

    // A size-only check does not see it.
    expect((await fsck({ hash: false })).findings).toEqual([]);

    ({ report, findings } = await fsck({ repair: true }));
    expect(findings[0]!.kind).toBe('corrupt-blob');
    expect(findings[0]!.repaired).toBeUndefined();
    expect(findings[0]!.advice).toMatch(/quarantine/);
    expect(await readdir(join(f.root, 'quarantine'))).toHaveLength(1);
    // Pulls now fail cleanly rather than serve the wrong bytes; the row stays, so does the manifest.
    expect((await fsck()).findings).toMatchObject([{ kind: 'missing-file', subject: layer.digest }]);
  });

  it('puts a lost referenced blob back when the same bytes are pushed again', async () => {
    const repo = await f.repo('team/app');
    const data = randomBytes(500);
    const blob = await f.pushBlob(repo, data);
    await f.pushManifest(repo, 'v1', [blob]);
    await rm(blobPath(blob.digest));
    expect((await fsck()).findings).toMatchObject([{ kind: 'missing-file', subject: blob.digest }]);
    expect((await fsck({ repair: true })).report.problems).toBe(1);
    await f.pushBlob(repo, data);
    const { report, findings } = await fsck();
    expect(findings).toEqual([]);
    expect(report.problems).toBe(0);
  });

  it('drops the row of a lost or damaged blob that nothing references', async () => {
    const repo = await f.repo('team/app');
    const lost = await f.pushBlob(repo);
    const damaged = await f.pushBlob(repo, randomBytes(300));
    await rm(blobPath(lost.digest));
    await truncate(blobPath(damaged.digest), 10);
    const { report, findings } = await fsck({ repair: true });
    expect(findings.map((x) => [x.kind, x.subject])).toEqual(
      expect.arrayContaining([
        ['missing-file', lost.digest],
        ['size-mismatch', damaged.digest],
      ]),
    );
    expect(findings.every((x) => x.repaired?.includes('row and links dropped'))).toBe(true);
    expect(report).toMatchObject({ problems: 0, repaired: 2 });
    expect((await f.meta.gc.countBlobs()).count).toBe(0);
    expect((await fsck()).findings).toEqual([]);
  });

  it('reports a file without a row once it is past the grace period, and repair removes it', async () => {
    const data = Buffer.from('stray bytes');
    const digest = digestOf(data);
    await mkdir(join(blobPath(digest), '..'), { recursive: true });
    await writeFile(blobPath(digest), data);
    await writeFile(join(f.root, 'blobs', 'notes.txt'), 'hello');

    let { report, findings } = await fsck({ graceMs: HOUR });
    expect(findings).toEqual([]);
    expect(report.recentFiles).toBe(2);

    ({ report, findings } = await fsck({ graceMs: 0 }));
    // Files whose name is no digest's (a publish cut short) count only when older than ten minutes.
    expect(findings.map((x) => x.kind)).toEqual(['stray-file']);
    expect(report).toMatchObject({ problems: 1, recentFiles: 1 });

    const later = () => Date.now() + 11 * 60_000;
    ({ report, findings } = await fsck({ graceMs: 0, now: later }));
    expect(findings.map((x) => x.kind)).toEqual(['unknown-file', 'stray-file']);
    expect(report.problems).toBe(2);

    ({ report } = await fsck({ graceMs: 0, now: later, repair: true }));
    expect(report).toMatchObject({ repaired: 2, problems: 0 });
    expect(await f.blobs.stat(digest)).toBeUndefined();
    expect((await fsck({ graceMs: 0, now: later })).findings).toEqual([]);
  });

  it('finds a manifest body that does not hash to its digest', async () => {
    const { manifest } = await image();
    raw("UPDATE manifests SET body = CAST('{\"tampered\":true}' AS BLOB) WHERE digest = ?", manifest);
    const { report, findings } = await fsck({ repair: true });
    expect(findings).toMatchObject([{ kind: 'manifest-mismatch', subject: `000000000000/team/app@${manifest}` }]);
    expect(report.problems).toBe(1);
  });

  it('links a referenced blob back to its repository, and reports a referenced blob that has no row', async () => {
    const { repo, config, layer } = await image();
    await f.registry.deleteBlob(repo, config.digest);
    raw('DELETE FROM repository_blobs WHERE digest = ?', layer.digest);
    raw('DELETE FROM blobs WHERE digest = ?', layer.digest);
    let { findings } = await fsck();
    // The layer's file, now without a row, is within the grace period: not (yet) a finding.
    expect(findings.map((x) => x.kind).sort()).toEqual(['missing-blob', 'unlinked-blob']);
    ({ findings } = await fsck({ repair: true }));
    expect(findings.find((x) => x.kind === 'unlinked-blob')?.repaired).toBe('blob linked to the repository');
    expect(findings.find((x) => x.kind === 'missing-blob')?.advice).toMatch(/push blob/);
    expect(await f.registry.statBlob(repo, config.digest)).toEqual({ size: config.size });
  });

  it('finds tags and index children that point at nothing, and drops the tags', async () => {
    const { repo } = await image();
    raw("INSERT INTO tags (repository_id, tag, digest, updated_at) VALUES (?, 'ghost', 'sha256:' || hex(zeroblob(32)), 0)", repo.row.id);
    raw(
      "INSERT INTO manifest_references (repository_id, parent_digest, child_digest, child_kind) SELECT repository_id, digest, 'sha256:' || lower(hex(zeroblob(32))), 'manifest' FROM manifests",
    );
    const { report, findings } = await fsck({ repair: true });
    expect(findings.map((x) => [x.kind, Boolean(x.repaired)])).toEqual([
      ['missing-child', false],
      ['dangling-tag', true],
    ]);
    expect(report).toMatchObject({ problems: 1, repaired: 1 });
  });
});
