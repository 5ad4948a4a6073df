// Read-only questions about snapshots: drift against the tree, differences between two
// snapshots, and the history of an artifact id.
import { join } from 'node:path';
import { ArtifactsError, finding, type Finding, isArtifactsError } from '../errors.js';
import { digestFile, parseAddress } from '../hash/digest.js';
import { readDecisionIndex } from '../index/decision-index.js';
import { compareBytes, pathExists } from '../paths.js';
import type { Repo } from '../repo.js';
import { verifyChainForDecision } from './history-check.js';
import { allSnapshots, type SnapshotArtifact, type StoredSnapshot } from './snapshot-store.js';
import { verifySnapshots } from './verify-chain.js';

/** `snapshot status`: each promoted artifact of the latest snapshot missing or changed on disk. */
export async function snapshotStatus(
  repo: Repo,
  framework: string,
  stage: string,
  opts: { now: Date },
): Promise<{ latest?: { seq: number; id: string }; findings: Finding[] }> {
  // Drift is measured against a verified record only: a forged latest snapshot could
  // otherwise hide drift (or invent it, and prompt a rollback).
  const chain = await verifyChainForDecision(repo, framework, stage, { now: opts.now, objects: false });
  const integrity = chain.findings.filter((f) => f.severity === 'error' && f.code !== 'SNAPSHOT_EXPIRED');
  if (integrity.length > 0)
    throw new ArtifactsError(
      integrity[0]!.code,
      `the snapshot chain of ${framework}/${stage} does not verify: no drift can be measured against it`,
      { findings: integrity },
    );
  const list = chain.snapshots;
  const last = list[list.length - 1];
  if (!last?.snapshot) return { findings: [] };
  const findings: Finding[] = [];
  // The way back to what was promoted, for this chain: a rehearsal needs no key.
  const hint = `Rehearse restoring what #${last.seq} promoted (\`artifacts rollback --framework ${framework} --stage ${stage} --to latest --dry-run\`, then without --dry-run and with --key), or promote the new content.`;
  for (const a of last.snapshot.artifacts) {
    const abs = join(repo.root, a.path);
    if (!pathExists(abs)) {
      findings.push(
        finding('SNAPSHOT_DRIFT', `${a.path} (${a.id}@${a.version}) was promoted in ${framework}/${stage} #${last.seq} and is missing`, {
          path: a.path,
          refs: [`${a.id}@${a.version}`],
          hint,
        }),
      );
      continue;
    }
    const algo = parseAddress(a.content_address)?.algo;
    // Checked open: a FIFO, a device or a file outside the repository is never read.
    let now = '(no valid content address)';
    if (algo) {
      try {
        now = (await digestFile(algo, abs, 0, { root: repo.root, code: 'FILE_NOT_REGULAR', label: a.path })).address;
      } catch (e) {
        if (!isArtifactsError(e)) throw e;
        now = `(${e.message})`;
      }
    }
    if (now !== a.content_address)
      findings.push(
        finding(
          'SNAPSHOT_DRIFT',
          `${a.path} differs from what ${framework}/${stage} #${last.seq} promoted (${a.content_address} -> ${now})`,
          { path: a.path, hint },
        ),
      );
  }
  return { latest: { seq: last.seq, id: last.id }, findings };
}

export interface SnapshotDiff {
  added: SnapshotArtifact[];
  removed: SnapshotArtifact[];
  changed: Array<{ from: SnapshotArtifact; to: SnapshotArtifact }>;
  unchanged: SnapshotArtifact[];
}

/** `snapshot diff A B`: artifacts by slot (or id) added, removed and changed from A to B. */
export function diffSnapshots(a: StoredSnapshot, b: StoredSnapshot): SnapshotDiff {
  const key = (x: SnapshotArtifact) => x.slot ?? x.id;
  const left = new Map((a.snapshot?.artifacts ?? []).map((x) => [key(x), x]));
  const right = new Map((b.snapshot?.artifacts ?? []).map((x) => [key(x), x]));
  const out: SnapshotDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [k, x] of right) {
    const y = left.get(k);
    if (!y) out.added.push(x);
    else if (y.content_address !== x.content_address || y.id !== x.id || y.version !== x.version || y.path !== x.path)
      out.changed.push({ from: y, to: x });
    else out.unchanged.push(x);
  }
  for (const [k, y] of left) if (!right.has(k)) out.removed.push(y);
  return out;
}

export interface HistoryResult {
  id: string;
  versions: Array<{ version: string; status: string; path: string; content_address: string; created_at?: string; updated_at?: string }>;
  /** `verified: false` (with `problem`) for a snapshot whose signature or chain does not
   * verify: listed, because it is in the repository, but never evidence. */
  snapshots: Array<{
    framework: string;
    stage: string;
    seq: number;
    id: string;
    action: string;
    created_at: string;
    version: string;
    content_address: string;
    verified: boolean;
    problem?: string;
  }>;
}

/**
 * The snapshots that do not verify (signature, trust, canonical bytes, chain links;
 * expiry and objects aside), by file, with the first problem found: what listings must
 * mark, since an unsigned file in `.artifacts/snapshots/` is not a promotion.
 */
export async function unverifiedSnapshots(repo: Repo, now: Date): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of await verifySnapshots(repo, { now, objects: false })) {
    const files = new Set(r.snapshots.map((s) => s.file));
    const errors = r.findings.filter((f) => f.severity === 'error' && f.code !== 'SNAPSHOT_EXPIRED');
    // A problem of the whole chain (its trust, a deleted or rolled-back snapshot) leaves
    // none of its snapshots verified.
    const chainWide = errors.find((f) => f.path === undefined || !files.has(f.path));
    for (const s of r.snapshots) {
      const own = errors.find((f) => f.path === s.file) ?? chainWide;
      if (own) out.set(s.file, `${own.code}: ${own.message}`);
    }
  }
  return out;
}

/** `artifacts history <id>`: indexed versions and every snapshot that included the id. */
export async function history(repo: Repo, id: string, opts: { now: Date }): Promise<HistoryResult> {
  // Governance evidence: an index that fails its digest is no evidence.
  const view = await readDecisionIndex(repo);
  const versions = (view.doc?.artifacts ?? [])
    .filter((e) => e.id === id)
    .sort((x, y) => compareBytes(x.version, y.version))
    .map((e) => ({
      version: e.version,
      status: e.status,
      path: e.path,
      content_address: e.content_address,
      ...(e.created_at ? { created_at: e.created_at } : {}),
      ...(e.updated_at ? { updated_at: e.updated_at } : {}),
    }));
  const snapshots: HistoryResult['snapshots'] = [];
  const unverified = await unverifiedSnapshots(repo, opts.now);
  for (const s of await allSnapshots(repo)) {
    for (const a of s.snapshot?.artifacts ?? []) {
      if (a.id !== id) continue;
      const problem = unverified.get(s.file);
      snapshots.push({
        framework: s.framework,
        stage: s.stage,
        seq: s.seq,
        id: s.id,
        action: s.snapshot!.action,
        created_at: s.snapshot!.created_at,
        version: a.version,
        content_address: a.content_address,
        verified: problem === undefined,
        ...(problem ? { problem } : {}),
      });
    }
  }
  return { id, versions, snapshots };
}
