import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { copyFixture, git, gitInit, plan, read, repoWith, run, testdir } from '../helpers.js';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

describe('index rebuild is deterministic', () => {
  test('two rebuilds, and a rebuild in a clone at another path, give identical bytes', () => {
    const a = copyFixture('demo');
    gitInit(a);
    expect(run(a, ['index', 'rebuild']).code).toBe(0);
    const first = read(a, 'artifacts_index.json');
    expect(run(a, ['index', 'rebuild', '--no-cache']).code).toBe(0);
    expect(read(a, 'artifacts_index.json')).toBe(first);

    const parent = testdir();
    git(parent, 'clone', '-q', a, 'elsewhere-with-a-longer-name');
    const b = join(parent, 'elsewhere-with-a-longer-name');
    expect(run(b, ['index', 'rebuild']).code).toBe(0);
    expect(read(b, 'artifacts_index.json')).toBe(first);
  });

  test('walk order, mtimes and the directory name do not change the bytes (no git)', () => {
    const files: Record<string, string> = {};
    for (const id of ['zeta', 'alpha', 'mid', 'Beta', 'alpha2']) files[`docs/plans/fwk-001/${id}.md`] = plan(id);
    const a = repoWith(files, { git: false });
    const b = repoWith(Object.fromEntries(Object.entries(files).reverse()), { git: false });
    expect(run(a, ['index', 'rebuild']).code).toBe(0);
    expect(run(b, ['index', 'rebuild']).code).toBe(0);
    expect(read(a, 'artifacts_index.json')).toBe(read(b, 'artifacts_index.json'));
    const moved = `${b}-moved`;
    renameSync(b, moved);
    expect(run(moved, ['index', 'rebuild', '--no-cache']).code).toBe(0);
    expect(read(moved, 'artifacts_index.json')).toBe(read(a, 'artifacts_index.json'));
  });

  test('format: sorted keys and entries, one canonical entry per line, final newline, index_digest recomputes', () => {
    const dir = repoWith({
      'docs/plans/fwk-001/b.md': plan('b', { version: '2.0.0' }),
      'docs/plans/fwk-001/a.md': plan('a', { version: '10.0.0' }),
      'docs/plans/fwk-002/a.md': plan('a', { version: '9.0.0', framework: 'fwk-002' }),
    });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const text = read(dir, 'artifacts_index.json');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "artifacts": [');
    const doc = JSON.parse(text) as { artifacts: Array<Record<string, unknown>>; index_digest: string; format: string };
    expect(doc.format).toBe('artifacts-index/2');
    // Byte order: "10.0.0" < "9.0.0" for the same id.
    expect(doc.artifacts.map((e) => `${String(e.id)}@${String(e.version)}`)).toEqual(['a@10.0.0', 'a@9.0.0', 'b@2.0.0']);
    for (const e of doc.artifacts) expect(Object.keys(e)).toEqual([...Object.keys(e)].sort());
    expect(Object.keys(doc)).toEqual(['artifacts', 'digest_algorithm', 'format', 'index_digest']);
    const { index_digest, ...rest } = doc;
    expect(index_digest).toBe(`sha256:${sha256(canonicalJson(rest))}`);
    // Each entry is one line: four spaces, its RFC 8785 form, a comma unless it is the last.
    const lines = doc.artifacts.map((e, i) => `    ${canonicalJson(e)}${i < doc.artifacts.length - 1 ? ',' : ''}`);
    const footer = `  ],\n  "digest_algorithm": "sha256",\n  "format": "artifacts-index/2",\n  "index_digest": ${JSON.stringify(index_digest)}\n}\n`;
    expect(text).toBe(`{\n  "artifacts": [\n${lines.join('\n')}\n${footer}`);
  });

  test('a hand-edited index is caught by verify (exit 4)', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const text = read(dir, 'artifacts_index.json').replace('"draft"', '"approved"');
    writeFileSync(join(dir, 'artifacts_index.json'), text);
    const r = run(dir, ['index', 'verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('INDEX_DIGEST_MISMATCH');
  });

  test('worker-thread scans (the CLI, 450 files) give the same bytes as in-process scans', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 450; i++)
      files[`docs/plans/fwk-${i % 3}/w${i}.md`] = plan(`w${i}`, { framework: `fwk-${i % 3}`, version: `1.${i % 4}.0` }, `Body ${i}\n`);
    const a = repoWith(files, { git: false });
    const b = repoWith(files, { git: false });
    const r = run(a, ['index', 'rebuild']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const { openRepo } = await import('../../src/core/repo.js');
    const { indexRebuild } = await import('../../src/core/index/operations.js');
    const res = await indexRebuild(await openRepo({ cwd: b }), { useCache: false });
    expect(res.count).toBe(450);
    expect(read(b, 'artifacts_index.json')).toBe(read(a, 'artifacts_index.json'));
  });

  test('the stat cache never changes the index bytes', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a'), 'docs/plans/fwk-001/b.md': plan('b') });
    expect(run(dir, ['index', 'rebuild', '--no-cache']).code).toBe(0);
    const cold = readFileSync(join(dir, 'artifacts_index.json'));
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    expect(readFileSync(join(dir, 'artifacts_index.json')).equals(cold)).toBe(true);
  });
});
