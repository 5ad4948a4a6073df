// Channel actions (SPEC §13): each appends one signed record, under the repository lock,
// after verifying the channel's chain; `resolve` answers from the newest verified record.
import { ArtifactsError } from '../errors.js';
import { gate } from '../hydrate/hydrate.js';
import { withIndexLock } from '../index/store.js';
import type { Repo } from '../repo.js';
import { verifyChain } from '../snapshots/verify-chain.js';
import { listSnapshots, resolveSnapshot, rfc3339, type StoredSnapshot } from '../snapshots/snapshot-store.js';
import type { Signer } from '../trust/signer.js';
import { assertMaySign, requireTrust } from '../trust/trust-store.js';
import type { TrustState } from '../trust/trust-chain.js';
import { ALL_UNITS, BUCKETING, bucketOf } from './bucket.js';
import {
  CHANNEL_FORMAT,
  channelNameProblem,
  listChannelRecords,
  verifiedChannel,
  writeSignedChannelRecord,
  type ChannelAction,
  type ChannelRecord,
  type Rollout,
  type RolloutStrategy,
} from './records.js';

export interface ChannelActionResult {
  record: ChannelRecord;
  id: string;
  file: string;
  dryRun: boolean;
}

interface Common {
  signer: Signer;
  now?: Date;
  dryRun?: boolean;
}

/** Append the record `next(head)` makes of the channel's newest verified record. */
async function append(
  repo: Repo,
  name: string,
  action: ChannelAction,
  o: Common,
  next: (
    head: ChannelRecord,
    trust: TrustState,
  ) => Promise<Omit<ChannelRecord, 'format' | 'channel' | 'seq' | 'parent' | 'action' | 'created_at' | 'signer' | 'bucketing'>>,
): Promise<ChannelActionResult> {
  // The action is decided against the head seen now; under the lock the head must still be
  // that record, so that two writers deciding at once append one record, not two.
  const seen = (await listChannelRecords(repo, name)).length;
  return withIndexLock(repo, async (lock) => {
    const trust = await requireTrust(repo);
    const publicKey = assertMaySign(trust, o.signer.keyid, `${action} channel ${name}`);
    const stored = await verifiedChannel(repo, name, trust);
    const last = stored[stored.length - 1]!;
    const head = last.record!;
    if (stored.length !== seen)
      throw new ArtifactsError(
        'CHANNEL_STALE',
        `channel ${name} gained record ${head.seq} while this ${action} was being decided: nothing was written`,
      );
    const state = await next(head, trust);
    const record: ChannelRecord = {
      format: CHANNEL_FORMAT,
      channel: name,
      ...state,
      bucketing: BUCKETING,
      seq: head.seq + 1,
      parent: last.id,
      action,
      created_at: rfc3339(o.now ?? new Date()),
      signer: { keyid: o.signer.keyid },
    };
    if (o.dryRun) return { record, id: '', file: '', dryRun: true };
    await lock.assertHeld();
    const w = await writeSignedChannelRecord(repo, record, o.signer, publicKey);
    return { record, ...w, dryRun: false };
  });
}

/** `artifacts channel create NAME --framework F --stage S [--health-stage H] --key K`. */
export async function channelCreate(
  repo: Repo,
  o: Common & { name: string; framework: string; stage: string; healthStage?: string },
): Promise<ChannelActionResult> {
  const problem = channelNameProblem(o.name);
  if (problem) throw new ArtifactsError('USAGE', problem);
  return withIndexLock(repo, async (lock) => {
    const trust = await requireTrust(repo);
    const publicKey = assertMaySign(trust, o.signer.keyid, `create channel ${o.name}`);
    if ((await listChannelRecords(repo, o.name)).length > 0) throw new ArtifactsError('CHANNEL_EXISTS', `channel ${o.name} already exists`);
    const record: ChannelRecord = {
      format: CHANNEL_FORMAT,
      channel: o.name,
      framework: o.framework,
      stage: o.stage,
      health_stage: o.healthStage ?? null,
      bucketing: BUCKETING,
      seq: 1,
      parent: null,
      action: 'create',
      created_at: rfc3339(o.now ?? new Date()),
      signer: { keyid: o.signer.keyid },
      stable: null,
      rollout: null,
    };
    if (o.dryRun) return { record, id: '', file: '', dryRun: true };
    await lock.assertHeld();
    const w = await writeSignedChannelRecord(repo, record, o.signer, publicKey);
    return { record, ...w, dryRun: false };
  });
}

/** The snapshots of a framework/stage whose chain verifies (ROLLOUT refs resolve among them). */
async function verifiedSnapshots(repo: Repo, framework: string, stage: string): Promise<StoredSnapshot[]> {
  const report = await verifyChain(repo, framework, stage, { now: new Date() });
  const errors = report.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0)
    throw new ArtifactsError('CHANNEL_INVALID', `the snapshots of ${framework}/${stage} do not verify: no rollout can point at them`, {
      findings: errors,
    });
  return listSnapshots(repo, framework, stage);
}

/** A REF: `F/S/SEQ`, `sha256:<id>`, `latest` (of the channel's stage) or `channel:OTHER`. */
async function resolveRef(repo: Repo, head: ChannelRecord, ref: string, trust: TrustState): Promise<string> {
  if (ref.startsWith('channel:')) {
    const other = ref.slice('channel:'.length);
    const stored = await verifiedChannel(repo, other, trust);
    const stable = stored[stored.length - 1]!.record!.stable;
    if (!stable) throw new ArtifactsError('USAGE', `channel ${other} has no stable snapshot yet: nothing to take from it`);
    return stable;
  }
  const snaps = await verifiedSnapshots(repo, head.framework, head.stage);
  let hit: StoredSnapshot | undefined;
  if (ref === 'latest') hit = snaps[snaps.length - 1];
  else if (ref.startsWith('sha256:')) hit = snaps.find((s) => s.id === ref);
  else {
    const m = /^([^/]+)\/([^/]+)\/(\d+)$/.exec(ref);
    if (m && (m[1] !== head.framework || m[2] !== head.stage))
      throw new ArtifactsError('USAGE', `channel ${head.channel} follows ${head.framework}/${head.stage}, not ${m[1]}/${m[2]}`);
    if (m) hit = snaps.find((s) => s.seq === Number(m[3]));
  }
  if (!hit) throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `no verified snapshot ${ref} in ${head.framework}/${head.stage}`);
  return hit.id;
}

/** Steps as given (`5,25,50,100`) in basis points: strictly increasing, ending at 100 %. */
export function parseSteps(text: string): number[] {
  const steps = text.split(',').map((s) => {
    const m = /^\s*(\d{1,3}(?:\.\d{1,2})?)\s*$/.exec(s);
    if (!m) throw new ArtifactsError('USAGE', `step ${JSON.stringify(s)} is not a percentage`);
    return Math.round(Number(m[1]) * 100);
  });
  if (!steps.every((x, i) => x > 0 && x <= ALL_UNITS && (i === 0 || x > steps[i - 1]!)) || steps[steps.length - 1] !== ALL_UNITS)
    throw new ArtifactsError('USAGE', 'steps must strictly increase and end at 100');
  return steps;
}

function active(head: ChannelRecord, what: string): Rollout {
  if (!head.rollout) throw new ArtifactsError('USAGE', `channel ${head.channel} has no rollout in progress to ${what}`);
  return head.rollout;
}

/** `rollout start --channel NAME --to REF [--strategy direct|canary|blue-green] [--steps ...]`. */
export async function rolloutStart(
  repo: Repo,
  o: Common & { channel: string; to: string; strategy?: RolloutStrategy; steps?: string; seed?: string },
): Promise<ChannelActionResult> {
  const strategy = o.strategy ?? 'direct';
  return append(repo, o.channel, 'start', o, async (head, trust) => {
    if (head.rollout)
      throw new ArtifactsError('USAGE', `channel ${o.channel} already has a rollout in progress (abort or complete it first)`);
    const target = await resolveRef(repo, head, o.to, trust);
    const base = { framework: head.framework, stage: head.stage, health_stage: head.health_stage };
    if (strategy === 'direct') return { ...base, stable: target, rollout: null };
    if (strategy === 'blue-green' && !head.stable)
      throw new ArtifactsError('USAGE', `channel ${o.channel} has no live snapshot yet: its first rollout is direct or canary`);
    const steps = strategy === 'canary' ? parseSteps(o.steps ?? '5,25,50,100') : [];
    const at = rfc3339(o.now ?? new Date());
    return {
      ...base,
      stable: head.stable,
      rollout: { id: target, strategy, target, steps, step_index: 0, paused: false, seed: o.seed ?? target, step_started_at: at },
    };
  });
}

/** The channel's health stage, when it has one, must pass its gate before a rollout moves on
 * (ROLLOUT_HEALTH_FAILED with the gate's findings; nothing is written). */
async function requireHealth(repo: Repo, head: ChannelRecord): Promise<void> {
  if (!head.health_stage) return;
  const g = await gate(repo, { framework: head.framework, stage: head.health_stage });
  if (!g.passed)
    throw new ArtifactsError(
      'ROLLOUT_HEALTH_FAILED',
      `the health stage ${head.framework}/${head.health_stage} of channel ${head.channel} does not pass its gate: the rollout stays where it is`,
      { findings: g.findings },
    );
}

/** `rollout advance`: the next canary step; the last step completes (stable := target). */
export async function rolloutAdvance(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'advance', o, async (head) => {
    const r = active(head, 'advance');
    await requireHealth(repo, head);
    if (r.strategy !== 'canary')
      throw new ArtifactsError('USAGE', `a ${r.strategy} rollout does not advance in steps (use rollout switch)`);
    if (r.paused) throw new ArtifactsError('USAGE', `the rollout of channel ${o.channel} is paused (rollout resume first)`);
    const base = { framework: head.framework, stage: head.stage, health_stage: head.health_stage };
    if (r.step_index + 1 >= r.steps.length) return { ...base, stable: r.target, rollout: null };
    return { ...base, stable: head.stable, rollout: { ...r, step_index: r.step_index + 1, step_started_at: rfc3339(o.now ?? new Date()) } };
  });
}

/** `rollout pause` / `resume`: a paused canary does not advance. */
export async function rolloutPause(repo: Repo, o: Common & { channel: string; resume?: boolean }): Promise<ChannelActionResult> {
  const action = o.resume ? 'resume' : 'pause';
  return append(repo, o.channel, action, o, async (head) => {
    const r = active(head, action);
    if (r.paused === !o.resume)
      throw new ArtifactsError('USAGE', `the rollout of channel ${o.channel} is ${r.paused ? 'already paused' : 'not paused'}`);
    return {
      framework: head.framework,
      stage: head.stage,
      health_stage: head.health_stage,
      stable: head.stable,
      rollout: { ...r, paused: !o.resume },
    };
  });
}

/** `rollout abort`: the rollout ends, stable unchanged (a blue/green target not yet
 * switched to is dropped; after a switch, the live colour stays). */
export async function rolloutAbort(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'abort', o, async (head) => {
    active(head, 'abort');
    return { framework: head.framework, stage: head.stage, health_stage: head.health_stage, stable: head.stable, rollout: null };
  });
}

/** `rollout complete`: a canary's target becomes stable for every unit; a blue/green
 * rollout closes its flip-back window (the live colour stays). */
export async function rolloutComplete(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'complete', o, async (head) => {
    const r = active(head, 'complete');
    const stable = r.strategy === 'blue-green' ? head.stable : r.target;
    return { framework: head.framework, stage: head.stage, health_stage: head.health_stage, stable, rollout: null };
  });
}

/** `rollout switch` (blue/green): the idle colour goes live for every unit (stable := target,
 * the previous stable becomes the idle colour); a second switch flips back. */
export async function rolloutSwitch(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'switch', o, async (head) => {
    const r = active(head, 'switch');
    if (r.strategy !== 'blue-green') throw new ArtifactsError('USAGE', `only a blue-green rollout switches (this one is ${r.strategy})`);
    await requireHealth(repo, head);
    return {
      framework: head.framework,
      stage: head.stage,
      health_stage: head.health_stage,
      stable: r.target,
      rollout: { ...r, target: head.stable!, switched: !r.switched },
    };
  });
}

export interface ResolvedArtifact {
  id: string;
  version: string;
  path: string;
  content_address: string;
}

export interface Resolution {
  unit: string;
  snapshot: string | null;
  variant: 'stable' | 'target';
  artifacts: ResolvedArtifact[];
  channel_record: { seq: number; id: string };
}

/** A channel's answer for any unit, once the channel and the snapshots it names are
 * verified: `answer(unit)` is then a pure function of the unit (no I/O). */
export interface Resolver {
  channel_record: { seq: number; id: string };
  /** The artifacts of each snapshot an answer can name. */
  artifacts: ReadonlyMap<string, ResolvedArtifact[]>;
  answer(unit: string): Resolution;
  /** The channel's stable snapshot. */
  stable: string | null;
  /** The snapshot and variant of `unit` alone (no object per answer: for streams). */
  choose(unit: string): { snapshot: string | null; variant: 'stable' | 'target' };
}

/** Verify channel `channel` (and the snapshots its newest record names) and return its
 * resolver. */
export async function channelResolver(repo: Repo, channel: string, opts: { minSeq?: number; preview?: boolean } = {}): Promise<Resolver> {
  const trust = await requireTrust(repo);
  const stored = await verifiedChannel(repo, channel, trust);
  const last = stored[stored.length - 1]!;
  const head = last.record!;
  if (opts.minSeq !== undefined && last.seq < opts.minSeq)
    throw new ArtifactsError(
      'CHANNEL_STALE',
      `channel ${channel} is at record ${last.seq}, older than the required ${opts.minSeq}: this checkout is behind`,
    );
  if (opts.preview && head.rollout?.strategy !== 'blue-green')
    throw new ArtifactsError('USAGE', `channel ${channel} has no blue/green rollout whose idle colour could be previewed`);
  const at = { seq: last.seq, id: last.id };
  const contents = new Map<string, ResolvedArtifact[]>();
  for (const id of [head.stable, head.rollout?.target]) {
    if (!id || contents.has(id)) continue;
    const snap = await resolveSnapshot(repo, id);
    await verifiedSnapshots(repo, snap.framework, snap.stage);
    contents.set(
      id,
      (snap.snapshot?.artifacts ?? []).map((a) => ({ id: a.id, version: a.version, path: a.path, content_address: a.content_address })),
    );
  }
  // The idle colour of a blue/green rollout, for every unit (`resolve --variant preview`).
  const preview = { snapshot: head.rollout?.target ?? null, variant: 'target' as const };
  return {
    channel_record: at,
    stable: head.stable,
    artifacts: contents,
    choose: (unit) => (opts.preview ? preview : pick(head, unit)),
    answer: (unit) => {
      const p = opts.preview ? preview : pick(head, unit);
      return { unit, ...p, artifacts: p.snapshot ? contents.get(p.snapshot)! : [], channel_record: at };
    },
  };
}

/** What each unit runs, from the channel's newest verified record and the verified
 * snapshots it names (a pure function of them: the same bytes on every machine). */
export async function resolveUnits(repo: Repo, channel: string, units: Iterable<string>): Promise<Resolution[]> {
  const r = await channelResolver(repo, channel);
  return [...units].map((u) => r.answer(u));
}

/** The variant a unit gets under a channel's state. */
export function pick(head: ChannelRecord, unit: string): { snapshot: string | null; variant: 'stable' | 'target' } {
  const r = head.rollout;
  if (!r) return { snapshot: head.stable, variant: 'stable' };
  // Blue/green: every unit runs the live colour (stable); the idle one is only a preview.
  if (r.strategy === 'blue-green') return { snapshot: head.stable, variant: 'stable' };
  const bp = r.steps[r.step_index] ?? 0;
  return bucketOf(head.channel, r.seed, unit) < bp
    ? { snapshot: r.target, variant: 'target' }
    : { snapshot: head.stable, variant: 'stable' };
}
