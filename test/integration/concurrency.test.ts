// Single writer under contention (SPEC §5 step 1, §11): parallel writers all land; a lock
// held past --lock-timeout gives LOCK_TIMEOUT, exit 3.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { plan, read, repoWith, run, runAsync, writeTree } from '../helpers.js';

describe('parallel writers', () => {
  test('32 parallel `index add` processes each adding a different artifact leave all 32 entries', async () => {
    const dir = repoWith({});
    const files: Record<string, string> = {};
    for (let i = 0; i < 32; i++) files[`docs/plans/fwk-001/c${i}.md`] = plan(`c${i}`);
    writeTree(dir, files);
    const children = Object.keys(files).map((f) => runAsync(dir, ['index', 'add', f, '--lock-timeout', '60000']));
    const results = await Promise.all(children.map((c) => c.promise));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(read(dir, 'artifacts_index.json')) as { artifacts: Array<{ id: string }> };
    expect(doc.artifacts.map((e) => e.id).sort()).toEqual(Object.keys(files).map((f) => f.split('/').pop()!.replace('.md', '')).sort());
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });
});

describe('lock timeout', () => {
  test('a lock held by a live process past --lock-timeout gives LOCK_TIMEOUT, exit 3, and changes nothing', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const before = read(dir, 'artifacts_index.json');
    writeTree(dir, { 'docs/plans/fwk-001/b.md': plan('b') });
    // A live holder: this test process itself (its pid is alive, on this host).
    const lockDir = join(dir, 'artifacts_index.json.lock');
    mkdirSync(lockDir);
    writeFileSync(join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), token: 'x', since: new Date().toISOString() }));
    const t0 = Date.now();
    const r = run(dir, ['--json', 'index', 'add', 'docs/plans/fwk-001/b.md', '--lock-timeout', '700']);
    const elapsed = Date.now() - t0;
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('LOCK_TIMEOUT');
    expect(doc.error.message).toContain(`pid ${process.pid}`);
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('a lock left by a dead process is taken over at once', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    const lockDir = join(dir, 'artifacts_index.json.lock');
    mkdirSync(lockDir);
    // pid 2^22+1 is above Linux's pid_max default range: not running.
    writeFileSync(join(lockDir, 'owner.json'), JSON.stringify({ pid: 4194305, host: hostname(), token: 'dead', since: '2026-01-01T00:00:00Z' }));
    const r = run(dir, ['index', 'rebuild', '--lock-timeout', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).toContain('"id": "a"');
  });
});
