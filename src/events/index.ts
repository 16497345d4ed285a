export { EventBus, type RegistryEvent, type EventInput, type RepositoryCreator, type Listener, type TransactionalListener } from './bus.js';
