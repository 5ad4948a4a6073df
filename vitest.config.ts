import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Most tests wait on child processes (the CLI, git) rather than compute in the worker, so
// a worker per core leaves cores idle between those processes. vitest's default for `run`
// is one worker fewer than the cores: a single worker on a 2-core machine.
const WORKERS = availableParallelism() + 1;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: WORKERS,
    reporters: ['default', './test/summary-reporter.ts'],
    setupFiles: ['./test/setup.ts'],
    // Builds dist/ first when src/ changed since the last build: tests never run an old CLI.
    globalSetup: ['./test/global-setup.ts'],
  },
});
