// validate turns the library's refusals into findings, and nothing else: an error that is
// not an ArtifactsError is a bug, and must reach the CLI as one (exit 70 with a report),
// never be dressed up as a damaged index.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ArtifactsError, isArtifactsError } from '../../src/core/errors.js';
import * as operations from '../../src/core/index/operations.js';
import { openRepo } from '../../src/core/repo.js';
import { validateRepo } from '../../src/core/validate.js';
import { plan, repoWith } from '../helpers.js';

afterEach(() => vi.restoreAllMocks());

describe('validate', () => {
  test('an index that is a directory is INDEX_CORRUPT (exit 4), with the tree still checked', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/plan-a.md': plan('plan-a') });
    rmSync(join(dir, 'artifacts_index.json'), { force: true });
    mkdirSync(join(dir, 'artifacts_index.json'));
    const r = await validateRepo(await openRepo({ cwd: dir }));
    expect(r.findings.map((f) => f.code)).toContain('INDEX_CORRUPT');
    expect(r.artifacts).toBe(1);
  });

  test('a TypeError while verifying the index is not reported as a finding: it is thrown', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/plan-a.md': plan('plan-a') });
    vi.spyOn(operations, 'indexVerify').mockRejectedValue(new TypeError("Cannot read properties of undefined (reading 'artifacts')"));
    await expect(validateRepo(await openRepo({ cwd: dir }))).rejects.toThrow(TypeError);
  });

  test('an ArtifactsError while verifying the index is a finding with its code', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/plan-a.md': plan('plan-a') });
    vi.spyOn(operations, 'indexVerify').mockRejectedValue(new ArtifactsError('INDEX_CORRUPT', 'artifacts_index.json is not JSON'));
    const r = await validateRepo(await openRepo({ cwd: dir }));
    expect(r.findings.filter((f) => f.code === 'INDEX_CORRUPT').map((f) => f.path)).toEqual(['artifacts_index.json']);
  });
});

describe('isArtifactsError', () => {
  test('recognises an error by its brand, also one made by another copy of the library', () => {
    expect(isArtifactsError(new ArtifactsError('USAGE', 'x'))).toBe(true);
    // What a second install of the package throws: another class, the same registered brand.
    const foreign = Object.assign(new Error('x'), { code: 'USAGE', [Symbol.for('artifacts-cli.ArtifactsError')]: true });
    expect(isArtifactsError(foreign)).toBe(true);
    expect(isArtifactsError(Object.assign(new Error('x'), { code: 'USAGE' }))).toBe(false);
    expect(isArtifactsError(null)).toBe(false);
    expect(isArtifactsError('USAGE')).toBe(false);
  });
});
