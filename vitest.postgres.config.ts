import { defineConfig } from 'vitest/config';

/**
 * The integration suite again on PostgreSQL and S3 (issue #9): `npm run test:postgres`. The global
 * setup starts one embedded PostgreSQL server and one fauxqs S3 server for the run;
 * BERTH_TEST_STORAGE=postgres makes every `startTestServer` use a database and a bucket of its
 * own on them (test/helpers/test-server.ts). Fewer workers than the SQLite run: every test server
 * is a database plus a pool of connections on the one PostgreSQL server.
 */
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    // The scale-out tests start their own nodes on PostgreSQL and S3 in the SQLite run already.
    // fsck.test.ts damages blob files by their paths in the data folder; on S3 the same checks and
    // repairs (walk, hash, quarantine, remove) are driven by scale-s3-store.test.ts, and `berth fsck`
    // on a shared database and bucket by scale-nodes.test.ts.
    exclude: ['test/integration/scale-*.test.ts', 'test/integration/fsck.test.ts', '**/node_modules/**'],
    // Every S3 request is a loopback round trip where the SQLite run touches a local file: tests that
    // make thousands of requests (4,200 upload parts) take longer.
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['test/helpers/scale-global-setup.ts'],
    env: { BERTH_TEST_STORAGE: 'postgres' },
  },
});
