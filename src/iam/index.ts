export { Authenticator } from './authenticator.js';
export { SecretBox } from './secret-box.js';
export { bootstrapRootCredentials, generateAccessKeyId, generateSecretAccessKey, type BootstrapResult } from './credentials.js';
export type { Principal, ResourceRef } from './principal.js';
