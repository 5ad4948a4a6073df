// Many tests run the CLI with spawnSync, which blocks the test worker's event loop. Give
// the loop one full turn after each test so that vitest's own messages between the worker
// and the main process are processed (otherwise a long run of blocking tests can exceed
// vitest's RPC timeout even though every test is short).
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
