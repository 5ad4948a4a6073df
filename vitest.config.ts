import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Most tests wait on child processes (the CLI, git) rather than compute in the worker, so
// a worker per core leaves cores idle between those processes. vitest's default for `run`
// is one worker fewer than the cores: a single worker on a 2-core machine.
const WORKERS = availableParallelism() + 1;

// Nothing the suite starts (the CLI, git, the benchmarks, the test workers) makes a TLS
// connection, but where NODE_EXTRA_CA_CERTS is set (runners and sandboxes behind a TLS
// proxy) Node 20 reads and parses that certificate bundle as every process starts: about
// 30 ms of CPU for each of the thousands of CLI runs. (npm, which the packaging test runs,
// has its own `cafile` setting for a registry behind such a proxy.) The workers and every
// process they start inherit this environment.
delete process.env.NODE_EXTRA_CA_CERTS;

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
