export { SecretStore, SecretsError, type SecretInfo, type SecretValue } from './store.js';
export { secretsDoor, sendSecretsError, type SecretsDoorDeps } from './door.js';
