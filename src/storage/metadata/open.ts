import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import type { MetadataStore } from './metadata-store.js';
import { openSqliteMetadata } from './sqlite.js';

/** Whether `url` names a PostgreSQL database. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/**
 * The metadata store the configuration names: PostgreSQL when `databaseUrl` (BERTH_DATABASE_URL)
 * is a `postgres://` URL (scale-out: every node shares it), else SQLite at
 * `<dataDir>/metadata.db` (one node).
 */
export async function openMetadata(config: Config, opts: { applicationName?: string } = {}): Promise<MetadataStore> {
  if (isPostgresUrl(config.databaseUrl)) {
    // Loaded only in scale-out mode: pg costs ~15 MiB of memory that one embedded node never uses.
    const { openPostgresMetadata } = await import('./postgres.js');
    return openPostgresMetadata(config.databaseUrl, { applicationName: opts.applicationName ?? 'berth' });
  }
  return openSqliteMetadata(sqlitePath(config));
}

/** Where the SQLite database of the data folder lives. */
export function sqlitePath(config: Config): string {
  return join(config.dataDir, 'metadata.db');
}

/** Whether the configuration puts metadata in a shared PostgreSQL database rather than the data folder. */
export function usesSharedDatabase(config: Config): boolean {
  return isPostgresUrl(config.databaseUrl);
}
