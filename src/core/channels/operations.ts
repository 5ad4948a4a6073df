// Channel actions (SPEC §13): each appends one signed record, under the repository lock,
// after verifying the channel's chain; `resolve` answers from the newest verified record.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { firstAdded, git } from '../git.js';
import { gate } from '../hydrate/hydrate.js';
import { loadContract, stageOf } from '../hydrate/contract.js';
import { inspectFile } from '../metadata/inspect.js';
import { cacheFingerprint } from '../index/scan.js';
import { withIndexLock } from '../index/store.js';
import type { Repo } from '../repo.js';
import { verifyChain } from '../snapshots/verify-chain.js';
import { listSnapshots, resolveSnapshot, rfc3339, type StoredSnapshot } from '../snapshots/snapshot-store.js';
import type { Signer } from '../trust/signer.js';
import { assertMaySign, requireTrust } from '../trust/trust-store.js';
import type { TrustState } from '../trust/trust-chain.js';
import { ALL_UNITS, BUCKETING, bucketOf } from './bucket.js';
import { loadCohort, readCohortFile, storeCohort, type Cohort } from './cohorts.js';
import {
  CHANNEL_FORMAT,
  channelNameProblem,
  listChannelNames,
  listChannelRecords,
  verifiedChannel,
  writeSignedChannelRecord,
  type ChannelAction,
  type ChannelRecord,
  type Evidence,
  type Rollout,
  type RolloutStrategy,
  type StoredChannelRecord,
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

/** What a channel's next record holds besides the fields every record has. */
type State = Omit<ChannelRecord, 'format' | 'channel' | 'seq' | 'parent' | 'action' | 'created_at' | 'signer' | 'bucketing'>;

/** A decision of an action: the state to record; optionally another action to record it
 * as (`advance --on-fail abort`), files to write before the record, and an error to raise
 * once the record is written. */
interface Decision {
  state: State;
  action?: ChannelAction;
  before?: () => Promise<void>;
  error?: (written: { seq: number; dryRun: boolean }) => ArtifactsError;
}

/** Append the record `next(head)` makes of the channel's newest verified record. */
async function append(
  repo: Repo,
  name: string,
  action: ChannelAction,
  o: Common,
  next: (head: ChannelRecord, trust: TrustState, stored: StoredChannelRecord[]) => Promise<State | Decision>,
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
    const at = o.now ?? new Date();
    if (at.getTime() < Date.parse(head.created_at))
      throw new ArtifactsError(
        'USAGE',
        `this machine's clock (${rfc3339(at)}) is behind the channel's newest record (${head.created_at}): records are in time order, so nothing was written`,
        { hint: 'Fix the clock (NTP), then run the action again.' },
      );
    const made = await next(head, trust, stored);
    const d: Decision = 'state' in made ? made : { state: made };
    const record: ChannelRecord = {
      format: CHANNEL_FORMAT,
      channel: name,
      ...d.state,
      bucketing: BUCKETING,
      seq: head.seq + 1,
      parent: last.id,
      action: d.action ?? action,
      created_at: rfc3339(at),
      signer: { keyid: o.signer.keyid },
    };
    if (o.dryRun) {
      if (d.error) throw d.error({ seq: record.seq, dryRun: true });
      return { record, id: '', file: '', dryRun: true };
    }
    await lock.assertHeld();
    await d.before?.();
    await lock.assertHeld();
    const w = await writeSignedChannelRecord(repo, record, o.signer, publicKey);
    if (d.error) throw d.error({ seq: record.seq, dryRun: false });
    return { record, ...w, dryRun: false };
  });
}

/** The fields every later record copies from the one before. */
function base(head: ChannelRecord) {
  return { framework: head.framework, stage: head.stage, health_stage: head.health_stage };
}

/** `artifacts channel create NAME --framework F --stage S [--health-stage H] --key K`. */
export async function channelCreate(
  repo: Repo,
  o: Common & { name: string; framework: string; stage: string; healthStage?: string },
): Promise<ChannelActionResult> {
  const problem = channelNameProblem(o.name);
  if (problem) throw new ArtifactsError('USAGE', problem);
  // The stage (and the health stage) must be stages of the framework's contract.
  const contract = await loadContract(repo, o.framework);
  stageOf(contract, o.stage);
  if (o.healthStage !== undefined) stageOf(contract, o.healthStage);
  return withIndexLock(repo, async (lock) => {
    const trust = await requireTrust(repo);
    const publicKey = assertMaySign(trust, o.signer.keyid, `create channel ${o.name}`);
    if ((await listChannelRecords(repo, o.name)).length > 0) throw new ArtifactsError('CHANNEL_EXISTS', `channel ${o.name} already exists`);
    // Names that differ only in case are one directory on a case-insensitive file system.
    const twin = (await listChannelNames(repo)).find((n) => n !== o.name && n.toLowerCase() === o.name.toLowerCase());
    if (twin) throw new ArtifactsError('CHANNEL_EXISTS', `channel ${twin} exists: ${o.name} differs from it only in case`);
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
    // The ladder moves one snapshot of one stage through channels that follow that stage,
    // and only a snapshot whose chain verifies now.
    const snap = await resolveSnapshot(repo, stable);
    if (snap.framework !== head.framework || snap.stage !== head.stage)
      throw new ArtifactsError(
        'USAGE',
        `channel ${other} runs a snapshot of ${snap.framework}/${snap.stage}; channel ${head.channel} follows ${head.framework}/${head.stage}`,
      );
    const snaps = await verifiedSnapshots(repo, head.framework, head.stage);
    if (!snaps.some((s) => s.id === stable))
      throw new ArtifactsError(
        'SNAPSHOT_NOT_FOUND',
        `channel ${other} runs ${stable}, which is not a verified snapshot of ${head.framework}/${head.stage}`,
      );
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
  return parseStepPlan(text).steps;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A bake time: `90s`, `30m`, `1h`, `1h30m`, `2d` (at most a year), in seconds. */
export function parseDuration(text: string): number {
  const m = /^(?:\d{1,6}[smhd])+$/.exec(text);
  if (!m)
    throw new ArtifactsError('USAGE', `bake time ${JSON.stringify(text.slice(0, 40))} is not a duration (such as 90s, 30m, 1h, 1h30m, 2d)`);
  let seconds = 0;
  for (const [, n, u] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(n) * DURATION_UNITS[u!]!;
  if (seconds > 366 * 86_400) throw new ArtifactsError('USAGE', `bake time ${text} is longer than a year`);
  return seconds;
}

/** Steps with their bake times (`5@1h,25@1h,50@30m,100`): basis points, strictly
 * increasing and ending at 100 %, and the minimum seconds each step runs before `advance`. */
export function parseStepPlan(text: string): { steps: number[]; bake: number[] } {
  const steps: number[] = [];
  const bake: number[] = [];
  for (const s of text.split(',')) {
    const m = /^\s*(\d{1,3}(?:\.\d{1,2})?)(?:@([0-9smhd]{1,40}))?\s*$/.exec(s);
    if (!m) throw new ArtifactsError('USAGE', `step ${JSON.stringify(s.slice(0, 40))} is not a percentage (with an optional @bake time)`);
    steps.push(Math.round(Number(m[1]) * 100));
    bake.push(m[2] === undefined ? 0 : parseDuration(m[2]));
  }
  if (!steps.every((x, i) => x > 0 && x <= ALL_UNITS && (i === 0 || x > steps[i - 1]!)) || steps[steps.length - 1] !== ALL_UNITS)
    throw new ArtifactsError('USAGE', 'steps must strictly increase and end at 100');
  return { steps, bake };
}

function active(head: ChannelRecord, what: string): Rollout {
  if (!head.rollout) throw new ArtifactsError('USAGE', `channel ${head.channel} has no rollout in progress to ${what}`);
  return head.rollout;
}

/** `rollout start --channel NAME --to REF [--strategy direct|canary|blue-green] [--steps ...]
 * [--seed S] [--include FILE] [--exclude FILE]`. */
export async function rolloutStart(
  repo: Repo,
  o: Common & {
    channel: string;
    to: string;
    strategy?: RolloutStrategy;
    steps?: string;
    seed?: string;
    /** Units files: units always (include) or never (exclude) on the target. */
    include?: string;
    exclude?: string;
  },
): Promise<ChannelActionResult> {
  const strategy = o.strategy ?? 'direct';
  if (strategy !== 'canary' && (o.include !== undefined || o.exclude !== undefined || o.steps !== undefined))
    throw new ArtifactsError('USAGE', `--steps, --include and --exclude belong to a canary rollout, not ${strategy}`);
  if (o.seed !== undefined && (o.seed === '' || o.seed.length > 256 || /[\0\n\r]/.test(o.seed)))
    throw new ArtifactsError('USAGE', '--seed takes one line of text (at most 256 characters)');
  const plan = strategy === 'canary' ? parseStepPlan(o.steps ?? '5,25,50,100') : { steps: [], bake: [] };
  // The cohort files are read (and checked) before the lock is taken.
  const include = o.include !== undefined ? await readCohortFile(o.include) : undefined;
  const exclude = o.exclude !== undefined ? await readCohortFile(o.exclude) : undefined;
  if (include && exclude) {
    const both = [...include.units].find((u) => exclude.units.has(u));
    if (both !== undefined) throw new ArtifactsError('USAGE', `unit ${JSON.stringify(both.slice(0, 80))} is both included and excluded`);
  }
  return append(repo, o.channel, 'start', o, async (head, trust) => {
    if (head.rollout)
      throw new ArtifactsError('USAGE', `channel ${o.channel} already has a rollout in progress (abort or complete it first)`);
    const target = await resolveRef(repo, head, o.to, trust);
    if (strategy === 'direct') return { ...base(head), stable: target, rollout: null };
    if (strategy === 'blue-green' && !head.stable)
      throw new ArtifactsError('USAGE', `channel ${o.channel} has no live snapshot yet: its first rollout is direct or canary`);
    const rollout: Rollout = {
      id: target,
      strategy,
      target,
      steps: plan.steps,
      step_index: 0,
      paused: false,
      seed: o.seed ?? target,
      step_started_at: rfc3339(o.now ?? new Date()),
      ...(plan.bake.some((x) => x > 0) ? { bake: plan.bake } : {}),
      ...(include ? { include: include.digest } : {}),
      ...(exclude ? { exclude: exclude.digest } : {}),
    };
    const cohorts = [include, exclude].filter((c): c is Cohort => c !== undefined);
    return {
      state: { ...base(head), stable: head.stable, rollout },
      before: async () => {
        for (const c of cohorts) await storeCohort(repo, c);
      },
    };
  });
}

/** The record that began the rollout's current step: the newest record that is not a
 * pause or resume (start, advance or switch). */
function stepRecord(stored: readonly StoredChannelRecord[]): StoredChannelRecord {
  let i = stored.length - 1;
  while (i > 0 && ['pause', 'resume'].includes(stored[i]!.record!.action)) i--;
  return stored[i]!;
}

/** Where an artifact's metadata lives: its sidecar when it has one, else the file itself. */
function metadataPathOf(root: string, path: string): string {
  for (const s of ['.artifact.yaml', '.artifact.json']) if (existsSync(join(root, path + s))) return path + s;
  return path;
}

/**
 * The newest commit that changed the content of any of `files` (a change of mode only, such
 * as `chmod +x`, does not count: it does not make old evidence new), if any.
 */
async function lastContentCommit(root: string, files: readonly string[]): Promise<string | undefined> {
  const out = await git(root, [
    '--literal-pathspecs',
    'log',
    '-z',
    '--no-renames',
    '--raw',
    '--no-abbrev',
    '--format=%x01%H',
    '--',
    ...files,
  ]).catch(() => '');
  // Each commit: \x01<hash>, then raw lines ":<mode> <mode> <old blob> <new blob> <status>" \0 <path> \0.
  for (const chunk of out.split('\x01').slice(1)) {
    const [hash, ...rest] = chunk.split('\0');
    for (let i = 0; i + 1 < rest.length; i += 2) {
      const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) /.exec(rest[i]!.trim());
      if (m && m[1] !== m[2]) return hash!.trim();
    }
  }
  return undefined;
}

async function isStrictAncestor(root: string, a: string, b: string): Promise<boolean> {
  if (a === b) return false;
  return git(root, ['merge-base', '--is-ancestor', a, b]).then(
    () => true,
    () => false,
  );
}

/**
 * The channel's health stage, when it has one, judged for the current step: its gate must
 * pass, and every input it selects must be evidence of this rollout and step (metadata
 * `rollout: <rollout id>` and `step: <step_index>`), committed as it is on disk, in a commit
 * after the one that added the step's record. Evidence of an earlier step or another
 * rollout never passes again. Returns the findings (none: healthy) and the evidence.
 */
export async function healthFindings(
  repo: Repo,
  stored: readonly StoredChannelRecord[],
): Promise<{ findings: Finding[]; evidence: Evidence[] }> {
  const head = stored[stored.length - 1]!.record!;
  if (!head.health_stage) return { findings: [], evidence: [] };
  const r = head.rollout!;
  const g = await gate(repo, { framework: head.framework, stage: head.health_stage });
  const findings = g.findings.filter((f) => f.severity === 'error');
  const evidence: Evidence[] = [];
  const step = stepRecord(stored);
  const stepCommit = (await firstAdded(repo.root, step.file))?.commit;
  const ctx = {
    root: repo.root,
    algorithm: g.index.digest_algorithm,
    schemasDir: join(repo.root, repo.config.schemas),
    schemaGeneration: cacheFingerprint(repo),
  };
  const stale = (path: string, why: string) =>
    findings.push(
      finding('ROLLOUT_EVIDENCE_STALE', `${path} is not health evidence of this step: ${why}`, {
        path,
        hint: `Health evidence names \`rollout: ${r.id}\` and \`step: ${r.step_index}\` in its metadata and is committed after ${step.file}.`,
      }),
    );
  // Evidence an earlier record of this channel already accepted never passes again (the
  // rollout id is the target's snapshot id, so a restarted rollout has the same one).
  const used = new Map<string, number>();
  for (const x of stored) for (const e of x.record?.evidence ?? []) if (!used.has(e.content_address)) used.set(e.content_address, x.seq);
  for (const input of g.hydration.inputs) {
    const sel = input.selected;
    if (!sel) continue;
    evidence.push({ id: sel.id, version: sel.version, path: sel.path, content_address: sel.content_address });
    if (used.has(sel.content_address)) {
      stale(sel.path, `record ${used.get(sel.content_address)} of this channel already accepted these very bytes`);
      continue;
    }
    const metaPath = metadataPathOf(repo.root, sel.path);
    const seen = await inspectFile(ctx, metaPath, { explicit: true, withMeta: true });
    const meta = seen.type === 'artifact' ? (seen.meta ?? {}) : {};
    if (meta.rollout !== r.id) stale(sel.path, `its metadata names rollout ${JSON.stringify(meta.rollout ?? null)}, not ${r.id}`);
    else if (meta.step !== r.step_index && meta.step !== String(r.step_index))
      stale(sel.path, `its metadata names step ${JSON.stringify(meta.step ?? null)}, not ${r.step_index}`);
    else if (g.uncommitted.includes(sel.path)) stale(sel.path, 'it is not committed as it is on disk');
    else if (!stepCommit) stale(sel.path, `${step.file} is not committed, so no evidence can follow it (commit the channel record first)`);
    else {
      const ev = await lastContentCommit(repo.root, [...new Set([sel.path, metaPath])]);
      if (!ev || !(await isStrictAncestor(repo.root, stepCommit, ev)))
        stale(sel.path, `it was not committed after ${step.file} (record ${step.seq}, commit ${stepCommit.slice(0, 12)})`);
    }
  }
  return { findings, evidence };
}

function healthError(head: ChannelRecord, findings: Finding[], after = ''): ArtifactsError {
  return new ArtifactsError(
    'ROLLOUT_HEALTH_FAILED',
    `the health stage ${head.framework}/${head.health_stage} of channel ${head.channel} does not pass for this step${after || ': the rollout stays where it is'}`,
    { findings },
  );
}

/** `rollout advance [--on-fail abort|pause]`: the next canary step; the last step completes
 * (stable := target). Refused while the step bakes (ROLLOUT_BAKE_PENDING) or while the
 * health stage fails (ROLLOUT_HEALTH_FAILED; with --on-fail, the signed abort or pause
 * record is written first). */
export async function rolloutAdvance(
  repo: Repo,
  o: Common & { channel: string; onFail?: 'abort' | 'pause' },
): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'advance', o, async (head, _trust, stored) => {
    const r = active(head, 'advance');
    if (r.strategy !== 'canary')
      throw new ArtifactsError('USAGE', `a ${r.strategy} rollout does not advance in steps (use rollout switch)`);
    if (r.paused) throw new ArtifactsError('USAGE', `the rollout of channel ${o.channel} is paused (rollout resume first)`);
    const now = o.now ?? new Date();
    const bake = r.bake?.[r.step_index] ?? 0;
    const ends = Date.parse(r.step_started_at) + bake * 1000;
    if (bake > 0 && now.getTime() < ends) {
      const left = Math.ceil((ends - now.getTime()) / 1000);
      throw new ArtifactsError(
        'ROLLOUT_BAKE_PENDING',
        `step ${r.step_index + 1} (${r.steps[r.step_index]! / 100} %) of channel ${o.channel} bakes until ${rfc3339(new Date(ends))} (${left} s to go): nothing was written`,
        { details: { step_index: r.step_index, bake_ends_at: rfc3339(new Date(ends)), seconds_left: left } },
      );
    }
    const health = await healthFindings(repo, stored);
    const evidence = head.health_stage ? { evidence: health.evidence } : {};
    if (health.findings.length > 0) {
      if (!o.onFail) throw healthError(head, health.findings);
      const state: State =
        o.onFail === 'abort'
          ? { ...base(head), stable: head.stable, rollout: null }
          : { ...base(head), stable: head.stable, rollout: { ...r, paused: true } };
      return {
        state,
        action: o.onFail,
        error: (w) =>
          healthError(
            head,
            health.findings,
            `: ${w.dryRun ? 'would write' : 'wrote'} record ${w.seq} (${o.onFail === 'abort' ? 'the rollout is aborted' : 'the rollout is paused'})`,
          ),
      };
    }
    if (r.step_index + 1 >= r.steps.length) return { ...base(head), stable: r.target, rollout: null, ...evidence };
    return {
      ...base(head),
      stable: head.stable,
      rollout: { ...r, step_index: r.step_index + 1, step_started_at: rfc3339(now) },
      ...evidence,
    };
  });
}

/** `rollout pause` / `resume`: a paused canary does not advance. */
export async function rolloutPause(repo: Repo, o: Common & { channel: string; resume?: boolean }): Promise<ChannelActionResult> {
  const action = o.resume ? 'resume' : 'pause';
  return append(repo, o.channel, action, o, async (head) => {
    const r = active(head, action);
    if (r.strategy !== 'canary')
      throw new ArtifactsError('USAGE', `only a canary pauses (this rollout is ${r.strategy}: it moves only when switched)`);
    if (r.paused === !o.resume)
      throw new ArtifactsError('USAGE', `the rollout of channel ${o.channel} is ${r.paused ? 'already paused' : 'not paused'}`);
    return { ...base(head), stable: head.stable, rollout: { ...r, paused: !o.resume } };
  });
}

/** `rollout abort`: the rollout ends, stable unchanged (a blue/green target not yet
 * switched to is dropped; after a switch, the live colour stays). */
export async function rolloutAbort(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'abort', o, async (head) => {
    active(head, 'abort');
    return { ...base(head), stable: head.stable, rollout: null };
  });
}

/** `rollout complete`: a canary's target becomes stable for every unit; a blue/green
 * rollout closes its flip-back window (the live colour stays). */
export async function rolloutComplete(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'complete', o, async (head) => {
    const r = active(head, 'complete');
    if (r.strategy === 'canary' && r.step_index < r.steps.length - 1)
      throw new ArtifactsError(
        'USAGE',
        `the canary of channel ${o.channel} is at ${r.steps[r.step_index]! / 100} %, not 100 %: advance it (bake times and the health stage apply), or use the audited emergency path \`rollout promote --full --reason TEXT\``,
      );
    const stable = r.strategy === 'blue-green' ? head.stable : r.target;
    return { ...base(head), stable, rollout: null };
  });
}

/** `rollout promote --full --reason TEXT`: the emergency path. The rollout's own target
 * becomes stable for every unit at once, without bake or health gate; the record says why,
 * which canary steps were skipped, and `gate_bypassed: true`. */
export async function rolloutPromote(repo: Repo, o: Common & { channel: string; reason: string }): Promise<ChannelActionResult> {
  const reason = o.reason.trim();
  if (
    reason === '' ||
    reason.length > 1000 ||
    /[\0-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/.test(reason) ||
    !reason.isWellFormed()
  )
    throw new ArtifactsError(
      'USAGE',
      '--reason takes one line of text (at most 1,000 characters, no control or bidirectional formatting characters)',
    );
  return append(repo, o.channel, 'promote', o, async (head) => {
    const r = active(head, 'promote');
    return {
      ...base(head),
      // The rollout's own target (a blue/green `target` is the idle colour after a switch).
      stable: r.id,
      rollout: null,
      reason,
      skipped_steps: r.strategy === 'canary' ? r.steps.slice(r.step_index + 1) : [],
      gate_bypassed: true,
    };
  });
}

/** `rollout switch` (blue/green): the idle colour goes live for every unit (stable := target,
 * the previous stable becomes the idle colour); a second switch flips back. */
export async function rolloutSwitch(repo: Repo, o: Common & { channel: string }): Promise<ChannelActionResult> {
  return append(repo, o.channel, 'switch', o, async (head, _trust, stored) => {
    const r = active(head, 'switch');
    if (r.strategy !== 'blue-green') throw new ArtifactsError('USAGE', `only a blue-green rollout switches (this one is ${r.strategy})`);
    const health = await healthFindings(repo, stored);
    if (health.findings.length > 0) throw healthError(head, health.findings);
    return {
      ...base(head),
      stable: r.target,
      rollout: { ...r, target: head.stable!, switched: !r.switched, step_started_at: rfc3339(o.now ?? new Date()) },
      ...(head.health_stage ? { evidence: health.evidence } : {}),
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

/** Options of a resolver. */
export interface ResolveOptions {
  /** Refuse (CHANNEL_STALE) a channel whose newest record is older than this seq. */
  minSeq?: number;
  /** Answer the idle colour of a blue/green rollout for every unit. */
  preview?: boolean;
  /** Answer as of a record: its seq, or a time (the newest record created at or before it). */
  at?: number | Date;
}

/** Verify channel `channel` (and the snapshots the answering record names) and return its
 * resolver. */
export async function channelResolver(repo: Repo, channel: string, opts: ResolveOptions = {}): Promise<Resolver> {
  const trust = await requireTrust(repo);
  const stored = await verifiedChannel(repo, channel, trust);
  const newest = stored[stored.length - 1]!;
  if (opts.minSeq !== undefined && newest.seq < opts.minSeq)
    throw new ArtifactsError(
      'CHANNEL_STALE',
      `channel ${channel} is at record ${newest.seq}, older than the required ${opts.minSeq}: this checkout is behind`,
    );
  const last = recordAt(stored, channel, opts.at);
  const head = last.record!;
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
  const what = `record ${last.seq} of channel ${channel}`;
  const cohorts: Cohorts = {
    ...(head.rollout?.include ? { include: await loadCohort(repo, head.rollout.include, what) } : {}),
    ...(head.rollout?.exclude ? { exclude: await loadCohort(repo, head.rollout.exclude, what) } : {}),
  };
  // The idle colour of a blue/green rollout, for every unit (`resolve --variant preview`).
  const preview = { snapshot: head.rollout?.target ?? null, variant: 'target' as const };
  return {
    channel_record: at,
    stable: head.stable,
    artifacts: contents,
    choose: (unit) => (opts.preview ? preview : pick(head, unit, cohorts)),
    answer: (unit) => {
      const p = opts.preview ? preview : pick(head, unit, cohorts);
      return { unit, ...p, artifacts: p.snapshot ? contents.get(p.snapshot)! : [], channel_record: at };
    },
  };
}

/** The record that answers as of `at` (a seq, or the newest record created at or before a
 * time); the newest record when `at` is not given. */
function recordAt(stored: readonly StoredChannelRecord[], channel: string, at: number | Date | undefined): StoredChannelRecord {
  if (at === undefined) return stored[stored.length - 1]!;
  if (typeof at === 'number') {
    const hit = stored.find((s) => s.seq === at);
    if (!hit) throw new ArtifactsError('CHANNEL_NOT_FOUND', `channel ${channel} has no record ${at} (its newest is ${stored.length})`);
    return hit;
  }
  let hit: StoredChannelRecord | undefined;
  for (const s of stored) if (Date.parse(s.record!.created_at) <= at.getTime()) hit = s;
  if (!hit)
    throw new ArtifactsError(
      'CHANNEL_NOT_FOUND',
      `channel ${channel} did not exist at ${rfc3339(at)} (it was created at ${stored[0]!.record!.created_at})`,
    );
  return hit;
}

/** What each unit runs, from the channel's newest verified record and the verified
 * snapshots it names (a pure function of them: the same bytes on every machine). */
export async function resolveUnits(repo: Repo, channel: string, units: Iterable<string>, opts: ResolveOptions = {}): Promise<Resolution[]> {
  const r = await channelResolver(repo, channel, opts);
  return [...units].map((u) => r.answer(u));
}

/** A canary's cohorts: units always (include) or never (exclude) on the target. */
export interface Cohorts {
  include?: ReadonlySet<string>;
  exclude?: ReadonlySet<string>;
}

/** The variant a unit gets under a channel's state (cohorts first, then the bucket rule). */
export function pick(head: ChannelRecord, unit: string, cohorts: Cohorts = {}): { snapshot: string | null; variant: 'stable' | 'target' } {
  const r = head.rollout;
  if (!r) return { snapshot: head.stable, variant: 'stable' };
  // Blue/green: every unit runs the live colour (stable); the idle one is only a preview.
  if (r.strategy === 'blue-green') return { snapshot: head.stable, variant: 'stable' };
  const target = { snapshot: r.target, variant: 'target' as const };
  const stable = { snapshot: head.stable, variant: 'stable' as const };
  if (cohorts.include?.has(unit)) return target;
  if (cohorts.exclude?.has(unit)) return stable;
  const bp = r.steps[r.step_index] ?? 0;
  return bucketOf(head.channel, r.seed, unit) < bp ? target : stable;
}
