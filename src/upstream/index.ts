export {
  RegistryClient,
  UpstreamError,
  isUpstreamError,
  parseChallenge,
  scopeFor,
  type RegistryClientOptions,
  type RegistryCredentials,
  type CredentialSource,
  type FetchedManifest,
  type ManifestHead,
  type BlobBody,
  type UpstreamErrorKind,
} from './client.js';
