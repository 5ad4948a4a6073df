// Single writer under contention (SPEC §5 step 1, §11): parallel writers all land; a lock
// held past --lock-timeout gives LOCK_TIMEOUT, exit 3.
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
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
    expect(doc.artifacts.map((e) => e.id).sort()).toEqual(
      Object.keys(files)
        .map((f) => f.split('/').pop()!.replace('.md', ''))
        .sort(),
    );
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
    writeFileSync(
      join(lockDir, 'owner.json'),
      JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'x', since: new Date().toISOString() }),
    );
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
    writeFileSync(
      join(lockDir, 'owner.json'),
      JSON.stringify({ pid: 4194305, host: hostname(), nonce: 'dead', since: '2026-01-01T00:00:00Z' }),
    );
    const r = run(dir, ['index', 'rebuild', '--lock-timeout', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).toContain('"id":"a"');
  });
});

/** Wait until the process is stopped (state T in /proc), as SIGSTOP leaves it. */
async function stopped(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process ${pid} never stopped`);
}

describe('a paused writer', () => {
  test('SIGSTOP past the stale threshold: another writer takes over and commits; on SIGCONT the first aborts before its rename', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/base.md': plan('base') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    writeTree(dir, { 'docs/plans/fwk-001/a.md': plan('a'), 'docs/plans/fwk-001/b.md': plan('b') });
    // Writer A stops itself right after fsyncing its temp file, before the rename.
    const a = runAsync(dir, ['--json', 'index', 'add', 'docs/plans/fwk-001/a.md'], { ARTIFACTS_FAULT_INJECT: 'temp-fsync:1:stop' });
    await stopped(a.pid!);
    const t0 = Date.now();
    // Writer B waits for the stale threshold (30 s in use; 2 s here through the test hook),
    // takes the lock over and commits. A is alive on this host: only its silent heartbeat
    // makes it stale.
    const b = await runAsync(dir, ['index', 'add', 'docs/plans/fwk-001/b.md', '--lock-timeout', '60000'], {
      ARTIFACTS_LOCK_STALE_MS: '2000',
    }).promise;
    expect(b.code, b.stderr).toBe(0);
    const ownerAge = Date.now() - t0;
    expect(ownerAge).toBeGreaterThanOrEqual(500);
    process.kill(a.pid!, 'SIGCONT');
    const ra = await a.promise;
    expect(ra.code).toBe(3);
    expect((JSON.parse(ra.stdout) as { error: { code: string } }).error.code).toBe('LOCK_COMPROMISED');
    // Nothing lost: B's entry, and A's (rolled forward from its journal record by B).
    const ids = (JSON.parse(read(dir, 'artifacts_index.json')) as { artifacts: Array<{ id: string }> }).artifacts.map((e) => e.id);
    expect(ids).toEqual(['a', 'b', 'base']);
    expect(run(dir, ['index', 'verify']).code).toBe(0);
    expect(readdirSync(join(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});

describe('many writers', () => {
  test('W writer processes x N adds each leave exactly W*N entries (CI size; full size: bench/writers.js)', async () => {
    const W = 12;
    const N = 4;
    const dir = repoWith({});
    const files: Record<string, string> = {};
    for (let w = 0; w < W; w++) for (let n = 0; n < N; n++) files[`docs/plans/fwk-001/w${w}-${n}.md`] = plan(`w${w}-${n}`);
    writeTree(dir, files);
    const writers = Array.from({ length: W }, (_, w) =>
      (async () => {
        for (let n = 0; n < N; n++) {
          const r = await runAsync(dir, ['index', 'add', `docs/plans/fwk-001/w${w}-${n}.md`, '--lock-timeout', '120000']).promise;
          expect(r.code, r.stderr).toBe(0);
        }
      })(),
    );
    await Promise.all(writers);
    const doc = JSON.parse(read(dir, 'artifacts_index.json')) as { artifacts: unknown[] };
    expect(doc.artifacts).toHaveLength(W * N);
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });
});

describe('a writer killed between creating the lock and recording its owner', () => {
  test('the ownerless lock is taken over after a short grace, not after 30 s', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    const lockDir = join(dir, 'artifacts_index.json.lock');
    mkdirSync(lockDir);
    const old = new Date(Date.now() - 10_000);
    utimesSync(lockDir, old, old);
    const r = run(dir, ['index', 'rebuild', '--lock-timeout', '2000']);
    expect(r.code, r.stderr).toBe(0);
  });
});
