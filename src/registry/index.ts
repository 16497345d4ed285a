export { Registry, type Repository, type RegistryOptions, type BlobRead, type PutManifestResult, type ReferrersIndex } from './registry.js';
export { parseManifest, type Descriptor, type ParsedManifest } from './manifest.js';
