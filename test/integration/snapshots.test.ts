// Signed promotion snapshots (SPEC §7): promote, verify, tamper, rollback, retention.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { exitCodeFor } from '../../src/core/errors.js';
import { openRepo } from '../../src/core/repo.js';
import { loadSigner } from '../../src/core/snapshots/keys.js';
import { rollback } from '../../src/core/snapshots/rollback.js';
import { verifySnapshots } from '../../src/core/snapshots/verify-chain.js';
import { commitAt, copyFixture, fromTemplate, git, read, run, runJson, testdir } from '../helpers.js';
import { opensslVerify } from '../support/openssl.js';
import { indexVerifyExit } from '../support/library.js';

const DR = '.artifacts/snapshots/fwk-001/design-review';
const RISK = 'docs/risks/fwk-001/risk-register.md';
let keyDir: string;
let key: string;

beforeAll(() => {
  keyDir = testdir();
  const r = run(keyDir, ['keys', 'generate', '--out', join(keyDir, 'release')]);
  expect(r.code, r.stderr).toBe(0);
  key = join(keyDir, 'release.key');
});

/** The demo repository, committed, indexed, with the test key trusted (built once, copied). */
function demo(): string {
  return fromTemplate('demo', buildDemo);
}

function buildDemo(): string {
  const dir = copyFixture('demo');
  git(dir, 'init', '-q', '-b', 'main');
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  expect(run(dir, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  return dir;
}

function promote(dir: string, extra: string[] = [], env: Record<string, string> = {}) {
  return run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, ...extra], env);
}

/** Promote, edit the risk register as a new version, promote again: two snapshots (built
 * once, copied). */
function twoPromotions(): string {
  return fromTemplate('two-promotions', buildTwoPromotions);
}

function buildTwoPromotions(): string {
  const dir = demo();
  expect(promote(dir, ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
  const p = join(dir, RISK);
  writeFileSync(p, readFileSync(p, 'utf8').replace('version: "4"', 'version: "5"').replace('| low |', '| medium |'));
  expect(run(dir, ['index', 'update', RISK]).code).toBe(0);
  commitAt(dir, '2026-03-02T09:00:00Z', 'risk register v5');
  expect(promote(dir, ['--at', '2026-03-02T10:00:00Z']).code).toBe(0);
  return dir;
}

function verifyCodes(dir: string): { code: number | null; codes: string[] } {
  const r = runJson(dir, ['snapshot', 'verify', '--all']);
  // Errors only: an unpinned run also carries the TRUST_ROOT_UNPINNED warning.
  return {
    code: r.code,
    codes: [
      ...new Set((r.doc.findings as Array<{ code: string; severity: string }>).filter((f) => f.severity === 'error').map((f) => f.code)),
    ],
  };
}

describe('promote and verify', () => {
  test('a promotion writes a canonical, signed snapshot that verifies, also with openssl', () => {
    const dir = demo();
    const r = runJson(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, '--at', '2026-03-01T10:00:00Z']);
    expect(r.code).toBe(0);
    const snap = JSON.parse(read(dir, `${DR}/000001.json`)) as Record<string, unknown>;
    expect(snap).toMatchObject({
      format: 'artifacts-snapshot/1',
      seq: 1,
      parent: null,
      action: 'promote',
      created_at: '2026-03-01T10:00:00Z',
    });
    expect((snap.artifacts as Array<{ git_blob?: string }>).every((a) => /^[0-9a-f]{40}$/.test(a.git_blob ?? ''))).toBe(true);
    expect(readFileSync(join(dir, `${DR}/000001.sig`), 'utf8')).toMatch(/^[A-Za-z0-9+/]{86}==\n$/);
    expect(verifyCodes(dir)).toEqual({ code: 0, codes: [] });
    // No private key material anywhere in the repository.
    const all = spawnSync('grep', ['-rl', 'PRIVATE KEY', dir, '--exclude-dir=.git'], { encoding: 'utf8' });
    expect(all.stdout).toBe('');

    const openssl = spawnSync('openssl', ['version']);
    if (openssl.status !== 0) {
      console.warn('openssl is not installed: skipping the openssl pkeyutl interop check');
      return;
    }
    const sig = join(keyDir, 'sig.bin');
    writeFileSync(sig, Buffer.from(readFileSync(join(dir, `${DR}/000001.sig`), 'utf8'), 'base64'));
    const v = opensslVerify(join(keyDir, 'release.pub'), join(dir, `${DR}/000001.json`), sig);
    expect(v.output).toContain('Signature Verified Successfully');
    expect(v.ok).toBe(true);
  });

  test('snapshots are reproducible with --at: the same bytes in a second clone', () => {
    const a = demo();
    expect(promote(a, ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
    const parent = testdir();
    git(parent, 'clone', '-q', a, 'other');
    const b = join(parent, 'other');
    expect(promote(b, ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
    expect(read(b, `${DR}/000001.json`)).toBe(read(a, `${DR}/000001.json`));
    expect(read(b, `${DR}/000001.sig`)).toBe(read(a, `${DR}/000001.sig`)); // Ed25519 is deterministic
  });

  test('a failing gate writes nothing; the key file is 0600; keys are refused inside the repository', () => {
    const dir = demo();
    const r = runJson(dir, ['promote', '--framework', 'fwk-001', '--stage', 'release', '--key', key]);
    expect(r.code).toBe(1);
    expect((r.doc.error as { code: string }).code).toBe('GATE_FAILED');
    expect(existsSync(join(dir, '.artifacts/snapshots'))).toBe(false);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const inRepo = runJson(dir, ['keys', 'generate', '--out', join(dir, 'mykey')]);
    expect(inRepo.code).toBe(2);
    expect((inRepo.doc.error as { code: string }).code).toBe('KEY_IN_REPOSITORY');
    expect(existsSync(join(dir, 'mykey.key'))).toBe(false);
    // ARTIFACTS_SIGNING_KEY is used when --key is absent.
    const viaEnv = run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review'], { ARTIFACTS_SIGNING_KEY: key });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout + viaEnv.stderr).not.toContain('PRIVATE');
  });

  test('staged promotion: release needs design-review promoted with the same plan', () => {
    const dir = demo();
    // Make the scorecard reviewable so that only the stage order is missing.
    const sc = join(dir, 'docs/scorecards/fwk-001/scorecard-q1.md');
    writeFileSync(sc, readFileSync(sc, 'utf8').replace('status: draft', 'status: review'));
    expect(run(dir, ['index', 'update', 'docs/scorecards/fwk-001/scorecard-q1.md']).code).toBe(0);
    commitAt(dir, '2026-03-01T11:00:00Z', 'scorecard in review');
    const before = runJson(dir, ['gate', '--framework', 'fwk-001', '--stage', 'release']);
    expect((before.doc.findings as Array<{ code: string }>).map((f) => f.code)).toEqual(['GATE_STAGE_ORDER']);
    expect(promote(dir).code).toBe(0);
    expect(run(dir, ['gate', '--framework', 'fwk-001', '--stage', 'release']).code).toBe(0);
  });
});

describe('tampering is caught (exit 4)', () => {
  const cases: Array<[string, string, (dir: string) => void]> = [
    [
      'a changed byte in a snapshot',
      'SIGNATURE_INVALID',
      (d) => {
        const p = join(d, `${DR}/000001.json`);
        writeFileSync(p, readFileSync(p, 'utf8').replace('"seq":1', '"seq":1 ').replace('plan-checkout', 'plan-checkouT'));
      },
    ],
    [
      'a changed byte in a signature',
      'SIGNATURE_INVALID',
      (d) => {
        const p = join(d, `${DR}/000002.sig`);
        const s = readFileSync(p, 'utf8');
        writeFileSync(p, (s[0] === 'A' ? 'B' : 'A') + s.slice(1));
      },
    ],
    [
      'a deleted middle snapshot',
      'SNAPSHOT_CHAIN_BROKEN',
      (d) => {
        expect(promote(d, ['--at', '2026-03-03T10:00:00Z']).code).toBe(0); // a third one
        rmSync(join(d, `${DR}/000002.json`));
        rmSync(join(d, `${DR}/000002.sig`));
      },
    ],
    [
      'two snapshots swapped',
      'SNAPSHOT_CHAIN_BROKEN',
      (d) => {
        for (const ext of ['json', 'sig']) {
          renameSync(join(d, `${DR}/000001.${ext}`), join(d, `${DR}/tmp.${ext}`));
          renameSync(join(d, `${DR}/000002.${ext}`), join(d, `${DR}/000001.${ext}`));
          renameSync(join(d, `${DR}/tmp.${ext}`), join(d, `${DR}/000002.${ext}`));
        }
      },
    ],
    [
      'an older snapshot copied over a newer one',
      'SNAPSHOT_CHAIN_BROKEN',
      (d) => {
        for (const ext of ['json', 'sig']) copyFileSync(join(d, `${DR}/000001.${ext}`), join(d, `${DR}/000002.${ext}`));
      },
    ],
    [
      'a signature by a key the trust chain does not trust',
      'KEY_NOT_TRUSTED',
      (d) => {
        rmSync(join(d, '.artifacts/keys/trust'), { recursive: true });
        const other = join(testdir(), 'other');
        expect(run(d, ['keys', 'generate', '--out', other]).code).toBe(0);
        expect(run(d, ['keys', 'trust', `${other}.pub`, '--key', `${other}.key`]).code).toBe(0);
      },
    ],
    [
      'a corrupted object',
      'OBJECT_CORRUPT',
      (d) => {
        const objects = join(d, '.artifacts/objects/sha256');
        const two = readdirSync(objects)[0]!;
        const f = join(objects, two, readdirSync(join(objects, two))[0]!);
        writeFileSync(f, Buffer.concat([readFileSync(f), Buffer.from('x')]));
      },
    ],
  ];
  /** twoPromotions() once `snapshot verify --all` has passed in it (built once, copied):
   * each tampering starts from a chain that verifies. */
  const verified = () =>
    fromTemplate('two-promotions-verified', () => {
      const dir = twoPromotions();
      expect(verifyCodes(dir)).toEqual({ code: 0, codes: [] });
      return dir;
    });
  for (const [name, code, tamper] of cases) {
    test(`${name} → ${code}`, () => {
      const dir = verified();
      tamper(dir);
      const r = verifyCodes(dir);
      expect(r.code).toBe(4);
      expect(r.codes).toContain(code);
    });
  }

  test('an expired snapshot → SNAPSHOT_EXPIRED', () => {
    const dir = demo();
    expect(promote(dir, ['--at', '2026-01-01T00:00:00Z', '--expires-at', '2026-01-02T00:00:00Z']).code).toBe(0);
    expect(verifyCodes(dir)).toEqual({ code: 4, codes: ['SNAPSHOT_EXPIRED'] });
  });

  test('an expired snapshot superseded by a later one is history: verify says so without failing', () => {
    const dir = demo();
    expect(promote(dir, ['--at', '2026-01-01T00:00:00Z', '--expires-at', '2026-01-02T00:00:00Z']).code).toBe(0);
    expect(verifyCodes(dir).code).toBe(4);
    expect(promote(dir, ['--at', '2026-01-03T00:00:00Z']).code).toBe(0);
    expect(verifyCodes(dir)).toEqual({ code: 0, codes: [] });
    const info = (runJson(dir, ['snapshot', 'verify', '--all']).doc.findings as Array<{ code: string; severity: string }>).filter(
      (f) => f.code === 'SNAPSHOT_EXPIRED',
    );
    expect(info.map((f) => f.severity)).toEqual(['info']);
  });

  test('an expiry that is not after the promotion is refused before anything is written', () => {
    const dir = demo();
    for (const args of [
      ['--at', '2026-01-02T00:00:00Z', '--expires-at', '2026-01-01T00:00:00Z'],
      ['--expires-at', '2020-01-01T00:00:00Z'],
    ]) {
      const r = promote(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(existsSync(join(dir, `${DR}/000001.json`)), args.join(' ')).toBe(false);
    }
  });

  test('a missing object that git still holds is fine; one git lacks too → OBJECT_MISSING', () => {
    const dir = twoPromotions();
    rmSync(join(dir, '.artifacts/objects'), { recursive: true });
    expect(verifyCodes(dir)).toEqual({ code: 0, codes: [] });
    const snap = join(dir, `${DR}/000002.json`);
    expect(readFileSync(snap, 'utf8')).toContain('git_blob');
    // A repository whose history lacks the blobs: a fresh repo with only the snapshots.
    const bare = testdir();
    git(bare, 'init', '-q');
    mkdirSync(join(bare, '.artifacts'), { recursive: true });
    spawnSync('cp', ['-r', join(dir, '.artifacts/snapshots'), join(dir, '.artifacts/keys'), join(bare, '.artifacts/')]);
    expect(verifyCodes(bare)).toEqual({ code: 4, codes: ['OBJECT_MISSING'] });
  });

  test('promote refuses to extend a tampered chain', () => {
    const dir = twoPromotions();
    rmSync(join(dir, `${DR}/000001.sig`));
    const r = runJson(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key]);
    expect(r.code).toBe(4);
    expect(existsSync(join(dir, `${DR}/000003.json`))).toBe(false);
  });
});

describe('rollback', () => {
  function tree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.name === '.git' || p === '.artifacts/cache') continue;
        if (e.isDirectory()) walk(p);
        else out[p] = readFileSync(join(dir, p)).toString('base64');
      }
    };
    walk('');
    return out;
  }

  test('restores byte-identical files from the object store, and from git with the store deleted', () => {
    for (const storeDeleted of [false, true]) {
      const dir = twoPromotions();
      const v4 = JSON.parse(read(dir, `${DR}/000001.json`)) as { artifacts: Array<{ path: string; content_address: string }> };
      if (storeDeleted) rmSync(join(dir, '.artifacts/objects'), { recursive: true });
      const r = runJson(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', 'previous', '--key', key]);
      expect(r.code, JSON.stringify(r.doc)).toBe(0);
      const steps = r.doc.steps as Array<{ path: string; source: string; action: string }>;
      expect(steps.find((s) => s.path === RISK)).toMatchObject({ action: 'write', source: storeDeleted ? 'git' : 'objects' });
      for (const a of v4.artifacts) {
        const sha = spawnSync('sha256sum', [join(dir, a.path)], { encoding: 'utf8' }).stdout.split(' ')[0];
        expect(`sha256:${sha}`).toBe(a.content_address);
      }
      const s3 = JSON.parse(read(dir, `${DR}/000003.json`)) as Record<string, unknown>;
      expect(s3).toMatchObject({ seq: 3, action: 'rollback', rollback_of: (r.doc.target as { id: string }).id });
      expect(verifyCodes(dir)).toEqual({ code: 0, codes: [] });
      expect(run(dir, ['index', 'verify']).code).toBe(0);
      expect(run(dir, ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review']).code).toBe(0);
    }
  });

  test('the rehearsal changes nothing; a failing rehearsal predicts a failing rollback', () => {
    const dir = twoPromotions();
    const before = tree(dir);
    const dry = runJson(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(tree(dir)).toEqual(before);
    // Make it impossible: no object store, and git history without the old blob.
    rmSync(join(dir, '.artifacts/objects'), { recursive: true });
    rmSync(join(dir, '.git'), { recursive: true, force: true });
    git(dir, 'init', '-q');
    const broken = tree(dir);
    const dry2 = runJson(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key, '--dry-run']);
    expect(dry2.code).toBe(4);
    expect((dry2.doc.findings as Array<{ code: string }>).map((f) => f.code)).toContain('OBJECT_MISSING');
    const real = runJson(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key]);
    expect(real.code).toBe(4);
    expect(tree(dir)).toEqual(broken);
  });

  test('a directory swapped for a symlink between the checks and the write is caught before the rename', async () => {
    const dir = twoPromotions();
    const outside = testdir();
    const { runAsync } = await import('../helpers.js');
    // Pause the rollback after its temp file is written and synced, then swap the directory.
    const child = runAsync(dir, ['--json', 'rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key], {
      ARTIFACTS_FAULT_INJECT: 'temp-fsync:1:stop',
    });
    // Wait until the process has stopped itself (state T in /proc/<pid>/stat).
    for (let i = 0; i < 400; i++) {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    renameSync(join(dir, 'docs/risks'), join(dir, 'docs/risks-moved'));
    spawnSync('ln', ['-s', outside, join(dir, 'docs/risks')]);
    process.kill(child.pid!, 'SIGCONT');
    const r = await child.promise;
    expect(r.code, r.stderr).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('PATH_UNSAFE');
    expect(readdirSync(outside)).toEqual([]);
  });

  test('a rollback target path through a symlink is refused', () => {
    const dir = twoPromotions();
    const outside = testdir();
    rmSync(join(dir, 'docs/risks'), { recursive: true });
    spawnSync('ln', ['-s', outside, join(dir, 'docs/risks')]);
    const r = runJson(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key, '--dry-run']);
    expect(r.code).toBe(2);
    expect((r.doc.findings as Array<{ code: string }>).map((f) => f.code)).toContain('PATH_UNSAFE');
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('retention', () => {
  test('prune --dry-run explains each decision; gc deletes only unreferenced objects; held snapshots keep theirs', () => {
    const dir = twoPromotions();
    // Empty policy is refused.
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\nrouting: artifact_routing.mdc\n');
    expect(runJson(dir, ['snapshot', 'prune', '--dry-run']).code).toBe(2);
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\nretention:\n  "*": { keep_last: 1 }\n');
    const dry = runJson(dir, ['snapshot', 'prune', '--dry-run']);
    expect(dry.code).toBe(0);
    const decisions = dry.doc.decisions as Array<{ seq: number; decision: string; reason: string }>;
    expect(decisions.map((d) => [d.seq, d.decision])).toEqual([
      [1, 'release'],
      [2, 'keep'],
    ]);
    expect(decisions[0]!.reason).toContain('not among the last 1');
    expect(decisions[1]!.reason).toContain('latest');
    const objectsBefore = spawnSync('find', [join(dir, '.artifacts/objects'), '-type', 'f'], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n').length;
    expect(objectsBefore).toBe(3); // plan, risk v4, risk v5

    // Held: snapshot 1 keeps its objects through prune and gc.
    expect(run(dir, ['snapshot', 'hold', 'fwk-001/design-review/1', '--reason', 'audit']).code).toBe(0);
    expect(run(dir, ['snapshot', 'prune']).code).toBe(0);
    expect((runJson(dir, ['gc']).doc.deleted as string[]).length).toBe(0);
    expect(verifyCodes(dir).code).toBe(0);

    // Unheld: prune releases it, gc deletes only the risk v4 object; manifests stay.
    expect(run(dir, ['snapshot', 'unhold', 'fwk-001/design-review/1']).code).toBe(0);
    expect(run(dir, ['snapshot', 'prune']).code).toBe(0);
    const s1 = JSON.parse(read(dir, `${DR}/000001.json`)) as { artifacts: Array<{ slot: string; content_address: string }> };
    const risk4 = s1.artifacts.find((a) => a.slot === 'risks')!.content_address;
    const gcDry = runJson(dir, ['gc', '--dry-run']);
    expect(gcDry.doc.deleted).toEqual([risk4]);
    const gc = runJson(dir, ['gc']);
    expect(gc.doc.deleted).toEqual([risk4]);
    expect(existsSync(join(dir, `${DR}/000001.json`))).toBe(true);
    expect(existsSync(join(dir, `${DR}/000001.sig`))).toBe(true);
    expect(verifyCodes(dir)).toEqual({ code: 0, codes: [] });
  });
});

describe('SIGKILL during promote and rollback', () => {
  const POINTS = ['journal-append', 'journal-fsync', 'temp-write', 'temp-fsync', 'rename', 'dir-fsync', 'journal-commit', 'before-release'];

  /** What `snapshot verify --all` reports (exit code, snapshots in all chains), through the
   * library: these loops are about the write protocol, not the command line (and so is the
   * exit status of `index verify`, indexVerifyExit). Only the killed command is a process. */
  async function chainState(dir: string): Promise<{ code: number; seqs: number }> {
    const reports = await verifySnapshots(await openRepo({ cwd: dir }), { now: new Date() });
    return { code: exitCodeFor(reports.flatMap((r) => r.findings)), seqs: reports.reduce((n, r) => n + r.snapshots.length, 0) };
  }

  // One test per protocol point: each stays short, so the test worker is never blocked long.
  for (const point of ['temp-write', 'temp-fsync', 'rename', 'dir-fsync']) {
    test(`promote killed at each ${point}: no new snapshot or a complete, signed, verifiable one`, async () => {
      const dir = demo();
      let kills = 0;
      for (let n = 1; n < 20; n++) {
        rmSync(join(dir, '.artifacts/objects'), { recursive: true, force: true });
        const before = (await chainState(dir)).seqs;
        const r = promote(dir, [], { ARTIFACTS_FAULT_INJECT: `${point}:${n}` });
        const after = await chainState(dir);
        expect(after.code, `${point}:${n}`).toBe(0);
        expect([before, before + 1]).toContain(after.seqs);
        expect(await indexVerifyExit(dir), `${point}:${n}`).toBe(0);
        if (r.signal !== 'SIGKILL') {
          expect(r.code).toBe(0);
          expect(after.seqs).toBe(before + 1);
          break;
        }
        kills++;
      }
      expect(kills).toBe(6); // two objects, the attestation, the signature, the snapshot, the high-water mark
      expect(promote(dir).code).toBe(0);
      expect((await chainState(dir)).code).toBe(0);
    });
  }

  let template: string | undefined;
  const rollbackTemplate = () => (template ??= twoPromotions());
  for (const point of POINTS) {
    test(`rollback killed at each ${point}: no new snapshot or a complete one, a consistent index, a rerun completes`, async () => {
      const tpl = rollbackTemplate();
      const target = JSON.parse(read(tpl, `${DR}/000001.json`)) as { artifacts: Array<{ path: string; content_address: string }> };
      let kills = 0;
      for (let n = 1; n < 20; n++) {
        const dir = testdir();
        spawnSync('cp', ['-a', `${tpl}/.`, dir]);
        const r = run(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key], {
          ARTIFACTS_FAULT_INJECT: `${point}:${n}`,
        });
        const st = await chainState(dir);
        expect(st.code, `${point}:${n}`).toBe(0);
        expect([2, 3]).toContain(st.seqs);
        expect(await indexVerifyExit(dir), `${point}:${n}`).not.toBe(4);
        if (r.signal !== 'SIGKILL') {
          expect(r.code).toBe(0);
          break;
        }
        kills++;
        if (st.seqs === 2) {
          // Not committed: a rerun (through the library, as the command runs it) finishes the job.
          const again = await rollback(await openRepo({ cwd: dir }), {
            framework: 'fwk-001',
            stage: 'design-review',
            to: '1',
            signer: await loadSigner(key),
            now: new Date(),
          });
          expect(exitCodeFor(again.findings), JSON.stringify(again.findings)).toBe(0);
        }
        expect(await chainState(dir)).toEqual({ code: 0, seqs: 3 });
        expect(await indexVerifyExit(dir), `${point}:${n}`).toBe(0);
        for (const a of target.artifacts) {
          expect(`sha256:${spawnSync('sha256sum', [join(dir, a.path)], { encoding: 'utf8' }).stdout.split(' ')[0]}`).toBe(
            a.content_address,
          );
        }
      }
      expect(kills).toBeGreaterThanOrEqual(1);
    });
  }
});

describe('snapshot queries', () => {
  test('list, show, diff, status (drift exit 1) and history', () => {
    const dir = twoPromotions();
    const list = runJson(dir, ['snapshot', 'list']).doc.snapshots as Array<{ seq: number; action: string }>;
    expect(list.map((s) => [s.seq, s.action])).toEqual([
      [1, 'promote'],
      [2, 'promote'],
    ]);
    const show = runJson(dir, ['snapshot', 'show', '2', '--framework', 'fwk-001', '--stage', 'design-review']);
    expect((show.doc.snapshot as { parent: string }).parent).toBe(runJson(dir, ['snapshot', 'show', 'fwk-001/design-review/1']).doc.id);
    const diff = runJson(dir, ['snapshot', 'diff', 'fwk-001/design-review/1', 'fwk-001/design-review/2']).doc as {
      changed: Array<{ from: { version: string }; to: { version: string } }>;
      added: unknown[];
      removed: unknown[];
    };
    expect(diff.changed.map((c) => [c.from.version, c.to.version])).toEqual([['4', '5']]);
    expect([diff.added, diff.removed]).toEqual([[], []]);
    expect(run(dir, ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review']).code).toBe(0);
    writeFileSync(join(dir, RISK), 'changed\n');
    const st = runJson(dir, ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review']);
    expect(st.code).toBe(1);
    expect((st.doc.findings as Array<{ code: string; path: string; severity: string }>).filter((f) => f.severity === 'error')).toEqual([
      expect.objectContaining({ code: 'SNAPSHOT_DRIFT', path: RISK }),
    ]);
    const h = runJson(dir, ['history', 'risk-register']).doc as {
      versions: Array<{ version: string }>;
      snapshots: Array<{ seq: number; version: string }>;
    };
    expect(h.versions.map((v) => v.version)).toEqual(['5']);
    expect(h.snapshots.map((s) => [s.seq, s.version])).toEqual([
      [1, '4'],
      [2, '5'],
    ]);
  });
});
