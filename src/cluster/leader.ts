import { sql, type Kysely } from 'kysely';
import type { MetadataStore, Schema } from '../storage/metadata/index.js';

/**
 * Run `fn` only if this node can lead the task `name` now, and hold the leadership while it
 * runs. On PostgreSQL leadership is a session-level advisory lock (`pg_try_advisory_lock`) on a
 * connection reserved for the run: no other node can take it meanwhile, and it is released when
 * the run ends or when the node dies (its connection closes), without waiting for a lease to
 * expire. On SQLite (one node, and the admin commands beside it) `fn` just runs; what must not
 * run twice there is ordered by the database's write lock and the `leases` table.
 *
 * Resolves `{ led: false }` when another node leads.
 */
export async function withLeadership<T>(meta: MetadataStore, name: string, fn: () => Promise<T>): Promise<{ led: true; value: T } | { led: false }> {
  if (meta.dialect !== 'postgres') return { led: true, value: await fn() };
  const db = meta.kysely as Kysely<Schema>;
  return db.connection().execute(async (conn) => {
    const key = `berth:${name}`;
    const got = await sql<{ got: boolean }>`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as got`.execute(conn);
    if (!got.rows[0]?.got) return { led: false as const };
    try {
      return { led: true as const, value: await fn() };
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn).catch(() => undefined);
    }
  });
}

/**
 * Run `fn` in a transaction that first takes the cluster-wide lock `name`, waiting for it: one
 * node at a time does what `fn` does (first-start bootstrap of the root credentials). On SQLite
 * the transaction's write lock is that lock already.
 */
export async function withClusterLock<T>(meta: MetadataStore, name: string, fn: (tx: MetadataStore) => Promise<T>): Promise<T> {
  if (meta.dialect !== 'postgres') return fn(meta);
  return meta.transaction(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`berth:${name}`}, 0))`.execute(tx.kysely);
    return fn(tx);
  });
}
