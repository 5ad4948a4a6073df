// Retention decisions (src/core/snapshots/retention.ts): which snapshots keep their objects.
// Pure given the snapshots and "now": no repository, no git, no keys.
import { describe, expect, test } from 'vitest';
import { decideRetention, durationSeconds, policyFor } from '../../../../src/core/snapshots/retention.js';
import type { StoredSnapshot } from '../../../../src/core/snapshots/snapshot-store.js';

const NOW = new Date('2026-06-01T00:00:00Z');

function snaps(createdDaysAgo: number[], extra: Partial<Record<number, Partial<StoredSnapshot>>> = {}): StoredSnapshot[] {
  return createdDaysAgo.map((days, i) => {
    const created_at = new Date(NOW.getTime() - days * 86_400_000).toISOString();
    return {
      framework: 'fwk-001',
      stage: 'release',
      seq: i + 1,
      file: `s${i + 1}.json`,
      released: false,
      bytes: Buffer.alloc(0),
      id: `sha256:${i + 1}`,
      snapshot: { created_at } as StoredSnapshot['snapshot'],
      ...extra[i],
    };
  });
}
const decisions = (d: ReturnType<typeof decideRetention>) => d.map((x) => x.decision);

describe('retention', () => {
  test('durations: a number and a unit', () => {
    expect(durationSeconds('90d')).toBe(90 * 86400);
    expect(durationSeconds('12h')).toBe(12 * 3600);
    expect(durationSeconds('2w')).toBe(2 * 604800);
    expect(() => durationSeconds('3 days')).toThrow(/must look like/);
    expect(() => durationSeconds('-1d')).toThrow();
  });

  test('the most specific policy wins: F/S, then F/*, then *; an empty policy is no policy', () => {
    const r = { '*': { keep_last: 9 }, 'fwk-001/*': { keep_last: 5 }, 'fwk-001/release': { keep_last: 2 }, 'fwk-002/*': {} };
    expect(policyFor(r, 'fwk-001', 'release')?.key).toBe('fwk-001/release');
    expect(policyFor(r, 'fwk-001', 'design')?.key).toBe('fwk-001/*');
    expect(policyFor(r, 'fwk-002', 'release')?.key).toBe('*');
    expect(policyFor({}, 'fwk-001', 'release')).toBeUndefined();
  });

  test('keep_last keeps the newest n and releases the rest', () => {
    expect(decisions(decideRetention(snaps([50, 40, 30, 20, 10]), { keep_last: 2 }, '*', NOW))).toEqual([
      'release',
      'release',
      'release',
      'keep',
      'keep',
    ]);
  });

  test('keep_within keeps what is young enough; the latest is always kept', () => {
    const d = decideRetention(snaps([100, 60, 10, 200]), { keep_within: '30d' }, '*', NOW);
    expect(decisions(d)).toEqual(['release', 'release', 'keep', 'keep']);
    expect(d[3]!.reason).toBe('the latest snapshot is always kept');
    expect(d[0]!.reason).toBe('older than 30d (policy "*")');
  });

  test('both rules: kept by either; released only when outside both', () => {
    const d = decideRetention(snaps([100, 90, 5, 80, 70]), { keep_last: 2, keep_within: '30d' }, 'fwk-001/*', NOW);
    expect(decisions(d)).toEqual(['release', 'release', 'keep', 'keep', 'keep']);
    expect(d[0]!.reason).toBe('not among the last 2 and older than 30d (policy "fwk-001/*")');
  });

  test('a held snapshot is kept; an already released one stays released; an unparseable date is not young', () => {
    const d = decideRetention(
      snaps([100, 100, 100, 1, 0], {
        0: { hold: { reason: 'audit' } },
        1: { released: true },
        2: { snapshot: { created_at: 'garbage' } as StoredSnapshot['snapshot'] },
      }),
      { keep_within: '30d' },
      '*',
      NOW,
    );
    expect(d.map((x) => `${x.decision}: ${x.reason}`)).toEqual([
      'keep: held: audit',
      'release: already released',
      'release: older than 30d (policy "*")',
      'keep: created 2026-05-31T00:00:00.000Z, within 30d (policy "*")',
      'keep: the latest snapshot is always kept',
    ]);
  });
});
