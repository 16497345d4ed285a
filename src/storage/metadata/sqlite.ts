import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, type DatabaseConnection, type Driver } from 'kysely';
import { Migrator } from 'kysely';
import { MetadataStore } from './metadata-store.js';
import { migrations } from './migrations.js';
import type { Schema } from './schema.js';

/**
 * Open (creating if needed) the embedded SQLite database and bring its schema up to date.
 * WAL lets readers proceed during a write; synchronous=FULL makes every acknowledged commit
 * survive a power loss, not only a process crash: a registry must never lose an acknowledged push.
 */
export async function openSqliteMetadata(path: string): Promise<MetadataStore> {
  mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }) });
  await migrate(db);
  return new MetadataStore(db, 'sqlite', () => db.destroy());
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running the small
 * indexed queries of a registry (a profile of DescribeImages showed more time in `prepare` than in
 * execution). Statements are reused by SQL text, least recently used dropped past `max`. Safe
 * because Kysely runs one query at a time on this connection and berth never streams results
 * (a streaming iterator would keep its statement busy).
 */
function withStatementCache(database: Database.Database, max = 500): { prepare(sql: string): Database.Statement; close(): void } {
  const cache = new Map<string, Database.Statement>();
  return {
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
    close() {
      cache.clear();
      database.close();
    },
  };
}

/**
 * Transactions begin with `BEGIN IMMEDIATE`, taking the write lock at once rather than at their
 * first write. With another process on the same file (`berth gc`, `berth fsck`, `berth account`
 * beside the server), a deferred transaction that read first would fail with SQLITE_BUSY_SNAPSHOT
 * when the other process committed in between, where an immediate one waits (busy_timeout).
 * Garbage collection relies on it too: a transaction holds the lock that orders the publication
 * of a blob against its deletion from its first statement (docs/architecture.md).
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

async function migrate(db: Kysely<Schema>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations('sqlite') },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`, {
      cause: error,
    });
  }
}
