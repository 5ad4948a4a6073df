// The merge driver command line that `init` writes into .git/config is run by git through a
// shell: no installation path (or anything else) may be interpreted by that shell.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { commitAt, git, plan, PROJECT, repoWith, testdir } from '../helpers.js';
import { treeChecksum as treeDigest } from '../support/hostile.js';

const DEADLINE_MS = 60_000;

/** A copy of the built package at `dir` (its dependencies through a node_modules link). */
function installAt(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const part of ['dist', 'bin', 'schemas', 'package.json']) cpSync(join(PROJECT, part), join(dir, part), { recursive: true });
  chmodSync(join(dir, 'bin', 'artifacts.js'), 0o755);
  symlinkSync(join(PROJECT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'bin', 'artifacts.js');
}

function cli(bin: string, cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: DEADLINE_MS,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

function merge(dir: string, branch: string, cwd = dir) {
  return spawnSync('git', ['merge', '--no-edit', '-q', branch], {
    cwd,
    encoding: 'utf8',
    timeout: DEADLINE_MS,
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e' },
  });
}

/** Two branches that each add an artifact: merging both needs the driver. */
function twoBranchMerge(dir: string, bin: string): { first: number | null; second: number | null; out: string } {
  expect(cli(bin, dir, ['index', 'rebuild']).code).toBe(0);
  commitAt(dir, '2026-01-01T00:00:00Z', 'init');
  for (const [branch, id, date] of [
    ['a', 'from-a', '2026-01-02T00:00:00Z'],
    ['b', 'from-b', '2026-01-03T00:00:00Z'],
  ] as const) {
    git(dir, 'checkout', '-q', '-b', branch, 'main');
    const file = `docs/plans/fwk-001/${id}.md`;
    writeFileSync(join(dir, file), plan(id));
    expect(cli(bin, dir, ['index', 'add', file]).code).toBe(0);
    commitAt(dir, date, `add ${id}`);
    git(dir, 'checkout', '-q', 'main');
  }
  const first = merge(dir, 'a');
  // From a subdirectory too: git runs drivers from the top of the work tree.
  const second = merge(dir, 'b', join(dir, 'docs'));
  return { first: first.status, second: second.status, out: first.stdout + first.stderr + second.stdout + second.stderr };
}

function indexedIds(dir: string): string[] {
  return (JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')) as { artifacts: Array<{ id: string }> }).artifacts.map(
    (e) => e.id,
  );
}

describe('merge driver command line', () => {
  test('an installation path with $(...), backquotes, quotes and spaces works and runs nothing else', () => {
    const outside = testdir();
    // Each of these would run `touch` if the shell interpreted the path.
    const install = join(outside, `inst $(touch pwned) \`touch pwned2\` "dq" it's ; touch pwned3`);
    const bin = installAt(install);
    const before = treeDigest(outside);
    const dir = repoWith({ 'docs/plans/fwk-001/base.md': plan('base') });
    const started = Date.now();
    const init = cli(bin, dir, ['init']);
    expect(init.code, init.out).toBe(0);
    const line = git(dir, 'config', '--get', 'merge.artifacts-index.driver').trim();
    expect(line.endsWith(' index merge-driver %O %A %B')).toBe(true);
    // Every word single-quoted: the shell gives it back byte for byte.
    const words = spawnSync('sh', ['-c', `printf '%s\\n' ${line.replace(/ index merge-driver %O %A %B$/, '')}`], {
      cwd: dir,
      encoding: 'utf8',
    }).stdout;
    expect(words).toBe(`${process.execPath}\n${bin}\n`);

    const r = twoBranchMerge(dir, bin);
    expect(r.first, r.out).toBe(0);
    expect(r.second, r.out).toBe(0);
    expect(indexedIds(dir)).toEqual(['base', 'from-a', 'from-b']);
    expect(cli(bin, dir, ['index', 'verify']).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
    for (const d of [dir, outside, install])
      for (const s of ['pwned', 'pwned2', 'pwned3']) expect(existsSync(join(d, s)), `${s} in ${d}`).toBe(false);
    expect(treeDigest(outside)).toBe(before);
  });

  test('a repository-local installation is used through a relative path that works in every clone', () => {
    const dir = repoWith({ '.gitignore': 'node_modules/\n', 'docs/plans/fwk-001/base.md': plan('base') });
    installAt(join(dir, 'node_modules', 'artifacts-cli'));
    mkdirSync(join(dir, 'node_modules', '.bin'));
    symlinkSync('../artifacts-cli/bin/artifacts.js', join(dir, 'node_modules', '.bin', 'artifacts'));
    const bin = join(PROJECT, 'bin', 'artifacts.js');
    expect(cli(bin, dir, ['init']).code).toBe(0);
    expect(git(dir, 'config', '--get', 'merge.artifacts-index.driver').trim()).toBe(
      'node_modules/.bin/artifacts index merge-driver %O %A %B',
    );
    const r = twoBranchMerge(dir, bin);
    expect(r.first, r.out).toBe(0);
    expect(r.second, r.out).toBe(0);
    expect(indexedIds(dir)).toEqual(['base', 'from-a', 'from-b']);
  });

  test('a node_modules/.bin/artifacts committed to the repository is never made the driver', () => {
    const planted = `#!/bin/sh\ntouch "$(dirname "$0")/../../planted-ran"\nexit 0\n`;
    const dir = repoWith({
      'docs/plans/fwk-001/base.md': plan('base'),
      'node_modules/artifacts-cli/package.json': '{"name":"artifacts-cli","version":"9.9.9"}\n',
      'node_modules/.bin/artifacts': planted,
    });
    chmodSync(join(dir, 'node_modules', '.bin', 'artifacts'), 0o755);
    commitAt(dir, '2026-01-01T00:00:00Z', 'planted driver');
    const bin = join(PROJECT, 'bin', 'artifacts.js');
    expect(cli(bin, dir, ['init']).code).toBe(0);
    const line = git(dir, 'config', '--get', 'merge.artifacts-index.driver').trim();
    expect(line).not.toContain('node_modules/.bin');
    expect(line.startsWith(`'${process.execPath}' `)).toBe(true);
    const r = twoBranchMerge(dir, bin);
    expect(r.second, r.out).toBe(0);
    expect(existsSync(join(dir, 'planted-ran'))).toBe(false);
  });
  test('an installation of the unrelated npm package named `artifacts` is not taken for this one', () => {
    const dir = repoWith({ '.gitignore': 'node_modules/\n', 'docs/plans/fwk-001/base.md': plan('base') });
    installAt(join(dir, 'node_modules', 'artifacts'));
    writeFileSync(join(dir, 'node_modules', 'artifacts', 'package.json'), '{"name":"artifacts","version":"9.9.9"}\n');
    mkdirSync(join(dir, 'node_modules', '.bin'));
    symlinkSync('../artifacts/bin/artifacts.js', join(dir, 'node_modules', '.bin', 'artifacts'));
    const bin = join(PROJECT, 'bin', 'artifacts.js');
    expect(cli(bin, dir, ['init']).code).toBe(0);
    expect(git(dir, 'config', '--get', 'merge.artifacts-index.driver').trim().startsWith(`'${process.execPath}' `)).toBe(true);
  });

  test('a committed node_modules is never read: a package.json that is a symlink to /dev/zero does not hang init', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/base.md': plan('base') });
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    mkdirSync(join(dir, 'node_modules', 'artifacts-cli'));
    symlinkSync('/dev/zero', join(dir, 'node_modules', 'artifacts-cli', 'package.json'));
    symlinkSync('/bin/sh', join(dir, 'node_modules', '.bin', 'artifacts'));
    commitAt(dir, '2026-01-01T00:00:00Z', 'planted package.json');
    const bin = join(PROJECT, 'bin', 'artifacts.js');
    const started = Date.now();
    const init = cli(bin, dir, ['init']);
    expect(init.code, init.out).toBe(0);
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
    expect(git(dir, 'config', '--get', 'merge.artifacts-index.driver').trim()).not.toContain('node_modules/.bin');
  });
});
