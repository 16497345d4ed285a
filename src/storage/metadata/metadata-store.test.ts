import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../core/index.js';
import type { ManifestReference, ManifestRow, MetadataStore } from './metadata-store.js';
import { openSqliteMetadata } from './sqlite.js';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const NOW = 1_700_000_000_000;
/** What every manifest read back carries beside what was put: the archive state of a new manifest (migration 0006). */
const ACTIVE_STATE = { imageStatus: 'ACTIVE', lastArchivedAt: null, lastActivatedAt: null } as const;

let dir: string;
let meta: MetadataStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
  meta = await openSqliteMetadata(join(dir, 'nested', 'metadata.db'));
  await meta.accounts.ensure(ACCOUNT, NOW);
  await meta.accounts.ensure(OTHER, NOW);
});

afterEach(async () => {
  await meta.close();
  rmSync(dir, { recursive: true, force: true });
});

async function repo(name = 'app', accountId = ACCOUNT): Promise<number> {
  return (await meta.repositories.create(accountId, name, NOW)).repository.id;
}

function manifest(repositoryId: number, seed: string, extra: Partial<ManifestRow> = {}): ManifestRow {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, seed }));
  return {
    repositoryId,
    digest: digestOf(body),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.oci.image.config.v1+json',
    subject: null,
    size: body.length,
    body,
    annotations: null,
    pushedAt: NOW,
    imageSize: 0,
    configMediaType: 'application/vnd.oci.image.config.v1+json',
    lastPulledAt: null,
    ...extra,
  };
}

describe('opening', () => {
  it('creates the folder, and reopening keeps the data (migrations applied once)', async () => {
    await repo('kept');
    await meta.close();
    meta = await openSqliteMetadata(join(dir, 'nested', 'metadata.db'));
    expect((await meta.repositories.get(ACCOUNT, 'kept'))?.name).toBe('kept');
    expect(meta.dialect).toBe('sqlite');
  });
});

describe('accounts', () => {
  it('ensure is idempotent; exists tells', async () => {
    await meta.accounts.ensure(ACCOUNT, NOW + 1);
    expect(await meta.accounts.exists(ACCOUNT)).toBe(true);
    expect(await meta.accounts.exists('999999999999')).toBe(false);
  });
});

describe('repositories', () => {
  it('create returns created=true, then created=false with the same row', async () => {
    const first = await meta.repositories.create(ACCOUNT, 'team/app', NOW);
    expect(first.created).toBe(true);
    expect(first.repository).toMatchObject({ accountId: ACCOUNT, name: 'team/app', tagMutability: 'MUTABLE', createdAt: NOW });
    expect(typeof first.repository.id).toBe('number');
    const second = await meta.repositories.create(ACCOUNT, 'team/app', NOW + 5);
    expect(second.created).toBe(false);
    expect(second.repository).toEqual(first.repository);
  });

  it('keeps one name apart per account', async () => {
    const a = await meta.repositories.create(ACCOUNT, 'app', NOW);
    const b = await meta.repositories.create(OTHER, 'app', NOW);
    expect(b.created).toBe(true);
    expect(b.repository.id).not.toBe(a.repository.id);
    expect((await meta.repositories.get(OTHER, 'app'))?.id).toBe(b.repository.id);
  });

  it('refuses a repository of an unknown account', async () => {
    await expect(meta.repositories.create('999999999999', 'app', NOW)).rejects.toThrow();
  });

  it('get of an absent repository is undefined', async () => {
    expect(await meta.repositories.get(ACCOUNT, 'absent')).toBeUndefined();
  });

  it('update changes only the settings it is given', async () => {
    const id = await repo();
    await meta.repositories.update(id, { tagMutability: 'IMMUTABLE' });
    const row = await meta.repositories.get(ACCOUNT, 'app');
    expect(row?.tagMutability).toBe('IMMUTABLE');
    expect(row?.encryptionType).toBe('AES256');
    await meta.repositories.update(id, { scanOnPush: true, tagMutabilityExclusions: [{ filterType: 'WILDCARD', filter: 'dev-*' }] });
    const after = await meta.repositories.get(ACCOUNT, 'app');
    expect(after?.tagMutability).toBe('IMMUTABLE');
    expect(after?.scanOnPush).toBe(true);
    expect(after?.tagMutabilityExclusions).toEqual([{ filterType: 'WILDCARD', filter: 'dev-*' }]);
  });

  it('list pages by name with `after`, only in the account', async () => {
    for (const name of ['delta', 'alpha', 'charlie', 'bravo', 'echo']) await repo(name);
    await repo('aaa-other', OTHER);
    const names = async (after: string | undefined, limit: number) =>
      (await meta.repositories.list(ACCOUNT, after === undefined ? { limit } : { after, limit })).map((r) => r.name);
    expect(await names(undefined, 2)).toEqual(['alpha', 'bravo']);
    expect(await names('bravo', 2)).toEqual(['charlie', 'delta']);
    expect(await names('delta', 2)).toEqual(['echo']);
    expect(await names('echo', 2)).toEqual([]);
    expect(await names('b', 10)).toEqual(['bravo', 'charlie', 'delta', 'echo']);
    expect(await names(undefined, 100)).toHaveLength(5);
    expect((await meta.repositories.list(OTHER, { limit: 10 })).map((r) => r.name)).toEqual(['aaa-other']);
  });
});

describe('blobs', () => {
  it('record is idempotent; link makes a blob visible through one repository only', async () => {
    const a = await repo('a1');
    const b = await repo('b1');
    const d = digestOf('blob');
    await meta.blobs.record(d, 4, NOW);
    await meta.blobs.record(d, 999, NOW);
    expect(await meta.blobs.size(d)).toBe(4);
    expect(await meta.blobs.linkedSize(a, d)).toBeUndefined();
    await meta.blobs.link(a, d, NOW);
    await meta.blobs.link(a, d, NOW);
    expect(await meta.blobs.linkedSize(a, d)).toBe(4);
    expect(await meta.blobs.linkedSize(b, d)).toBeUndefined();
    expect(await meta.blobs.linkedSizes(a, [d, d, digestOf('other')])).toEqual(new Map([[d, 4]]));
    expect(await meta.blobs.linkedSizes(a, [])).toEqual(new Map());
    expect(await meta.blobs.unlink(a, d)).toBe(true);
    expect(await meta.blobs.unlink(a, d)).toBe(false);
    expect(await meta.blobs.linkedSize(a, d)).toBeUndefined();
    expect(await meta.blobs.size(d)).toBe(4);
  });

  it('refuses to link a blob that was never recorded', async () => {
    await expect(meta.blobs.link(await repo(), digestOf('unrecorded'), NOW)).rejects.toThrow();
  });
});

describe('manifests', () => {
  it('put stores the row; a second put of the same digest is a no-op returning false', async () => {
    const id = await repo();
    const row = manifest(id, 'one', { annotations: { a: 'b' } });
    const refs: ManifestReference[] = [{ childDigest: digestOf('layer'), childKind: 'blob' }];
    expect(await meta.manifests.put(row, refs)).toBe(true);
    expect(await meta.manifests.put({ ...row, mediaType: 'changed', pushedAt: NOW + 9 }, refs)).toBe(false);
    const stored = await meta.manifests.get(id, row.digest);
    expect(stored).toEqual({ ...row, ...ACTIVE_STATE });
    expect(stored?.body.equals(row.body)).toBe(true);
    expect(await meta.manifests.existing(id, [row.digest, digestOf('nope'), row.digest])).toEqual(new Set([row.digest]));
    expect(await meta.manifests.existing(id, [])).toEqual(new Set());
  });

  it('keeps manifests of different repositories apart', async () => {
    const a = await repo('a1');
    const b = await repo('b1');
    const row = manifest(a, 'shared');
    await meta.manifests.put(row, []);
    expect(await meta.manifests.get(b, row.digest)).toBeUndefined();
    expect(await meta.manifests.put({ ...row, repositoryId: b }, [])).toBe(true);
  });

  it('put de-duplicates references to the same child', async () => {
    const id = await repo();
    const child = manifest(id, 'child');
    await meta.manifests.put(child, []);
    const index = manifest(id, 'index', { mediaType: 'application/vnd.oci.image.index.v1+json', artifactType: null });
    const ref: ManifestReference = { childDigest: child.digest, childKind: 'manifest' };
    expect(await meta.manifests.put(index, [ref, ref])).toBe(true);
    expect(await meta.manifests.parents(id, child.digest)).toEqual([index.digest]);
  });

  it('parents lists the indexes that reference a child manifest, not blob references', async () => {
    const id = await repo();
    const child = manifest(id, 'child');
    await meta.manifests.put(child, [{ childDigest: digestOf('layer'), childKind: 'blob' }]);
    const index1 = manifest(id, 'index1');
    const index2 = manifest(id, 'index2');
    await meta.manifests.put(index1, [{ childDigest: child.digest, childKind: 'manifest' }]);
    await meta.manifests.put(index2, [
      { childDigest: child.digest, childKind: 'manifest' },
      { childDigest: digestOf('other'), childKind: 'manifest' },
    ]);
    expect((await meta.manifests.parents(id, child.digest)).sort()).toEqual([index1.digest, index2.digest].sort());
    expect(await meta.manifests.parents(id, digestOf('layer'))).toEqual([]);
    expect(await meta.manifests.parents(await repo('elsewhere'), child.digest)).toEqual([]);

    expect(await meta.manifests.delete(id, index1.digest)).toBe(true);
    expect(await meta.manifests.parents(id, child.digest)).toEqual([index2.digest]);
  });

  it('delete removes the manifest and the tags pointing at it, and only those', async () => {
    const id = await repo();
    const doomed = manifest(id, 'doomed');
    const kept = manifest(id, 'kept');
    await meta.manifests.put(doomed, [{ childDigest: digestOf('l'), childKind: 'blob' }]);
    await meta.manifests.put(kept, []);
    await meta.tags.move(id, 'v1', doomed.digest, NOW);
    await meta.tags.move(id, 'latest', doomed.digest, NOW);
    await meta.tags.move(id, 'stable', kept.digest, NOW);

    expect(await meta.manifests.delete(id, doomed.digest)).toBe(true);
    expect(await meta.manifests.get(id, doomed.digest)).toBeUndefined();
    expect(await meta.tags.get(id, 'v1')).toBeUndefined();
    expect(await meta.tags.get(id, 'latest')).toBeUndefined();
    expect(await meta.manifests.getByTag(id, 'latest')).toBeUndefined();
    expect(await meta.tags.list(id, { limit: 10 })).toEqual(['stable']);
    expect(await meta.manifests.delete(id, doomed.digest)).toBe(false);
    // It may be pushed again, references and all.
    expect(await meta.manifests.put(doomed, [{ childDigest: digestOf('l'), childKind: 'blob' }])).toBe(true);
  });

  it('getByTag follows the tag', async () => {
    const id = await repo();
    const row = manifest(id, 'tagged');
    await meta.manifests.put(row, []);
    await meta.tags.move(id, 'v1', row.digest, NOW);
    expect(await meta.manifests.getByTag(id, 'v1')).toEqual({ ...row, ...ACTIVE_STATE });
    expect(await meta.manifests.getByTag(id, 'v2')).toBeUndefined();
  });

  describe('referrers', () => {
    it('lists manifests whose subject is the digest, filtered by artifactType', async () => {
      const id = await repo();
      const subject = manifest(id, 'subject');
      await meta.manifests.put(subject, []);
      const sig = manifest(id, 'sig', { subject: subject.digest, artifactType: 'application/vnd.dev.cosign.signature' });
      const sbom1 = manifest(id, 'sbom1', { subject: subject.digest, artifactType: 'application/spdx+json' });
      const sbom2 = manifest(id, 'sbom2', { subject: subject.digest, artifactType: 'application/spdx+json' });
      const unrelated = manifest(id, 'unrelated', { subject: digestOf('other subject'), artifactType: 'application/spdx+json' });
      for (const row of [sig, sbom1, sbom2, unrelated]) await meta.manifests.put(row, []);

      const all = await meta.manifests.referrers(id, subject.digest);
      expect(all.map((r) => r.digest)).toEqual([sig.digest, sbom1.digest, sbom2.digest].sort());
      const sboms = await meta.manifests.referrers(id, subject.digest, 'application/spdx+json');
      expect(sboms.map((r) => r.digest)).toEqual([sbom1.digest, sbom2.digest].sort());
      expect(sboms.every((r) => r.artifactType === 'application/spdx+json')).toBe(true);
      expect(await meta.manifests.referrers(id, subject.digest, 'application/none')).toEqual([]);
      expect(await meta.manifests.referrers(id, digestOf('nothing refers'))).toEqual([]);
      expect(await meta.manifests.referrers(await repo('other-repo'), subject.digest)).toEqual([]);
    });

    it('lists referrers of a subject that is not stored', async () => {
      const id = await repo();
      const missing = digestOf('not pushed yet');
      const sig = manifest(id, 'sig', { subject: missing });
      await meta.manifests.put(sig, []);
      expect((await meta.manifests.referrers(id, missing)).map((r) => r.digest)).toEqual([sig.digest]);
    });
  });
});

describe('tags', () => {
  it('move returns the previous digest', async () => {
    const id = await repo();
    const one = manifest(id, 'one');
    const two = manifest(id, 'two');
    await meta.manifests.put(one, []);
    await meta.manifests.put(two, []);
    expect(await meta.tags.move(id, 'latest', one.digest, NOW)).toBeUndefined();
    expect(await meta.tags.get(id, 'latest')).toBe(one.digest);
    expect(await meta.tags.move(id, 'latest', two.digest, NOW + 1)).toBe(one.digest);
    expect(await meta.tags.get(id, 'latest')).toBe(two.digest);
    expect(await meta.tags.move(id, 'latest', two.digest, NOW + 2)).toBe(two.digest);
    expect(await meta.tags.get(id, 'latest')).toBe(two.digest);
  });

  it('refuses to tag a manifest that is not stored in the repository', async () => {
    const a = await repo('a1');
    const b = await repo('b1');
    const row = manifest(a, 'in a');
    await meta.manifests.put(row, []);
    await expect(meta.tags.move(b, 'latest', row.digest, NOW)).rejects.toThrow();
    await expect(meta.tags.move(a, 'latest', digestOf('nowhere'), NOW)).rejects.toThrow();
    expect(await meta.tags.get(b, 'latest')).toBeUndefined();
  });

  it('delete removes one tag and reports whether it existed', async () => {
    const id = await repo();
    const row = manifest(id, 'x');
    await meta.manifests.put(row, []);
    await meta.tags.move(id, 'a', row.digest, NOW);
    await meta.tags.move(id, 'b', row.digest, NOW);
    expect(await meta.tags.delete(id, 'a')).toBe(true);
    expect(await meta.tags.delete(id, 'a')).toBe(false);
    expect(await meta.tags.get(id, 'b')).toBe(row.digest);
    expect(await meta.manifests.get(id, row.digest)).toBeDefined();
  });

  it('list pages with `after`', async () => {
    const id = await repo();
    const row = manifest(id, 'x');
    await meta.manifests.put(row, []);
    for (const tag of ['v3', 'v1', 'latest', 'v2', 'beta']) await meta.tags.move(id, tag, row.digest, NOW);
    const other = await repo('other');
    await meta.manifests.put({ ...row, repositoryId: other }, []);
    await meta.tags.move(other, 'aaa', row.digest, NOW);

    expect(await meta.tags.list(id, { limit: 2 })).toEqual(['beta', 'latest']);
    expect(await meta.tags.list(id, { after: 'latest', limit: 2 })).toEqual(['v1', 'v2']);
    expect(await meta.tags.list(id, { after: 'v2', limit: 2 })).toEqual(['v3']);
    expect(await meta.tags.list(id, { after: 'v3', limit: 2 })).toEqual([]);
    expect(await meta.tags.list(id, { after: 'c', limit: 10 })).toEqual(['latest', 'v1', 'v2', 'v3']);
  });
});

describe('uploads', () => {
  it('create, get and delete a session record', async () => {
    const id = await repo();
    await meta.uploads.create('0f6c1e9a-session', id, NOW);
    expect(await meta.uploads.get('0f6c1e9a-session')).toEqual({ id: '0f6c1e9a-session', repositoryId: id, createdAt: NOW });
    await expect(meta.uploads.create('0f6c1e9a-session', id, NOW)).rejects.toThrow();
    await meta.uploads.delete('0f6c1e9a-session');
    expect(await meta.uploads.get('0f6c1e9a-session')).toBeUndefined();
  });
});

describe('access keys', () => {
  it('create, get and count root keys', async () => {
    await meta.accessKeys.create({ accessKeyId: 'AKIAROOT000000000001', accountId: ACCOUNT, userName: null, secretEnc: 'enc', status: 'Active', createdAt: NOW });
    await meta.accessKeys.create({ accessKeyId: 'AKIAUSER000000000001', accountId: ACCOUNT, userName: 'u', secretEnc: 'enc', status: 'Active', createdAt: NOW });
    expect(await meta.accessKeys.get('AKIAROOT000000000001')).toEqual({
      accessKeyId: 'AKIAROOT000000000001',
      accountId: ACCOUNT,
      userName: null,
      secretEnc: 'enc',
      status: 'Active',
      createdAt: NOW,
    });
    expect(await meta.accessKeys.get('AKIAABSENT0000000001')).toBeUndefined();
    expect(await meta.accessKeys.countRootKeys(ACCOUNT)).toBe(1);
    expect(await meta.accessKeys.countRootKeys(OTHER)).toBe(0);
  });
});

describe('transaction', () => {
  it('commits when the function resolves', async () => {
    const result = await meta.transaction(async (tx) => {
      const { repository } = await tx.repositories.create(ACCOUNT, 'committed', NOW);
      await tx.blobs.record(digestOf('b'), 1, NOW);
      return repository.id;
    });
    expect((await meta.repositories.get(ACCOUNT, 'committed'))?.id).toBe(result);
    expect(await meta.blobs.size(digestOf('b'))).toBe(1);
  });

  it('rolls everything back when the function throws, and rethrows', async () => {
    const id = await repo();
    const row = manifest(id, 'in tx');
    const boom = new Error('boom');
    await expect(
      meta.transaction(async (tx) => {
        await tx.repositories.create(ACCOUNT, 'rolled-back', NOW);
        await tx.blobs.record(digestOf('tx blob'), 7, NOW);
        await tx.manifests.put(row, [{ childDigest: digestOf('tx blob'), childKind: 'blob' }]);
        await tx.tags.move(id, 'latest', row.digest, NOW);
        await tx.uploads.create('tx-upload-0001', id, NOW);
        expect(await tx.tags.get(id, 'latest')).toBe(row.digest);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await meta.repositories.get(ACCOUNT, 'rolled-back')).toBeUndefined();
    expect(await meta.blobs.size(digestOf('tx blob'))).toBeUndefined();
    expect(await meta.manifests.get(id, row.digest)).toBeUndefined();
    expect(await meta.tags.get(id, 'latest')).toBeUndefined();
    expect(await meta.uploads.get('tx-upload-0001')).toBeUndefined();
    expect(await meta.repositories.list(ACCOUNT, { limit: 10 })).toHaveLength(1);
  });

  it('rolls back when a statement fails inside it', async () => {
    await expect(
      meta.transaction(async (tx) => {
        await tx.repositories.create(ACCOUNT, 'half-done', NOW);
        await tx.repositories.create('999999999999', 'no-account', NOW);
      }),
    ).rejects.toThrow();
    expect(await meta.repositories.get(ACCOUNT, 'half-done')).toBeUndefined();
  });

  it('joins an enclosing transaction instead of nesting one', async () => {
    await expect(
      meta.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await inner.repositories.create(ACCOUNT, 'inner', NOW);
        });
        expect(await tx.repositories.get(ACCOUNT, 'inner')).toBeDefined();
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(await meta.repositories.get(ACCOUNT, 'inner')).toBeUndefined();
  });
});
