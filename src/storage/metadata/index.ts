export {
  MetadataStore,
  type RepositoryRow,
  type ManifestRow,
  type ManifestReference,
  type AccessKeyRow,
  type Page,
} from './metadata-store.js';
export { openSqliteMetadata } from './sqlite.js';
export type { Dialect } from './migrations.js';
