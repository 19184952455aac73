import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native bridge and worker threads are happiest in child processes.
    pool: 'forks',
    // One real Temporal dev server for the whole run, started here and shared by every file.
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    maxWorkers: 2,
  },
});
