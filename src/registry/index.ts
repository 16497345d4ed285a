export {
  Registry,
  type Repository,
  type RegistryOptions,
  type BlobReader,
  type PutManifestResult,
  type PutManifestOptions,
  type DeleteImageResult,
  type ReferrersIndex,
} from './registry.js';
export { ImageInventory, type ImageId, type ImageLookup, type ImageInfo, type TagStatus, type ImageStatusFilter } from './images.js';
export { BLOB_DOWNLOAD_PREFIX } from './download-url.js';
export { parseManifest, type Descriptor, type ParsedManifest } from './manifest.js';
export {
  RegistrySettings,
  ACCOUNT_SETTINGS,
  MAX_PULL_TIME_EXCLUSIONS,
  checkAccountSettingValue,
  isAccountSettingName,
  type AccountSettingName,
  type PullTimeExclusion,
} from './settings.js';
export {
  RepositoryPolicies,
  parseRepositoryPolicy,
  parseRegistryPolicy,
  MAX_POLICY_LENGTH,
  ECR_ACTIONS,
  type RepositoryPoliciesOptions,
} from './policies.js';
