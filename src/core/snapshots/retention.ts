// Retention (SPEC §7, §9): which snapshots keep their objects. Manifests and signatures are
// never deleted — they are the audit chain; a snapshot outside the policy is only marked
// "released", and `gc` then deletes objects that no retained snapshot references.
import type { RetentionPolicy } from '../config.js';
import { ArtifactsError, EXIT } from '../errors.js';
import { verifySnapshots } from './verify-chain.js';
import type { Repo } from '../repo.js';
import { checkStateDirs } from '../index/store.js';
import { deleteObject, listObjects } from '../store/objects.js';
import { listStages, listSnapshots, markReleased, type StoredSnapshot } from './snapshot-store.js';

export interface PruneDecision {
  framework: string;
  stage: string;
  seq: number;
  id: string;
  decision: 'keep' | 'release';
  reason: string;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function durationSeconds(s: string): number {
  const m = /^(\d+)([smhdw])$/.exec(s);
  if (!m) throw new ArtifactsError('CONFIG_INVALID', `retention duration "${s}" must look like 90d, 12h or 2w`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** The policy for a framework/stage: "F/S", then "F/*", then "*". */
export function policyFor(
  retention: Record<string, RetentionPolicy>,
  framework: string,
  stage: string,
): { key: string; policy: RetentionPolicy } | undefined {
  for (const key of [`${framework}/${stage}`, `${framework}/*`, '*']) {
    const p = retention[key];
    if (p && (p.keep_last !== undefined || p.keep_within !== undefined)) return { key, policy: p };
  }
  return undefined;
}

/** Decide, per snapshot, keep or release, and why (pure given the snapshots and `now`). */
export function decideRetention(snapshots: readonly StoredSnapshot[], policy: RetentionPolicy, key: string, now: Date): PruneDecision[] {
  const n = snapshots.length;
  const within = policy.keep_within ? durationSeconds(policy.keep_within) : undefined;
  return snapshots.map((s, i) => {
    const base = { framework: s.framework, stage: s.stage, seq: s.seq, id: s.id };
    const keep = (reason: string): PruneDecision => ({ ...base, decision: 'keep', reason });
    if (s.hold) return keep(`held: ${s.hold.reason}`);
    if (i === n - 1) return keep('the latest snapshot is always kept');
    if (policy.keep_last !== undefined && i >= n - policy.keep_last) return keep(`among the last ${policy.keep_last} (policy "${key}")`);
    const created = Date.parse(s.snapshot?.created_at ?? '');
    if (within !== undefined && !Number.isNaN(created) && now.getTime() - created <= within * 1000) {
      return keep(`created ${s.snapshot!.created_at}, within ${policy.keep_within} (policy "${key}")`);
    }
    if (s.released) return { ...base, decision: 'release', reason: 'already released' };
    const why = [
      policy.keep_last !== undefined ? `not among the last ${policy.keep_last}` : undefined,
      within !== undefined ? `older than ${policy.keep_within}` : undefined,
    ]
      .filter(Boolean)
      .join(' and ');
    return { ...base, decision: 'release', reason: `${why} (policy "${key}")` };
  });
}

/** `artifacts snapshot prune [--dry-run]`. */
export async function prune(repo: Repo, opts: { now: Date; dryRun?: boolean }): Promise<PruneDecision[]> {
  const out: PruneDecision[] = [];
  const stages = await listStages(repo);
  const policies = stages.map((st) => ({ ...st, p: policyFor(repo.config.retention, st.framework, st.stage) }));
  if (policies.length > 0 && policies.every((x) => !x.p)) {
    throw new ArtifactsError('RETENTION_EMPTY', 'no retention policy (keep_last / keep_within) applies to any snapshot; refusing to prune');
  }
  if (policies.length === 0 && Object.keys(repo.config.retention).length === 0) {
    throw new ArtifactsError('RETENTION_EMPTY', 'no retention policy is configured; refusing to prune');
  }
  if (!opts.dryRun) await checkStateDirs(repo, { deep: true });
  for (const { framework, stage, p } of policies) {
    const snaps = await listSnapshots(repo, framework, stage);
    if (!p) {
      for (const s of snaps)
        out.push({ framework, stage, seq: s.seq, id: s.id, decision: 'keep', reason: 'no retention policy applies to this stage' });
      continue;
    }
    const decisions = decideRetention(snaps, p.policy, p.key, opts.now);
    if (!opts.dryRun) {
      for (const d of decisions) {
        const s = snaps.find((x) => x.seq === d.seq)!;
        if (d.decision === 'release' && !s.released) await markReleased(repo, s);
      }
    }
    out.push(...decisions);
  }
  return out;
}

/**
 * The snapshots of one chain whose objects must exist: every snapshot the current policy or
 * a hold keeps, and every one that retention has not released. A `.released` marker is
 * advisory (it records what an earlier `prune` decided under the policy of its day); it
 * never licenses deleting what the current policy keeps.
 */
export function retainedSeqs(repo: Repo, snapshots: readonly StoredSnapshot[], now: Date): Set<number> {
  const first = snapshots[0];
  const p = first ? policyFor(repo.config.retention, first.framework, first.stage) : undefined;
  if (!p) return new Set(snapshots.map((s) => s.seq));
  const keep = new Set(
    decideRetention(snapshots, p.policy, p.key, now)
      .filter((d) => d.decision === 'keep')
      .map((d) => d.seq),
  );
  for (const s of snapshots) if (!s.released) keep.add(s.seq);
  return keep;
}

/** `artifacts gc [--dry-run]`: delete objects that no retained snapshot references. */
export async function gc(repo: Repo, opts: { now: Date; dryRun?: boolean }): Promise<{ deleted: string[]; kept: number }> {
  // The rehearsal refuses exactly what the real run would: a store that leads outside.
  await checkStateDirs(repo, { deep: true });
  const referenced = new Set<string>();
  // What is kept is read from snapshots that verify: an edited or unsigned snapshot must not
  // decide which objects of the genuine ones are deleted. Any doubt deletes nothing.
  const reports = await verifySnapshots(repo, { now: opts.now, objects: false });
  const doubts = reports.flatMap((r) => r.findings).filter((f) => f.severity === 'error' && f.code !== 'SNAPSHOT_EXPIRED');
  if (doubts.length > 0) {
    throw new ArtifactsError(doubts[0]!.code, 'the snapshot chains do not verify: gc deletes nothing until they do', {
      findings: doubts,
      exit: EXIT.INTEGRITY,
    });
  }
  for (const { framework, stage } of await listStages(repo)) {
    const snaps = await listSnapshots(repo, framework, stage);
    // An unreadable snapshot keeps everything: never delete on doubt.
    if (snaps.some((s) => !s.snapshot || !Array.isArray(s.snapshot.artifacts)))
      return { deleted: [], kept: (await listObjects(repo)).length };
    const keep = retainedSeqs(repo, snaps, opts.now);
    for (const s of snaps) {
      if (!keep.has(s.seq)) continue;
      for (const a of s.snapshot!.artifacts) referenced.add(a.content_address);
    }
  }
  const all = await listObjects(repo);
  const deleted = all.filter((a) => !referenced.has(a));
  if (!opts.dryRun) for (const a of deleted) await deleteObject(repo, a);
  return { deleted, kept: all.length - deleted.length };
}
