// Simulated power loss (SPEC §5, §11). Each index transaction runs once over a recording
// file-system layer; then, for every fsync point and for the end of the run, every way the
// unsynced writes could have been lost is rebuilt as a real directory, and recovery must
// reach the old or the new index — the new one for a run that had already returned.
// A second layer fails the n-th fsync with EIO: the transaction aborts without retrying the
// fsync and leaves the old index.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ArtifactsError } from '../../src/core/errors.js';
import { indexAdd, indexRebuild, indexRemove, indexVerify } from '../../src/core/index/operations.js';
import { readIndexFile, readIndexView, recoverIndex } from '../../src/core/index/store.js';
import { openRepo, type Repo } from '../../src/core/repo.js';
import { withWriteFs } from '../../src/core/store/durable-write.js';
import { setClockForTests } from '../../src/core/stamp.js';
import { crashStates, FailingFsyncFs, imageOf, materialize, RecordingFs } from '../support/simulated-disk.js';
import { plan, repoWith, testdir, writeTree } from '../helpers.js';

const LOCK_DIR = 'artifacts_index.json.lock';

/** A repository with enough entries that the index spans several 4 KiB pages. */
async function baseRepo(): Promise<{ dir: string; repo: Repo }> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 24; i++) {
    const id = `p${String(i).padStart(2, '0')}`;
    files[`docs/plans/fwk-001/${id}.md`] = plan(id);
  }
  const dir = repoWith(files);
  const repo = await openRepo({ cwd: dir });
  await indexRebuild(repo);
  // A second transaction leaves an empty journal and every cache file in place.
  await indexVerify(repo);
  return { dir, repo };
}

interface Scenario {
  name: string;
  prepare?: (dir: string) => void;
  run: (repo: Repo) => Promise<unknown>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'index add of a new artifact',
    prepare: (dir) => writeTree(dir, { 'docs/plans/fwk-001/new.md': plan('new') }),
    run: (repo) => indexAdd(repo, ['docs/plans/fwk-001/new.md']),
  },
  {
    name: 'index update of a changed artifact',
    prepare: (dir) => writeTree(dir, { 'docs/plans/fwk-001/p03.md': plan('p03', {}, 'Changed body.\n') }),
    run: (repo) => indexAdd(repo, ['docs/plans/fwk-001/p03.md'], { update: true }),
  },
  { name: 'index remove', run: (repo) => indexRemove(repo, ['p07@1.0.0']) },
  {
    name: 'index rebuild after several changes',
    prepare: (dir) => {
      rmSync(join(dir, 'docs/plans/fwk-001/p01.md'));
      writeTree(dir, { 'docs/plans/fwk-001/p02.md': plan('p02', { status: 'review' }), 'docs/plans/fwk-001/zz.md': plan('zz') });
    },
    run: (repo) => indexRebuild(repo),
  },
];

async function indexDigestOf(dir: string): Promise<string | null> {
  const repo = await openRepo({ cwd: dir, root: dir });
  const state = await readIndexFile(repo);
  expect(state.digestValid).toBe(true);
  return state.doc?.index_digest ?? null;
}

function codesOf(v: { findings: { code: string; path?: string | undefined }[] }): string[] {
  return v.findings.map((f) => `${f.code} ${f.path ?? ''}`).sort();
}

describe('simulated power loss at every fsync point', () => {
  for (const sc of SCENARIOS) {
    test(`${sc.name}: every crash state recovers to the old or the new index`, async () => {
      const { dir, repo } = await baseRepo();
      sc.prepare?.(dir);
      const base = imageOf(dir, (rel) => rel === LOCK_DIR);
      const oldDigest = await indexDigestOf(dir);

      const recorder = new RecordingFs(dir, base);
      await withWriteFs(recorder, () => sc.run(repo));
      const newDigest = await indexDigestOf(dir);
      expect(newDigest).not.toBe(oldDigest);
      const expectedVerify = codesOf(await indexVerify(await openRepo({ cwd: dir, root: dir })));
      // The run wrote through the recorder: the index temp file, its fsync, the rename, the
      // directory fsync, and the journal record with its fsync.
      expect(recorder.ops.some((o) => o.kind === 'rename' && o.to === 'artifacts_index.json')).toBe(true);
      expect(recorder.ops.filter((o) => o.kind === 'fsyncdir').length).toBeGreaterThan(0);

      const seen = { old: 0, new: 0, states: 0 };
      const scratch = mkdtempSync(join(tmpdir(), 'artifacts-powerloss-'));
      // The lock's own writes are in the log too, so a crash state may hold a lock directory,
      // with or without its owner record. Its holder died with the power: after a reboot the
      // next writer finds it older than any threshold. The clock says so here, instead of
      // waiting out the ownerless grace for every state.
      const restoreClock = setClockForTests({ now: () => Date.now() + 60_000 });
      try {
        let n = 0;
        for (const state of crashStates(base, recorder.ops, { seed: 7 })) {
          const crashDir = join(scratch, String(n++));
          materialize(state.image, crashDir);
          const label = `${sc.name}: power lost after ${state.at}/${recorder.ops.length} operations, dropped [${state.dropped.join(',')}]`;
          const crashed = await openRepo({ cwd: crashDir, root: crashDir });

          // A lock-free reader before any recovery already sees the old or the new index.
          const view = await readIndexView(crashed);
          expect([oldDigest, newDigest], label).toContain(view.doc?.index_digest ?? null);

          await recoverIndex(crashed);
          const after = await readIndexFile(crashed);
          expect(after.digestValid, label).toBe(true);
          const digest = after.doc?.index_digest ?? null;
          expect([oldDigest, newDigest], label).toContain(digest);
          // The run had returned: what it acknowledged survives any loss of unsynced writes.
          if (state.at === recorder.ops.length) expect(digest, label).toBe(newDigest);
          // Recovery leaves nothing to replay, and running it again changes nothing.
          expect((await readIndexView(crashed)).pendingRecords, label).toBe(0);
          const again = await recoverIndex(crashed);
          expect(again.replayed, label).toEqual([]);
          // A damaged cache (written without fsync) is never trusted: verify reports what it
          // reports on the machine that never lost power.
          if (digest === newDigest && state.at === recorder.ops.length)
            expect(codesOf(await indexVerify(crashed)), label).toEqual(expectedVerify);

          seen[digest === newDigest ? 'new' : 'old']++;
          seen.states++;
          rmSync(crashDir, { recursive: true, force: true });
        }
      } finally {
        restoreClock();
        rmSync(scratch, { recursive: true, force: true });
      }
      // The log holds the lock's writes: its creation, its owner record, its release.
      expect(recorder.ops.some((o) => o.kind === 'create' && o.path === `${LOCK_DIR}/owner.json`)).toBe(true);
      expect(recorder.ops.some((o) => o.kind === 'renamedir' && o.from === LOCK_DIR)).toBe(true);
      // Both outcomes occur: the harness really does lose writes, and really does keep them.
      expect(seen.old).toBeGreaterThan(0);
      expect(seen.new).toBeGreaterThan(0);
      expect(seen.states).toBeGreaterThan(50);
    });
  }
});

describe('an fsync error aborts the transaction and leaves the old index', () => {
  test('EIO at each fsync of an add: no retry, old index, no pending record, no temp file; then the add succeeds', async () => {
    const { dir } = await baseRepo();
    writeTree(dir, { 'docs/plans/fwk-001/new.md': plan('new') });
    const pristine = testdir();
    cpSync(dir, pristine, { recursive: true });
    const oldDigest = await indexDigestOf(dir);

    // A run with no failure counts the fsyncs and finds the commit point: the fsync of the
    // directory after the index rename.
    const probe = testdir();
    cpSync(pristine, probe, { recursive: true });
    const counter = new FailingFsyncFs(0);
    const syncs: string[] = [];
    const origOpen = counter.open.bind(counter);
    counter.open = async (p, f, m) => {
      const h = await origOpen(p, f, m);
      return { ...h, sync: async () => (syncs.push(p), h.sync()) };
    };
    const probeRepo = await openRepo({ cwd: probe });
    await withWriteFs(counter, () => indexAdd(probeRepo, ['docs/plans/fwk-001/new.md']));
    const newDigest = await indexDigestOf(probe);
    const commitAt = syncs.indexOf(probe) + 1;
    expect(commitAt).toBeGreaterThan(0);
    expect(syncs.length).toBeGreaterThanOrEqual(commitAt);

    for (let k = 1; k <= syncs.length; k++) {
      const work = testdir();
      cpSync(pristine, work, { recursive: true });
      const repo = await openRepo({ cwd: work });
      const failing = new FailingFsyncFs(k);
      let error: unknown;
      await withWriteFs(failing, () => indexAdd(repo, ['docs/plans/fwk-001/new.md'])).catch((e: unknown) => (error = e));
      const label = `EIO at fsync ${k} of ${syncs.length} (${failing.failedAt})`;
      expect(failing.retries, label).toEqual([]);
      const view = await readIndexView(repo);
      expect(view.pendingRecords, label).toBe(0);
      if (k <= commitAt) {
        expect(error, label).toBeInstanceOf(ArtifactsError);
        expect((error as ArtifactsError).code, label).toBe('IO_ERROR');
        expect(view.doc?.index_digest, label).toBe(oldDigest);
        expect(await indexDigestOf(work), label).toBe(oldDigest);
      } else {
        // After the commit point the transaction is durable; only journal housekeeping failed.
        expect(error, label).toBeUndefined();
        expect(await indexDigestOf(work), label).toBe(newDigest);
      }
      expect(
        readdirSync(work).filter((f) => f.endsWith('.tmp')),
        label,
      ).toEqual([]);
      // The failure left nothing behind that stops the next writer.
      await indexAdd(repo, ['docs/plans/fwk-001/new.md']);
      expect(await indexDigestOf(work), label).toBe(newDigest);
    }
  });
});
