import type { Generated } from 'kysely';

/**
 * The relational schema, shared by SQLite and PostgreSQL. Times are integer milliseconds since the
 * epoch (portable across both engines and free of time-zone handling).
 */
export interface Schema {
  accounts: { id: string; created_at: number };
  access_keys: {
    access_key_id: string;
    account_id: string;
    /** null for the account root. */
    user_name: string | null;
    /** AES-256-GCM ciphertext of the secret (see iam/secret-box.ts). */
    secret_enc: string;
    status: 'Active' | 'Inactive';
    created_at: number;
  };
  repositories: {
    id: Generated<number>;
    account_id: string;
    name: string;
    tag_mutability: 'MUTABLE' | 'IMMUTABLE';
    created_at: number;
  };
  /** Every committed blob, once, whatever the number of repositories that link it. */
  blobs: { digest: string; size: number; created_at: number };
  /** A blob is visible through a repository only while linked to it. */
  repository_blobs: { repository_id: number; digest: string; created_at: number };
  manifests: {
    repository_id: number;
    digest: string;
    media_type: string;
    artifact_type: string | null;
    subject: string | null;
    size: number;
    body: Uint8Array;
    annotations: string | null;
    pushed_at: number;
  };
  /** What a manifest points at: blobs (config, layers) and manifests (children of an index). */
  manifest_references: {
    repository_id: number;
    parent_digest: string;
    child_digest: string;
    child_kind: 'blob' | 'manifest';
  };
  tags: { repository_id: number; tag: string; digest: string; updated_at: number };
  uploads: { id: string; repository_id: number; created_at: number };
}
