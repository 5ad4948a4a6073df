// Rollout channels against a hostile repository or a careless operator: each case was found
// by an outside review, and each test fails on the build before its fix.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  channelCreate,
  resolveUnits,
  rolloutAdvance,
  rolloutPause,
  rolloutStart,
  rolloutAbort,
} from '../../src/core/channels/operations.js';
import { listChannelRecords, writeSignedChannelRecord, type ChannelRecord } from '../../src/core/channels/records.js';
import { openRepo, type Repo } from '../../src/core/repo.js';
import { requireTrust } from '../../src/core/trust/trust-store.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { commitAt, git, run, testdir } from '../helpers.js';
import { generateSigners, twoPromotionsCopy } from '../support/two-promotions.js';

let keyDir = '';
let signer: Signer;
beforeAll(async () => {
  const k = await generateSigners(['release']);
  keyDir = k.keyDir;
  signer = k.signers.get('release')!;
}, 60_000);

const t0 = new Date('2026-03-03T10:00:00Z');
const env = () => ({ ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') });

/** Channel `prod` on snapshot 1, a canary to snapshot 2 at 5 %. */
async function canary(healthStage?: string): Promise<{ repo: Repo; first: string; second: string }> {
  const dir = twoPromotionsCopy(keyDir);
  if (healthStage) {
    const contract = join(dir, 'frameworks/fwk-001.yaml');
    writeFileSync(
      contract,
      `${readFileSync(contract, 'utf8').trimEnd()}\n  ${healthStage}:\n    inputs:\n      - slot: evidence\n        kind: scorecard\n        id: canary-health\n`,
    );
  }
  const repo = await openRepo({ cwd: dir });
  await channelCreate(repo, {
    name: 'prod',
    framework: 'fwk-001',
    stage: 'design-review',
    signer,
    now: t0,
    ...(healthStage ? { healthStage } : {}),
  });
  const first = (await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/1', signer, now: t0 })).record.stable!;
  const second = (await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '5,50,100', signer, now: t0 }))
    .record.rollout!.target;
  return { repo, first, second };
}

/** Sign `change(head)` as the next record: what a careless or compromised signer could do. */
async function resign(repo: Repo, change: (r: ChannelRecord) => Record<string, unknown>): Promise<void> {
  const stored = await listChannelRecords(repo, 'prod');
  const head = stored.at(-1)!;
  const next = { ...change({ ...head.record!, seq: head.seq + 1, parent: head.id, action: 'advance' }) } as unknown as ChannelRecord;
  await writeSignedChannelRecord(repo, next, signer, (await requireTrust(repo)).trusted.get(signer.keyid)!);
}

const EVIDENCE = 'docs/scorecards/fwk-001/canary-health.md';
function evidence(dir: string, version: string, rollout: string, step: number): void {
  writeFileSync(
    join(dir, EVIDENCE),
    `---\nid: canary-health\nversion: "${version}"\nstatus: approved\nframework: fwk-001\nkind: scorecard\nrollout: "${rollout}"\nstep: ${step}\n---\nok\n`,
  );
  const r = run(dir, ['index', 'update', EVIDENCE]);
  if (r.code !== 0) expect(run(dir, ['index', 'add', EVIDENCE]).code).toBe(0);
}
const codes = (e: unknown) => (e as { findings?: Array<{ code: string }> }).findings?.map((f) => f.code);

describe('health evidence', () => {
  test('an untracked sidecar that overrides committed evidence is not committed evidence', async () => {
    const { repo, second } = await canary('health');
    const dir = repo.root;
    commitAt(dir, '2026-03-03T11:00:00Z', 'records');
    evidence(dir, '1', `sha256:${'0'.repeat(64)}`, 0);
    commitAt(dir, '2026-03-03T12:00:00Z', 'evidence of another rollout');
    writeFileSync(
      join(dir, `${EVIDENCE}.artifact.yaml`),
      `id: canary-health\nversion: "1"\nstatus: approved\nframework: fwk-001\nkind: scorecard\nrollout: "${second}"\nstep: 0\n`,
    );
    const e = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ROLLOUT_HEALTH_FAILED' });
    expect(codes(e)).toContain('ROLLOUT_EVIDENCE_STALE');
  });

  test('evidence a record accepted does not pass again in a restarted rollout, even after a mode-only commit', async () => {
    const { repo, second } = await canary('health');
    const dir = repo.root;
    commitAt(dir, '2026-03-03T11:00:00Z', 'records');
    evidence(dir, '1', second, 0);
    commitAt(dir, '2026-03-03T12:00:00Z', 'evidence');
    await rolloutAdvance(repo, { channel: 'prod', signer, now: t0 });
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '5,100', signer, now: t0 });
    commitAt(dir, '2026-03-03T13:00:00Z', 'restart');
    chmodSync(join(dir, EVIDENCE), 0o755);
    commitAt(dir, '2026-03-03T14:00:00Z', 'mode only');
    const e = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0 }).catch((x: unknown) => x);
    expect(codes(e)).toEqual(['ROLLOUT_EVIDENCE_STALE']);
  });

  test('a mode-only commit does not make evidence committed before the record new', async () => {
    const { repo, second } = await canary('health');
    const dir = repo.root;
    evidence(dir, '1', second, 0);
    commitAt(dir, '2026-03-03T11:00:00Z', 'records and evidence together');
    chmodSync(join(dir, EVIDENCE), 0o755);
    commitAt(dir, '2026-03-03T12:00:00Z', 'mode only');
    const e = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0 }).catch((x: unknown) => x);
    expect(codes(e)).toEqual(['ROLLOUT_EVIDENCE_STALE']);
  });
});

describe('the ladder', () => {
  test('channel:OTHER refuses another stage, and a snapshot whose chain does not verify', async () => {
    const { repo } = await canary();
    const card = join(repo.root, 'docs/scorecards/fwk-001/scorecard-q1.md');
    writeFileSync(card, readFileSync(card, 'utf8').replace('status: draft', 'status: review'));
    expect(run(repo.root, ['index', 'update', 'docs/scorecards/fwk-001/scorecard-q1.md']).code).toBe(0);
    commitAt(repo.root, '2026-03-03T08:00:00Z', 'scorecard in review');
    const promoted = run(repo.root, ['promote', '--framework', 'fwk-001', '--stage', 'release', '--at', '2026-03-03T09:00:00Z'], env());
    expect(promoted.code, promoted.stderr).toBe(0);
    await channelCreate(repo, { name: 'rel', framework: 'fwk-001', stage: 'release', signer, now: t0 });
    await rolloutStart(repo, { channel: 'rel', to: 'fwk-001/release/1', signer, now: t0 });
    await channelCreate(repo, { name: 'next', framework: 'fwk-001', stage: 'design-review', signer, now: t0 });
    await expect(rolloutStart(repo, { channel: 'next', to: 'channel:rel', signer, now: t0 })).rejects.toMatchObject({ code: 'USAGE' });
    // Same stage, but the chain of the snapshot it runs no longer verifies.
    await channelCreate(repo, { name: 'staging', framework: 'fwk-001', stage: 'design-review', signer, now: t0 });
    await rolloutStart(repo, { channel: 'staging', to: 'fwk-001/design-review/1', signer, now: t0 });
    const sigs = join(repo.root, '.artifacts/snapshots/fwk-001/design-review');
    writeFileSync(join(sigs, '000001.sig'), readFileSync(join(sigs, '000002.sig')));
    const n = (await listChannelRecords(repo, 'next')).length;
    await expect(rolloutStart(repo, { channel: 'next', to: 'channel:staging', signer, now: t0 })).rejects.toMatchObject({ exitCode: 4 });
    expect((await listChannelRecords(repo, 'next')).length).toBe(n);
  });
});

describe("records nobody signed, or signed outside the writer's limits", () => {
  test('a lone surrogate or very deep nesting in an unsigned record is exit 4, never an internal error', async () => {
    const { repo } = await canary();
    const f = join(repo.root, '.artifacts/channels/prod/000003.json');
    const good = readFileSync(f, 'utf8');
    for (const bad of [
      good.replace('"created_at":"', '"created_at":"\\ud800'),
      good.replace('{"action"', `{"x":${'['.repeat(200_000)}${']'.repeat(200_000)},"action"`),
    ]) {
      writeFileSync(f, bad);
      for (const args of [
        ['resolve', '--channel', 'prod', '--unit', 'u'],
        ['channel', 'verify'],
        ['snapshot', 'verify', '--all'],
        ['channel', 'list'],
      ]) {
        const r = run(repo.root, ['--json', ...args]);
        expect([args.join(' '), r.code]).toEqual([args.join(' '), 4]);
      }
    }
  });

  test('signed records the writer never makes are CHANNEL_INVALID', async () => {
    const cases: Array<[string, (r: ChannelRecord) => Record<string, unknown>]> = [
      ['a huge bake', (r) => ({ ...r, rollout: { ...r.rollout!, bake: [9007199254740991, 0, 0] } })],
      ['a bake per step missing', (r) => ({ ...r, rollout: { ...r.rollout!, bake: [60] } })],
      ['a far-future start', (r) => ({ ...r, rollout: { ...r.rollout!, step_started_at: '+275760-09-13T00:00:00.000Z' } })],
      ['a start that is no time', (r) => ({ ...r, rollout: { ...r.rollout!, step_started_at: '1' } })],
      ['a canary without steps', (r) => ({ ...r, rollout: { ...r.rollout!, steps: [], step_index: 0 } })],
      ['a direct rollout in progress', (r) => ({ ...r, rollout: { ...r.rollout!, strategy: 'direct', steps: [] } })],
      ['blue/green with nothing live', (r) => ({ ...r, stable: null, rollout: { ...r.rollout!, strategy: 'blue-green', steps: [] } })],
      ['an unknown field', (r) => ({ ...r, note: 'x' })],
      ['created_at that is no time', (r) => ({ ...r, created_at: 'not a time' })],
      ['created_at before its parent', (r) => ({ ...r, created_at: '2020-01-01T00:00:00Z' })],
      ['a framework that is a path', (r) => ({ ...r, framework: '../../x' })],
    ];
    for (const [name, change] of cases) {
      const { repo } = await canary();
      await resign(repo, change);
      await expect(resolveUnits(repo, 'prod', ['u']), name).rejects.toMatchObject({ code: 'CHANNEL_INVALID', exitCode: 4 });
      const st = run(repo.root, ['--json', 'rollout', 'status', '--channel', 'prod']);
      expect([name, st.code]).toEqual([name, 4]);
    }
  });

  test('channel list shows no state from a record that does not verify (exit 4)', async () => {
    const { repo } = await canary();
    const dir = join(repo.root, '.artifacts/channels/prod');
    const head = JSON.parse(readFileSync(join(dir, '000003.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, '000004.json'), JSON.stringify({ ...head, seq: 4, stable: `sha256:${'e'.repeat(64)}` }));
    const r = run(repo.root, ['--json', 'channel', 'list']);
    expect(r.code).toBe(4);
    expect(r.stdout).not.toContain('e'.repeat(64));
  });

  test('a record deleted from the working tree but present in git history: exit 4', async () => {
    const { repo } = await canary();
    commitAt(repo.root, '2026-03-03T11:00:00Z', 'records');
    rmSync(join(repo.root, '.artifacts/channels/prod/000003.json'));
    rmSync(join(repo.root, '.artifacts/channels/prod/000003.sig'));
    await expect(resolveUnits(repo, 'prod', ['u'])).rejects.toMatchObject({ code: 'CHANNEL_INVALID' });
    expect(run(repo.root, ['channel', 'verify']).code).toBe(4);
    expect(run(repo.root, ['snapshot', 'verify', '--all']).code).toBe(4);
    // Even when the whole channel is gone.
    rmSync(join(repo.root, '.artifacts/channels/prod'), { recursive: true });
    expect(run(repo.root, ['channel', 'verify']).code).toBe(4);
  });

  test('a channel directory (or the channels directory) that is a file or a FIFO: exit 4, never "no channel"', async () => {
    for (const what of ['file', 'fifo', 'channels-file']) {
      const { repo } = await canary();
      const target = what === 'channels-file' ? join(repo.root, '.artifacts/channels') : join(repo.root, '.artifacts/channels/prod');
      rmSync(target, { recursive: true });
      if (what === 'fifo') execFileSync('mkfifo', [target]);
      else writeFileSync(target, 'x');
      for (const args of [
        ['resolve', '--channel', 'prod', '--unit', 'u'],
        ['snapshot', 'verify', '--all'],
        ['channel', 'list'],
      ]) {
        const r = run(repo.root, ['--json', ...args]);
        expect([what, args.join(' '), r.code]).toEqual([what, args.join(' '), 4]);
      }
    }
  });
});

describe('cohorts', () => {
  test("a file planted at the cohort's name is replaced before the record is signed", async () => {
    const { repo } = await canary();
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    const d = testdir();
    const inc = join(d, 'inc.txt');
    writeFileSync(inc, 'tenant-1\n');
    const digest = execFileSync('sha256sum', [inc], { encoding: 'utf8' }).split(' ')[0]!;
    const planted = join(repo.root, '.artifacts/cohorts', digest);
    mkdirSync(join(repo.root, '.artifacts/cohorts'), { recursive: true });
    writeFileSync(planted, 'evil\n');
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '1,100', include: inc, signer, now: t0 });
    expect(readFileSync(planted, 'utf8')).toBe('tenant-1\n');
    expect((await resolveUnits(repo, 'prod', ['tenant-1']))[0]!.variant).toBe('target');
  });

  test('a cohort is append-only: validate --base refuses a change that deletes one', async () => {
    const { repo } = await canary();
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    const inc = join(testdir(), 'inc.txt');
    writeFileSync(inc, 'tenant-1\n');
    const r = await rolloutStart(repo, {
      channel: 'prod',
      to: 'latest',
      strategy: 'canary',
      steps: '1,100',
      include: inc,
      signer,
      now: t0,
    });
    commitAt(repo.root, '2026-03-03T11:00:00Z', 'cohort');
    rmSync(join(repo.root, '.artifacts/cohorts', r.record.rollout!.include!.slice(7)));
    const v = run(repo.root, ['--json', 'validate', '--base', 'HEAD']);
    expect(v.code).toBe(4);
    expect(v.stdout).toContain('RECORD_NOT_APPEND_ONLY');
  });

  test('a byte-order mark is not part of the first unit', async () => {
    const { repo } = await canary();
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    const exc = join(testdir(), 'exc.txt');
    writeFileSync(exc, '\uFEFFtenant-1\r\ntenant-2\r\n');
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '100', exclude: exc, signer, now: t0 });
    const r = await resolveUnits(repo, 'prod', ['tenant-1', 'tenant-2', 'tenant-3']);
    expect(r.map((x) => x.variant)).toEqual(['stable', 'stable', 'target']);
  });
});

describe('the command line', () => {
  test('a unit cannot start a CI workflow command in human output', async () => {
    const { repo } = await canary();
    const f = join(testdir(), 'units.txt');
    writeFileSync(f, 'a\n::error::pwn\n');
    const r = run(repo.root, ['resolve', '--channel', 'prod', '--units', f]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').some((l) => l.startsWith('::'))).toBe(false);
  });

  test('odd --at times, control or bidi characters in --reason, names that are paths, unknown stages: usage errors', async () => {
    const { repo } = await canary();
    const e = env();
    for (const at of ['2026-02-30T00:00:00Z', '2026-03-03T24:00:00Z', '2026-03-03T10:60:00Z'])
      expect([at, run(repo.root, ['resolve', '--channel', 'prod', '--stable', '--at', at]).code]).toEqual([at, 2]);
    for (const reason of ['a\nb', 'a\tb', 'a\u202eb'])
      expect([reason, run(repo.root, ['rollout', 'promote', '--channel', 'prod', '--full', '--reason', reason], e).code]).toEqual([
        reason,
        2,
      ]);
    for (const args of [
      ['rollout', 'status', '--channel', '../x'],
      ['channel', 'verify', '../x'],
    ])
      expect([args.join(' '), run(repo.root, args).code]).toEqual([args.join(' '), 2]);
    for (const args of [
      ['--framework', 'nope', '--stage', 'design-review'],
      ['--framework', 'fwk-001', '--stage', 'nope'],
      ['--framework', 'fwk-001', '--stage', 'design-review', '--health-stage', 'nosuch'],
    ])
      expect([args.join(' '), run(repo.root, ['channel', 'create', 'x', ...args], e).code]).toEqual([args.join(' '), 2]);
  });

  test('a blue/green rollout does not pause; status shows all units on its target once switched', async () => {
    const { repo, second } = await canary();
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'blue-green', signer, now: t0 });
    await expect(rolloutPause(repo, { channel: 'prod', signer, now: t0 })).rejects.toMatchObject({ code: 'USAGE' });
    expect(run(repo.root, ['rollout', 'switch', '--channel', 'prod'], env()).code).toBe(0);
    const st = JSON.parse(run(repo.root, ['--json', 'rollout', 'status', '--channel', 'prod']).stdout) as {
      fraction: number;
      stable: string;
    };
    expect(st).toMatchObject({ fraction: 1, stable: second });
  });

  test('a clock behind the channel writes nothing', async () => {
    const { repo } = await canary();
    const n = (await listChannelRecords(repo, 'prod')).length;
    await expect(rolloutAdvance(repo, { channel: 'prod', signer, now: new Date('2020-01-01T00:00:00Z') })).rejects.toMatchObject({
      code: 'USAGE',
    });
    expect((await listChannelRecords(repo, 'prod')).length).toBe(n);
    git(repo.root, 'status');
  });
});
