// What a repository path really names when committed symbolic links are on the way.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { linkedPathProblem, symlinkOnTheWay } from '../../src/core/paths.js';
import { testdir } from '../helpers.js';

const CONTROL = {
  dirs: ['.artifacts'],
  files: ['artifacts_index.json', 'artifacts.config.yaml', 'artifact_routing.mdc', 'routing_matrix.json'],
};

test('links into .git, onto control files or into the state directory are problems; ordinary and outside links are not', () => {
  const dir = testdir({ 'docs/a.md': 'x', '.artifacts/keys/trust/.keep': '' });
  mkdirSync(join(dir, '.git'));
  const outside = testdir();
  symlinkSync('.git', join(dir, 'g'));
  symlinkSync('.', join(dir, 'root'));
  symlinkSync('.artifacts/keys', join(dir, 'k'));
  symlinkSync('docs', join(dir, 'd'));
  symlinkSync('g', join(dir, 'g2')); // a link to a link
  symlinkSync(outside, join(dir, 'out'));
  expect(linkedPathProblem(dir, 'g/config', CONTROL)).toMatch(/\.git/);
  expect(linkedPathProblem(dir, 'g2/hooks/pre-commit', CONTROL)).toMatch(/\.git/);
  expect(linkedPathProblem(dir, 'root/routing_matrix.json', CONTROL)).toMatch(/routing_matrix\.json/);
  expect(linkedPathProblem(dir, 'root/root/artifacts_index.json', CONTROL)).toMatch(/artifacts_index\.json/);
  expect(linkedPathProblem(dir, 'k/trust/000002.json', CONTROL)).toMatch(/\.artifacts/);
  expect(linkedPathProblem(dir, 'd/a.md', CONTROL)).toBeUndefined();
  expect(linkedPathProblem(dir, 'out/a.md', CONTROL)).toBeUndefined();
  expect(linkedPathProblem(dir, 'docs/a.md', CONTROL)).toBeUndefined();
  expect(linkedPathProblem(dir, 'missing/dir/a.md', CONTROL)).toBeUndefined();
  expect(symlinkOnTheWay(dir, 'd/a.md')).toBe('d');
  expect(symlinkOnTheWay(dir, 'docs/a.md')).toBeUndefined();
});
