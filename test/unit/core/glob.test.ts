// Glob matching for include/exclude (src/core/glob.ts). Pure.
import { describe, expect, test } from 'vitest';
import { globAlternatives, globProblem, matchesAny, matchSegment } from '../../../src/core/glob.js';

describe('glob segments', () => {
  test.each([
    ['*', '', true],
    ['*', 'abc', true],
    ['a*c', 'abc', true],
    ['a*c', 'abcd', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*.md', 'x.md', true],
    ['*.md', 'x.mdx', false],
    ['**', 'anything', true],
    ['a*b*c', 'aXbYbZc', true],
    ['abc', 'abd', false],
  ])('%j matches %j: %s', (pat, s, expected) => {
    expect(matchSegment(pat, s)).toBe(expected);
  });

  test('a long run of stars does not blow up', () => {
    const t0 = Date.now();
    expect(matchSegment('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('glob paths', () => {
  test('a leading ./ or / anchors a pattern at the root; without a slash it matches at any depth', () => {
    for (const anchored of ['./*.md', '/*.md']) {
      expect(matchesAny('a.md', [anchored]), anchored).toBe(true);
      expect(matchesAny('docs/a.md', [anchored]), anchored).toBe(false);
    }
    expect(matchesAny('docs/a.md', ['*.md'])).toBe(true);
    expect(matchesAny('docs/a.md', ['./docs/*.md'])).toBe(true);
  });

  test('** spans any number of segments, including none', () => {
    expect(matchesAny('node_modules/x/y.js', ['node_modules/**'])).toBe(true);
    expect(matchesAny('a/b/c/d.md', ['a/**/d.md'])).toBe(true);
    expect(matchesAny('a/d.md', ['a/**/d.md'])).toBe(true);
    expect(matchesAny('b/d.md', ['a/**/d.md'])).toBe(false);
    expect(matchesAny('docs/x.md', ['**/*'])).toBe(true);
    expect(matchesAny('x.md', [])).toBe(false);
  });

  test('a pattern without a slash matches a base name at any depth; a leading / anchors it', () => {
    expect(matchesAny('a/b.md', ['*.md'])).toBe(true);
    expect(matchesAny('b.md', ['/*.md'])).toBe(true);
    expect(matchesAny('a/b.md', ['*/*.md'])).toBe(true);
    expect(matchesAny('a/c/b.md', ['*/*.md'])).toBe(false);
  });

  test('braces give alternatives, counted and capped', () => {
    expect(matchesAny('docs/a.md', ['docs/{a,b}.md'])).toBe(true);
    expect(matchesAny('docs/c.md', ['docs/{a,b}.md'])).toBe(false);
    expect(globAlternatives('{a,b}/{c,d,e}')).toBe(6);
    expect(globProblem('docs/**')).toBeUndefined();
    expect(globProblem('x'.repeat(5000))).toBeDefined();
  });
});
