// Large scans run in the built command line on worker threads (and, below a size, on the
// calling thread too), fed batch by batch from one queue. Whatever the split — including
// workers that run out of their capped heap and hand their batch back — the index and the
// findings are those of the library scanning the same tree in-process.
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { indexRebuild } from '../../src/core/index/operations.js';
import { openRepo } from '../../src/core/repo.js';
import { md, plan, repoWith, run, testdir } from '../helpers.js';

let template = '';
beforeAll(() => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 900; i++) files[`docs/plans/fwk-001/p${i}.md`] = plan(`p${i}`, {}, `Body ${i}.\n`);
  // Invalid and foreign files among them, spread over the batches.
  for (let i = 0; i < 900; i += 97) files[`docs/plans/fwk-001/bad${i}.md`] = md({ id: `bad${i}`, kind: 'plan' });
  files['docs/notes/site.md'] = '---\ntitle: [unclosed\n---\n';
  template = repoWith(files);
  symlinkSync('p1.md', join(template, 'docs/plans/fwk-001/link.md'));
});

function copy(): string {
  const dir = testdir();
  cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

describe('scans on worker threads', () => {
  test.each([
    ['workers and the calling thread', {}],
    ['workers out of heap, their batches done by the calling thread', { ARTIFACTS_WORKER_HEAP_MB: '1' }],
  ])('%s: the same index and findings as an in-process scan', async (_name, env) => {
    const inProcess = copy();
    const lib = await indexRebuild(await openRepo({ cwd: inProcess }));
    const viaCli = copy();
    const r = run(viaCli, ['index', 'rebuild', '--json'], env);
    expect(r.code, r.stderr).toBe(1); // the invalid files
    const out = JSON.parse(r.stdout) as { findings: Array<{ code: string; path?: string }> };
    const key = (fs: Array<{ code: string; path?: string }>) => fs.map((f) => `${f.code} ${f.path ?? ''}`).sort();
    expect(key(out.findings)).toEqual(key(lib.findings));
    expect(readFileSync(join(viaCli, 'artifacts_index.json'), 'utf8')).toBe(readFileSync(join(inProcess, 'artifacts_index.json'), 'utf8'));
    expect(lib.count).toBe(900);
  });
});
