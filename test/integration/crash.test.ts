// Crash safety (SPEC §5, §11): real child processes killed with SIGKILL at each step of the
// write protocol, and at random moments of a 200-file add.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openRepo } from '../../src/core/repo.js';
import { recoverIndex } from '../../src/core/index/store.js';
import { fromTemplate, plan, read, repoWith, run, runAsync, testdir, writeTree } from '../helpers.js';
import { indexVerifyExit } from '../support/library.js';

const POINTS = [
  'journal-append',
  'journal-fsync',
  'temp-write',
  'temp-fsync',
  'rename',
  'dir-fsync',
  'journal-commit',
  'before-release',
] as const;
// From this point on the journal record is durable, so recovery must reach the new state.
const DURABLE_FROM = POINTS.indexOf('journal-fsync');

/** `n` plans, committed and indexed (built once per size, copied). */
function baseRepo(n = 3): string {
  return fromTemplate(`base:${n}`, () => buildBaseRepo(n));
}

function buildBaseRepo(n: number): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`docs/plans/fwk-001/p${i}.md`] = plan(`p${i}`);
  const dir = repoWith(files);
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  return dir;
}

/** The index a never-crashed run produces for the same operation. */
function neverCrashed(src: string, args: string[]): string {
  const twin = testdir();
  cpSync(src, twin, { recursive: true });
  const r = run(twin, args);
  expect(r.code, r.stderr).toBe(0);
  return read(twin, 'artifacts_index.json');
}

describe('SIGKILL at each point of the write protocol', () => {
  /** baseRepo() with one new, unindexed plan. */
  const withNew = () => {
    const dir = baseRepo();
    writeTree(dir, { 'docs/plans/fwk-001/new.md': plan('new') });
    return dir;
  };
  // The index a never-crashed `index add` of the new plan produces: the same for every kill
  // point, so computed once.
  let added: string | undefined;
  const addedNew = () => (added ??= neverCrashed(withNew(), ['index', 'add', 'docs/plans/fwk-001/new.md']));

  for (const [i, point] of POINTS.entries()) {
    test(`killed at ${point}: old or new state, idempotent recovery, rebuild equals a clean run`, async () => {
      const dir = withNew();
      const oldIndex = read(dir, 'artifacts_index.json');
      const newIndex = addedNew();
      expect(newIndex).not.toBe(oldIndex);

      const r = run(dir, ['index', 'add', 'docs/plans/fwk-001/new.md'], { ARTIFACTS_FAULT_INJECT: point });
      expect(r.signal).toBe('SIGKILL');
      const onDisk = read(dir, 'artifacts_index.json');
      expect([oldIndex, newIndex]).toContain(onDisk);
      if (i >= POINTS.indexOf('rename')) expect(onDisk).toBe(newIndex);

      // The dead writer's lock is taken over at once, not after the 30 s stale threshold.
      const t0 = Date.now();
      const rec = run(dir, ['index', 'recover', '--lock-timeout', '5000']);
      expect(rec.code, rec.stderr).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      const recovered = read(dir, 'artifacts_index.json');
      // Before the journal fsync the record may or may not be complete: either state is fine.
      if (i >= DURABLE_FROM) expect(recovered).toBe(newIndex);
      else expect([oldIndex, newIndex]).toContain(recovered);
      // Recovery is idempotent (checked through the library: the recovery itself, above, is
      // the command's).
      expect((await recoverIndex(await openRepo({ cwd: dir }))).replayed).toEqual([]);
      expect(read(dir, 'artifacts_index.json')).toBe(recovered);
      expect(await indexVerifyExit(dir)).toBe(recovered === newIndex ? 0 : 1);

      // Afterwards a rebuild equals a rebuild of a run that never crashed.
      expect(run(dir, ['index', 'rebuild']).code).toBe(0);
      expect(read(dir, 'artifacts_index.json')).toBe(newIndex);
    });
  }

  test('a reader sees a journaled-but-unpublished transaction without taking the lock', () => {
    const dir = baseRepo();
    writeTree(dir, { 'docs/plans/fwk-001/new.md': plan('new') });
    const r = run(dir, ['index', 'add', 'docs/plans/fwk-001/new.md'], { ARTIFACTS_FAULT_INJECT: 'journal-fsync' });
    expect(r.signal).toBe('SIGKILL');
    const v = run(dir, ['--json', 'index', 'verify']);
    const doc = JSON.parse(v.stdout) as { findings: Array<{ code: string }>; indexed: number };
    expect(doc.indexed).toBe(4);
    expect(doc.findings.map((f) => f.code)).toEqual(['JOURNAL_PENDING']);
    expect(v.code).toBe(1);
  });
});

describe('SIGKILL at random moments of a 200-file index add', () => {
  test('every kill leaves the old or the new index, and recovery converges', async () => {
    const dir = baseRepo(2);
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++)
      files[`docs/plans/fwk-001/bulk-${String(i).padStart(3, '0')}.md`] = plan(
        `bulk-${String(i).padStart(3, '0')}`,
        {},
        `Body ${i}\n${'x'.repeat(2000)}\n`,
      );
    writeTree(dir, files);
    const oldIndex = read(dir, 'artifacts_index.json');
    const newIndex = neverCrashed(dir, ['index', 'add', 'docs/plans']);
    const outcomes = new Set<string>();
    const delays = [40, 120, 200, 280, 360, 450, 600];
    for (const delay of delays) {
      const child = runAsync(dir, ['index', 'add', 'docs/plans']);
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      const res = await child.promise;
      outcomes.add(res.signal === 'SIGKILL' ? 'killed' : `exit ${res.code}`);
      const onDisk = read(dir, 'artifacts_index.json');
      expect([oldIndex, newIndex]).toContain(onDisk);
      expect(run(dir, ['index', 'recover']).code).toBe(0);
      const after = read(dir, 'artifacts_index.json');
      expect([oldIndex, newIndex]).toContain(after);
      if (after === newIndex) {
        // Reset to the old state for the next round (a plain remove of the 200 entries).
        writeFileSync(join(dir, 'artifacts_index.json'), oldIndex);
      }
    }
    expect(outcomes.has('killed')).toBe(true);
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    expect(read(dir, 'artifacts_index.json')).toBe(newIndex);
  });
});

describe('journal damage', () => {
  /** Build a journal of two records: r1 (already applied) and r2 (pending). */
  function twoRecordJournal(): { dir: string; j1: Buffer; j2: Buffer; x1: string; x2: string } {
    const dir = baseRepo();
    writeTree(dir, { 'docs/plans/fwk-001/one.md': plan('one'), 'docs/plans/fwk-001/two.md': plan('two') });
    expect(run(dir, ['index', 'add', 'docs/plans/fwk-001/one.md'], { ARTIFACTS_FAULT_INJECT: 'dir-fsync' }).signal).toBe('SIGKILL');
    const j1 = readFileSync(join(dir, '.artifacts/journal'));
    const x1 = read(dir, 'artifacts_index.json');
    expect(run(dir, ['index', 'add', 'docs/plans/fwk-001/two.md'], { ARTIFACTS_FAULT_INJECT: 'journal-fsync' }).signal).toBe('SIGKILL');
    const j2 = readFileSync(join(dir, '.artifacts/journal'));
    expect(read(dir, 'artifacts_index.json')).toBe(x1);
    const x2 = neverCrashed(dir, ['index', 'recover']);
    expect(x2).not.toBe(x1);
    return { dir, j1, j2, x1, x2 };
  }

  test('a journal truncated at every byte offset of its last record recovers', async () => {
    const { dir, j1, j2, x1, x2 } = twoRecordJournal();
    expect(j1.length).toBeGreaterThan(50);
    const repo = await openRepo({ cwd: dir });
    for (let cut = 0; cut <= j2.length; cut++) {
      writeFileSync(join(dir, 'artifacts_index.json'), x1);
      writeFileSync(join(dir, '.artifacts/journal'), Buffer.concat([j1, j2.subarray(0, cut)]));
      const rep = await recoverIndex(repo);
      expect(read(dir, 'artifacts_index.json')).toBe(cut === j2.length ? x2 : x1);
      expect(rep.alreadyApplied).toBe(1);
      expect(readFileSync(join(dir, '.artifacts/journal')).length).toBe(0);
      // Idempotent.
      await recoverIndex(repo);
      expect(read(dir, 'artifacts_index.json')).toBe(cut === j2.length ? x2 : x1);
    }
  });

  test('a corrupted middle record is reported (exit 4), never silently dropped', () => {
    const { dir, j1, j2, x1 } = twoRecordJournal();
    const bad = Buffer.from(j1);
    bad[10] = bad[10] === 0x61 ? 0x62 : 0x61;
    writeFileSync(join(dir, 'artifacts_index.json'), x1);
    writeFileSync(join(dir, '.artifacts/journal'), Buffer.concat([bad, j2]));
    for (const args of [
      ['index', 'recover'],
      ['index', 'verify'],
      ['index', 'add', 'docs/plans/fwk-001/two.md'],
    ]) {
      const r = run(dir, args);
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stdout + r.stderr).toContain('JOURNAL_CORRUPT');
    }
    expect(read(dir, 'artifacts_index.json')).toBe(x1);
    expect(existsSync(join(dir, '.artifacts/journal'))).toBe(true);
    expect(readFileSync(join(dir, '.artifacts/journal')).length).toBe(bad.length + j2.length);
  });
});
