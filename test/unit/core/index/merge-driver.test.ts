// The index merge driver's three-way entry merge (mergeIndexes in
// src/core/index/merge-driver.ts). Pure: documents in, merged document or conflicts out.
import { describe, expect, test } from 'vitest';
import { makeIndexDocument } from '../../../../src/core/index/document.js';
import { mergeIndexes } from '../../../../src/core/index/merge-driver.js';
import type { IndexEntry } from '../../../../src/core/metadata/inspect.js';

const addr = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;
function e(id: string, content = 'a', extra: Partial<IndexEntry> = {}): IndexEntry {
  return {
    id,
    version: '1.0.0',
    status: 'draft',
    framework: 'fwk-001',
    kind: 'plan',
    path: `docs/plans/fwk-001/${id}.md`,
    content_address: addr(content),
    size: 10,
    ...extra,
  };
}
const doc = (...entries: IndexEntry[]) => makeIndexDocument('sha256', entries);
const ids = (r: ReturnType<typeof mergeIndexes>) => r.merged?.artifacts.map((x) => x.id);

describe('index merge', () => {
  test('both sides adding different artifacts merge cleanly, in byte order of path', () => {
    const r = mergeIndexes(doc(e('base')), doc(e('base'), e('ours')), doc(e('base'), e('theirs')));
    expect(r.conflicts).toEqual([]);
    expect(ids(r)).toEqual(['base', 'ours', 'theirs']);
    expect(r.merged).toEqual(doc(e('base'), e('ours'), e('theirs')));
  });

  test('a change on one side wins over the unchanged other side; removals too', () => {
    const r = mergeIndexes(doc(e('a'), e('b')), doc(e('a', 'changed'), e('b')), doc(e('a')));
    expect(r.conflicts).toEqual([]);
    expect(r.merged!.artifacts.map((x) => `${x.id} ${x.content_address.slice(7, 10)}`)).toEqual(['a cha']);
  });

  test('the same change on both sides is no conflict', () => {
    const r = mergeIndexes(doc(e('a')), doc(e('a', 'b')), doc(e('a', 'b')));
    expect(r.conflicts).toEqual([]);
    expect(r.merged!.artifacts[0]!.content_address).toBe(addr('b'));
  });

  test('one path changed differently on the two sides is a conflict naming the path', () => {
    const r = mergeIndexes(doc(e('a')), doc(e('a', 'b')), doc(e('a', 'c')));
    expect(r.merged).toBeUndefined();
    expect(r.conflicts.map((f) => [f.code, f.path])).toEqual([['INDEX_STALE_ENTRY', 'docs/plans/fwk-001/a.md']]);
    // Changed on one side and removed on the other is a conflict too.
    expect(mergeIndexes(doc(e('a')), doc(e('a', 'b')), doc()).conflicts.map((f) => f.code)).toEqual(['INDEX_STALE_ENTRY']);
  });

  test('one id@version with two contents at two paths is a DUPLICATE_VERSION conflict with structured subjects', () => {
    const moved = e('a', 'z', { path: 'docs/plans/fwk-001/elsewhere.md' });
    const r = mergeIndexes(null, doc(e('a')), doc(moved));
    expect(r.merged).toBeUndefined();
    expect(r.conflicts).toHaveLength(1);
    expect(r.conflicts[0]!.code).toBe('DUPLICATE_VERSION');
    expect(r.conflicts[0]!.refs).toEqual(['a@1.0.0']);
    expect(r.conflicts[0]!.paths).toEqual(['docs/plans/fwk-001/a.md', 'docs/plans/fwk-001/elsewhere.md']);
  });

  test('no base (both sides added the index) and different digest algorithms', () => {
    expect(ids(mergeIndexes(null, doc(e('a')), doc(e('b'))))).toEqual(['a', 'b']);
    const r = mergeIndexes(null, doc(e('a')), makeIndexDocument('blake3', [e('a')]));
    expect(r.conflicts.map((f) => f.code)).toEqual(['INDEX_CORRUPT']);
  });
});
