// One broken file does not block the index (issue 11). By default `index rebuild` and
// `index add|update` index every valid artifact and report each invalid one (exit 1),
// deterministically; `--strict` keeps all-or-nothing. Nothing already indexed is lost: the
// indexed entry of a file that is invalid now is kept as it was (an approved version never
// disappears from the index, so a file broken and then "repaired" with other content still
// meets VERSION_IMMUTABLE), and an indexed artifact wins over a newcomer claiming its
// id@version.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { gitInit, plan, read, repoWith, run, runJson, testdir, writeTree } from '../helpers.js';

interface F {
  code: string;
  severity: string;
  path?: string;
}
interface Entry {
  id: string;
  version: string;
  path: string;
  content_address: string;
}

const P = 'docs/plans/fwk-001';
const BROKEN = '---\nid: bad\nversion: 1.0\nstatus: aproved\nframework: fwk-001\nkind: plan\n---\n';

function indexed(dir: string): Entry[] {
  return (JSON.parse(read(dir, 'artifacts_index.json')) as { artifacts: Entry[] }).artifacts;
}
const paths = (dir: string) => indexed(dir).map((e) => e.path);
const errorPaths = (fs: F[]) => [...new Set(fs.filter((f) => f.severity === 'error').map((f) => f.path))].sort();

describe('index rebuild', () => {
  test('indexes every valid artifact and reports each invalid one (exit 1)', () => {
    const dir = repoWith({
      [`${P}/a.md`]: plan('a'),
      [`${P}/b.md`]: plan('b'),
      [`${P}/bad.md`]: BROKEN,
      [`${P}/dup.md`]: '---\nid: x\ntitle: 1\ntitle: 2\n---\n',
    });
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(1);
    expect(r.doc.ok).toBe(false);
    expect(errorPaths(r.doc.findings as F[])).toEqual([`${P}/bad.md`, `${P}/dup.md`]);
    expect(paths(dir)).toEqual([`${P}/a.md`, `${P}/b.md`]);
    // The human summary says what was left out and that --strict exists.
    const h = run(dir, ['index', 'rebuild']);
    expect(h.code).toBe(1);
    expect(h.stdout).toContain('2 files with problems not indexed');
  });

  test('deterministic: the same tree gives the same bytes, with or without a previous index or cache', () => {
    const files = { [`${P}/a.md`]: plan('a'), [`${P}/c.md`]: plan('c'), [`${P}/bad.md`]: BROKEN };
    const one = repoWith(files);
    const two = repoWith(files);
    run(one, ['index', 'rebuild']);
    const first = read(one, 'artifacts_index.json');
    run(one, ['index', 'rebuild', '--no-cache']);
    expect(read(one, 'artifacts_index.json')).toBe(first);
    run(two, ['index', 'rebuild']);
    expect(read(two, 'artifacts_index.json')).toBe(first);
    rmSync(join(one, 'artifacts_index.json'));
    run(one, ['index', 'rebuild']);
    expect(read(one, 'artifacts_index.json')).toBe(first);
  });

  test('--strict writes nothing when any file fails (exit 1)', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a'), [`${P}/bad.md`]: BROKEN });
    const r = runJson(dir, ['index', 'rebuild', '--strict']);
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
    expect((r.doc.error as { message: string }).message).toContain('nothing was written');
    // And with an index in place, it stays byte for byte.
    rmSync(join(dir, `${P}/bad.md`));
    expect(run(dir, ['index', 'rebuild', '--strict']).code).toBe(0);
    const before = read(dir, 'artifacts_index.json');
    writeTree(dir, { [`${P}/b.md`]: plan('b'), [`${P}/bad.md`]: BROKEN });
    expect(run(dir, ['index', 'rebuild', '--strict']).code).toBe(1);
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('an indexed artifact whose file breaks keeps its entry; a repaired file with other content meets VERSION_IMMUTABLE', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a', { status: 'approved' }), [`${P}/b.md`]: plan('b') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const [a0] = indexed(dir);
    writeTree(dir, { [`${P}/a.md`]: '---\nid: a\nversion: "1.0.0"\n  broken: [\n---\n', [`${P}/c.md`]: plan('c') });
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(1);
    expect(r.doc.kept).toEqual([`${P}/a.md`]);
    expect(indexed(dir)[0]).toEqual(a0);
    expect(paths(dir)).toEqual([`${P}/a.md`, `${P}/b.md`, `${P}/c.md`]);
    // "Repaired" with other content under the same approved version: refused, entry kept.
    writeTree(dir, { [`${P}/a.md`]: plan('a', { status: 'approved' }, 'Other content.\n') });
    const again = runJson(dir, ['index', 'rebuild']);
    expect(again.code).toBe(1);
    expect((again.doc.findings as F[]).map((f) => f.code)).toContain('VERSION_IMMUTABLE');
    expect(indexed(dir)[0]).toEqual(a0);
    // Two rebuilds of the same state give the same bytes.
    const bytes = read(dir, 'artifacts_index.json');
    run(dir, ['index', 'rebuild']);
    expect(read(dir, 'artifacts_index.json')).toBe(bytes);
  });

  test('an approved version moved and changed: the old entry stays where it was', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a', { status: 'approved' }) });
    run(dir, ['index', 'rebuild']);
    const [a0] = indexed(dir);
    rmSync(join(dir, `${P}/a.md`));
    writeTree(dir, { [`docs/plans/fwk-002/a.md`]: plan('a', { status: 'approved', framework: 'fwk-002' }, 'Changed.\n') });
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(1);
    expect((r.doc.findings as F[]).map((f) => f.code)).toContain('VERSION_IMMUTABLE');
    expect(indexed(dir)).toEqual([a0]);
  });

  test('DUPLICATE_VERSION: two newcomers are both left out; an indexed artifact wins over a newcomer', () => {
    // No routing file: files may sit anywhere, so two can claim one id@version.
    const dir = testdir({
      'artifacts.config.yaml': 'digest_algorithm: sha256\n',
      'a.md': plan('a'),
      'one.md': plan('same'),
      'two.md': plan('same', {}, 'Another body.\n'),
    });
    gitInit(dir);
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(1);
    expect(errorPaths(r.doc.findings as F[])).toEqual(['two.md']);
    expect((r.doc.findings as F[]).map((f) => f.code)).toContain('DUPLICATE_VERSION');
    expect(paths(dir)).toEqual(['a.md']);

    rmSync(join(dir, 'two.md'));
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const before = read(dir, 'artifacts_index.json');
    expect(paths(dir)).toEqual(['a.md', 'one.md']);
    writeTree(dir, { 'two.md': plan('same', {}, 'Another body.\n') });
    const d = runJson(dir, ['index', 'rebuild']);
    expect(d.code).toBe(1);
    expect((d.doc.findings as F[]).map((f) => f.code)).toContain('DUPLICATE_VERSION');
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('the journal is settled after a partial rebuild (the transaction path is the usual one)', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a'), [`${P}/bad.md`]: BROKEN });
    const r = run(dir, ['index', 'rebuild'], { ARTIFACTS_FAULT_INJECT: 'rename' });
    expect(r.signal).toBe('SIGKILL');
    const rec = runJson(dir, ['index', 'recover']);
    expect(rec.code).toBe(0);
    const v = runJson(dir, ['index', 'verify']);
    // Only the invalid file is reported; the valid one is indexed.
    expect(errorPaths(v.doc.findings as F[])).toEqual([`${P}/bad.md`]);
    expect(paths(dir)).toEqual([`${P}/a.md`]);
    const journal = join(dir, '.artifacts/journal');
    expect(!existsSync(journal) || readFileSync(journal).length === 0).toBe(true);
  });
});

describe('index add and update of many files', () => {
  test('valid ones are added, invalid ones reported (exit 1); --strict adds nothing', () => {
    const files = { [`${P}/a.md`]: plan('a'), [`${P}/b.md`]: plan('b'), [`${P}/bad.md`]: BROKEN };
    const strict = repoWith(files);
    const s = runJson(strict, ['index', 'add', '--strict', `${P}/a.md`, `${P}/b.md`, `${P}/bad.md`]);
    expect(s.code).toBe(1);
    expect(existsSync(join(strict, 'artifacts_index.json'))).toBe(false);

    const dir = repoWith(files);
    const r = runJson(dir, ['index', 'add', `${P}/a.md`, `${P}/b.md`, `${P}/bad.md`]);
    expect(r.code).toBe(1);
    expect(r.doc.added).toEqual([`${P}/a.md`, `${P}/b.md`]);
    expect(errorPaths(r.doc.findings as F[])).toEqual([`${P}/bad.md`]);
    expect(paths(dir)).toEqual([`${P}/a.md`, `${P}/b.md`]);
  });

  test('a directory walk adds the valid artifacts below it', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a'), [`${P}/bad.md`]: BROKEN });
    const r = runJson(dir, ['index', 'add', 'docs']);
    expect(r.code).toBe(1);
    expect(paths(dir)).toEqual([`${P}/a.md`]);
  });

  test('a newcomer claiming an indexed id@version is left out, the others go in', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a') });
    run(dir, ['index', 'add', `${P}/a.md`]);
    writeTree(dir, {
      'artifact_routing.mdc':
        '---\nroutes:\n  - kind: plan\n    path: docs/plans/{framework}/{id}.md\n  - kind: note\n    path: notes/{id}.md\n---\n',
    });
    writeTree(dir, { 'notes/n.md': plan('n', { kind: 'note' }), 'notes/a.md': plan('a', { kind: 'note' }) });
    const r = runJson(dir, ['index', 'add', 'notes/n.md', 'notes/a.md']);
    expect(r.code).toBe(1);
    expect((r.doc.findings as F[]).map((f) => f.code)).toContain('DUPLICATE_VERSION');
    expect(paths(dir)).toEqual([`${P}/a.md`, 'notes/n.md']);
  });

  test('index update: a path not indexed yet is reported, the others updated', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a') });
    run(dir, ['index', 'add', `${P}/a.md`]);
    writeTree(dir, { [`${P}/a.md`]: plan('a', {}, 'New body.\n'), [`${P}/b.md`]: plan('b') });
    const r = runJson(dir, ['index', 'update', `${P}/a.md`, `${P}/b.md`]);
    expect(r.code).toBe(1);
    expect(r.doc.updated).toEqual([`${P}/a.md`]);
    expect((r.doc.findings as F[]).map((f) => f.code)).toEqual(['INDEX_NOT_INDEXED']);
    expect(run(dir, ['index', 'update', '--strict', `${P}/a.md`, `${P}/b.md`]).code).toBe(1);
  });

  test('when nothing can be added, nothing is written', () => {
    const dir = repoWith({ [`${P}/bad.md`]: BROKEN });
    const r = runJson(dir, ['index', 'add', `${P}/bad.md`]);
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
  });
});
