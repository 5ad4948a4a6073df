import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    setupFiles: ['./test/setup.ts'],
    // Builds dist/ first when src/ changed since the last build: tests never run an old CLI.
    globalSetup: ['./test/global-setup.ts'],
  },
});
