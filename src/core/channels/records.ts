// Rollout channel records (SPEC §13): `.artifacts/channels/<NAME>/<seq6>.json` and `.sig`,
// canonical JSON, hash-chained (each names its predecessor's id) and signed by a trusted
// key exactly like snapshots. Every record carries the channel's whole state (`stable`,
// and the rollout in progress), so the newest verified record answers every question.
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import type { Repo } from '../repo.js';
import { parseJsonQuiet, readChecked, readdirChecked, READ_LIMITS } from '../store/checked-read.js';
import type { Signer } from '../trust/signer.js';
import { allSnapshots, resolveSnapshot, snapshotId, writeSignedRecord, type Snapshot } from '../snapshots/snapshot-store.js';
import { decodeSignature, verifyStrict } from '../snapshots/ed25519.js';
import { deletedRecordFiles } from '../snapshots/history-check.js';
import { stat } from 'node:fs/promises';
import type { TrustState } from '../trust/trust-chain.js';
import { BUCKETING } from './bucket.js';
import { loadCohort } from './cohorts.js';

export const CHANNELS_DIR = '.artifacts/channels';
export const CHANNEL_FORMAT = 'artifacts-channel/1';

export type ChannelAction = 'create' | 'start' | 'advance' | 'pause' | 'resume' | 'abort' | 'complete' | 'switch' | 'promote';
export const CHANNEL_ACTIONS: readonly ChannelAction[] = [
  'create',
  'start',
  'advance',
  'pause',
  'resume',
  'abort',
  'complete',
  'switch',
  'promote',
];

export type RolloutStrategy = 'direct' | 'canary' | 'blue-green';

/** A rollout in progress. */
export interface Rollout {
  /** The target's snapshot id (also the default seed of the bucket rule). */
  id: string;
  strategy: RolloutStrategy;
  target: string;
  /** Basis points, strictly increasing, ending at 10000 (canary); [] otherwise. */
  steps: number[];
  step_index: number;
  paused: boolean;
  seed: string;
  step_started_at: string;
  /** Blue/green: whether the rollout's own target is live (an odd number of switches); the
   * `target` is then the idle colour (the previous stable). */
  switched?: boolean;
  /** Canary: the minimum time (seconds) each step bakes before `advance`, when any is set. */
  bake?: number[];
  /** Canary cohorts: digests of the units files of units always (`include`) or never
   * (`exclude`) on the target, applied before bucketing (stored in .artifacts/cohorts/). */
  include?: string;
  exclude?: string;
}

/** Health evidence an `advance` or `switch` accepted: the health stage's selected inputs. */
export interface Evidence {
  id: string;
  version: string;
  path: string;
  content_address: string;
}

export interface ChannelRecord {
  format: typeof CHANNEL_FORMAT;
  channel: string;
  framework: string;
  stage: string;
  health_stage: string | null;
  bucketing: typeof BUCKETING;
  seq: number;
  parent: string | null;
  action: ChannelAction;
  created_at: string;
  signer: { keyid: string };
  /** The snapshot id every unit runs when no rollout gives it the target. */
  stable: string | null;
  rollout: Rollout | null;
  /** `advance`/`switch` through a health stage: the evidence its gate passed on. */
  evidence?: Evidence[];
  /** `promote` (the emergency path): why, the canary steps not taken, and that no gate ran. */
  reason?: string;
  skipped_steps?: number[];
  gate_bypassed?: boolean;
}

export interface StoredChannelRecord {
  channel: string;
  seq: number;
  file: string;
  bytes: Buffer;
  id: string;
  record?: ChannelRecord;
  invalid?: string;
  signature?: string;
}

/** A channel name: a plain name, as framework and stage names are. */
export const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function channelNameProblem(name: string): string | undefined {
  if (!CHANNEL_NAME.test(name) || name.endsWith('.') || name.includes('..')) {
    return `channel name ${JSON.stringify(name.slice(0, 40))} is not a plain name (letters, digits, '_', '.', '-'; at most 128)`;
  }
  return undefined;
}

/** Framework and stage names, as contracts name them. */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The longest bake time a step may carry (seconds): a year. */
export const MAX_BAKE = 366 * 86_400;

/** An RFC 3339 UTC time as records carry it (`2026-03-03T10:00:00Z`), of a real date. */
export function isTime(v: unknown): v is string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/.test(v)) return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 19) === v.slice(0, 19);
}

const RECORD_KEYS = new Set([
  'format',
  'channel',
  'framework',
  'stage',
  'health_stage',
  'bucketing',
  'seq',
  'parent',
  'action',
  'created_at',
  'signer',
  'stable',
  'rollout',
  'evidence',
  'reason',
  'skipped_steps',
  'gate_bypassed',
]);
const ROLLOUT_KEYS = new Set([
  'id',
  'strategy',
  'target',
  'steps',
  'step_index',
  'paused',
  'seed',
  'step_started_at',
  'switched',
  'bake',
  'include',
  'exclude',
]);

/** A record's id: as a snapshot's, the SHA-256 of its bytes. */
export const recordId = snapshotId;

export function encodeChannelRecord(r: ChannelRecord): Buffer {
  return Buffer.from(canonicalJson(r), 'utf8');
}

function channelDir(repo: Repo, name: string): string {
  return join(repo.root, CHANNELS_DIR, name);
}

export function channelRecordFile(name: string, seq: number): string {
  return `${CHANNELS_DIR}/${name}/${String(seq).padStart(6, '0')}.json`;
}

const ID = /^sha256:[0-9a-f]{64}$/;

/** Why a parsed value is not a channel record of the expected shape, if it is not. */
export function channelRecordProblem(v: unknown): string | undefined {
  const r = v as Partial<ChannelRecord> | null;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'is not a JSON object';
  if (r.format !== CHANNEL_FORMAT) return `has format ${JSON.stringify(r.format)}, not ${CHANNEL_FORMAT}`;
  const unknown = Object.keys(r).find((k) => !RECORD_KEYS.has(k));
  if (unknown !== undefined) return `has a field ${JSON.stringify(unknown.slice(0, 40))} that ${CHANNEL_FORMAT} does not define`;
  for (const k of ['channel', 'framework', 'stage', 'created_at'] as const) if (typeof r[k] !== 'string') return `lacks ${k}`;
  if (!isTime(r.created_at)) return 'has a created_at that is not an RFC 3339 time';
  for (const k of ['framework', 'stage'] as const) if (!PLAIN.test(r[k]!)) return `has a ${k} that is not a plain name`;
  if (typeof r.health_stage === 'string' && !PLAIN.test(r.health_stage)) return 'has a health_stage that is not a plain name';
  if (r.bucketing !== BUCKETING) return `has bucketing ${JSON.stringify(r.bucketing)}, not ${BUCKETING}`;
  if (r.health_stage !== null && typeof r.health_stage !== 'string') return 'has a health_stage that is neither a name nor null';
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return 'has no valid seq';
  if (r.parent !== null && !(typeof r.parent === 'string' && ID.test(r.parent))) return 'has a parent that is not a record id';
  if (!CHANNEL_ACTIONS.includes(r.action as ChannelAction)) return `has an unknown action ${JSON.stringify(r.action)}`;
  if (!r.signer || typeof r.signer !== 'object' || typeof r.signer.keyid !== 'string') return 'names no signer';
  if (r.stable !== null && !(typeof r.stable === 'string' && ID.test(r.stable))) return 'has a stable that is not a snapshot id';
  if (r.rollout !== null) {
    const o = r.rollout as Partial<Rollout> | undefined;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return 'has a rollout that is not an object';
    const unknownKey = Object.keys(o).find((k) => !ROLLOUT_KEYS.has(k));
    if (unknownKey !== undefined)
      return `has a rollout field ${JSON.stringify(unknownKey.slice(0, 40))} that ${CHANNEL_FORMAT} does not define`;
    if (!(typeof o.target === 'string' && ID.test(o.target)) || !(typeof o.id === 'string' && ID.test(o.id)))
      return 'has a rollout without a valid id and target';
    if (!['canary', 'blue-green'].includes(o.strategy as string)) return 'has a rollout in progress that is neither canary nor blue-green';
    if (
      !Array.isArray(o.steps) ||
      !o.steps.every((x, i, a) => Number.isSafeInteger(x) && x > 0 && x <= 10_000 && (i === 0 || x > a[i - 1]!))
    )
      return 'has rollout steps that are not strictly increasing basis points';
    if (o.steps.length > 0 && o.steps[o.steps.length - 1] !== 10_000) return 'has rollout steps that do not end at 100 %';
    if ((o.strategy === 'canary') !== o.steps.length > 0)
      return 'has rollout steps that do not fit its strategy (a canary has steps, blue/green none)';
    if (o.strategy === 'blue-green' && r.stable === null) return 'has a blue/green rollout without a live (stable) snapshot';
    if (!Number.isSafeInteger(o.step_index) || o.step_index! < 0 || (o.steps.length > 0 && o.step_index! >= o.steps.length))
      return 'has a rollout step_index out of range';
    if (typeof o.paused !== 'boolean' || typeof o.seed !== 'string' || typeof o.step_started_at !== 'string')
      return 'has an incomplete rollout';
    if (o.switched !== undefined && (typeof o.switched !== 'boolean' || o.strategy !== 'blue-green'))
      return 'has a switched flag that is not a blue/green boolean';
    if (!isTime(o.step_started_at)) return 'has a step_started_at that is not an RFC 3339 time';
    if (
      o.bake !== undefined &&
      !(
        Array.isArray(o.bake) &&
        o.bake.length === o.steps.length &&
        o.bake.every((x) => Number.isSafeInteger(x) && x >= 0 && x <= MAX_BAKE)
      )
    )
      return 'has bake times that are not one count of seconds per step';
    for (const k of ['include', 'exclude'] as const)
      if (o[k] !== undefined && !(typeof o[k] === 'string' && ID.test(o[k]))) return `has a rollout ${k} that is not a sha256 digest`;
    if ((o.include !== undefined || o.exclude !== undefined) && o.strategy !== 'canary')
      return 'has cohorts on a rollout that is not a canary';
  }
  if (r.evidence !== undefined) {
    if (
      !Array.isArray(r.evidence) ||
      !r.evidence.every(
        (e) =>
          e &&
          typeof e === 'object' &&
          ['id', 'version', 'path', 'content_address'].every((k) => typeof (e as unknown as Record<string, unknown>)[k] === 'string'),
      )
    )
      return 'has evidence that is not a list of artifacts';
  }
  const promote = r.action === 'promote';
  if (promote) {
    if (typeof r.reason !== 'string' || r.reason.trim() === '') return 'is a promote without a reason';
    if (r.gate_bypassed !== true) return 'is a promote that does not record gate_bypassed';
    if (!Array.isArray(r.skipped_steps) || !r.skipped_steps.every((x) => Number.isSafeInteger(x) && x > 0 && x <= 10_000))
      return 'is a promote without its skipped_steps';
  } else if (r.reason !== undefined || r.gate_bypassed !== undefined || r.skipped_steps !== undefined)
    return `is a ${String(r.action)} that carries promote fields`;
  return undefined;
}

/** A channel directory (or the channels directory) that exists and is anything but a
 * directory is CHANNEL_INVALID: it is never taken for "no records". */
async function mustBeDirectory(path: string, label: string): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new ArtifactsError('CHANNEL_INVALID', `${label} cannot be read (${e.code ?? 'error'})`);
  });
  if (st && !st.isDirectory()) throw new ArtifactsError('CHANNEL_INVALID', `${label} is not a directory: channel records live in one`);
}

/** The records of one channel in seq order, read under the checked-read rules. */
export async function listChannelRecords(repo: Repo, name: string): Promise<StoredChannelRecord[]> {
  const rel = `${CHANNELS_DIR}/${name}`;
  const dir = channelDir(repo, name);
  await mustBeDirectory(join(repo.root, CHANNELS_DIR), CHANNELS_DIR);
  await mustBeDirectory(dir, rel);
  const names = (await readdirChecked(dir, { root: repo.root, code: 'CHANNEL_INVALID', label: rel })).filter((n) =>
    /^\d{6}\.json$/.test(n),
  );
  names.sort();
  const out: StoredChannelRecord[] = [];
  for (const n of names) {
    const base = n.slice(0, 6);
    const read = (f: string, allowMissing: boolean) =>
      readChecked(join(dir, f), {
        root: repo.root,
        maxBytes: READ_LIMITS.record,
        code: 'CHANNEL_INVALID',
        label: `${rel}/${f}`,
        allowMissing,
      });
    const bytes = (await read(n, false))!;
    const parsed = parseJsonQuiet(bytes.toString('utf8'));
    const invalid = parsed.ok ? channelRecordProblem(parsed.value) : `is not valid JSON (${parsed.error})`;
    const sig = await read(`${base}.sig`, true);
    out.push({
      channel: name,
      seq: Number(base),
      file: `${rel}/${n}`,
      bytes,
      id: recordId(bytes),
      ...(invalid === undefined ? { record: (parsed as { value: ChannelRecord }).value } : { invalid }),
      ...(sig ? { signature: sig.toString('utf8') } : {}),
    });
  }
  return out;
}

/** The names of the channels (directories under .artifacts/channels/), sorted. */
export async function listChannelNames(repo: Repo): Promise<string[]> {
  await mustBeDirectory(join(repo.root, CHANNELS_DIR), CHANNELS_DIR);
  const names = await readdirChecked(join(repo.root, CHANNELS_DIR), { root: repo.root, code: 'CHANNEL_INVALID', label: CHANNELS_DIR });
  return names.filter((n) => channelNameProblem(n) === undefined).sort();
}

/**
 * Verify a channel's chain: every record canonical, of the expected shape, of this channel,
 * numbered 1..n without a gap, naming its predecessor's id, and signed by a key the trust
 * chain trusts. Findings are CHANNEL_INVALID (exit 4); an empty list of findings means the
 * newest record is a verified fact.
 */
export function verifyChannelRecords(name: string, stored: readonly StoredChannelRecord[], trust: TrustState): Finding[] {
  const out: Finding[] = [];
  const bad = (s: StoredChannelRecord, why: string) => out.push(finding('CHANNEL_INVALID', `${s.file} ${why}`, { path: s.file }));
  if (stored.length === 0) out.push(finding('CHANNEL_INVALID', `channel ${name} has no records`, { path: `${CHANNELS_DIR}/${name}` }));
  stored.forEach((s, i) => {
    if (s.seq !== i + 1) return bad(s, `is record ${s.seq} where record ${i + 1} should be (a record is missing)`);
    const r = s.record;
    if (!r) return bad(s, s.invalid ?? 'is not a channel record');
    let canonical: Buffer;
    try {
      canonical = encodeChannelRecord(r);
    } catch {
      // (A lone surrogate, nesting too deep to encode: no canonical form at all.)
      return bad(s, 'has no canonical form');
    }
    if (!canonical.equals(s.bytes)) return bad(s, 'is not in its canonical form');
    if (r.channel !== name) return bad(s, `belongs to channel ${JSON.stringify(r.channel)}`);
    if (r.seq !== s.seq) return bad(s, `says it is record ${r.seq}`);
    const prev = stored[i - 1];
    if ((i === 0 ? null : prev!.id) !== r.parent) return bad(s, 'does not name the record before it as its parent');
    if ((i === 0) !== (r.action === 'create')) return bad(s, i === 0 ? 'does not create the channel' : 'creates the channel again');
    if (i > 0 && prev!.record && Date.parse(r.created_at) < Date.parse(prev!.record.created_at))
      return bad(s, `was created at ${r.created_at}, before the record it follows (${prev!.record.created_at})`);
    if (i > 0 && prev!.record && (prev!.record.framework !== r.framework || prev!.record.stage !== r.stage))
      return bad(s, 'changes the framework or stage the channel follows');
    const key = trust.trusted.get(r.signer.keyid);
    if (!key) return bad(s, `is signed by ${r.signer.keyid}, which the trust chain rooted at ${trust.root} does not trust`);
    const sig = s.signature === undefined ? undefined : decodeSignature(s.signature);
    if (!sig || !verifyStrict(s.bytes, sig, key)) return bad(s, 'has no valid signature by its signer');
    return undefined;
  });
  return out;
}

/** Snapshots a channel's records name (stable, rollout target) that no snapshot chain of
 * the repository holds: CHANNEL_INVALID (a signed record pointing nowhere is not a fact). */
export async function danglingSnapshotFindings(repo: Repo, stored: readonly StoredChannelRecord[]): Promise<Finding[]> {
  const ids = new Set((await allSnapshots(repo)).map((s) => s.id));
  const cohorts = new Set<string>();
  const out: Finding[] = [];
  for (const s of stored) {
    const r = s.record;
    if (!r) continue;
    for (const id of new Set([r.stable, r.rollout?.target, r.rollout?.id])) {
      if (id && !ids.has(id))
        out.push(
          finding('CHANNEL_INVALID', `${s.file} names snapshot ${id}, which no snapshot chain of this repository holds`, { path: s.file }),
        );
    }
    // The cohorts a record names must be there, holding the bytes of their digest.
    for (const digest of new Set([r.rollout?.include, r.rollout?.exclude])) {
      if (!digest || cohorts.has(digest)) continue;
      cohorts.add(digest);
      await loadCohort(repo, digest, s.file).catch((e: unknown) =>
        out.push(finding('CHANNEL_INVALID', (e as Error).message, { path: s.file })),
      );
    }
  }
  return out;
}

/** Write a signed record: signature first, then the record (the commit point). */
export async function writeSignedChannelRecord(
  repo: Repo,
  record: ChannelRecord,
  signer: Signer,
  publicKey: Uint8Array,
): Promise<{ id: string; file: string }> {
  const bytes = encodeChannelRecord(record);
  // Its in-toto statement: what the record makes this environment run.
  const snapshots = new Map<string, Snapshot>();
  for (const id of [record.stable, record.rollout?.target]) {
    if (!id || snapshots.has(id)) continue;
    const snap = (await resolveSnapshot(repo, id)).snapshot;
    if (snap) snapshots.set(id, snap);
  }
  const { channelStatement } = await import('../attest/statements.js');
  const { encodeAttestation } = await import('../attest/attestations.js');
  const attestation = await encodeAttestation(await channelStatement(repo, record, recordId(bytes), snapshots), signer, publicKey);
  await writeSignedRecord(
    repo,
    channelDir(repo, record.channel),
    record.seq,
    bytes,
    signer,
    publicKey,
    `sign record ${record.seq} of channel ${record.channel}`,
    attestation,
  );
  return { id: recordId(bytes), file: channelRecordFile(record.channel, record.seq) };
}

const RECORD_FILE = /^\.artifacts\/channels\/([^/]+)\/(\d{6})\.json$/;

/** Channel records that git history (or HEAD) had and the working tree lacks: a channel
 * from which its newest records were removed still links and verifies, so git is asked. */
export async function deletedChannelRecordFindings(repo: Repo, name?: string): Promise<Finding[]> {
  const scan = await deletedRecordFiles(repo, name === undefined ? CHANNELS_DIR : `${CHANNELS_DIR}/${name}`, RECORD_FILE);
  return scan.deleted.map((d) =>
    finding(
      'CHANNEL_INVALID',
      `${d.path} ${d.how === 'head' ? 'is in the last commit' : 'was committed'} and is gone: channel records are append-only, a deleted one hides an action`,
      { path: d.path, hint: `Restore it: \`git checkout HEAD -- ${d.path}\` (or from the commit that deleted it).` },
    ),
  );
}

/**
 * Everything known about one channel's integrity: its records verified as a chain
 * ({@link verifyChannelRecords}), the snapshots and cohorts they name present and intact,
 * and no record that git knew of missing. An empty list of findings means the newest record
 * is a verified fact.
 */
export async function verifyChannel(
  repo: Repo,
  name: string,
  trust: TrustState,
): Promise<{ records: StoredChannelRecord[]; findings: Finding[] }> {
  const problem = channelNameProblem(name);
  if (problem) throw new ArtifactsError('USAGE', problem);
  const records = await listChannelRecords(repo, name);
  const findings = records.length === 0 ? [] : verifyChannelRecords(name, records, trust);
  if (records.length > 0 && findings.length === 0) findings.push(...(await danglingSnapshotFindings(repo, records)));
  findings.push(...(await deletedChannelRecordFindings(repo, name)));
  return { records, findings };
}

/** Every channel of the repository verified (as {@link verifyChannel}), and no channel
 * record that git knew of missing, even of a channel whose directory is gone. */
export async function verifyAllChannels(repo: Repo, trust: () => Promise<TrustState>): Promise<{ names: string[]; findings: Finding[] }> {
  const names = await listChannelNames(repo);
  const findings: Finding[] = [];
  if (names.length > 0) {
    const t = await trust();
    for (const name of names) {
      const records = await listChannelRecords(repo, name);
      const own = verifyChannelRecords(name, records, t);
      findings.push(...own);
      if (own.length === 0) findings.push(...(await danglingSnapshotFindings(repo, records)));
    }
  }
  findings.push(...(await deletedChannelRecordFindings(repo)));
  return { names, findings };
}

/** The channel's verified records, or CHANNEL_NOT_FOUND / CHANNEL_INVALID. */
export async function verifiedChannel(repo: Repo, name: string, trust: TrustState): Promise<StoredChannelRecord[]> {
  const { records, findings } = await verifyChannel(repo, name, trust);
  if (records.length === 0 && findings.length === 0) throw new ArtifactsError('CHANNEL_NOT_FOUND', `no channel ${name}`);
  if (findings.length > 0)
    throw new ArtifactsError('CHANNEL_INVALID', `channel ${name} does not verify: no answer is given from it`, { findings });
  return records;
}
