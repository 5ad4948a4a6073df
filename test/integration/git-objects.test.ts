// Blob ids of files whose names a line protocol would misread: a line break, a leading
// quote, a backslash, a tab, control characters. Each must be the id of its own file (a
// promoted snapshot records it), exactly as `git hash-object <path>` gives it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { blobIds } from '../../src/core/snapshots/git-objects.js';
import { gitInit, testdir } from '../helpers.js';

test('every name gets the blob id of its own file', async () => {
  const dir = testdir();
  gitInit(dir, false);
  const names = [
    'x\ny.md',
    'x',
    'y.md',
    '"q".md',
    'back\\slash.md',
    'tab\there.md',
    'cr\rhere.md',
    'ctl\u0001\u007f.md',
    'é ü.md',
    '"x\\ny.md"',
  ];
  names.forEach((n, i) => writeFileSync(join(dir, n), `content ${i}\n`));
  const ids = await blobIds(dir, names);
  for (const n of names) {
    const own = execFileSync('git', ['hash-object', '--no-filters', '--', n], { cwd: dir, encoding: 'utf8' }).trim();
    expect([n, ids.get(n)]).toEqual([n, own]);
  }
  expect(new Set(names.map((n) => ids.get(n))).size).toBe(names.length);
});
