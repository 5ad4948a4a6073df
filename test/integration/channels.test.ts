// Rollout channels (SPEC §13), through the library: signed, hash-chained records; canary,
// blue/green and direct rollouts; the ladder by reference; resolve as a pure function of the
// verified records; tampering refused.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  channelCreate,
  channelResolver,
  resolveUnits,
  rolloutAbort,
  rolloutAdvance,
  rolloutComplete,
  rolloutStart,
  rolloutSwitch,
  rolloutPause,
  rolloutPromote,
} from '../../src/core/channels/operations.js';
import { encodeChannelRecord, listChannelRecords, verifyChannelRecords } from '../../src/core/channels/records.js';
import { writeSignedRecord } from '../../src/core/snapshots/snapshot-store.js';
import { requireTrust } from '../../src/core/trust/trust-store.js';
import { openRepo, type Repo } from '../../src/core/repo.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { BIN, commitAt, git, run, testdir } from '../helpers.js';
import { generateSigners, twoPromotionsCopy } from '../support/two-promotions.js';

let keyDir = '';
let signer: Signer;
let stranger: Signer;

beforeAll(async () => {
  const k = await generateSigners(['release', 'stranger']);
  keyDir = k.keyDir;
  signer = k.signers.get('release')!;
  stranger = k.signers.get('stranger')!;
}, 60_000);

/** The demo repository with `release` trusted and two promotions of design-review. */
const twoPromotions = () => twoPromotionsCopy(keyDir);

const now = new Date('2026-03-03T10:00:00Z');
const units = Array.from({ length: 2000 }, (_, i) => `tenant-${i}`);

async function setup(): Promise<{ repo: Repo; first: string; second: string }> {
  const repo = await openRepo({ cwd: twoPromotions() });
  await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer, now });
  const direct = await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/1', signer, now });
  const first = direct.record.stable!;
  const second = (await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '5,25,50,100', signer, now })).record
    .rollout!.target;
  return { repo, first, second };
}

describe('rollout channels', () => {
  test('canary: start, advance x3 to completion; every unit moves monotonically; resolve is pure', async () => {
    const { repo, first, second } = await setup();
    expect(first).not.toBe(second);
    let had = new Set<string>();
    for (const step of [0.05, 0.25, 0.5]) {
      const r = await resolveUnits(repo, 'prod', units);
      const on = new Set(r.filter((x) => x.snapshot === second).map((x) => x.unit));
      for (const u of had) expect(on.has(u)).toBe(true);
      expect(Math.abs(on.size / units.length - step)).toBeLessThan(0.03);
      expect(r.every((x) => x.snapshot === (on.has(x.unit) ? second : first))).toBe(true);
      // Pure: the same answer twice.
      expect(await resolveUnits(repo, 'prod', units)).toEqual(r);
      had = on;
      await rolloutAdvance(repo, { channel: 'prod', signer, now });
    }
    // At 100 % every unit runs the target; `complete` makes it the stable snapshot.
    expect((await resolveUnits(repo, 'prod', units)).every((x) => x.snapshot === second && x.variant === 'target')).toBe(true);
    await rolloutComplete(repo, { channel: 'prod', signer, now });
    expect((await resolveUnits(repo, 'prod', units)).every((x) => x.snapshot === second && x.variant === 'stable')).toBe(true);
    const records = await listChannelRecords(repo, 'prod');
    expect(records.map((r) => r.record!.action)).toEqual(['create', 'start', 'start', 'advance', 'advance', 'advance', 'complete']);
  });

  test('canary abort at any step returns every unit to the previous stable', async () => {
    const { repo, first } = await setup();
    await rolloutAdvance(repo, { channel: 'prod', signer, now });
    await rolloutAbort(repo, { channel: 'prod', signer, now });
    expect((await resolveUnits(repo, 'prod', units)).every((x) => x.snapshot === first)).toBe(true);
  });

  test('blue/green: start keeps every unit on stable, switch moves all, a second switch flips back, complete closes', async () => {
    const { repo, first, second } = await setup();
    await rolloutAbort(repo, { channel: 'prod', signer, now });
    await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'blue-green', signer, now });
    const all = async (id: string) => expect((await resolveUnits(repo, 'prod', units)).every((x) => x.snapshot === id)).toBe(true);
    await all(first);
    await rolloutSwitch(repo, { channel: 'prod', signer, now });
    await all(second);
    await rolloutSwitch(repo, { channel: 'prod', signer, now });
    await all(first);
    await rolloutSwitch(repo, { channel: 'prod', signer, now });
    await rolloutComplete(repo, { channel: 'prod', signer, now });
    await all(second);
  });

  test('ladder: a rollout to channel:OTHER takes exactly what that channel runs', async () => {
    const { repo } = await setup();
    // A canary completes only at 100 %; before that, the audited emergency path.
    await expect(rolloutComplete(repo, { channel: 'prod', signer, now })).rejects.toMatchObject({ code: 'USAGE' });
    await rolloutPromote(repo, { channel: 'prod', reason: 'test', signer, now });
    const prodStable = (await resolveUnits(repo, 'prod', ['x']))[0]!.snapshot;
    await channelCreate(repo, { name: 'next', framework: 'fwk-001', stage: 'design-review', signer, now });
    await rolloutStart(repo, { channel: 'next', to: 'channel:prod', signer, now });
    expect((await resolveUnits(repo, 'next', ['x']))[0]!.snapshot).toBe(prodStable);
    await expect(rolloutStart(repo, { channel: 'next', to: 'channel:nowhere', signer, now })).rejects.toMatchObject({
      code: 'CHANNEL_NOT_FOUND',
    });
  });

  test('a tampered, reordered, deleted or untrusted-signed record: no answer (exit 4)', async () => {
    const { repo } = await setup();
    const dir = repo.root;
    const cases: Record<string, (f: (n: number, ext?: string) => string) => void> = {
      tampered: (f) => writeFileSync(f(2), readFileSync(f(2), 'utf8').replace('"action":"start"', '"action":"abort"')),
      emptied: (f) => writeFileSync(f(2), ''),
      deleted: (f) => rmSync(f(2)),
      reordered: (f) => {
        const a = readFileSync(f(2));
        writeFileSync(f(2), readFileSync(f(3)));
        writeFileSync(f(3), a);
      },
      'signature of another record': (f) => writeFileSync(f(3, 'sig'), readFileSync(f(2, 'sig'))),
    };
    for (const [name, damage] of Object.entries(cases)) {
      const copy = testdir();
      cpSync(dir, copy, { recursive: true });
      damage((n, ext = 'json') => join(copy, `.artifacts/channels/prod/00000${n}.${ext}`));
      const r = await openRepo({ cwd: copy });
      await expect(resolveUnits(r, 'prod', ['x']), name).rejects.toMatchObject({ code: 'CHANNEL_INVALID', exitCode: 4 });
    }
    // A key the trust chain does not trust may not write a record.
    await expect(rolloutAbort(repo, { channel: 'prod', signer: stranger, now })).rejects.toMatchObject({ code: 'KEY_NOT_TRUSTED' });
  });
});

describe('resolve on the command line', () => {
  test('the same bytes in 3 runs and in two clones at different paths; a tampered record: exit 4, no answer', async () => {
    const { repo } = await setup();
    git(repo.root, 'add', '-A');
    commitAt(repo.root, '2026-03-03T11:00:00Z', 'channels');
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    const unitsFile = join(testdir(), 'units.txt');
    writeFileSync(unitsFile, `${units.slice(0, 300).join('\r\n')}\r\n`);
    const answer = (dir: string) => run(dir, ['--json', 'resolve', '--channel', 'prod', '--units', unitsFile], env);
    const first = answer(repo.root);
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as { answers: Array<{ unit: string; artifacts: unknown[] }> };
    expect(doc.answers.map((a) => a.unit)).toEqual(units.slice(0, 300));
    expect(doc.answers.every((a) => a.artifacts.length > 0)).toBe(true);
    for (let i = 0; i < 2; i++) expect(answer(repo.root).stdout).toBe(first.stdout);
    for (const name of ['clone-a', 'deeper/clone-b']) {
      const clone = join(testdir(), name);
      git(testdir(), 'clone', '-q', repo.root, clone);
      expect(answer(clone).stdout).toBe(first.stdout);
    }
    const f = join(repo.root, '.artifacts/channels/prod/000003.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"canary"', '"direct"'));
    const bad = answer(repo.root);
    expect(bad.code).toBe(4);
    expect((JSON.parse(bad.stdout) as { answers?: unknown }).answers).toBeUndefined();
  });
});

describe('health and concurrency', () => {
  test('two advances decided at once append one record; the other is CHANNEL_STALE', async () => {
    const { repo } = await setup();
    const before = (await listChannelRecords(repo, 'prod')).length;
    const results = await Promise.allSettled([
      rolloutAdvance(repo, { channel: 'prod', signer, now }),
      rolloutAdvance(repo, { channel: 'prod', signer, now }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'CHANNEL_STALE' } });
    expect((await listChannelRecords(repo, 'prod')).length).toBe(before + 1);
  });
});

describe('snapshot verify --all', () => {
  test('verifies the channel records too: a tampered one is exit 4', async () => {
    const { repo } = await setup();
    const ok = run(repo.root, ['--json', 'snapshot', 'verify', '--all']);
    expect(ok.code, ok.stdout).toBe(0);
    expect((JSON.parse(ok.stdout) as { channels: string[] }).channels).toEqual(['prod']);
    const f = join(repo.root, '.artifacts/channels/prod/000002.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"direct"', '"canary"').replace('"start"', '"abort"'));
    const bad = run(repo.root, ['--json', 'snapshot', 'verify', '--all']);
    expect(bad.code).toBe(4);
    expect(bad.stdout).toContain('CHANNEL_INVALID');
  });
});

describe('resolve options and pause', () => {
  test('--stable, --variant preview, --min-seq; a paused canary does not advance until resumed', async () => {
    const { repo, first, second } = await setup();
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    const doc = (args: string[]) => {
      const r = run(repo.root, ['--json', 'resolve', '--channel', 'prod', ...args], env);
      return {
        code: r.code,
        doc: JSON.parse(r.stdout) as { answers?: Array<{ snapshot: string | null; variant: string }>; error?: { code: string } },
      };
    };
    expect(doc(['--stable']).doc.answers![0]).toMatchObject({ snapshot: first, variant: 'stable' });
    expect(doc(['--stable', '--min-seq', '3']).code).toBe(0);
    const stale = doc(['--stable', '--min-seq', '4']);
    expect([stale.code, stale.doc.error?.code]).toEqual([1, 'CHANNEL_STALE']);
    expect(doc(['--unit', 'x', '--variant', 'preview']).code).toBe(2); // a canary has no idle colour
    await rolloutPause(repo, { channel: 'prod', signer, now });
    await expect(rolloutAdvance(repo, { channel: 'prod', signer, now })).rejects.toMatchObject({ code: 'USAGE' });
    await rolloutPause(repo, { channel: 'prod', signer, now, resume: true });
    await rolloutAdvance(repo, { channel: 'prod', signer, now });
    await rolloutPromote(repo, { channel: 'prod', reason: 'test', signer, now });
    await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/1', strategy: 'blue-green', signer, now });
    expect(doc(['--unit', 'x', '--variant', 'preview']).doc.answers![0]).toMatchObject({ snapshot: first, variant: 'target' });
    expect(doc(['--unit', 'x']).doc.answers![0]).toMatchObject({ snapshot: second, variant: 'stable' });
  });
});

describe('rollback and channels', () => {
  test('a stable snapshot superseded by a rollback keeps resolving; rollout status says so', async () => {
    const { repo, first } = await setup();
    await rolloutAbort(repo, { channel: 'prod', signer, now });
    git(repo.root, 'add', '-A');
    commitAt(repo.root, '2026-03-03T11:00:00Z', 'channels');
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    const rb = run(
      repo.root,
      ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--at', '2026-03-03T12:00:00Z'],
      env,
    );
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect((await resolveUnits(repo, 'prod', ['x']))[0]!.snapshot).toBe(first);
    const st = run(repo.root, ['--json', 'rollout', 'status', '--channel', 'prod'], env);
    expect(st.code, st.stderr).toBe(0);
    expect((JSON.parse(st.stdout) as { superseded_by: { seq: number } | null }).superseded_by).toMatchObject({ seq: 3 });
  });
});

describe('SIGKILL during a channel action', () => {
  for (const point of ['temp-write', 'temp-fsync', 'rename', 'dir-fsync']) {
    test(`rollout advance killed at each ${point}: the old chain or the new one, and a rerun completes`, async () => {
      const { repo } = await setup();
      const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
      const state = async () => {
        const r = await openRepo({ cwd: repo.root });
        const records = await listChannelRecords(r, 'prod');
        const trust = await requireTrust(r);
        return { n: records.length, findings: verifyChannelRecords('prod', records, trust) };
      };
      const before = (await state()).n;
      let kills = 0;
      for (let n = 1; n < 10; n++) {
        const r = run(repo.root, ['rollout', 'advance', '--channel', 'prod'], { ...env, ARTIFACTS_FAULT_INJECT: `${point}:${n}` });
        const after = await state();
        expect(after.findings, `${point}:${n}`).toEqual([]);
        expect([before, before + 1]).toContain(after.n);
        if (r.signal !== 'SIGKILL') {
          expect(r.code, r.stderr).toBe(0);
          expect(after.n).toBe(before + 1);
          break;
        }
        kills++;
        // Killed after the record's rename: the action is complete (and verifies).
        if (after.n === before + 1) break;
      }
      expect(kills).toBeGreaterThan(0);
      expect((await state()).n).toBe(before + 1);
    });
  }
});

describe('SIGKILL during every other channel action', () => {
  // Each action, killed at each of its writes (the cohort file, the signature, the record):
  // the channel verifies with the old head or the new one, never anything else.
  const unitsFile = () => {
    const f = join(testdir(), 'include.txt');
    writeFileSync(f, 'tenant-1\ntenant-2\n');
    return f;
  };
  const actions: Array<[string, (dir: string) => string[], (repo: Repo) => Promise<unknown>]> = [
    ['channel create', () => ['channel', 'create', 'second', '--framework', 'fwk-001', '--stage', 'design-review'], async () => undefined],
    [
      'rollout start with a cohort',
      () => ['rollout', 'start', '--channel', 'prod', '--to', 'latest', '--strategy', 'canary', '--include', unitsFile()],
      (repo) => rolloutAbort(repo, { channel: 'prod', signer, now }),
    ],
    ['rollout pause', () => ['rollout', 'pause', '--channel', 'prod'], async () => undefined],
    ['rollout abort', () => ['rollout', 'abort', '--channel', 'prod'], async () => undefined],
    ['rollout promote', () => ['rollout', 'promote', '--channel', 'prod', '--full', '--reason', 'incident'], async () => undefined],
  ];
  for (const [name, args, prepare] of actions) {
    test(`${name} killed at each write point: the old chain or the new one`, async () => {
      const { repo } = await setup();
      await prepare(repo);
      const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
      const channel = name === 'channel create' ? 'second' : 'prod';
      const state = async () => {
        const r = await openRepo({ cwd: repo.root });
        const records = await listChannelRecords(r, channel);
        if (records.length === 0) return { n: 0, ok: true };
        const ok = await channelResolver(r, channel).then(
          () => true,
          () => false,
        );
        return { n: records.length, ok: ok && verifyChannelRecords(channel, records, await requireTrust(r)).length === 0 };
      };
      const before = (await state()).n;
      let kills = 0;
      for (const point of ['temp-write', 'rename']) {
        for (let n = 1; n < 10; n++) {
          if ((await state()).n === before + 1) break;
          const r = run(repo.root, args(repo.root), { ...env, ARTIFACTS_FAULT_INJECT: `${point}:${n}` });
          const after = await state();
          expect(after.ok, `${point}:${n}`).toBe(true);
          expect([before, before + 1]).toContain(after.n);
          if (r.signal !== 'SIGKILL') {
            expect(r.code, r.stderr).toBe(0);
            break;
          }
          kills++;
        }
        if ((await state()).n === before + 1) {
          // Start over from the old head for the next kind of write point.
          if (point === 'temp-write') {
            const { repo: fresh } = await setup();
            await prepare(fresh);
            cpSync(fresh.root, repo.root, { recursive: true, force: true });
            rmSync(join(repo.root, `.artifacts/channels/${channel}/${String(before + 1).padStart(6, '0')}.json`), { force: true });
            rmSync(join(repo.root, `.artifacts/channels/${channel}/${String(before + 1).padStart(6, '0')}.sig`), { force: true });
          }
        }
      }
      expect(kills).toBeGreaterThan(1);
      expect((await state()).n).toBe(before + 1);
    });
  }
});

describe('hostile inputs to resolve and verify', () => {
  test('a units file that is missing, a FIFO, /dev/zero or not UTF-8: a usage error at once, never a hang or a crash', async () => {
    const { repo } = await setup();
    const env = { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') };
    const d = testdir();
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(join(d, 'latin1.txt'), Buffer.from([0xff, 0x0a, 0xfe, 0x0a]));
    for (const f of [join(d, 'missing.txt'), fifo, '/dev/zero', join(d, 'latin1.txt')]) {
      const r = spawnSync(process.execPath, [BIN, '--json', 'resolve', '--channel', 'prod', '--units', f], {
        cwd: repo.root,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect([f, r.status]).toEqual([f, 2]);
      expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('USAGE');
    }
  });

  test('a signed, chained record whose stable names no snapshot: channel verify and snapshot verify --all exit 4, resolve gives no answer', async () => {
    const { repo } = await setup();
    const stored = await listChannelRecords(repo, 'prod');
    const head = stored[stored.length - 1]!;
    const forged = {
      ...head.record!,
      seq: head.seq + 1,
      parent: head.id,
      action: 'abort' as const,
      stable: `sha256:${'1'.repeat(64)}`,
      rollout: null,
    };
    // (Written as the writer writes records, without the attestation, which needs the snapshot.)
    await writeSignedRecord(
      repo,
      join(repo.root, '.artifacts/channels/prod'),
      forged.seq,
      encodeChannelRecord(forged),
      signer,
      (await requireTrust(repo)).trusted.get(signer.keyid)!,
      'forge',
    );
    for (const args of [
      ['channel', 'verify'],
      ['snapshot', 'verify', '--all'],
      ['resolve', '--channel', 'prod', '--stable'],
    ]) {
      const r = run(repo.root, ['--json', ...args]);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 4]);
      expect(r.stdout).toContain('CHANNEL_INVALID');
    }
  });
});
