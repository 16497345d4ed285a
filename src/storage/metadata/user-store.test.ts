import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataStore } from './metadata-store.js';
import { openSqliteMetadata } from './sqlite.js';
import type { UserRow } from './user-store.js';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const NOW = 1_700_000_000_000;

let dir: string;
let meta: MetadataStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-users-'));
  meta = await openSqliteMetadata(join(dir, 'metadata.db'));
  await meta.accounts.ensure(ACCOUNT, NOW);
  await meta.accounts.ensure(OTHER, NOW + 1);
});

afterEach(async () => {
  await meta.close();
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
function user(userName: string, extra: Partial<UserRow> = {}): UserRow {
  serial++;
  return { accountId: ACCOUNT, userName, userId: `AIDA${String(serial).padStart(17, '0')}`, path: '/', createdAt: NOW + serial, ...extra };
}

describe('UserStore', () => {
  it('creates, finds without regard to case, and refuses a second user of the same name in any case', async () => {
    expect(await meta.users.create(user('Alice'))).toBe(true);
    expect((await meta.users.get(ACCOUNT, 'alice'))?.userName).toBe('Alice');
    expect(await meta.users.exists(ACCOUNT, 'ALICE')).toBe(true);
    expect(await meta.users.create(user('alice'))).toBe(false);
    expect(await meta.users.create(user('Alice'))).toBe(false);
    // Names are per account.
    expect(await meta.users.create(user('alice', { accountId: OTHER }))).toBe(true);
    expect(await meta.users.get(ACCOUNT, 'bob')).toBeUndefined();
  });

  it('lists in name order after a marker, under a path prefix taken literally', async () => {
    for (const [name, path] of [
      ['d', '/eng/'],
      ['a', '/'],
      ['c', '/eng/web/'],
      ['b', '/engineering/'],
      ['e', '/e_g/'],
    ] as const) {
      await meta.users.create(user(name, { path }));
    }
    await meta.users.create(user('z', { accountId: OTHER }));
    const names = async (page: Parameters<MetadataStore['users']['list']>[1]) => (await meta.users.list(ACCOUNT, page)).map((u) => u.userName);
    expect(await names({ limit: 10 })).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await names({ limit: 2, after: 'b' })).toEqual(['c', 'd']);
    expect(await names({ limit: 10, pathPrefix: '/eng/' })).toEqual(['c', 'd']);
    expect(await names({ limit: 10, pathPrefix: '/eng' })).toEqual(['b', 'c', 'd']);
    // '_' is not a wildcard and case matters.
    expect(await names({ limit: 10, pathPrefix: '/e_' })).toEqual(['e']);
    expect(await names({ limit: 10, pathPrefix: '/ENG' })).toEqual([]);
    expect(await names({ limit: 10, pathPrefix: '/' })).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('deletes only the named user', async () => {
    await meta.users.create(user('a'));
    await meta.users.create(user('b'));
    expect(await meta.users.delete(ACCOUNT, 'a')).toBe(true);
    expect(await meta.users.delete(ACCOUNT, 'a')).toBe(false);
    expect((await meta.users.list(ACCOUNT, { limit: 10 })).map((u) => u.userName)).toEqual(['b']);
  });
});

describe('AccessKeyStore', () => {
  const key = (accessKeyId: string, userName: string | null, createdAt: number, accountId = ACCOUNT) => ({
    accessKeyId,
    accountId,
    userName,
    secretEnc: 'sealed',
    status: 'Active' as const,
    createdAt,
  });

  it('lists and counts the keys of one identity, oldest first', async () => {
    await meta.accessKeys.create(key('AKIAB000000000000002', 'bob', NOW + 2));
    await meta.accessKeys.create(key('AKIAB000000000000001', 'bob', NOW + 1));
    await meta.accessKeys.create(key('AKIAR000000000000001', null, NOW));
    await meta.accessKeys.create(key('AKIAO000000000000001', 'bob', NOW, OTHER));
    expect((await meta.accessKeys.list(ACCOUNT, 'bob')).map((k) => k.accessKeyId)).toEqual(['AKIAB000000000000001', 'AKIAB000000000000002']);
    expect((await meta.accessKeys.list(ACCOUNT, null)).map((k) => k.accessKeyId)).toEqual(['AKIAR000000000000001']);
    expect(await meta.accessKeys.count(ACCOUNT, 'bob')).toBe(2);
    expect(await meta.accessKeys.count(ACCOUNT, null)).toBe(1);
    expect(await meta.accessKeys.count(ACCOUNT, 'carol')).toBe(0);
  });

  it('changes a status and deletes a key', async () => {
    await meta.accessKeys.create(key('AKIAB000000000000001', 'bob', NOW));
    expect(await meta.accessKeys.setStatus('AKIAB000000000000001', 'Inactive')).toBe(true);
    expect((await meta.accessKeys.get('AKIAB000000000000001'))?.status).toBe('Inactive');
    expect(await meta.accessKeys.setStatus('AKIANOPE000000000000', 'Inactive')).toBe(false);
    expect(await meta.accessKeys.delete('AKIAB000000000000001')).toBe(true);
    expect(await meta.accessKeys.delete('AKIAB000000000000001')).toBe(false);
    expect(await meta.accessKeys.get('AKIAB000000000000001')).toBeUndefined();
  });
});

describe('AccountStore', () => {
  it('lists accounts in id order with their creation time', async () => {
    expect(await meta.accounts.list()).toEqual([
      { id: ACCOUNT, createdAt: NOW },
      { id: OTHER, createdAt: NOW + 1 },
    ]);
    expect(await meta.accounts.get(OTHER)).toEqual({ id: OTHER, createdAt: NOW + 1 });
    expect(await meta.accounts.get('999999999999')).toBeUndefined();
  });
});
