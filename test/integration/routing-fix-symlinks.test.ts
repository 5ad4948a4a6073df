// route fix and symlinks: only the paths route fix reads and writes are judged, and
// `route fix --dry-run` runs the same pre-move checks as the real run (same exit, same code).
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { git, gitInit, md, read, run, runJson, testdir } from '../helpers.js';

const doc = (id: string) => md({ id, version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'doc' });

/** A repository with misplaced/a.md of kind doc and a route `dirs: [target]`; `setup` adds
 * links before everything is committed. */
function repo(target: string, setup: (dir: string, outside: string) => void): { dir: string; outside: string } {
  const outside = testdir();
  const dir = testdir({
    'artifacts.config.yaml': 'digest_algorithm: sha256\n',
    '.gitignore': '.artifacts/\n',
    'misplaced/a.md': doc('a'),
  });
  gitInit(dir, false);
  setup(dir, outside);
  writeFileSync(join(dir, 'artifact_routing.mdc'), `---\nroutes:\n  - kind: doc\n    dirs: [${JSON.stringify(target)}]\n---\n`);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'init');
  return { dir, outside };
}

function codes(r: { doc: Record<string, unknown> }): string[] {
  const d = r.doc as { findings?: Array<{ code: string }>; error?: { code: string; findings?: Array<{ code: string }> }; code?: string };
  return [d.error?.code ?? d.code ?? '', ...(d.findings ?? d.error?.findings ?? []).map((f) => f.code)];
}

function hooksUntouched(dir: string, before: string[]): void {
  expect(readdirSync(join(dir, '.git/hooks')).sort()).toEqual(before);
}

describe('route fix: an unrelated symlink elsewhere does not block it', () => {
  test.each([
    ['a link leading outside', (dir: string, outside: string) => symlinkSync(outside, join(dir, 'outlink'))],
    ['a link to .git', (dir: string) => symlinkSync('.git', join(dir, 'gitlink'))],
    [
      'a link into .git/hooks',
      (dir: string) => {
        mkdirSync(join(dir, 'other'));
        symlinkSync('../.git/hooks', join(dir, 'other/hooks'));
      },
    ],
  ])('%s', (_name, setup) => {
    const { dir, outside } = repo('real', (d, o) => {
      mkdirSync(join(d, 'real'));
      writeFileSync(join(d, 'real/keep.txt'), 'x\n');
      setup(d, o);
    });
    const dry = runJson(dir, ['route', 'fix', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.doc.moves).toEqual([{ from: 'misplaced/a.md', to: 'real/a.md' }]);
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.stderr).toBe('');
    expect(fix.code).toBe(0);
    expect(read(dir, 'real/a.md')).toBe(doc('a'));
    expect(existsSync(join(dir, 'misplaced/a.md'))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('route fix --dry-run refuses exactly as the real run does', () => {
  test('a target directory that is a symlink leading outside: SYMLINK_OUTSIDE_ROOT, both runs, nothing written', () => {
    const { dir, outside } = repo('real', (d, o) => symlinkSync(o, join(d, 'real')));
    const dry = runJson(dir, ['route', 'fix', '--dry-run']);
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.code).not.toBe(0);
    expect(codes(fix)[0]).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(dry.code).toBe(fix.code);
    expect(codes(dry)[0]).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(JSON.stringify(dry.doc)).toContain('real');
    expect(readdirSync(outside)).toEqual([]);
    expect(read(dir, 'misplaced/a.md')).toBe(doc('a'));
  });

  test('a target directory below a missing one under a link leading outside: dry run creates nothing', () => {
    const { dir, outside } = repo('real/sub/deeper', (d, o) => symlinkSync(o, join(d, 'real')));
    const dry = runJson(dir, ['route', 'fix', '--dry-run']);
    const fix = runJson(dir, ['route', 'fix']);
    expect(codes(fix)[0]).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(dry.code).toBe(fix.code);
    expect(codes(dry)[0]).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(readdirSync(outside)).toEqual([]);
  });

  test('a target directory that is a symlink into .git: PATH_UNSAFE in both runs, with a hint about the symlink', () => {
    const { dir } = repo('real/hooks', (d) => {
      mkdirSync(join(d, 'real'));
      symlinkSync('../.git/hooks', join(d, 'real/hooks'));
    });
    const before = readdirSync(join(dir, '.git/hooks')).sort();
    const dry = runJson(dir, ['route', 'fix', '--dry-run']);
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.code).not.toBe(0);
    expect(codes(fix)[0]).toBe('PATH_UNSAFE');
    expect(dry.code).toBe(fix.code);
    expect(codes(dry)[0]).toBe('PATH_UNSAFE');
    for (const r of [dry, fix]) {
      const err = (r.doc as { error?: { hint?: string; message?: string } }).error;
      expect(err?.hint ?? '').toMatch(/symlink/i);
      expect(err?.hint ?? '').toMatch(/\.git/);
      expect(err?.hint ?? '').not.toMatch(/\.\./);
    }
    hooksUntouched(dir, before);
    expect(read(dir, 'misplaced/a.md')).toBe(doc('a'));
  });

  test('a dry run never creates the target directories', () => {
    const { dir } = repo('new/deep', () => undefined);
    const dry = runJson(dir, ['route', 'fix', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect(runJson(dir, ['route', 'fix']).code).toBe(0);
    expect(read(dir, 'new/deep/a.md')).toBe(doc('a'));
  });
});

describe('route fix never moves a symbolic link', () => {
  test('a symlinked sidecar: refused before anything moves', () => {
    const dir = testdir({
      'm/sub/deep/bin.dat': 'd\n',
      'side.yaml': 'id: s1\nversion: "1.0.0"\nstatus: draft\nframework: f1\nkind: k4\n',
      'artifact_routing.mdc': '---\nroutes:\n  - kind: k4\n    dirs: ["s/"]\n---\n',
    });
    symlinkSync('../../../side.yaml', join(dir, 'm/sub/deep/bin.dat.artifact.yaml'));
    gitInit(dir);
    const dry = run(dir, ['route', 'fix', '--dry-run']);
    const real = run(dir, ['route', 'fix']);
    expect(real.code).not.toBe(0);
    expect(dry.code).toBe(real.code);
    expect(real.stdout + real.stderr).toContain('symbolic link');
    expect(existsSync(join(dir, 'm/sub/deep/bin.dat'))).toBe(true);
    expect(existsSync(join(dir, 's'))).toBe(false);
  });
});
