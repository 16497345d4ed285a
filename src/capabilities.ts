import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import type { EventBus } from './events/index.js';
import type { Authenticator, Authorizer, SecretBox } from './iam/index.js';
import type { JobRunner } from './jobs/index.js';
import type { Registry, RegistrySettings, RepositoryPolicies } from './registry/index.js';
import type { BlobStore } from './storage/blobs/index.js';
import type { MetadataStore } from './storage/metadata/index.js';

/**
 * The services of the background capabilities (lifecycle, scanning, replication, cache, audit,
 * ...), as the front doors and the CLI reach them. Each capability adds its member by declaration
 * merging in its own folder:
 *
 *     declare module '../capabilities.js' { interface Services { lifecycle: LifecycleService } }
 *
 * and sets it in its `start`. So a capability plugs in without editing a shared list of types.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

/** What a capability is given when the app starts. */
export interface CapabilityContext {
  readonly config: Config;
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly registry: Registry;
  readonly settings: RegistrySettings;
  readonly policies: RepositoryPolicies;
  readonly box: SecretBox;
  readonly auth: Authenticator;
  readonly authorizer: Authorizer;
  /** The durable job queue: register handlers and periodic tasks here. */
  readonly jobs: JobRunner;
  readonly events: EventBus;
  /** The HTTP server, for hooks and routes (metrics, health). Not listening yet. */
  readonly server: FastifyInstance;
  readonly log: FastifyBaseLogger;
  /** Filled by each capability's `start`; capabilities started earlier are there already. */
  readonly services: Services;
  /** False in admin commands that open the data folder beside a running server: start no timers. */
  readonly background: boolean;
}

export interface Capability {
  readonly name: string;
  /** Register services, job handlers, listeners and routes. Resolves with what to do at shutdown. */
  start(ctx: CapabilityContext): Promise<{ close?(): Promise<void> } | void>;
}
