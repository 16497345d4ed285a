import type { MetadataStore } from '../storage/metadata/index.js';

/**
 * What happened in the registry, as the domain reports it. Every push, tag move, delete and pull
 * is one event; the background capabilities (scan, replication, audit, webhooks, metrics) react
 * to them. `accountId`/`repository` name where it happened; `requestId` ties it to the request.
 */
export type RegistryEvent =
  | (EventBase & {
      type: 'image.pushed';
      digest: string;
      mediaType: string;
      artifactType: string | null;
      /** The tag the push set, when it named one. */
      tag?: string;
      /** Whether the manifest is new to the repository (false: only a tag moved). */
      created: boolean;
      /** The digest the tag pointed at before, when it moved. */
      previousDigest?: string;
      subject?: string;
    })
  | (EventBase & { type: 'image.deleted'; digest: string; tags: string[] })
  | (EventBase & { type: 'tag.deleted'; tag: string; digest: string })
  | (EventBase & { type: 'image.pulled'; digest: string; principalArn: string })
  | (EventBase & { type: 'repository.created'; via: RepositoryCreator })
  | (EventBase & { type: 'repository.deleted' })
  /** Events of the background capabilities (`scan.completed`, `replication.failed`, `lifecycle.expired`, ...). */
  | (EventBase & { type: `${'scan' | 'replication' | 'lifecycle' | 'cache'}.${string}`; digest?: string; detail: Record<string, unknown> });

/** What created a repository: ECR's `appliedFor` values of repository creation templates, or the API. */
export type RepositoryCreator = 'API' | 'CREATE_ON_PUSH' | 'PULL_THROUGH_CACHE' | 'REPLICATION';

/** An event as the code that causes it writes it; the registry stamps the time and the request. */
export type EventInput = RegistryEvent extends infer E ? (E extends RegistryEvent ? Omit<E, 'at' | 'requestId' | 'actor' | 'byCall'> : never) : never;

interface EventBase {
  type: string;
  accountId: string;
  repository: string;
  /** Epoch ms. */
  at: number;
  /** The request or job that caused it, when there is one. */
  requestId?: string;
  /** Who acted (an ARN), when known. */
  actor?: string;
  /** Set when an API call made the change: the call's own audit record covers it (background work's events are audited as service events). */
  byCall?: true;
}

export type TransactionalListener = (tx: MetadataStore, event: RegistryEvent) => Promise<void>;
export type Listener = (event: RegistryEvent) => void;

/**
 * The registry's events, delivered two ways:
 * - `inTransaction` listeners run inside the transaction that made the change, before it commits:
 *   what they write (a scan job, a replication job, an audit row) exists exactly when the change
 *   does, and a failure rolls the change back. They must only write to the metadata store.
 * - `on` listeners run after the commit, in process, and must not throw (metrics, wake-ups).
 */
export class EventBus {
  private readonly transactional: TransactionalListener[] = [];
  private readonly listeners: Listener[] = [];

  inTransaction(listener: TransactionalListener): void {
    this.transactional.push(listener);
  }

  on(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Call inside the transaction of the change; returns a function to call once it committed. */
  async record(tx: MetadataStore, event: RegistryEvent): Promise<() => void> {
    for (const listener of this.transactional) await listener(tx, event);
    return () => this.emit(event);
  }

  /** Deliver an event to the after-commit listeners only (a pull, which writes nothing). */
  emit(event: RegistryEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not fail the request that caused the event.
      }
    }
  }
}
