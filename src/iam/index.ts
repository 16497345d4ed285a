export { Authenticator } from './authenticator.js';
export { SessionCredentials, type TemporaryCredentials, type SessionClaims } from './session-credentials.js';
export { SecretBox } from './secret-box.js';
export { bootstrapRootCredentials, generateAccessKeyId, generateSecretAccessKey, type BootstrapResult } from './credentials.js';
export type { Principal, ResourceRef } from './principal.js';
export {
  SigV4Error,
  parseAuthorization,
  verifySignature,
  signRequest,
  presignRequest,
  type SigV4ErrorKind,
  type SignedRequest,
  type ParsedAuthorization,
} from './sigv4.js';
export { Authorizer, resourceArn, type AuthorizationDecision, type DecisionObserver, type PolicySources, type RequestFacts } from './authorizer.js';
