// Path helpers (src/core/paths.ts): byte order, containment, .git in every disguise, the
// tool's own files. Pure.
import { sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  climbsOut,
  compareBytes,
  controlPathProblem,
  foldSegment,
  isGitSegment,
  isInside,
  segmentNameProblem,
  toRepoPath,
} from '../../../src/core/paths.js';

const CONTROL = { files: ['artifacts_index.json', 'artifacts.config.yaml'], dirs: ['.artifacts'] };

describe('paths', () => {
  test('byte order is UTF-8 order, not UTF-16 or locale order', () => {
    expect(['b', 'a', 'B', 'é', '\u{1F600}', '\uFF5E'].sort(compareBytes)).toEqual(['B', 'a', 'b', 'é', '\uFF5E', '\u{1F600}']);
    expect(compareBytes('a', 'ab')).toBe(-1);
    expect(compareBytes('x', 'x')).toBe(0);
  });

  test('climbing out: .. and absolute paths, but not names that begin with two dots', () => {
    expect(climbsOut('..')).toBe(true);
    expect(climbsOut(`..${sep}x`)).toBe(true);
    expect(climbsOut('..a')).toBe(false);
    expect(climbsOut('a')).toBe(false);
    expect(isInside('/r', '/r/a/b')).toBe(true);
    expect(isInside('/r', '/r')).toBe(true);
    expect(isInside('/r', '/rx')).toBe(false);
    expect(toRepoPath('/r', '/r/a/b.md')).toBe('a/b.md');
  });

  test('.git in any case, normalisation, ignorable characters, trailing dots, short name', () => {
    for (const s of ['.git', '.GIT', '.git.', '.git ', '.g\u200cit', 'GIT~1', '\uFF0Egit'])
      expect(isGitSegment(s), JSON.stringify(s)).toBe(true);
    for (const s of ['.gitignore', 'git', '.gît']) expect(isGitSegment(s), JSON.stringify(s)).toBe(false);
    expect(foldSegment('ABC. .')).toBe('abc');
  });

  test('segment names: control characters and Windows device names', () => {
    expect(segmentNameProblem('ok.md')).toBeUndefined();
    expect(segmentNameProblem('a\nb')).toBe('holds a control character');
    expect(segmentNameProblem('CON')).toMatch(/Windows device/);
    expect(segmentNameProblem('aux.md')).toMatch(/Windows device/);
    expect(segmentNameProblem('console.md')).toBeUndefined();
  });

  test.each([
    ['', 'the path is empty'],
    ['a\0b', 'the path contains a NUL byte'],
    ['a\\b', 'the path contains a backslash'],
    ['/etc/passwd', 'the path is absolute'],
    ['a/../b', 'the path has a `..` segment'],
    ['a/.Git/config', 'the path reaches into .git/'],
    ['.artifacts/journal', "the path lies under the tool's own .artifacts/ directory"],
    ['Artifacts_Index.JSON', "the path names the tool's own file artifacts_index.json"],
    ['artifacts_index.json/owner.json', "the path names the tool's own file artifacts_index.json"],
  ])('controlPathProblem(%j) = %j', (rel, problem) => {
    expect(controlPathProblem(rel, CONTROL)).toBe(problem);
  });

  test('an ordinary path has no problem', () => {
    expect(controlPathProblem('docs/plans/a.md', CONTROL)).toBeUndefined();
    expect(controlPathProblem('./docs/a.md', CONTROL)).toBeUndefined();
  });

  test('the quick fold of plain ASCII paths answers as the segment-by-segment fold does', () => {
    // The rule before the quick path: fold every segment, then compare with the control names.
    const reference = (rel: string): string | undefined => {
      if (rel === '' || rel === '.') return 'the path is empty';
      if (rel.includes('\0')) return 'the path contains a NUL byte';
      if (rel.includes('\\')) return 'the path contains a backslash';
      if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) return 'the path is absolute';
      const segs = rel.split('/');
      for (const s of segs) {
        if (s === '..' || foldSegment(s) === '..') return 'the path has a `..` segment';
        if (isGitSegment(s)) return 'the path reaches into .git/';
      }
      const folded = segs
        .filter((s) => s !== '' && s !== '.')
        .map(foldSegment)
        .join('/');
      for (const d of CONTROL.dirs) {
        const fd = foldSegment(d);
        if (folded === fd || folded.startsWith(`${fd}/`)) return `the path lies under the tool's own ${d}/ directory`;
      }
      for (const f of CONTROL.files) {
        const ff = f.split('/').map(foldSegment).join('/');
        if (folded === ff || folded.startsWith(`${ff}/`)) return `the path names the tool's own file ${f}`;
      }
      return undefined;
    };
    const piece = fc.constantFrom(
      'a',
      'A',
      'docs',
      '.',
      '..',
      ' ',
      '/',
      '//',
      '.git',
      '.GIT',
      'Git~1',
      'git~1x',
      '.artifacts',
      '.ARTIFACTS',
      'artifacts_index.json',
      'Artifacts.Config.YAML',
      'c:',
      '\u200c',
      'é',
      '~',
      '-',
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 7 }), (parts) => {
        const rel = parts.join('');
        expect([rel, controlPathProblem(rel, CONTROL)]).toEqual([rel, reference(rel)]);
      }),
      { numRuns: 3000 },
    );
  });
});
