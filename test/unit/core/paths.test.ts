// Path helpers (src/core/paths.ts): byte order, containment, .git in every disguise, the
// tool's own files. Pure.
import { sep } from 'node:path';
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
});
