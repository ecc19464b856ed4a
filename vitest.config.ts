import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests spawn real node processes that share /dev/shm segments; forks keep each test file
    // in its own process so a native crash fails one file instead of the run.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    globalSetup: ['test/global-setup.ts', 'test/redis-global-setup.ts'],
  },
});
