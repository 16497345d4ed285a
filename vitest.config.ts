import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests drive podman/skopeo, which share storage locks; files run in parallel, tests within a file in order.
    pool: 'forks',
  },
});
