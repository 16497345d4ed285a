import { BerthError } from './errors.js';
import { isDigest, parseDigest, type Digest } from './digest.js';

/** A repository name that satisfies ECR's pattern and length (2..256). */
export type RepositoryName = string & { readonly __brand: 'RepositoryName' };
/** A tag: OCI's grammar, at most 128 characters (ECR's limit for pushes through the registry API). */
export type Tag = string & { readonly __brand: 'Tag' };
/** A 12-digit account id. */
export type AccountId = string & { readonly __brand: 'AccountId' };

// ECR's CreateRepository pattern (botocore model, 2026), which since 2026-02 matches OCI's
// path-component grammar: separators '.', '_', '__' or runs of '-'.
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const ACCOUNT_ID = /^[0-9]{12}$/;

export function parseRepositoryName(raw: string): RepositoryName {
  if (raw.length < 2 || raw.length > 256) {
    throw new BerthError('NAME_INVALID', `repository name must be 2 to 256 characters long, got ${raw.length}`);
  }
  if (!REPOSITORY_NAME.test(raw)) {
    throw new BerthError(
      'NAME_INVALID',
      'repository name must be lowercase letters and digits in path components separated by "/", ' +
        'with ".", "_", "__" or "-" between them',
      { name: raw.slice(0, 256) },
    );
  }
  return raw as RepositoryName;
}

export function parseTag(raw: string): Tag {
  if (!TAG.test(raw)) {
    throw new BerthError(
      'TAG_INVALID',
      'a tag is 1 to 128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"',
      { tag: raw.slice(0, 200) },
    );
  }
  return raw as Tag;
}

export function isAccountId(raw: string): raw is AccountId {
  return ACCOUNT_ID.test(raw);
}

export function parseAccountId(raw: string): AccountId {
  if (!isAccountId(raw)) throw new BerthError('NAME_INVALID', `an account id is exactly 12 digits, got "${raw.slice(0, 40)}"`);
  return raw;
}

/** A manifest is addressed by tag or by digest; never a string that means both. */
export type ManifestRef = { kind: 'tag'; tag: Tag } | { kind: 'digest'; digest: Digest };

export function parseManifestRef(raw: string): ManifestRef {
  // The tag grammar excludes ':' and every digest has one (distribution-spec v1.1).
  return raw.includes(':') ? { kind: 'digest', digest: parseDigest(raw) } : { kind: 'tag', tag: parseTag(raw) };
}

export function formatManifestRef(ref: ManifestRef): string {
  return ref.kind === 'tag' ? ref.tag : ref.digest;
}

export { isDigest };
