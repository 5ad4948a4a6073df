import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { acquireLock } from '../../src/core/store/lock.js';
import { testdir } from '../helpers.js';

describe('index lock', () => {
  test('a lock held across several refresh periods stays ours (the owner file does not look like a takeover)', async () => {
    const dir = testdir();
    const lock = await acquireLock(join(dir, 'artifacts_index.json'), { timeoutMs: 1000 });
    // proper-lockfile refreshes every 5 s and treats an unexpected mtime as compromise.
    await new Promise((r) => setTimeout(r, 6500));
    await expect(lock.assertHeld()).resolves.toBeUndefined();
    await lock.release();
    const again = await acquireLock(join(dir, 'artifacts_index.json'), { timeoutMs: 0 });
    await again.release();
  }, 20_000);
});
