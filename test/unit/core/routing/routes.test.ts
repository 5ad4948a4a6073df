// Route templates (src/core/routing/routes.ts): validation, expansion, owned directories.
// Pure functions: no repository, no git.
import { describe, expect, test } from 'vitest';
import { controlFilesOf, DEFAULT_CONFIG } from '../../../../src/core/config.js';
import {
  canonicalPathFor,
  dirProblems,
  expandTemplate,
  normaliseRouteDir,
  routeDirectories,
  routeDirectory,
  routeLabel,
  routeProblems,
  templateProblems,
} from '../../../../src/core/routing/routes.js';

const CONTROL = controlFilesOf(DEFAULT_CONFIG);
const entry = { id: 'p1', version: '1.2.0', framework: 'fwk-001', kind: 'plan', path: 'somewhere/else/p1.md' };

describe('route templates', () => {
  test('a well-formed template has no problems', () => {
    expect(templateProblems('docs/plans/{framework}/{id}.md', CONTROL)).toEqual([]);
    expect(templateProblems('models/{id}/{version}/{id}{ext}', CONTROL)).toEqual([]);
  });

  test.each([
    ['', 'is empty'],
    ['/abs/{id}.md', 'is absolute'],
    ['C:/x/{id}.md', 'is absolute'],
    ['docs\\{id}.md', 'contains a backslash'],
    ['docs/../{id}.md', 'has a ".." segment'],
    ['docs//{id}.md', 'has an empty or "." segment'],
    ['docs/./{id}.md', 'has an empty or "." segment'],
    ['docs/{name}.md', 'uses unknown variable {name}'],
    ['docs/{id.md', 'has an unbalanced brace'],
    ['docs/aux/{id}.md', 'has a segment that names a Windows device ("aux")'],
    ['docs/a\tb/{id}.md', 'has a segment that holds a control character'],
  ])('%j %s', (template, problem) => {
    expect(templateProblems(template)).toContain(problem);
  });

  test("a template whose fixed part reaches .git or the tool's own files is unsafe", () => {
    expect(templateProblems('.git/hooks/{id}', CONTROL)[0]).toMatch(/^is unsafe: .*\.git/);
    expect(templateProblems('.GIT/{id}.md', CONTROL)[0]).toMatch(/^is unsafe/);
    expect(templateProblems('.artifacts/{id}.md', CONTROL)[0]).toMatch(/^is unsafe: .*\.artifacts/);
    expect(templateProblems('artifacts_index.json.lock/{id}', CONTROL)[0]).toMatch(/^is unsafe: .*artifacts_index\.json\.lock/);
    // Without the control files only the shape is judged.
    expect(templateProblems('.artifacts/{id}.md')).toEqual([]);
  });

  test("expansion fills every variable; {ext} comes from the artifact's own path", () => {
    expect(expandTemplate('docs/plans/{framework}/{id}.md', entry)).toBe('docs/plans/fwk-001/p1.md');
    expect(expandTemplate('x/{kind}/{id}-{version}{ext}', entry)).toBe('x/plan/p1-1.2.0.md');
    expect(expandTemplate('x/{id}{ext}', { ...entry, path: 'a/weights' })).toBe('x/p1');
  });

  test('the directory a template owns is its fixed leading part', () => {
    expect(routeDirectory('docs/plans/{framework}/{id}.md')).toBe('docs/plans');
    expect(routeDirectory('{id}.md')).toBe('');
    expect(routeDirectory('docs/plan-{id}/x.md')).toBe('docs');
    expect(routeDirectory('docs/plans/fixed.md')).toBe('docs/plans');
  });
});

describe('dirs routes', () => {
  test('listed directories are normalised: no ./, no trailing slash, "" for the root', () => {
    expect(normaliseRouteDir('./docs/plans/')).toBe('docs/plans');
    expect(normaliseRouteDir('.')).toBe('');
    expect(normaliseRouteDir('./')).toBe('');
    expect(routeDirectories({ kind: 'plan', dirs: ['./a/', 'b'] })).toEqual(['a', 'b']);
    expect(routeDirectories({ kind: 'plan', path: 'docs/{id}.md' })).toEqual(['docs']);
  });

  test("a listed directory follows the rules of a template's fixed part", () => {
    expect(dirProblems('docs/plans', CONTROL)).toEqual([]);
    expect(dirProblems('', CONTROL)).toEqual([]);
    expect(dirProblems('a\0b').join()).toContain('NUL');
    expect(dirProblems('.git/x', CONTROL).length).toBeGreaterThan(0);
  });

  test('a route is exactly one of a template or a non-empty directory list', () => {
    expect(routeProblems({ kind: 'plan', path: 'a/{id}.md', dirs: ['a'] })).toEqual(['has both path and dirs']);
    expect(routeProblems({ kind: 'plan' })).toEqual(['has neither path nor dirs']);
    expect(routeProblems({ kind: 'plan', dirs: [] })).toEqual(['has an empty dirs list']);
    expect(routeProblems({ kind: 'plan', dirs: ['ok', '../out'] })[0]).toMatch(/^dirs entry "\.\.\/out"/);
  });

  test('the canonical path under a dirs route keeps a file already below a listed directory', () => {
    const route = { kind: 'plan', dirs: ['docs/plans', 'notes'] };
    expect(canonicalPathFor(route, { ...entry, path: 'notes/deep/p1.md' })).toBe('notes/deep/p1.md');
    expect(canonicalPathFor(route, { ...entry, path: 'elsewhere/p1.md' })).toBe('docs/plans/p1.md');
    expect(canonicalPathFor(route, { ...entry, path: 'notesX/p1.md' })).toBe('docs/plans/p1.md');
    expect(canonicalPathFor({ kind: 'plan', dirs: [''] }, entry)).toBe(entry.path);
    expect(canonicalPathFor({ kind: 'plan', path: 'p/{id}.md' }, entry)).toBe('p/p1.md');
  });

  test('a long directory list is shortened in labels', () => {
    const dirs = Array.from({ length: 8 }, (_, i) => `d${i}`);
    expect(routeLabel({ kind: 'plan', dirs })).toBe('dirs: ["d0", "d1", "d2", "d3", "d4" and 3 more]');
    expect(routeLabel({ kind: 'plan', path: 'a/{id}.md' })).toBe('a/{id}.md');
  });
});
