import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** Caches that a node keeps in memory and that another node's change must empty. */
/** `identity`: any IAM change (users, keys, roles, policies and attachments); its key is unused. */
export type CacheTopic = 'repository' | 'resource-tags' | 'repository-policy' | 'registry-policy' | 'identity';

/** Called with the key to drop, or undefined to drop everything (notifications may have been missed). */
export type Drop = (key: string | undefined) => void;

/**
 * Cross-node cache invalidation. `invalidate` drops an entry in this process at once and tells the
 * other nodes to drop theirs; `on` registers what dropping means for one cache. Call `invalidate`
 * after the change committed, so that a node that re-reads finds the new data.
 */
export interface CacheInvalidator {
  invalidate(topic: CacheTopic, key: string): void;
  on(topic: CacheTopic, drop: Drop): void;
  close(): Promise<void>;
}

/** One node (SQLite): nobody else to tell. */
export class LocalInvalidator implements CacheInvalidator {
  private readonly handlers = new Map<CacheTopic, Drop[]>();

  invalidate(topic: CacheTopic, key: string): void {
    for (const drop of this.handlers.get(topic) ?? []) drop(key);
  }

  on(topic: CacheTopic, drop: Drop): void {
    const list = this.handlers.get(topic) ?? [];
    list.push(drop);
    this.handlers.set(topic, list);
  }

  /** Drop every entry of every cache. */
  dropAll(): void {
    for (const list of this.handlers.values()) for (const drop of list) drop(undefined);
  }

  async close(): Promise<void> {}
}

const CHANNEL = 'berth_cache';

/**
 * Invalidation through PostgreSQL's LISTEN/NOTIFY on the shared database: every node listens on
 * one dedicated connection; `invalidate` sends `pg_notify` (a few hundred bytes at most) through
 * it. A notification reaches the other nodes within milliseconds of the commit it follows.
 *
 * When the listening connection breaks, notifications sent meanwhile are lost, so the node drops
 * every cached entry once it listens again (and retries every second until it does). Until then
 * it keeps serving from what it holds, as it would have a moment before: the caches this covers
 * only ever save reads, and the transactions that change data re-check against the database
 * (a push to a deleted repository fails on its row lock, whatever the cache says).
 */
export class PgInvalidator extends LocalInvalidator {
  private readonly node = randomUUID();
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly log?: { warn(obj: object, msg: string): void },
  ) {
    super();
  }

  /** Start listening; resolves once the first LISTEN is in place. */
  async start(): Promise<void> {
    await this.connect();
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      // Loaded here, not at start-up: only a node on PostgreSQL listens.
      const { default: pgModule } = await import('pg');
      const client = new pgModule.Client({ connectionString: this.url, application_name: 'berth-invalidation' });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, new Error('connection ended')));
      client.on('notification', (msg) => {
        if (msg.channel !== CHANNEL || !msg.payload) return;
        const [node, topic, key] = splitPayload(msg.payload);
        if (node === this.node || !topic) return;
        super.invalidate(topic as CacheTopic, key ?? '');
      });
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      const reconnected = this.client === undefined && this.everConnected;
      this.client = client;
      this.everConnected = true;
      if (reconnected) this.dropAll();
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private everConnected = false;

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.log?.warn({ err: err.message }, 'cache invalidation connection lost; reconnecting');
    // Whatever was cached may have changed unseen: drop it now, and again once listening.
    this.dropAll();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.connect().catch(() => this.scheduleReconnect());
    }, 1000);
    this.retry.unref();
  }

  override invalidate(topic: CacheTopic, key: string): void {
    super.invalidate(topic, key);
    const client = this.client;
    if (!client) return;
    // One query at a time on the connection (pg deprecates overlapping ones), in the order of the changes.
    this.notifying = this.notifying
      .then(() => client.query('SELECT pg_notify($1, $2)', [CHANNEL, `${this.node}\n${topic}\n${key}`]))
      .then(
        () => undefined,
        (err: unknown) => this.log?.warn({ err: (err as Error).message, topic }, 'could not notify the other nodes of a cache change'),
      );
  }

  private notifying: Promise<void> = Promise.resolve();

  override async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await this.notifying; // the last changes still reach the other nodes
    await client?.end().catch(() => undefined);
  }
}

function splitPayload(payload: string): [string, string | undefined, string | undefined] {
  const first = payload.indexOf('\n');
  const second = payload.indexOf('\n', first + 1);
  if (first < 0 || second < 0) return [payload, undefined, undefined];
  return [payload.slice(0, first), payload.slice(first + 1, second), payload.slice(second + 1)];
}
