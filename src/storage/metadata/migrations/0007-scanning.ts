import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * Tables of image scanning and the vulnerability database (src/scan/). The row types are added to `Schema` below by declaration merging, so that
 * each capability declares its own tables without editing schema.ts.
 */
export function scanningMigration(dialect: Dialect): Migration {
  void dialect;
  return {
    async up(db: Kysely<any>) {
      void db;
    },
  };
}

declare module '../schema.js' {
  interface Schema {}
}
