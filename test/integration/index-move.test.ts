// A file moved without the index (git mv, an interrupted `route fix`): `index verify` says
// it was moved and names a command that works; `index add NEWPATH` records the move in one
// transaction (old entry out, new in). An approved version moves only unchanged; an old
// file that still exists keeps the id@version taken (DUPLICATE_VERSION).
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { git, md, read, run, runJson, testdir, writeTree, gitInit } from '../helpers.js';

interface F {
  code: string;
  hint?: string;
  path?: string;
  severity?: string;
}

const note = (id: string, status: string, body = 'Body text.\n') =>
  md({ id, version: '1.0', status, kind: 'note', framework: 'fwk-001' }, body);

const ROUTES = '---\nroutes:\n  - kind: note\n    dirs: [content/]\n---\n';

/** content/a.md (a1@1.0, approved) and content/b.md (b1@1.0, draft), route dirs content/, indexed and committed. */
function indexedRepo(): string {
  const dir = testdir({
    'artifacts.config.yaml': 'digest_algorithm: sha256\n',
    'artifact_routing.mdc': ROUTES,
    'content/a.md': note('a1', 'approved'),
    'content/b.md': note('b1', 'draft'),
  });
  gitInit(dir);
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'indexed');
  return dir;
}

/** {@link indexedRepo}, both files then moved to content/sub/ with git mv. */
function movedRepo(): string {
  const dir = indexedRepo();
  mkdirSync(join(dir, 'content/sub'));
  git(dir, 'mv', 'content/a.md', 'content/sub/a.md');
  git(dir, 'mv', 'content/b.md', 'content/sub/b.md');
  return dir;
}

const indexedPaths = (dir: string) =>
  (JSON.parse(read(dir, 'artifacts_index.json')) as { artifacts: { path: string }[] }).artifacts.map((e) => e.path).sort();

function commandsIn(hint: string): string[] {
  return [...hint.matchAll(/`artifacts ([^`]+)`/g)].map((m) => m[1]!.trim());
}

describe('moved artifacts', () => {
  test('verify hints name the move; the first command each names succeeds; verify is clean afterwards', () => {
    const dir = movedRepo();
    const v = runJson(dir, ['index', 'verify']);
    expect(v.code).toBe(1);
    const fs = v.doc.findings as F[];
    const byPath = new Map(fs.map((f) => [f.path, f]));
    for (const [from, to] of [
      ['content/a.md', 'content/sub/a.md'],
      ['content/b.md', 'content/sub/b.md'],
    ] as const) {
      expect(byPath.get(from)?.code).toBe('INDEX_MISSING_FILE');
      expect(byPath.get(to)?.code).toBe('INDEX_UNINDEXED');
      expect(byPath.get(from)?.hint).toMatch(/moved to/);
      expect(byPath.get(to)?.hint).toMatch(/moved here from/);
    }
    // Follow the hints literally: the first command each INDEX_UNINDEXED hint names.
    for (const to of ['content/sub/a.md', 'content/sub/b.md']) {
      const cmd = commandsIn(byPath.get(to)!.hint!)[0]!;
      expect(cmd).toBe(`index add ${to}`);
      const r = run(dir, cmd.split(/\s+/));
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect(indexedPaths(dir)).toEqual(['content/sub/a.md', 'content/sub/b.md']);
    const after = run(dir, ['index', 'verify']);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(run(dir, ['validate']).code).toBe(0);
  });

  test('the INDEX_MISSING_FILE hint also works: index add NEWPATH, or index rebuild', () => {
    const dir = movedRepo();
    const fs = runJson(dir, ['index', 'verify']).doc.findings as F[];
    const missing = fs.find((f) => f.path === 'content/a.md')!;
    const cmds = commandsIn(missing.hint!);
    expect(cmds).toEqual(['index add content/sub/a.md', 'index rebuild']);
    expect(run(dir, cmds[1]!.split(/\s+/)).code).toBe(0);
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });

  test('a moved draft may change on the way', () => {
    const dir = movedRepo();
    writeTree(dir, { 'content/sub/b.md': note('b1', 'draft', 'Edited.\n') });
    const r = runJson(dir, ['index', 'add', 'content/sub/b.md']);
    expect(r.code).toBe(0);
    expect(r.doc.removed).toEqual(['content/b.md']);
    expect(indexedPaths(dir)).toEqual(['content/a.md', 'content/sub/b.md']);
  });

  test('a moved approved version whose content changed is VERSION_IMMUTABLE; nothing is written', () => {
    const dir = movedRepo();
    writeTree(dir, { 'content/sub/a.md': note('a1', 'approved', 'Changed.\n') });
    const before = read(dir, 'artifacts_index.json');
    const v = runJson(dir, ['index', 'verify']).doc.findings as F[];
    expect(v.find((f) => f.path === 'content/sub/a.md')?.hint).toMatch(/approved, so it cannot change/);
    const r = runJson(dir, ['index', 'add', 'content/sub/a.md']);
    expect(r.code).toBe(1);
    const codes = [...((r.doc.findings as F[] | undefined) ?? []), ...(r.doc.error ? [r.doc.error as F] : [])].map((f) => f.code);
    expect(codes).toContain('VERSION_IMMUTABLE');
    expect(codes).not.toContain('DUPLICATE_VERSION');
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('the old file still present: DUPLICATE_VERSION, nothing written', () => {
    const dir = movedRepo();
    writeTree(dir, { 'content/a.md': note('a1', 'approved') });
    const before = read(dir, 'artifacts_index.json');
    const r = runJson(dir, ['index', 'add', 'content/sub/a.md']);
    expect(r.code).toBe(1);
    const all = [...((r.doc.findings as F[] | undefined) ?? []), ...(r.doc.error ? [r.doc.error as F] : [])];
    expect(all.map((f) => f.code)).toContain('DUPLICATE_VERSION');
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('index update does not record a move; the index add its hint names does', () => {
    const dir = movedRepo();
    const r = runJson(dir, ['index', 'update', 'content/sub/a.md']);
    expect(r.code).toBe(1);
    expect(indexedPaths(dir)).toEqual(['content/a.md', 'content/b.md']);
    const hint = (r.doc.findings as F[]).find((f) => f.code === 'INDEX_NOT_INDEXED')!.hint!;
    const cmd = commandsIn(hint)[0]!;
    expect(cmd).toBe('index add content/sub/a.md');
    expect(run(dir, cmd.split(/\s+/)).code).toBe(0);
    expect(indexedPaths(dir)).toEqual(['content/b.md', 'content/sub/a.md']);
  });

  test('after an interrupted route fix (files renamed, neither index updated): route fix, index rebuild, git add -A', () => {
    const dir = indexedRepo();
    // The routing changes: notes now live under notes/; route fix would move both.
    writeTree(dir, { 'artifact_routing.mdc': '---\nroutes:\n  - kind: note\n    dirs: [notes/]\n---\n' });
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'indexed, new routing');
    // Interrupted after the renames on disk: git's index and artifacts_index.json still name the old paths.
    mkdirSync(join(dir, 'notes'));
    renameSync(join(dir, 'content/a.md'), join(dir, 'notes/a.md'));
    renameSync(join(dir, 'content/b.md'), join(dir, 'notes/b.md'));
    expect(run(dir, ['index', 'verify']).code).toBe(1);
    const again = run(dir, ['route', 'fix']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const rebuilt = run(dir, ['index', 'rebuild']);
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
    git(dir, 'add', '-A');
    expect(indexedPaths(dir)).toEqual(['notes/a.md', 'notes/b.md']);
    const v = run(dir, ['index', 'verify']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(run(dir, ['validate']).code).toBe(0);
    const staged = git(dir, 'status', '--porcelain');
    expect(staged).toMatch(/R {2}content\/a\.md -> notes\/a\.md/);
    expect(staged).toMatch(/R {2}content\/b\.md -> notes\/b\.md/);
  });

  test('after an interrupted route fix, the index add hints work too', () => {
    const dir = movedRepo();
    // git mv already staged the renames; the index add hints alone must settle artifacts_index.json.
    for (const f of runJson(dir, ['index', 'verify']).doc.findings as F[]) {
      if (f.code !== 'INDEX_UNINDEXED') continue;
      expect(run(dir, commandsIn(f.hint!)[0]!.split(/\s+/)).code).toBe(0);
    }
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });
});
