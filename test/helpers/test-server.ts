import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';

export interface TestServer {
  app: App;
  /** http://127.0.0.1:<port> */
  url: string;
  dataDir: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `Basic ...` for the default account's root key. */
  authHeader: string;
  close(): Promise<void>;
}

export const TEST_ACCESS_KEY_ID = 'AKIATESTROOT00000001';
export const TEST_SECRET = 'testsecretTESTSECRET0123456789abcdefABCD';

/** The real server, in-process, on an ephemeral loopback port with a temporary data folder. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-test-'));
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
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_SECRET,
    authHeader: basicAuth(TEST_ACCESS_KEY_ID, TEST_SECRET),
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
