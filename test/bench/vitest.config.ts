import { defineConfig } from 'vitest/config';

// The benchmark suite's own checks (its arithmetic, framing and report), kept out of `npm test`
// with the rest of test/bench/: `npx vitest run --config test/bench/vitest.config.ts`.
export default defineConfig({
  test: {
    include: ['test/bench/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
