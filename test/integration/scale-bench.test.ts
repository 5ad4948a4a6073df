// The scale benchmark (bench/scale.js) at a size that fits CI: it runs end to end, and the
// memory bound that holds at any size — a large artifact is hashed in a stream, so peak RSS
// does not grow with the file — is checked here. Full size: `npm run bench:scale`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { generateCorpus } from '../../bench/corpus.js';
import { PROJECT, run, testdir } from '../helpers.js';

describe('bench/scale.js (CI size)', () => {
  test('runs every measurement; a 64 MiB artifact is added within 100 MB of peak RSS', () => {
    const r = spawnSync(process.execPath, [join(PROJECT, 'bench', 'scale.js')], {
      env: { ...process.env, SCALE_N: '900', SCALE_REF_N: '450', SCALE_RUNS: '1', SCALE_REBUILD_RUNS: '1', SCALE_BIG_MB: '64' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    for (const row of [
      'index rebuild, 900 cold: peak RSS',
      'index verify, 900 no change',
      'index add (1 file into 900): peak RSS',
      'index verify, 900, first after a rebuild: time',
      'index add, 64 MiB artifact: time',
      'index add, 64 MiB artifact: peak RSS',
    ]) {
      expect(r.stdout).toContain(row);
    }
    const rss = /index add, 64 MiB artifact: peak RSS\s+(\d+) MB/.exec(r.stdout);
    expect(rss, r.stdout).not.toBeNull();
    expect(Number(rss![1])).toBeLessThanOrEqual(100);
    expect(Number(rss![1])).toBeGreaterThan(20);
  });
});

describe('inspection workers with a capped heap', () => {
  test('a worker that runs out of its heap hands its files back: the same index, exit 0', () => {
    // More files than the worker threshold (400), so that a rebuild uses workers.
    const dir = testdir();
    generateCorpus(dir, 600);
    const normal = run(dir, ['index', 'rebuild']);
    expect(normal.code, normal.stderr).toBe(0);
    const expected = readFileSync(join(dir, 'artifacts_index.json'), 'utf8');
    const starved = run(dir, ['index', 'rebuild'], { ARTIFACTS_WORKER_HEAP_MB: '1' });
    expect(starved.code, starved.stderr).toBe(0);
    expect(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).toBe(expected);
    // (The stat cache would answer instead of the workers: rebuild it without the cache.)
    const cold = run(dir, ['index', 'rebuild', '--no-cache'], { ARTIFACTS_WORKER_HEAP_MB: '1' });
    expect(cold.code, cold.stderr).toBe(0);
    expect(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).toBe(expected);
  });

  test('a cap that is not a positive whole number is a usage error', () => {
    const dir = testdir();
    generateCorpus(dir, 1);
    const r = run(dir, ['index', 'verify'], { ARTIFACTS_WORKER_HEAP_MB: 'lots' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE');
  });
});
