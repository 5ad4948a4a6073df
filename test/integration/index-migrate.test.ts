// artifacts-index/1 is still read everywhere; `index migrate`, every write and the merge
// driver produce artifacts-index/2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { INDEX_FORMAT_V1, makeIndexDocument, parseIndex, serializeIndex } from '../../src/core/index/document.js';
import { runMergeDriver } from '../../src/core/index/merge-driver.js';
import { plan, read, repoWith, run, runJson, testdir } from '../helpers.js';

/** Rewrite the repository's index as artifacts-index/1 (what an older version wrote). */
function downgrade(dir: string): string {
  const doc = parseIndex(read(dir, 'artifacts_index.json'));
  const v1 = serializeIndex(makeIndexDocument(doc.digest_algorithm, doc.artifacts, INDEX_FORMAT_V1));
  writeFileSync(join(dir, 'artifacts_index.json'), v1);
  return v1;
}

describe('artifacts-index/1 and index migrate', () => {
  test('an artifacts-index/1 index verifies, and the next write produces artifacts-index/2 with the same entries', () => {
    const dir = repoWith({
      'docs/plans/fwk-001/a.md': plan('a'),
      'docs/plans/fwk-001/b.md': plan('b'),
    });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const v2 = read(dir, 'artifacts_index.json');
    const v1 = downgrade(dir);
    expect(v1).toContain('"format": "artifacts-index/1"');
    expect(run(dir, ['index', 'verify']).code).toBe(0);
    writeFileSync(join(dir, 'docs/plans/fwk-001/c.md'), plan('c'));
    expect(run(dir, ['index', 'add', 'docs/plans/fwk-001/c.md']).code).toBe(0);
    const after = parseIndex(read(dir, 'artifacts_index.json'));
    expect(after.format).toBe('artifacts-index/2');
    expect(after.artifacts.map((e) => e.id)).toEqual(['a', 'b', 'c']);
    // Removing c again gives the bytes the rebuild wrote.
    expect(run(dir, ['index', 'remove', 'c@1.0.0']).code).toBe(0);
    expect(read(dir, 'artifacts_index.json')).toBe(v2);
  });

  test('index migrate converts artifacts-index/1 (one transaction), then has nothing to do', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const v2 = read(dir, 'artifacts_index.json');
    downgrade(dir);
    const first = runJson(dir, ['index', 'migrate']);
    expect(first.code).toBe(0);
    expect(first.doc).toMatchObject({
      ok: true,
      changed: true,
      from: 'artifacts-index/1',
      to: 'artifacts-index/2',
      entries: 1,
    });
    expect(read(dir, 'artifacts_index.json')).toBe(v2);
    const second = runJson(dir, ['index', 'migrate']);
    expect(second.doc).toMatchObject({
      ok: true,
      changed: false,
      from: 'artifacts-index/2',
      entries: 1,
    });
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });

  test('index migrate refuses an artifacts-index/1 index whose digest does not verify, and writes nothing', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const edited = downgrade(dir).replace('"draft"', '"approved"');
    writeFileSync(join(dir, 'artifacts_index.json'), edited);
    const r = runJson(dir, ['index', 'migrate']);
    expect(r.code).toBe(4);
    expect(JSON.stringify(r.doc)).toContain('INDEX_DIGEST_MISMATCH');
    expect(read(dir, 'artifacts_index.json')).toBe(edited);
  });

  test('index migrate without an index does nothing', () => {
    const dir = repoWith({});
    expect(runJson(dir, ['index', 'migrate']).doc).toMatchObject({
      ok: true,
      changed: false,
      from: null,
    });
  });

  test('the merge driver merges artifacts-index/1 and /2 sides into artifacts-index/2, and still refuses a side that does not verify', async () => {
    const entry = (id: string) => ({
      id,
      version: '1.0.0',
      status: 'draft' as const,
      framework: 'f',
      kind: 'plan',
      path: `docs/${id}.md`,
      content_address: `sha256:${id.repeat(64).slice(0, 64)}`,
      size: 1,
    });
    const dir = testdir();
    const base = makeIndexDocument('sha256', [entry('a')], INDEX_FORMAT_V1);
    const ours = makeIndexDocument('sha256', [entry('a'), entry('b')], INDEX_FORMAT_V1);
    const theirs = makeIndexDocument('sha256', [entry('a'), entry('c')]);
    const f = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const r = await runMergeDriver(f('o', serializeIndex(base)), f('a', serializeIndex(ours)), f('b', serializeIndex(theirs)));
    expect(r.conflicts).toEqual([]);
    expect(read(dir, 'a')).toBe(serializeIndex(makeIndexDocument('sha256', [entry('a'), entry('b'), entry('c')])));
    const bad = serializeIndex(ours).replace('"draft"', '"approved"');
    const refused = await runMergeDriver(f('o', serializeIndex(base)), f('a', bad), f('b', serializeIndex(theirs)));
    expect(refused.conflicts.map((c) => c.code)).toEqual(['INDEX_DIGEST_MISMATCH']);
    expect(read(dir, 'a')).toBe(bad);
  });
});
