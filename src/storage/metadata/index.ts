export {
  MetadataStore,
  type RepositoryRow,
  type ManifestRow,
  type ManifestReference,
  type ManifestInfo,
  type ImageStatus,
  type ImageStatusFilter,
  type TagStatus,
  type ImageIdRow,
  type AccessKeyRow,
  type Page,
  type RepositorySettings,
  type TagMutabilityFilter,
  DEFAULT_REPOSITORY_SETTINGS,
} from './metadata-store.js';
export { openSqliteMetadata } from './sqlite.js';
// postgres.ts is not re-exported: importing it loads pg (open.ts loads it when the configuration asks).
export { openMetadata, usesSharedDatabase, isPostgresUrl } from './open.js';
export { isCollectable, type BlobGcState, type BrokenBlobReference, type ReferenceKey } from './gc-store.js';
export type { UserRow } from './user-store.js';
export type { PolicyHolder, ManagedPolicyRow, PolicyVersionRow, InlinePolicyRow, RoleRow } from './policy-store.js';
export type { Dialect } from './migrations.js';
export type { Db } from './db.js';
export type { JobRow, EnqueueOptions, JobCounts } from './job-store.js';
export type { TagMutability, JobState, Schema } from './schema.js';
