// Promotion snapshots on disk: `.artifacts/snapshots/<framework>/<stage>/<seq>.json` (RFC 8785
// canonical bytes), `<seq>.sig` (base64 Ed25519 signature of those bytes, one line),
// `<seq>.hold` (a hold and its reason) and `<seq>.released` (retention released its objects).
// Promote and rollback draft and write their snapshots here, through a Signer.
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import type { ArtifactStatus } from '../index/entry.js';
import { pathExists } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkStateDirs } from '../index/store.js';
import { removeFileDurable, writeFileDurable } from '../store/durable-write.js';
import { parseJsonQuiet, readChecked, readdirChecked, READ_LIMITS } from '../store/checked-read.js';
import { signVerified, type Signer } from '../trust/signer.js';

export const SNAPSHOTS_DIR = '.artifacts/snapshots';
export const SNAPSHOT_FORMAT = 'artifacts-snapshot/1';

export interface SnapshotArtifact {
  slot: string;
  id: string;
  version: string;
  kind: string;
  status: ArtifactStatus;
  path: string;
  content_address: string;
  size: number;
  git_blob?: string;
  /** The SHA-256 (hex) of the content, recorded when the content address is BLAKE3: OCI
   * registries and in-toto verifiers know SHA-256 (SPEC §15). */
  sha256?: string;
}

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  framework: string;
  stage: string;
  seq: number;
  parent: string | null;
  action: 'promote' | 'rollback';
  rollback_of?: string;
  created_at: string;
  expires_at?: string;
  artifacts: SnapshotArtifact[];
  selection_digest: string;
  index_digest: string;
  signer: { keyid: string };
}

export interface StoredSnapshot {
  framework: string;
  stage: string;
  /** Sequence number from the file name. */
  seq: number;
  /** Repository path of the .json file. */
  file: string;
  bytes: Buffer;
  /** `sha256:` of the bytes: the snapshot id. */
  id: string;
  /** Parsed content, when the bytes are JSON of a snapshot's shape. */
  snapshot?: Snapshot;
  /** Why the bytes are not a snapshot (not JSON, or not of a snapshot's shape). */
  invalid?: string;
  signature?: string;
  hold?: { reason: string };
  released: boolean;
}

export function seqName(seq: number): string {
  return String(seq).padStart(6, '0');
}

export function stageDir(repo: Repo, framework: string, stage: string): string {
  return join(repo.root, SNAPSHOTS_DIR, framework, stage);
}

export function snapshotId(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

export function encodeSnapshot(s: Snapshot): Buffer {
  return Buffer.from(canonicalJson(s), 'utf8');
}

/** RFC 3339 UTC, whole seconds: the form of every time a snapshot or trust record holds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a promotion or a rollback decides; {@link draftSnapshot} adds the format and the
 * signer. */
export type SnapshotDraft = Omit<Snapshot, 'format' | 'signer'>;

/** The snapshot a signer with `keyid` will sign (nothing is written). */
export function draftSnapshot(draft: SnapshotDraft, keyid: string): Snapshot {
  return { format: SNAPSHOT_FORMAT, ...draft, signer: { keyid } };
}

/** Repository path of a snapshot's .json file. */
export function snapshotFile(framework: string, stage: string, seq: number): string {
  return `${SNAPSHOTS_DIR}/${framework}/${stage}/${seqName(seq)}.json`;
}

/**
 * Write a signed snapshot: signature first, then the snapshot bytes (the commit point; a
 * .sig without its .json is ignored and overwritten by the next writer). The signature is
 * checked against `publicKey`, the key the trust chain holds for the signer, before
 * anything is written.
 */
export async function writeSignedSnapshot(
  repo: Repo,
  snapshot: Snapshot,
  signer: Signer,
  publicKey: Uint8Array,
): Promise<{ id: string; file: string }> {
  const bytes = encodeSnapshot(snapshot);
  const dir = stageDir(repo, snapshot.framework, snapshot.stage);
  // Its in-toto statement (SLSA provenance), from the commit the promotion was made at.
  const { snapshotStatement, headCommit } = await import('../attest/statements.js');
  const { encodeAttestation } = await import('../attest/attestations.js');
  const attestation = await encodeAttestation(
    await snapshotStatement(repo, snapshot, snapshotId(bytes), await headCommit(repo)),
    signer,
    publicKey,
  );
  await writeSignedRecord(
    repo,
    dir,
    snapshot.seq,
    bytes,
    signer,
    publicKey,
    `sign snapshot ${snapshot.seq} of ${snapshot.framework}/${snapshot.stage}`,
    attestation,
  );
  return { id: snapshotId(bytes), file: snapshotFile(snapshot.framework, snapshot.stage, snapshot.seq) };
}

/**
 * Write `<dir>/<seq6>.intoto.json` (its attestation, when given), `<dir>/<seq6>.sig`, then
 * `<dir>/<seq6>.json` (the commit point): how every signed, hash-chained record (snapshots,
 * channel records) is written. A crash before the commit point leaves files the next writer
 * of that seq replaces. The signature is checked against `publicKey` before anything is
 * written.
 */
export async function writeSignedRecord(
  repo: Repo,
  dir: string,
  seq: number,
  bytes: Buffer,
  signer: Signer,
  publicKey: Uint8Array,
  what: string,
  attestation?: Buffer,
): Promise<void> {
  const sig = await signVerified(signer, bytes, publicKey, what);
  const base = seqName(seq);
  if (attestation) await writeFileDurable(join(dir, `${base}.intoto.json`), attestation, { root: repo.root, faultHook: repo.faultHook });
  await writeFileDurable(join(dir, `${base}.sig`), `${Buffer.from(sig).toString('base64')}\n`, {
    root: repo.root,
    faultHook: repo.faultHook,
  });
  await writeFileDurable(join(dir, `${base}.json`), bytes, { root: repo.root, faultHook: repo.faultHook });
}

/** Every framework/stage that has a snapshot directory. A snapshot directory that is a
 * symlink leading outside the repository is SNAPSHOT_INVALID (exit 4): it is never listed. */
export async function listStages(repo: Repo): Promise<Array<{ framework: string; stage: string }>> {
  const out: Array<{ framework: string; stage: string }> = [];
  const root = join(repo.root, SNAPSHOTS_DIR);
  const dirOpts = (label: string) => ({ root: repo.root, code: 'SNAPSHOT_INVALID' as const, label });
  for (const f of await readdirChecked(root, dirOpts(SNAPSHOTS_DIR))) {
    for (const s of await readdirChecked(join(root, f), dirOpts(`${SNAPSHOTS_DIR}/${f}`))) out.push({ framework: f, stage: s });
  }
  return out;
}

const STRING_FIELDS = ['format', 'framework', 'stage', 'action', 'created_at', 'selection_digest', 'index_digest'] as const;
const ARTIFACT_STRING_FIELDS = ['slot', 'id', 'version', 'kind', 'status', 'path', 'content_address'] as const;

/** Why parsed snapshot JSON is not a snapshot (undefined when it has a snapshot's shape).
 * Every consumer relies on these fields' types; the signature and chain checks come later. */
export function snapshotShapeProblem(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'is not a JSON object';
  const s = v as Record<string, unknown>;
  for (const k of STRING_FIELDS) if (typeof s[k] !== 'string') return `has no string field "${k}"`;
  if (s.format !== SNAPSHOT_FORMAT) return `is not an ${SNAPSHOT_FORMAT} document`;
  if (!Number.isSafeInteger(s.seq) || (s.seq as number) < 1) return 'has no positive integer "seq"';
  if (!(s.parent === null || typeof s.parent === 'string')) return '"parent" is neither a digest nor null';
  if (s.action !== 'promote' && s.action !== 'rollback') return '"action" is neither promote nor rollback';
  for (const k of ['expires_at', 'rollback_of'] as const)
    if (s[k] !== undefined && typeof s[k] !== 'string') return `"${k}" is not a string`;
  const signer = s.signer as { keyid?: unknown } | null;
  if (signer === null || typeof signer !== 'object' || typeof signer.keyid !== 'string') return 'has no "signer.keyid"';
  if (!Array.isArray(s.artifacts)) return 'has no "artifacts" list';
  for (const [i, a] of (s.artifacts as unknown[]).entries()) {
    if (a === null || typeof a !== 'object' || Array.isArray(a)) return `artifact ${i + 1} is not an object`;
    const x = a as Record<string, unknown>;
    for (const k of ARTIFACT_STRING_FIELDS) if (typeof x[k] !== 'string') return `artifact ${i + 1} has no string field "${k}"`;
    if (typeof x.size !== 'number') return `artifact ${i + 1} has no numeric "size"`;
    if (x.git_blob !== undefined && typeof x.git_blob !== 'string') return `artifact ${i + 1} has a non-string "git_blob"`;
    if (x.sha256 !== undefined && (typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)))
      return `artifact ${i + 1} has a "sha256" that is not 64 lowercase hex digits`;
  }
  return undefined;
}

/** The snapshots of one framework/stage, ordered by the sequence number in their names.
 * Every file is read under the checked-read rules: a FIFO, a directory, a symlink or an
 * oversized file in place of a snapshot (SNAPSHOT_INVALID), its signature
 * (SIGNATURE_INVALID) or its hold (HOLD_INVALID) is refused with exit 4, never read. */
export async function listSnapshots(repo: Repo, framework: string, stage: string): Promise<StoredSnapshot[]> {
  const dir = stageDir(repo, framework, stage);
  const rel = `${SNAPSHOTS_DIR}/${framework}/${stage}`;
  const names = (await readdirChecked(dir, { root: repo.root, code: 'SNAPSHOT_INVALID', label: rel })).filter((n) =>
    /^\d{6}\.json$/.test(n),
  );
  const read = (n: string, code: 'SNAPSHOT_INVALID' | 'SIGNATURE_INVALID' | 'HOLD_INVALID', allowMissing: boolean) =>
    readChecked(join(dir, n), { root: repo.root, maxBytes: READ_LIMITS.record, code, label: `${rel}/${n}`, allowMissing });
  const out: StoredSnapshot[] = [];
  for (const n of names) {
    const base = n.slice(0, 6);
    const bytes = (await read(n, 'SNAPSHOT_INVALID', false))!;
    const parsed = parseJsonQuiet(bytes.toString('utf8'));
    const invalid = parsed.ok ? snapshotShapeProblem(parsed.value) : `is not valid JSON (${parsed.error})`;
    const sig = await read(`${base}.sig`, 'SIGNATURE_INVALID', true);
    const holdBytes = await read(`${base}.hold`, 'HOLD_INVALID', true);
    out.push({
      framework,
      stage,
      seq: Number(base),
      file: `${rel}/${n}`,
      bytes,
      id: snapshotId(bytes),
      ...(invalid === undefined ? { snapshot: (parsed as { value: Snapshot }).value } : { invalid }),
      ...(sig ? { signature: sig.toString('utf8') } : {}),
      ...(holdBytes ? { hold: parseHold(holdBytes, `${rel}/${base}.hold`) } : {}),
      released: pathExists(join(dir, `${base}.released`)),
    });
  }
  return out;
}

/** A hold marker: `{"reason": "..."}`. Anything else is HOLD_INVALID (exit 4): retention
 * cannot tell whether a damaged hold meant to keep the snapshot, so it decides nothing. */
function parseHold(bytes: Buffer, file: string): { reason: string } {
  const parsed = parseJsonQuiet(bytes.toString('utf8'));
  const v = parsed.ok ? (parsed.value as { reason?: unknown } | null) : null;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof v.reason !== 'string') {
    throw new ArtifactsError('HOLD_INVALID', `${file} is not a hold marker ({"reason": "..."})${parsed.ok ? '' : ` (${parsed.error})`}`, {
      hint: `Restore ${file} from git, or delete it and run \`artifacts snapshot hold\` again.`,
      details: { path: file },
    });
  }
  return { reason: v.reason };
}

/** Every stored snapshot of the repository. */
export async function allSnapshots(repo: Repo): Promise<StoredSnapshot[]> {
  const out: StoredSnapshot[] = [];
  for (const { framework, stage } of await listStages(repo)) out.push(...(await listSnapshots(repo, framework, stage)));
  return out;
}

/**
 * Resolve a reference: `sha256:…` (a snapshot id), `F/S/seq`, or — with framework and
 * stage — a seq number or `previous` / `latest`.
 */
export async function resolveSnapshot(repo: Repo, ref: string, scope?: { framework: string; stage: string }): Promise<StoredSnapshot> {
  if (ref.startsWith('sha256:')) {
    const pool = scope ? await listSnapshots(repo, scope.framework, scope.stage) : await allSnapshots(repo);
    const hit = pool.find((s) => s.id === ref);
    if (hit) return hit;
    throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `no snapshot with id ${ref}`);
  }
  const m = /^([^/]+)\/([^/]+)\/(\d+)$/.exec(ref);
  const fs = m ? { framework: m[1]!, stage: m[2]! } : scope;
  if (!fs) throw new ArtifactsError('USAGE', `snapshot reference "${ref}" needs --framework and --stage, or the form F/S/seq`);
  const list = await listSnapshots(repo, fs.framework, fs.stage);
  if (list.length === 0) throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `no snapshots for ${fs.framework}/${fs.stage}`);
  const key = m ? m[3]! : ref;
  let hit: StoredSnapshot | undefined;
  if (key === 'latest') hit = list[list.length - 1];
  else if (key === 'previous') hit = list[list.length - 2];
  else if (/^\d+$/.test(key)) hit = list.find((s) => s.seq === Number(key));
  if (!hit) throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `no snapshot ${key} in ${fs.framework}/${fs.stage} (it has 1..${list.length})`);
  return hit;
}

export async function writeHold(repo: Repo, s: StoredSnapshot, reason: string | undefined): Promise<void> {
  const p = join(stageDir(repo, s.framework, s.stage), `${seqName(s.seq)}.hold`);
  await checkStateDirs(repo);
  if (reason === undefined) await removeFileDurable(p, { root: repo.root });
  else await writeFileDurable(p, `${JSON.stringify({ reason })}\n`, { root: repo.root });
}

export async function markReleased(repo: Repo, s: StoredSnapshot): Promise<void> {
  await writeFileDurable(join(stageDir(repo, s.framework, s.stage), `${seqName(s.seq)}.released`), '', { root: repo.root });
}
