import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { MetadataStore } from './metadata-store.js';
import { migrations } from './migrations.js';
import type { Schema } from './schema.js';

/** PostgreSQL type ids whose text form pg would hand over as a string. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

export interface PostgresOptions {
  /** Connections this node keeps at most (pg.Pool `max`). Default 16: periodic tasks hold one each while they lead (src/cluster/leader.ts). */
  poolSize?: number;
  /** Name in `pg_stat_activity`, to tell the nodes apart. */
  applicationName?: string;
}

/**
 * Open the shared PostgreSQL database of a scale-out deployment and bring its schema up to date.
 *
 * - Columns are `bigint` epoch milliseconds and counters; pg returns int8 (and numeric, which
 *   `sum()` yields) as strings to protect precision past 2^53. Every value berth stores fits in a
 *   double, so they come back as numbers, the same as from SQLite. `bytea` already comes back as
 *   a Buffer.
 * - Migrations run through Kysely's Migrator, which takes a transaction-scoped advisory lock on
 *   PostgreSQL: nodes starting together wait for each other and apply each migration once.
 * - Transactions run at READ COMMITTED (PostgreSQL's default). The writes that need more take row
 *   or advisory locks explicitly (`MetadataStore.lockRepository`, `GcStore.lockBlobs`), and
 *   `MetadataStore.transaction` retries a transaction that failed with a serialization failure or
 *   a deadlock. See docs/deployment.md, "Consistency".
 */
export async function openPostgresMetadata(url: string, opts: PostgresOptions = {}): Promise<MetadataStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 16,
    idleTimeoutMillis: 30_000,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
  });
  // An idle connection that the server closed (restart, failover) must not crash the process;
  // the pool drops it and the next query opens a new one.
  pool.on('error', () => undefined);
  // Likewise a connection in use (a leader's reserved one, a transaction) that the server ends:
  // the query in flight fails with the error, and the pool drops the connection when it comes back.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return new MetadataStore(db, 'postgres', () => db.destroy());
}

function typeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format ?? 'text');
}

async function migrate(db: Kysely<Schema>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations('postgres') } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`, { cause: error });
  }
}

/** Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`). */

/** The PostgreSQL error codes after which the whole transaction may simply run again. */
export function isRetryableTransactionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '40001' || code === '40P01';
}
