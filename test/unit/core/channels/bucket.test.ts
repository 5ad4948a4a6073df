// The public unit-bucketing rule (SPEC §13): bit for bit as published, computed again here
// with plain node:crypto; monotonic across steps; close to the step's fraction.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bucketOf, getsTarget, unitOf } from '../../../../src/core/channels/bucket.js';
import { FIXTURES } from '../../../helpers.js';

function independent(name: string, seed: string, unit: string): number {
  const h = createHash('sha256');
  h.update(Buffer.from('artifacts-rollout/1', 'ascii'));
  for (const part of [name, seed, unit]) {
    h.update(Buffer.from([0]));
    h.update(Buffer.from(part, 'utf8'));
  }
  const d = h.digest();
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(d[i]!);
  return Number(v % 10000n);
}

describe('rollout buckets', () => {
  test('the published vectors hold', () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'vectors/rollout/buckets.json'), 'utf8')) as {
      vectors: Array<{ name: string; seed: string; unit: string; bucket: number }>;
    };
    expect(doc.vectors.length).toBeGreaterThan(100);
    for (const v of doc.vectors) expect([v, bucketOf(v.name, v.seed, v.unit)]).toEqual([v, v.bucket]);
  });

  test('10,000 units: the same bucket as an independent computation', () => {
    const seed = `sha256:${'ab'.repeat(32)}`;
    for (let i = 0; i < 10_000; i++) {
      const unit = `tenant-${i}`;
      expect(bucketOf('prod', seed, unit)).toBe(independent('prod', seed, unit));
    }
  });

  test('monotonic across 5 → 25 → 50 → 100, and within 1 % of each step for 100,000 units', () => {
    const steps = [500, 2500, 5000, 10000];
    const seed = 'sha256:target';
    const counts = steps.map(() => 0);
    for (let i = 0; i < 100_000; i++) {
      const unit = `unit-${i}`;
      let had = false;
      steps.forEach((bp, k) => {
        const has = getsTarget('prod', seed, unit, bp);
        if (had) expect(has).toBe(true);
        had = has;
        if (has) counts[k]!++;
      });
    }
    steps.forEach((bp, k) => expect(Math.abs(counts[k]! / 100_000 - bp / 10_000)).toBeLessThanOrEqual(0.01));
    expect(counts[3]).toBe(100_000);
  });

  test('a unit is one line: a trailing CR is dropped; empty, NUL or a line break is refused', () => {
    expect(unitOf('tenant-1\r')).toBe('tenant-1');
    expect(unitOf(' spaced ')).toBe(' spaced ');
    for (const bad of ['', '\r', 'a\0b', 'a\nb', 'a\rb']) expect(() => unitOf(bad)).toThrow(/unit/);
  });
});
