// Promotion snapshots on disk: `.artifacts/snapshots/<framework>/<stage>/<seq>.json` (RFC 8785
// canonical bytes), `<seq>.sig` (base64 Ed25519 signature of those bytes, one line),
// `<seq>.hold` (a hold and its reason) and `<seq>.released` (retention released its objects).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import type { ArtifactStatus } from '../metadata/inspect.js';
import { pathExists } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkStateDirs } from '../index/store.js';
import { removeFileDurable, writeFileDurable } from '../store/durable-write.js';

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
  /** Parsed content, when the bytes are JSON. */
  snapshot?: Snapshot;
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

/** Every framework/stage that has a snapshot directory. */
export async function listStages(repo: Repo): Promise<Array<{ framework: string; stage: string }>> {
  const out: Array<{ framework: string; stage: string }> = [];
  const root = join(repo.root, SNAPSHOTS_DIR);
  for (const f of (await readdir(root).catch(() => [] as string[])).sort()) {
    for (const s of (await readdir(join(root, f)).catch(() => [] as string[])).sort()) out.push({ framework: f, stage: s });
  }
  return out;
}

async function readOptional(p: string): Promise<Buffer | undefined> {
  try {
    return await readFile(p);
  } catch {
    return undefined;
  }
}

/** The snapshots of one framework/stage, ordered by the sequence number in their names. */
export async function listSnapshots(repo: Repo, framework: string, stage: string): Promise<StoredSnapshot[]> {
  const dir = stageDir(repo, framework, stage);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d{6}\.json$/.test(n)).sort();
  const out: StoredSnapshot[] = [];
  for (const n of names) {
    const base = n.slice(0, 6);
    const bytes = await readFile(join(dir, n));
    let snapshot: Snapshot | undefined;
    try {
      snapshot = JSON.parse(bytes.toString('utf8')) as Snapshot;
    } catch {
      snapshot = undefined;
    }
    const sig = await readOptional(join(dir, `${base}.sig`));
    const hold = await readOptional(join(dir, `${base}.hold`));
    out.push({
      framework,
      stage,
      seq: Number(base),
      file: `${SNAPSHOTS_DIR}/${framework}/${stage}/${n}`,
      bytes,
      id: snapshotId(bytes),
      ...(snapshot ? { snapshot } : {}),
      ...(sig ? { signature: sig.toString('utf8') } : {}),
      ...(hold ? { hold: JSON.parse(hold.toString('utf8')) as { reason: string } } : {}),
      released: pathExists(join(dir, `${base}.released`)),
    });
  }
  return out;
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
