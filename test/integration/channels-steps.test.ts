// Rollout channels (SPEC §13), the parts that make a rollout safe to run: bake times,
// health evidence bound to the rollout and step, --on-fail, the emergency promote, seeds
// and cohorts, answers as of a record, and --dry-run for every action.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  channelCreate,
  channelResolver,
  resolveUnits,
  rolloutAbort,
  rolloutAdvance,
  rolloutPromote,
  rolloutStart,
  rolloutSwitch,
} from '../../src/core/channels/operations.js';
import { bucketOf } from '../../src/core/channels/bucket.js';
import { listChannelRecords } from '../../src/core/channels/records.js';
import { openRepo, type Repo } from '../../src/core/repo.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { commitAt, run, testdir } from '../helpers.js';
import { generateSigners, twoPromotionsCopy } from '../support/two-promotions.js';

let keyDir = '';
let signer: Signer;

beforeAll(async () => {
  const k = await generateSigners(['release']);
  keyDir = k.keyDir;
  signer = k.signers.get('release')!;
}, 60_000);

const twoPromotions = () => twoPromotionsCopy(keyDir);

const t0 = new Date('2026-03-03T10:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const units = Array.from({ length: 2000 }, (_, i) => `tenant-${i}`);

/** A channel `prod` on snapshot 1 with `options` for the canary to snapshot 2. */
async function canary(
  options: Partial<Parameters<typeof rolloutStart>[1]> = {},
  opts: { healthStage?: string } = {},
): Promise<{ repo: Repo; first: string; second: string }> {
  const repo = await openRepo({ cwd: twoPromotions() });
  await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer, now: t0, ...opts });
  const first = (await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/1', signer, now: t0 })).record.stable!;
  const second = (
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '5,25,50,100', signer, now: t0, ...options })
  ).record.rollout!.target;
  return { repo, first, second };
}

describe('bake times', () => {
  test('an advance before the step has baked is ROLLOUT_BAKE_PENDING and writes nothing; after it, the next step bakes anew', async () => {
    const { repo } = await canary({ steps: '5@1h,25@30m,50,100' });
    const head = async () => (await listChannelRecords(repo, 'prod')).at(-1)!.record!;
    expect((await head()).rollout!.bake).toEqual([3600, 1800, 0, 0]);
    const n = (await listChannelRecords(repo, 'prod')).length;
    for (const s of [0, 60, 3599]) {
      await expect(rolloutAdvance(repo, { channel: 'prod', signer, now: later(s) })).rejects.toMatchObject({
        code: 'ROLLOUT_BAKE_PENDING',
        exitCode: 1,
      });
    }
    expect((await listChannelRecords(repo, 'prod')).length).toBe(n);
    await rolloutAdvance(repo, { channel: 'prod', signer, now: later(3600) });
    expect((await head()).rollout).toMatchObject({ step_index: 1, step_started_at: '2026-03-03T11:00:00Z' });
    // The second step's bake counts from its own start, not from the rollout's.
    await expect(rolloutAdvance(repo, { channel: 'prod', signer, now: later(3600 + 1799) })).rejects.toMatchObject({
      code: 'ROLLOUT_BAKE_PENDING',
    });
    await rolloutAdvance(repo, { channel: 'prod', signer, now: later(3600 + 1800) });
    await rolloutAdvance(repo, { channel: 'prod', signer, now: later(3600 + 1800) }); // no bake on 50 %
    expect((await head()).rollout!.step_index).toBe(3);
  });

  test('steps must strictly increase and end at 100; a bake time must be a duration', async () => {
    for (const steps of ['5,5,100', '50,25,100', '5,25', '0,100', '5@,100', '5@1x,100', '5@1h1,100', '101', '5@400d,100']) {
      await expect(
        (async () => {
          const { repo } = await canary({ steps: '5,100' });
          await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
          await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps, signer, now: t0 });
        })(),
        steps,
      ).rejects.toMatchObject({ code: 'USAGE' });
    }
  });
});

describe('health evidence belongs to the rollout and the step', () => {
  const EVIDENCE = 'docs/scorecards/fwk-001/canary-health.md';
  function writeEvidence(dir: string, version: string, meta: Record<string, string | number>): void {
    const extra = Object.entries(meta)
      .map(([k, v]) => `${k}: ${typeof v === 'number' ? v : JSON.stringify(v)}\n`)
      .join('');
    writeFileSync(
      join(dir, EVIDENCE),
      `---\nid: canary-health\nversion: "${version}"\nstatus: approved\nframework: fwk-001\nkind: scorecard\n${extra}---\nError rate 0.1 %.\n`,
    );
    const r = run(dir, ['index', 'add', EVIDENCE]);
    expect(r.code, r.stderr).toBe(0);
  }

  async function watched(): Promise<{ repo: Repo; id: string }> {
    const dir = twoPromotions();
    const contract = join(dir, 'frameworks/fwk-001.yaml');
    writeFileSync(
      contract,
      `${readFileSync(contract, 'utf8').trimEnd()}\n  health:\n    inputs:\n      - slot: evidence\n        kind: scorecard\n        id: canary-health\n`,
    );
    const { repo, second } = await (async () => {
      const r = await openRepo({ cwd: dir });
      await channelCreate(r, { name: 'prod', framework: 'fwk-001', stage: 'design-review', healthStage: 'health', signer, now: t0 });
      await rolloutStart(r, { channel: 'prod', to: 'fwk-001/design-review/1', signer, now: t0 });
      const s = (await rolloutStart(r, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '10,100', signer, now: t0 })).record
        .rollout!.target;
      return { repo: r, second: s };
    })();
    return { repo, id: second };
  }

  const codes = (e: unknown) => (e as { findings: Array<{ code: string }> }).findings.map((f) => f.code);

  test('no evidence, evidence of another rollout, uncommitted or committed with the record: refused, nothing written; new evidence passes once', async () => {
    const { repo, id } = await watched();
    const dir = repo.root;
    const count = async () => (await listChannelRecords(repo, 'prod')).length;
    const n = await count();
    const advance = () => rolloutAdvance(repo, { channel: 'prod', signer, now: t0 }).catch((e: unknown) => e);

    const none = await advance();
    expect(none).toMatchObject({ code: 'ROLLOUT_HEALTH_FAILED', exitCode: 1 });
    expect(codes(none)).toContain('GATE_MISSING_INPUT');

    // Evidence committed together with the step's record is not "after" it.
    writeEvidence(dir, '1', { rollout: id, step: 0 });
    commitAt(dir, '2026-03-03T11:00:00Z', 'rollout and evidence at once');
    expect(codes(await advance())).toEqual(['ROLLOUT_EVIDENCE_STALE']);

    // Evidence of another rollout (committed after the record) does not count.
    writeEvidence(dir, '2', { rollout: `sha256:${'0'.repeat(64)}`, step: 0 });
    commitAt(dir, '2026-03-03T12:00:00Z', 'evidence of another rollout');
    expect(codes(await advance())).toEqual(['ROLLOUT_EVIDENCE_STALE']);

    // Evidence of another step does not count.
    writeEvidence(dir, '3', { rollout: id, step: 1 });
    commitAt(dir, '2026-03-03T12:30:00Z', 'evidence of another step');
    expect(codes(await advance())).toEqual(['ROLLOUT_EVIDENCE_STALE']);

    // The right evidence, not committed as it is on disk.
    writeEvidence(dir, '4', { rollout: id, step: 0 });
    expect(codes(await advance())).toEqual(['ROLLOUT_EVIDENCE_STALE']);
    expect(await count()).toBe(n);

    commitAt(dir, '2026-03-03T13:00:00Z', 'evidence of step 0');
    const moved = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0 });
    expect(moved.record.rollout!.step_index).toBe(1);
    expect(moved.record.evidence).toEqual([expect.objectContaining({ id: 'canary-health', version: '4', path: EVIDENCE })]);

    // The same evidence never passes again, at the next step.
    commitAt(dir, '2026-03-03T14:00:00Z', 'step 1 record');
    expect(codes(await advance())).toEqual(['ROLLOUT_EVIDENCE_STALE']);
    writeEvidence(dir, '5', { rollout: id, step: 1 });
    commitAt(dir, '2026-03-03T15:00:00Z', 'evidence of step 1');
    const done = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0 });
    expect(done.record).toMatchObject({ stable: id, rollout: null });
  });

  test('advance --on-fail abort and --on-fail pause write that signed record and still exit 1', async () => {
    for (const onFail of ['abort', 'pause'] as const) {
      const { repo } = await watched();
      const n = (await listChannelRecords(repo, 'prod')).length;
      const dry = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0, onFail, dryRun: true }).catch((e: unknown) => e);
      expect(dry).toMatchObject({ code: 'ROLLOUT_HEALTH_FAILED' });
      expect((await listChannelRecords(repo, 'prod')).length).toBe(n);
      const e = await rolloutAdvance(repo, { channel: 'prod', signer, now: t0, onFail }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'ROLLOUT_HEALTH_FAILED', exitCode: 1 });
      const records = await listChannelRecords(repo, 'prod');
      expect(records.length).toBe(n + 1);
      const head = records.at(-1)!.record!;
      expect(head.action).toBe(onFail);
      if (onFail === 'abort') expect(head.rollout).toBeNull();
      else expect(head.rollout!.paused).toBe(true);
    }
  });

  test('on the command line: the findings, exit 1, and rollout status names what evidence must say', async () => {
    const { repo, id } = await watched();
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    const r = run(repo.root, ['--json', 'rollout', 'advance', '--channel', 'prod', '--on-fail', 'pause'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ROLLOUT_HEALTH_FAILED');
    const st = run(repo.root, ['--json', 'rollout', 'status', '--channel', 'prod'], env);
    expect(JSON.parse(st.stdout)).toMatchObject({ evidence_for: { stage: 'health', rollout: id, step: 0 }, rollout: { paused: true } });
    expect(run(repo.root, ['rollout', 'advance', '--channel', 'prod', '--on-fail', 'retry'], env).code).toBe(2);
  });

  test('a blue/green switch needs evidence committed after the start (or the previous switch)', async () => {
    const { repo } = await watched();
    const dir = repo.root;
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    const bg = await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'blue-green', signer, now: t0 });
    commitAt(dir, '2026-03-03T11:00:00Z', 'blue/green start');
    await expect(rolloutSwitch(repo, { channel: 'prod', signer, now: t0 })).rejects.toMatchObject({ code: 'ROLLOUT_HEALTH_FAILED' });
    writeEvidence(dir, '1', { rollout: bg.record.rollout!.id, step: 0 });
    commitAt(dir, '2026-03-03T12:00:00Z', 'evidence');
    await rolloutSwitch(repo, { channel: 'prod', signer, now: t0 });
    // Flipping back needs evidence after the switch.
    commitAt(dir, '2026-03-03T13:00:00Z', 'switch');
    await expect(rolloutSwitch(repo, { channel: 'prod', signer, now: t0 })).rejects.toMatchObject({ code: 'ROLLOUT_HEALTH_FAILED' });
  });
});

describe('emergency promote', () => {
  test('promote --full completes at once, records the skipped steps, gate_bypassed and the reason; going back is direct', async () => {
    const { repo, first, second } = await canary({ steps: '5@1h,25,50,100' });
    await expect(rolloutPromote(repo, { channel: 'prod', reason: '  ', signer, now: t0 })).rejects.toMatchObject({ code: 'USAGE' });
    const p = await rolloutPromote(repo, { channel: 'prod', reason: 'incident 4711', signer, now: t0 });
    expect(p.record).toMatchObject({
      action: 'promote',
      stable: second,
      rollout: null,
      skipped_steps: [2500, 5000, 10000],
      gate_bypassed: true,
      reason: 'incident 4711',
    });
    expect((await resolveUnits(repo, 'prod', units)).every((x) => x.snapshot === second)).toBe(true);
    await rolloutStart(repo, { channel: 'prod', to: `sha256:${first.slice(7)}`, signer, now: t0 });
    expect((await resolveUnits(repo, 'prod', units)).every((x) => x.snapshot === first)).toBe(true);
  });

  test('on the command line it needs --full and a reason, and the signed record verifies', async () => {
    const { repo, second } = await canary();
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    expect(run(repo.root, ['rollout', 'promote', '--channel', 'prod', '--reason', 'x'], env).code).toBe(2);
    expect(run(repo.root, ['rollout', 'promote', '--channel', 'prod', '--full'], env).code).toBe(2);
    const r = run(repo.root, ['--json', 'rollout', 'promote', '--channel', 'prod', '--full', '--reason', 'hotfix'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(run(repo.root, ['channel', 'verify', 'prod']).code).toBe(0);
    const st = JSON.parse(run(repo.root, ['--json', 'rollout', 'status', '--channel', 'prod']).stdout) as {
      stable: string;
      history: Array<{ action: string; gate_bypassed?: boolean; reason?: string }>;
    };
    expect(st.stable).toBe(second);
    expect(st.history.at(-1)).toMatchObject({ action: 'promote', gate_bypassed: true, reason: 'hotfix' });
  });
});

describe('seed and cohorts', () => {
  test('--seed replaces the rollout id in the bucket rule, so a restarted rollout keeps its cohort', async () => {
    const { repo, second } = await canary({ seed: 'cohort-7' });
    const on = (await resolveUnits(repo, 'prod', units)).filter((x) => x.snapshot === second).map((x) => x.unit);
    expect(on).toEqual(units.filter((u) => bucketOf('prod', 'cohort-7', u) < 500));
    expect(on).not.toEqual(units.filter((u) => bucketOf('prod', second, u) < 500));
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '5,100', seed: 'cohort-7', signer, now: t0 });
    expect((await resolveUnits(repo, 'prod', units)).filter((x) => x.snapshot === second).map((x) => x.unit)).toEqual(on);
  });

  test('--include and --exclude apply before bucketing; their digests are in the record; a changed or missing cohort is exit 4', async () => {
    const d = testdir();
    const inc = units
      .slice(1500)
      .filter((u) => bucketOf('prod', 'x', u) >= 500)
      .slice(0, 7);
    writeFileSync(join(d, 'include.txt'), `${inc.join('\n')}\n`);
    const exc = units.slice(0, 1500);
    writeFileSync(join(d, 'exclude.txt'), `${exc.join('\r\n')}\r\n`);
    const { repo, second } = await canary({ include: join(d, 'include.txt'), exclude: join(d, 'exclude.txt'), seed: 'x' });
    const head = (await listChannelRecords(repo, 'prod')).at(-1)!.record!;
    expect(head.rollout!.include).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(head.rollout!.exclude).toMatch(/^sha256:[0-9a-f]{64}$/);
    const answers = await resolveUnits(repo, 'prod', units);
    for (const a of answers) {
      const expected = inc.includes(a.unit) || (!exc.includes(a.unit) && bucketOf('prod', 'x', a.unit) < 500);
      expect([a.unit, a.snapshot === second]).toEqual([a.unit, expected]);
    }
    // The cohort is stored in the repository under its digest, so a clone answers the same.
    const stored = join(repo.root, '.artifacts/cohorts', head.rollout!.include!.slice(7));
    writeFileSync(stored, 'tenant-1\n');
    await expect(resolveUnits(repo, 'prod', ['tenant-1'])).rejects.toMatchObject({ code: 'CHANNEL_INVALID', exitCode: 4 });
    expect(run(repo.root, ['channel', 'verify']).code).toBe(4);
  });

  test('a unit both included and excluded, an empty line, or cohorts on a non-canary rollout: a usage error', async () => {
    const d = testdir();
    writeFileSync(join(d, 'a.txt'), 'tenant-1\ntenant-2\n');
    writeFileSync(join(d, 'b.txt'), 'tenant-2\n');
    writeFileSync(join(d, 'blank.txt'), 'tenant-1\n\ntenant-2\n');
    const { repo } = await canary({ steps: '5,100' });
    await rolloutAbort(repo, { channel: 'prod', signer, now: t0 });
    const n = (await listChannelRecords(repo, 'prod')).length;
    const start = (o: Partial<Parameters<typeof rolloutStart>[1]>) =>
      rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', signer, now: t0, ...o });
    await expect(start({ include: join(d, 'a.txt'), exclude: join(d, 'b.txt') })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(start({ include: join(d, 'blank.txt') })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(start({ include: join(d, 'a.txt'), strategy: 'blue-green' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(start({ include: join(d, 'missing.txt') })).rejects.toMatchObject({ code: 'USAGE' });
    expect((await listChannelRecords(repo, 'prod')).length).toBe(n);
  });
});

describe('answers as of a record', () => {
  test('resolve --at SEQ and --at TIME answer from that record; every answer names it', async () => {
    const { repo, first, second } = await canary();
    await rolloutAdvance(repo, { channel: 'prod', signer, now: later(3600) });
    await rolloutAbort(repo, { channel: 'prod', signer, now: later(7200) });
    const at = async (a: number | Date) => (await channelResolver(repo, 'prod', { at: a })).answer('tenant-3');
    expect(await at(2)).toMatchObject({ snapshot: first, variant: 'stable', channel_record: { seq: 2 } });
    expect((await at(4)).channel_record.seq).toBe(4);
    expect((await at(later(3599))).channel_record.seq).toBe(3);
    expect((await at(later(3600))).channel_record.seq).toBe(4);
    expect((await at(later(9999))).channel_record.seq).toBe(5);
    await expect(at(9)).rejects.toMatchObject({ code: 'CHANNEL_NOT_FOUND' });
    await expect(at(new Date('2020-01-01T00:00:00Z'))).rejects.toMatchObject({ code: 'CHANNEL_NOT_FOUND' });
    // On the command line: the same answer at record 4, from any unit set.
    const cli = (args: string[]) => run(repo.root, ['--json', 'resolve', '--channel', 'prod', '--unit', 'tenant-3', ...args]);
    const r = JSON.parse(cli(['--at', '4']).stdout) as { answers: Array<{ channel_record: { seq: number }; snapshot: string }> };
    expect(r.answers[0]!.channel_record.seq).toBe(4);
    expect([first, second]).toContain(r.answers[0]!.snapshot);
    expect((JSON.parse(cli(['--at', '2026-03-03T11:00:00Z']).stdout) as typeof r).answers[0]!.channel_record.seq).toBe(4);
    for (const bad of ['0', 'yesterday', '2026-03-03']) expect([bad, cli(['--at', bad]).code]).toEqual([bad, 2]);
  });
});

describe('--dry-run', () => {
  test('every action prints the record it would write and writes nothing', async () => {
    const { repo } = await canary({ steps: '100' });
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    const n = (await listChannelRecords(repo, 'prod')).length;
    const actions = [
      ['rollout', 'advance', '--channel', 'prod'],
      ['rollout', 'pause', '--channel', 'prod'],
      ['rollout', 'abort', '--channel', 'prod'],
      ['rollout', 'complete', '--channel', 'prod'],
      ['rollout', 'promote', '--channel', 'prod', '--full', '--reason', 'r'],
      ['channel', 'create', 'other', '--framework', 'fwk-001', '--stage', 'design-review'],
    ];
    for (const a of actions) {
      const r = run(repo.root, ['--json', ...a, '--dry-run'], env);
      expect([a.join(' '), r.code]).toEqual([a.join(' '), 0]);
      expect(JSON.parse(r.stdout)).toMatchObject({ dry_run: true, record: { seq: a[0] === 'channel' ? 1 : n + 1 } });
    }
    expect((await listChannelRecords(repo, 'prod')).length).toBe(n);
    expect(run(repo.root, ['channel', 'list', '--json']).stdout).not.toContain('"other"');
  });
});

describe('channel names', () => {
  test('a name that differs from an existing channel only in case is CHANNEL_EXISTS', async () => {
    const { repo } = await canary();
    await expect(
      channelCreate(repo, { name: 'PROD', framework: 'fwk-001', stage: 'design-review', signer, now: t0 }),
    ).rejects.toMatchObject({
      code: 'CHANNEL_EXISTS',
    });
  });
});
