import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'plugins/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores here and in CI: two workers keep the suite fast without oversubscribing ONNX Runtime.
    maxWorkers: 2,
  },
});
