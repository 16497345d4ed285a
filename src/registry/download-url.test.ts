import { describe, expect, it } from 'vitest';
import { digestOf, type AccountId, type RepositoryName } from '../core/index.js';
import { BLOB_DOWNLOAD_PREFIX, DownloadUrlSigner, type BlobDownloadGrant } from './download-url.js';

const KEY = Buffer.alloc(32, 7);
const GRANT: BlobDownloadGrant = {
  accountId: '111122223333' as AccountId,
  repositoryName: 'team/app' as RepositoryName,
  digest: digestOf('layer'),
  expiresAt: 1_800_000_000,
};

function split(path: string): { digest: string; query: URLSearchParams } {
  const [p, q] = path.split('?') as [string, string];
  expect(p.startsWith(BLOB_DOWNLOAD_PREFIX)).toBe(true);
  return { digest: p.slice(BLOB_DOWNLOAD_PREFIX.length), query: new URLSearchParams(q) };
}

describe('DownloadUrlSigner', () => {
  const signer = new DownloadUrlSigner(KEY);

  it('verifies its own URLs and returns the grant', () => {
    const { digest, query } = split(signer.path(GRANT));
    expect(signer.verify(digest, query)).toEqual(GRANT);
  });

  it.each([
    ['another digest', (q: URLSearchParams) => ({ digest: digestOf('other'), q })],
    ['another repository', (q: URLSearchParams) => (q.set('repository', 'team/other'), { q })],
    ['another account', (q: URLSearchParams) => (q.set('account', '999988887777'), { q })],
    ['a later expiry', (q: URLSearchParams) => (q.set('expires', '1800000001'), { q })],
    ['a changed signature', (q: URLSearchParams) => (q.set('signature', q.get('signature')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))), { q })],
    ['a signature with padding added', (q: URLSearchParams) => (q.set('signature', `${q.get('signature')}=`), { q })],
    ['no signature', (q: URLSearchParams) => (q.delete('signature'), { q })],
    ['an invalid repository name', (q: URLSearchParams) => (q.set('repository', '../etc'), { q })],
  ])('refuses %s', (_label, change) => {
    const { digest, query } = split(signer.path(GRANT));
    const changed = change(query) as { digest?: string; q: URLSearchParams };
    expect(signer.verify(changed.digest ?? digest, changed.q)).toBeUndefined();
  });

  it('refuses URLs signed with another key', () => {
    const { digest, query } = split(new DownloadUrlSigner(Buffer.alloc(32, 8)).path(GRANT));
    expect(signer.verify(digest, query)).toBeUndefined();
  });

  it('refuses a short key', () => {
    expect(() => new DownloadUrlSigner(Buffer.alloc(16))).toThrow();
  });
});
