import { BerthError, isAccountId, parseRepositoryName, type AccountId, type RepositoryName } from '../core/index.js';

/** A `/v2/...` request path, split once into what it addresses. */
export type OciRoute =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'uploads'; target: RepoTarget }
  | { kind: 'upload'; target: RepoTarget; id: string }
  | { kind: 'blob'; target: RepoTarget; reference: string }
  | { kind: 'manifest'; target: RepoTarget; reference: string }
  | { kind: 'tags'; target: RepoTarget }
  | { kind: 'referrers'; target: RepoTarget; reference: string };

/** The repository a request names: the account, the name, and the name as the client wrote it (for Location headers). */
export interface RepoTarget {
  accountId: AccountId;
  name: RepositoryName;
  pathName: string;
}

const PATTERNS: [RegExp, OciRoute['kind']][] = [
  [/^(.+)\/blobs\/uploads\/?$/, 'uploads'],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, 'upload'],
  [/^(.+)\/blobs\/([^/]+)$/, 'blob'],
  [/^(.+)\/manifests\/([^/]+)$/, 'manifest'],
  [/^(.+)\/tags\/list$/, 'tags'],
  [/^(.+)\/referrers\/([^/]+)$/, 'referrers'],
];

const ACCOUNT_HOST = /^([0-9]{12})\./;

/**
 * Parse the path of a `/v2/` request. The account is named by the path (`/v2/<12 digits>/<repo>/...`),
 * else by the host (`<12 digits>.<registry domain>`, ECR's own shape), else it is the default
 * account. Nothing is percent-decoded: an encoded character in a name (such as %2F) is refused, so
 * that no two spellings name one repository and no traversal can hide in an escape.
 */
export function parseOciPath(path: string, host: string | undefined, defaultAccount: AccountId): OciRoute | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (!path.startsWith('/v2/')) return undefined;
  const rest = path.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [pattern, kind] of PATTERNS) {
    const m = pattern.exec(rest);
    if (!m) continue;
    const target = parseTarget(m[1]!, host, defaultAccount);
    switch (kind) {
      case 'uploads':
      case 'tags':
        return { kind, target };
      case 'upload':
        return { kind, target, id: m[2]! };
      default:
        return { kind, target, reference: decodeReference(m[2]!) } as OciRoute;
    }
  }
  return undefined;
}

function parseTarget(raw: string, host: string | undefined, defaultAccount: AccountId): RepoTarget {
  if (raw.includes('%')) throw new BerthError('NAME_INVALID', 'repository names cannot contain percent-encoded characters');
  const slash = raw.indexOf('/');
  const first = slash > 0 ? raw.slice(0, slash) : '';
  if (isAccountId(first)) {
    return { accountId: first, name: parseRepositoryName(raw.slice(slash + 1)), pathName: raw };
  }
  const hostAccount = host ? ACCOUNT_HOST.exec(host)?.[1] : undefined;
  return { accountId: (hostAccount as AccountId | undefined) ?? defaultAccount, name: parseRepositoryName(raw), pathName: raw };
}

/** Digests may arrive with ':' encoded as %3A; nothing else in a tag or digest needs decoding. */
function decodeReference(raw: string): string {
  return raw.replace(/%3[aA]/g, ':');
}
