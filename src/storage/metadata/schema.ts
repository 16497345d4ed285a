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
    tag_mutability: TagMutability;
    /** JSON array of `{filterType, filter}`, or null. */
    tag_mutability_exclusions: string | null;
    scan_on_push: number;
    encryption_type: string;
    kms_key: string | null;
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
    /** ECR's imageSizeInBytes: the sum of the layers' (compressed) sizes, or for an index its largest child. */
    image_size: number;
    config_media_type: string | null;
    last_pulled_at: number | null;
    /** ECR imageStatus: the archive storage class as image state (migration 0006, src/lifecycle/). */
    image_status: Generated<'ACTIVE' | 'ARCHIVED' | 'ACTIVATING'>;
    last_archived_at: number | null;
    last_activated_at: number | null;
  };
  /** What a manifest points at: blobs (config, layers) and manifests (children of an index). */
  manifest_references: {
    repository_id: number;
    parent_digest: string;
    child_digest: string;
    child_kind: 'blob' | 'manifest';
  };
  tags: { repository_id: number; tag: string; digest: string; updated_at: number };
  /** Upload sessions; `writer` holds the request writing to one until `writer_until` (epoch ms). */
  uploads: { id: string; repository_id: number; created_at: number; writer: string | null; writer_until: number | null };
  /** Resource tags (TagResource), keyed by the resource's ARN. */
  resource_tags: { resource_arn: string; key: string; value: string };
  users: { account_id: string; user_name: string; user_id: string; path: string; created_at: number };
  account_settings: { account_id: string; name: string; value: string };
  pull_time_exclusions: { account_id: string; principal_arn: string; created_at: number };
  iam_policies: {
    arn: string;
    account_id: string;
    policy_name: string;
    policy_id: string;
    path: string;
    description: string | null;
    default_version_id: string;
    created_at: number;
    updated_at: number;
  };
  iam_policy_versions: { policy_arn: string; version_id: string; document: string; created_at: number };
  iam_roles: {
    account_id: string;
    role_name: string;
    role_id: string;
    path: string;
    description: string | null;
    trust_policy: string;
    max_session_duration: number;
    created_at: number;
  };
  iam_inline_policies: { account_id: string; identity_kind: 'user' | 'role'; identity_name: string; policy_name: string; document: string };
  iam_policy_attachments: { account_id: string; identity_kind: 'user' | 'role'; identity_name: string; policy_arn: string };
  repository_policies: { repository_id: number; policy_text: string; updated_at: number };
  registry_policies: { account_id: string; policy_text: string; updated_at: number };
}

export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';

/** Durable background work (src/jobs/). */
export interface Schema {
  jobs: {
    id: Generated<number>;
    kind: string;
    /** At most one queued or running job per (kind, dedupe_key). */
    dedupe_key: string | null;
    /** JSON. */
    payload: string;
    state: JobState;
    attempts: number;
    max_attempts: number;
    run_at: number;
    lease_owner: string | null;
    lease_until: number | null;
    last_error: string | null;
    /** JSON written by the handler when the job is done. */
    result: string | null;
    /** The request that caused the job, for logs and the audit trail. */
    request_id: string | null;
    created_at: number;
    updated_at: number;
    finished_at: number | null;
  };
  /** Leader leases of periodic tasks, and when each last ran. */
  leases: { name: string; owner: string | null; expires_at: number; last_run_at: number | null };
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';
