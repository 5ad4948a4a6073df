// The scale benchmark (bench/scale.js) at a size that fits CI: it runs end to end, and the
// memory bound that holds at any size — a large artifact is hashed in a stream, so peak RSS
// does not grow with the file — is checked here. Full size: `npm run bench:scale`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROJECT } from '../helpers.js';

describe('bench/scale.js (CI size)', () => {
  test('runs every measurement; a 64 MiB artifact is added within 100 MB of peak RSS', () => {
    const r = spawnSync(process.execPath, [join(PROJECT, 'bench', 'scale.js')], {
      env: { ...process.env, SCALE_N: '900', SCALE_REF_N: '450', SCALE_RUNS: '1', SCALE_BIG_MB: '64' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    for (const row of ['index rebuild, 900 cold: peak RSS', 'index verify, 900 no change', 'index add, 64 MiB artifact: time', 'index add, 64 MiB artifact: peak RSS']) {
      expect(r.stdout).toContain(row);
    }
    const rss = /index add, 64 MiB artifact: peak RSS\s+(\d+) MB/.exec(r.stdout);
    expect(rss, r.stdout).not.toBeNull();
    expect(Number(rss![1])).toBeLessThanOrEqual(100);
    expect(Number(rss![1])).toBeGreaterThan(20);
  });
});
