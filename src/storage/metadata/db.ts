import { CompiledQuery, type Compilable, type Kysely, type Transaction } from 'kysely';
import { isDeepStrictEqual } from 'node:util';
import type { Schema } from './schema.js';

/** A database handle or a transaction: every store works on either. */
export type Db = Kysely<Schema> | Transaction<Schema>;

/**
 * A query of the hot path, built and compiled by Kysely once per SQL dialect and then run with
 * each call's parameters. For a one-row lookup, building Kysely's operation tree and compiling it
 * cost more than SQLite's own work (the manifest GET's profile: 8% of the request, against 3% for
 * the query itself), and the SQL text never changes between calls. `build` must use its
 * parameters, in order, as the only values of the query; the first compile checks that.
 */
export function preparedQuery<P extends unknown[], R>(build: (db: Db, ...params: P) => Compilable<R>): (db: Db, ...params: P) => Promise<R[]> {
  // By the dialect's adapter class: the same SQL for every handle and transaction of one dialect.
  const sqlByDialect = new Map<unknown, string>();
  return async (db, ...params) => {
    const dialect = db.getExecutor().adapter.constructor;
    let sql = sqlByDialect.get(dialect);
    if (sql === undefined) {
      const compiled = build(db, ...params).compile();
      if (!isDeepStrictEqual([...compiled.parameters], params)) {
        throw new Error(`preparedQuery: the query's parameters ${JSON.stringify(compiled.parameters)} are not its arguments ${JSON.stringify(params)}`);
      }
      sql = compiled.sql;
      sqlByDialect.set(dialect, sql);
    }
    return (await db.executeQuery<R>(CompiledQuery.raw(sql, params))).rows;
  };
}
