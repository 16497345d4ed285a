import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createTestDatabase } from './postgres.js';
import { createTestBucket } from './s3.js';

export interface TestServer {
  app: App;
  /** http://127.0.0.1:<port> */
  url: string;
  dataDir: string;
  /**
   * The BERTH_* settings of its database, bucket and master key when it runs in scale-out mode
   * (empty on SQLite): pass them, with BERTH_DATA_DIR, to a `berth` command that must open the
   * same deployment.
   */
  storageEnv: Record<string, string>;
  accessKeyId: string;
  secretAccessKey: string;
  /** `Basic ...` for the default account's root key. */
  authHeader: string;
  close(): Promise<void>;
}

export const TEST_ACCESS_KEY_ID = 'AKIATESTROOT00000001';
export const TEST_SECRET = 'testsecretTESTSECRET0123456789abcdefABCD';

/** Which storage the test servers use: `postgres` (BERTH_TEST_STORAGE=postgres) is PostgreSQL plus an S3 bucket. */
export const TEST_STORAGE: 'sqlite' | 'postgres' = process.env['BERTH_TEST_STORAGE'] === 'postgres' ? 'postgres' : 'sqlite';

/**
 * The settings of a new scale-out deployment for tests: an empty database on the test PostgreSQL
 * server, an empty bucket on the test S3 server, and a master key. Pass the same `env` to several
 * servers to make nodes of one deployment; `drop` removes the database afterwards.
 */
export async function scaleOutEnv(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const database = await createTestDatabase();
  const bucket = await createTestBucket();
  return {
    env: { BERTH_DATABASE_URL: database.url, BERTH_MASTER_KEY: randomBytes(32).toString('base64'), ...bucket },
    drop: () => database.drop(),
  };
}

/**
 * The real server, in-process, on an ephemeral loopback port with a temporary data folder. With
 * BERTH_TEST_STORAGE=postgres (`npm run test:postgres`) and no BERTH_DATABASE_URL in `env`, it gets
 * its own database and bucket (scaleOutEnv) instead of SQLite and the data folder.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  let scale: { env: Record<string, string>; drop: () => Promise<void> } | undefined;
  if (TEST_STORAGE === 'postgres' && env['BERTH_DATABASE_URL'] === undefined) scale = await scaleOutEnv();
  if (scale) {
    // The same key in the data folder too, for tests that open secrets with SecretBox.load(dataDir).
    await writeFile(join(dataDir, 'master.key'), `${scale.env['BERTH_MASTER_KEY']}\n`, { mode: 0o600 });
  }
  const config = loadConfig({
    env: {
      BERTH_DATA_DIR: dataDir,
      BERTH_LISTEN: '127.0.0.1:0',
      BERTH_LOG_LEVEL: 'silent',
      BERTH_CREATE_ON_PUSH: 'true',
      BERTH_ROOT_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      BERTH_ROOT_SECRET_ACCESS_KEY: TEST_SECRET,
      // ECR's request-rate quotas (PutImage 10/s) would throttle tests that push fast; test/integration/quotas.test.ts turns them on.
      BERTH_LIMITS_RATE_LIMITING: 'false',
      // No periodic collection behind a test's back; test/integration/gc.test.ts runs it.
      BERTH_GC_INTERVAL: '0',
      ...scale?.env,
      ...env,
    },
  });
  const app = await buildApp(config);
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.server.address() as AddressInfo).port;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    storageEnv: { ...scale?.env, ...Object.fromEntries(Object.entries(env).filter(([k]) => k === 'BERTH_MASTER_KEY' || k === 'BERTH_DATABASE_URL' || k.startsWith('BERTH_S3_'))) },
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_SECRET,
    authHeader: basicAuth(TEST_ACCESS_KEY_ID, TEST_SECRET),
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
      await scale?.drop();
    },
  };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
