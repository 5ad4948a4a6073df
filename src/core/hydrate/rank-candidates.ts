// Candidate ranking and the audit log (SPEC §6), as pure functions: the same index entries
// and commit times give the same selection, decisions and digest on every machine.
//
// Ranking, first difference wins ("approved > latest non-draft > solo"):
//   1. status: approved < review < draft
//   2. commit time, newest first (a candidate without one ranks after those with one)
//   3. path, ascending (UTF-8 byte order)
//   4. id, then version (byte order) — a total order, so there are no ties.
import { canonicalDigest } from '../canonical-json.js';
import type { ArtifactStatus, IndexEntry } from '../index/entry.js';
import { compareBytes } from '../paths.js';
import type { InputSlot, Stage } from './contract.js';

export const STATUS_RANK: Record<ArtifactStatus, number> = { approved: 0, review: 1, draft: 2 };

export interface Candidate {
  entry: IndexEntry;
  /** Epoch seconds: last commit touching the file, or `updated_at` when uncommitted. */
  commit_time: number | null;
  /** Where commit_time came from. */
  time_source: 'git' | 'updated_at' | 'none';
}

export interface SelectedArtifact {
  id: string;
  version: string;
  status: ArtifactStatus;
  path: string;
  content_address: string;
  commit_time: number | null;
}

export interface HydratedInput {
  slot: string;
  selected: SelectedArtifact | null;
  candidates: number;
}

export interface Decision {
  slot: string;
  rank: number;
  candidate: string;
  path: string;
  outcome: 'selected' | 'rejected';
  reason: string;
}

export interface Hydration {
  framework: string;
  stage: string;
  inputs: HydratedInput[];
  decisions: Decision[];
  selection_digest: string;
}

function cmpTime(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return b - a; // newest first
}

export function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    STATUS_RANK[a.entry.status] - STATUS_RANK[b.entry.status] ||
    cmpTime(a.commit_time, b.commit_time) ||
    compareBytes(a.entry.path, b.entry.path) ||
    compareBytes(a.entry.id, b.entry.id) ||
    compareBytes(a.entry.version, b.entry.version)
  );
}

export function formatTime(t: number | null): string {
  return t === null ? 'no commit time' : new Date(t * 1000).toISOString().replace('.000Z', 'Z');
}

function ref(c: Candidate): string {
  return `${c.entry.id}@${c.entry.version}`;
}

function timeText(c: Candidate): string {
  if (c.time_source === 'git') return `last commit ${formatTime(c.commit_time)}`;
  if (c.time_source === 'updated_at') return `uncommitted, updated_at ${formatTime(c.commit_time)}`;
  return 'uncommitted, no updated_at';
}

/** Why `loser` ranks below `winner`: the first rule that tells them apart. */
export function explainLoss(loser: Candidate, winner: Candidate): string {
  const w = ref(winner);
  if (loser.entry.status !== winner.entry.status) return `status ${loser.entry.status} ranks below ${winner.entry.status} (${w})`;
  if (cmpTime(loser.commit_time, winner.commit_time) !== 0)
    return `same status; ${timeText(loser)} is older than ${w}'s ${timeText(winner)}`;
  if (loser.entry.path !== winner.entry.path) return `same status and time; path ${loser.entry.path} sorts after ${winner.entry.path}`;
  if (loser.entry.id !== winner.entry.id) return `same status, time and path; id ${loser.entry.id} sorts after ${winner.entry.id}`;
  return `same status, time, path and id; version ${loser.entry.version} sorts after ${winner.entry.version}`;
}

/** Candidates for one slot: artifacts of the framework with the slot's kind (and id). */
export function candidatesFor(framework: string, slot: InputSlot, pool: readonly Candidate[]): Candidate[] {
  return pool
    .filter((c) => c.entry.framework === framework && c.entry.kind === slot.kind && (slot.id === undefined || c.entry.id === slot.id))
    .sort(compareCandidates);
}

/** Rank every slot's candidates and build the hydration document. */
export function selectInputs(framework: string, stageName: string, stage: Stage, pool: readonly Candidate[]): Hydration {
  const inputs: HydratedInput[] = [];
  const decisions: Decision[] = [];
  for (const slot of stage.inputs) {
    const ranked = candidatesFor(framework, slot, pool);
    const winner = ranked[0];
    inputs.push({
      slot: slot.slot,
      selected: winner
        ? {
            id: winner.entry.id,
            version: winner.entry.version,
            status: winner.entry.status,
            path: winner.entry.path,
            content_address: winner.entry.content_address,
            commit_time: winner.commit_time,
          }
        : null,
      candidates: ranked.length,
    });
    ranked.forEach((c, i) => {
      const reason =
        i === 0
          ? `${c.entry.status}; ${timeText(c)}; ${ranked.length === 1 ? 'the only candidate' : `ranked first of ${ranked.length}`}`
          : explainLoss(c, winner!);
      decisions.push({
        slot: slot.slot,
        rank: i + 1,
        candidate: ref(c),
        path: c.entry.path,
        outcome: i === 0 ? 'selected' : 'rejected',
        reason,
      });
    });
  }
  return { framework, stage: stageName, inputs, decisions, selection_digest: canonicalDigest(inputs) };
}
