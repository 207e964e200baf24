import { defineConfig } from 'vitest/config';

// Integration tests start real processes; the machine has 2 cores, so test files run with
// limited parallelism and generous timeouts that hold on a loaded machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    pool: 'forks',
  },
});
