// The git merge driver for artifacts_index.json (installed by `artifacts init`).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { commitAt, git, plan, repoWith, run } from '../helpers.js';

function initialised(): string {
  const dir = repoWith({ 'docs/plans/fwk-001/base.md': plan('base') });
  expect(run(dir, ['init']).code).toBe(0);
  expect(readFileSync(join(dir, '.gitattributes'), 'utf8')).toContain('artifacts_index.json merge=artifacts-index');
  expect(git(dir, 'config', '--get', 'merge.artifacts-index.driver')).toContain('index merge-driver %O %A %B');
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  commitAt(dir, '2026-01-01T00:00:00Z', 'init');
  return dir;
}

function branchAdd(dir: string, branch: string, file: string, content: string, date: string): void {
  git(dir, 'checkout', '-q', '-b', branch, 'main');
  writeFileSync(join(dir, file), content);
  expect(run(dir, ['index', 'add', file]).code).toBe(0);
  commitAt(dir, date, `add ${file}`);
  git(dir, 'checkout', '-q', 'main');
}

function merge(dir: string, branch: string) {
  return spawnSync('git', ['merge', '--no-edit', '-q', branch], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e' },
  });
}

describe('merge driver', () => {
  test('two branches that each add an artifact merge without conflict, and the index verifies', () => {
    const dir = initialised();
    branchAdd(dir, 'a', 'docs/plans/fwk-001/from-a.md', plan('from-a'), '2026-01-02T00:00:00Z');
    branchAdd(dir, 'b', 'docs/plans/fwk-001/from-b.md', plan('from-b'), '2026-01-03T00:00:00Z');
    expect(merge(dir, 'a').status).toBe(0);
    const m = merge(dir, 'b');
    expect(m.status, m.stdout + m.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')) as { artifacts: Array<{ id: string }> };
    expect(doc.artifacts.map((e) => e.id)).toEqual(['base', 'from-a', 'from-b']);
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });

  test('without the driver the same merge conflicts (the driver is what makes it clean)', () => {
    const dir = initialised();
    git(dir, 'config', '--unset', 'merge.artifacts-index.driver');
    writeFileSync(join(dir, '.gitattributes'), '');
    commitAt(dir, '2026-01-01T01:00:00Z', 'no driver');
    branchAdd(dir, 'a', 'docs/plans/fwk-001/from-a.md', plan('from-a'), '2026-01-02T00:00:00Z');
    branchAdd(dir, 'b', 'docs/plans/fwk-001/from-b.md', plan('from-b'), '2026-01-03T00:00:00Z');
    expect(merge(dir, 'a').status).toBe(0);
    expect(merge(dir, 'b').status).not.toBe(0);
  });

  test('the same id@version with different content on each side stays a conflict, explained', () => {
    const dir = initialised();
    branchAdd(dir, 'a', 'docs/plans/fwk-001/same.md', plan('same', {}, 'content A\n'), '2026-01-02T00:00:00Z');
    branchAdd(dir, 'b', 'docs/plans/fwk-001/same.md', plan('same', {}, 'content B\n'), '2026-01-03T00:00:00Z');
    expect(merge(dir, 'a').status).toBe(0);
    const m = merge(dir, 'b');
    expect(m.status).not.toBe(0);
    expect(git(dir, 'diff', '--name-only', '--diff-filter=U')).toContain('artifacts_index.json');
    expect(m.stdout + m.stderr).toContain('cannot be merged automatically');
    expect(m.stdout + m.stderr).toContain('docs/plans/fwk-001/same.md');
  });
});
