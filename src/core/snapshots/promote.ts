// `artifacts promote` (SPEC §7): gate → objects → canonical snapshot → Ed25519 signature.
// Order matters for crash safety: objects are durable before the snapshot that references
// them, and the snapshot store writes the signature before the snapshot, whose atomic
// appearance is the commit point.
import { join } from 'node:path';
import { ArtifactsError, type Finding } from '../errors.js';
import { gate, type PromotionLookup } from '../hydrate/hydrate.js';
import { withIndexLock } from '../index/store.js';
import type { Repo } from '../repo.js';
import { putObjectFromFile } from '../store/objects.js';
import { digestFile, parseAddress } from '../hash/digest.js';
import { blobIds } from './git-objects.js';
import {
  draftSnapshot,
  encodeSnapshot,
  listSnapshots,
  rfc3339,
  snapshotFile,
  snapshotId,
  writeSignedSnapshot,
  type Snapshot,
  type SnapshotArtifact,
} from './snapshot-store.js';
import type { Signer } from '../trust/signer.js';
import { raiseMarks } from './high-water.js';
import { verifyChainForDecision } from './history-check.js';
import { assertMaySign, requireTrust } from '../trust/trust-store.js';

export interface PromoteOptions {
  framework: string;
  stage: string;
  /** Signs the snapshot; its key must be trusted by the trust chain (see {@link loadSigner}). */
  signer: Signer;
  /** The current time (created_at unless `at` pins it). */
  now: Date;
  /** Pin created_at (RFC 3339), for reproducible snapshots. */
  at?: string;
  expiresAt?: string;
  dryRun?: boolean;
  /** Allow dirty candidates under deterministic hydration. */
  allowDirty?: boolean;
}

export interface PromoteResult {
  dryRun: boolean;
  snapshot: Snapshot;
  id: string;
  file: string;
  objectsWritten: number;
  findings: Finding[];
}

/**
 * Promotions recorded in snapshots, for GATE_STAGE_ORDER: slot → content address of the
 * latest snapshot of a stage. The stage's chain is verified first (trusted signatures,
 * canonical bytes, links, this clone's high-water mark) and the latest snapshot must not
 * have expired at `now`: a file in the snapshot directory is not a promotion until then.
 */
export function snapshotPromotions(repo: Repo, now: Date): PromotionLookup {
  return {
    async latestPromotion(framework, stage) {
      const chain = await verifyChainForDecision(repo, framework, stage, { now, objects: false });
      const last = chain.snapshots[chain.snapshots.length - 1];
      // Only the latest snapshot's expiry matters here: older ones are history.
      const problems = chain.findings.filter((f) => f.severity === 'error' && (f.code !== 'SNAPSHOT_EXPIRED' || f.path === last?.file));
      if (problems.length > 0) return { problems };
      if (!last?.snapshot) return undefined;
      return new Map(last.snapshot.artifacts.map((a) => [a.slot, a.content_address]));
    },
  };
}

function checkTime(label: string, v: string | undefined): void {
  if (v !== undefined && (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v)))) {
    throw new ArtifactsError('USAGE', `${label} must be an RFC 3339 date-time, got "${v}"`);
  }
}

/** Build the snapshot (no writes). Throws GATE_FAILED (with the findings) if the gate fails. */
async function planPromotion(
  repo: Repo,
  opts: PromoteOptions,
): Promise<{ snapshot: Snapshot; sources: SnapshotArtifact[]; publicKey: Uint8Array }> {
  checkTime('--at', opts.at);
  checkTime('--expires-at', opts.expiresAt);
  // A promotion that is expired when it is made would only fail every later check.
  const created = opts.at ? Date.parse(opts.at) : opts.now.getTime();
  if (opts.expiresAt !== undefined && !(Date.parse(opts.expiresAt) > created)) {
    throw new ArtifactsError(
      'USAGE',
      `--expires-at ${opts.expiresAt} is not after the promotion's time (${new Date(created).toISOString()}): the snapshot would be expired from the start`,
    );
  }
  // A snapshot signed by a key the trust chain does not vouch for would only fail the next
  // verify: refuse before anything is written.
  const trust = await requireTrust(repo);
  const publicKey = assertMaySign(trust, opts.signer.keyid, `sign a snapshot of ${opts.framework}/${opts.stage}`);
  const g = await gate(repo, {
    framework: opts.framework,
    stage: opts.stage,
    deterministic: true,
    allowDirty: opts.allowDirty ?? false,
    promotions: snapshotPromotions(repo, opts.now),
  });
  if (!g.passed)
    throw new ArtifactsError('GATE_FAILED', `gate ${opts.framework}/${opts.stage} did not pass: nothing was promoted`, {
      findings: g.findings,
    });
  // A chain that no longer verifies must not be extended: the new parent link would
  // vouch for tampered history.
  const chain = await verifyChainForDecision(repo, opts.framework, opts.stage, { now: opts.now, objects: false }, async () => trust);
  const integrity = chain.findings.filter((f) => f.code !== 'SNAPSHOT_EXPIRED');
  if (integrity.length > 0)
    throw new ArtifactsError(integrity[0]!.code, `the existing snapshot chain of ${opts.framework}/${opts.stage} does not verify`, {
      findings: integrity,
    });
  // Kind and size as the hashed bytes give them, never as the index claims.
  const byPath = new Map(g.entries.map((e) => [e.path, e]));
  const selected = g.hydration.inputs.filter((i) => i.selected !== null);
  const blobs = await blobIds(
    repo.root,
    selected.map((i) => i.selected!.path),
  );
  const artifacts: SnapshotArtifact[] = selected.map((i) => {
    const sel = i.selected!;
    const e = byPath.get(sel.path)!;
    const blob = blobs.get(sel.path);
    return {
      slot: i.slot,
      id: sel.id,
      version: sel.version,
      kind: e.kind,
      status: sel.status,
      path: sel.path,
      content_address: sel.content_address,
      size: e.size,
      ...(blob ? { git_blob: blob } : {}),
    };
  });
  // A BLAKE3 artifact also records its SHA-256 (what OCI layers and in-toto subjects use),
  // hashed in one pass with its address so both describe the same bytes.
  for (const a of artifacts) {
    const addr = parseAddress(a.content_address);
    if (addr?.algo !== 'blake3') continue;
    const d = await digestFile(
      'blake3',
      join(repo.root, a.path),
      0,
      { root: repo.root, code: 'FILE_NOT_REGULAR', label: a.path },
      { sha256: true },
    );
    if (d.address !== a.content_address)
      throw new ArtifactsError(
        'INDEX_STALE_ENTRY',
        `${a.path} no longer matches its indexed content ${a.content_address} (now ${d.address})`,
        {
          hint: 'Restore the file to its indexed content, or index the change (`artifacts index update <path>`), then promote again.',
        },
      );
    a.sha256 = d.sha256!;
  }
  const last = chain.snapshots[chain.snapshots.length - 1];
  const snapshot = draftSnapshot(
    {
      framework: opts.framework,
      stage: opts.stage,
      seq: chain.snapshots.length + 1,
      parent: last ? last.id : null,
      action: 'promote',
      created_at: opts.at ?? rfc3339(opts.now),
      ...(opts.expiresAt ? { expires_at: opts.expiresAt } : {}),
      artifacts,
      selection_digest: g.hydration.selection_digest,
      index_digest: g.index.index_digest,
    },
    opts.signer.keyid,
  );
  return { snapshot, sources: artifacts, publicKey };
}

/**
 * `artifacts promote`: gate, store the selected artifacts, write a signed snapshot.
 *
 * @example
 * ```ts
 * const signer = await loadSigner('/secure/release.key');
 * const r = await promote(repo, { framework: 'fwk-001', stage: 'design-review', signer, now: new Date() });
 * console.log(r.file, r.id);
 * ```
 */
export async function promote(repo: Repo, opts: PromoteOptions): Promise<PromoteResult> {
  return withIndexLock(repo, async (lock) => {
    const { snapshot, sources, publicKey } = await planPromotion(repo, opts);
    const bytes = encodeSnapshot(snapshot);
    const file = snapshotFile(snapshot.framework, snapshot.stage, snapshot.seq);
    if (opts.dryRun) return { dryRun: true, snapshot, id: snapshotId(bytes), file, objectsWritten: 0, findings: [] };
    let objectsWritten = 0;
    for (const a of sources) if (await putObjectFromFile(repo, a.content_address, join(repo.root, a.path))) objectsWritten++;
    await lock.assertHeld();
    const written = await writeSignedSnapshot(repo, snapshot, opts.signer, publicKey);
    // After the commit point: a mark that cannot be recorded only weakens later detection.
    await raiseMarks(repo, [
      { framework: snapshot.framework, stage: snapshot.stage, snapshots: await listSnapshots(repo, snapshot.framework, snapshot.stage) },
    ]).catch(() => undefined);
    return { dryRun: false, snapshot, id: written.id, file: written.file, objectsWritten, findings: [] };
  });
}
