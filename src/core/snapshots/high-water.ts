// High-water marks (TUF's defence against rollback and freeze attacks): each clone remembers,
// per snapshot chain, the longest chain it has seen verify, in
// `.artifacts/cache/high-water.json`. A chain shorter than its mark had snapshots removed:
// SNAPSHOT_ROLLBACK. Marks only ever rise: a write re-reads the file and keeps the maximum of
// every chain, including chains whose directory is gone. A damaged mark file fails closed
// (STORE_FILE_INVALID) and is left as it is: replacing it with the current, possibly
// truncated, chains would turn the damage into a reset. Deleting it is the user's explicit
// decision to trust the chains as they are now. A mark file that git tracks is repository
// content, not this clone's memory (a pull request could commit one to fail every fresh
// clone's verification): it is neither read nor written.
import { join, relative, sep } from 'node:path';
import { gitTracks } from '../git.js';
import { pathExists } from '../paths.js';
import { finding, type Finding, isArtifactsError } from '../errors.js';
import type { Repo } from '../repo.js';
import { parseJsonQuiet, readChecked, READ_LIMITS } from '../store/checked-read.js';
import { writeFileDurable } from '../store/durable-write.js';
import type { StoredSnapshot } from './snapshot-store.js';

export const HIGH_WATER_FILE = 'high-water.json';
const FORMAT = 'artifacts-high-water/1';

export interface Mark {
  seq: number;
  id: string;
}

export type Marks = Map<string, Mark>;

export type MarksRead = { ok: true; marks: Marks } | { ok: false; finding: Finding };

function markPath(repo: Repo): string {
  return join(repo.cacheDir, HIGH_WATER_FILE);
}

const LABEL = `.artifacts/cache/${HIGH_WATER_FILE}`;

/** `problem` names the file and what is wrong with it (a checked read's refusal does). */
function damaged(problem: string): MarksRead {
  return {
    ok: false,
    finding: finding('STORE_FILE_INVALID', `${problem}: the snapshot high-water marks of this clone cannot be checked`, {
      path: LABEL,
      hint: `Inspect ${LABEL}; delete it only if you trust the snapshot chains as they are now (the marks start again from them).`,
    }),
  };
}

export function chainKey(framework: string, stage: string): string {
  return `${framework}/${stage}`;
}

/** Does git track the mark file? Asked once per repository (one git process, however many
 * chains a command checks). */
const trackedMarks = new WeakMap<Repo, Promise<boolean>>();
function markTracked(repo: Repo): Promise<boolean> {
  let answer = trackedMarks.get(repo);
  if (!answer) {
    answer = gitTracks(repo.root, relative(repo.root, markPath(repo)).split(sep).join('/'));
    trackedMarks.set(repo, answer);
  }
  return answer;
}

/** Read the marks; a missing file is no marks, a damaged one a finding, a tracked one
 * (committed content) no marks. */
export async function readMarks(repo: Repo): Promise<MarksRead> {
  const marks: Marks = new Map();
  if (!pathExists(markPath(repo)) || (await markTracked(repo))) return { ok: true, marks };
  let bytes: Buffer | undefined;
  try {
    bytes = await readChecked(markPath(repo), {
      root: repo.root,
      maxBytes: READ_LIMITS.record,
      code: 'STORE_FILE_INVALID',
      label: LABEL,
      allowMissing: true,
    });
  } catch (e) {
    if (isArtifactsError(e)) return damaged(e.message);
    throw e;
  }
  if (bytes === undefined) return { ok: true, marks };
  const parsed = parseJsonQuiet(bytes.toString('utf8'));
  if (!parsed.ok) return damaged(`${LABEL} is not JSON (${parsed.error})`);
  const doc = parsed.value as { format?: unknown; chains?: unknown };
  if (
    doc === null ||
    typeof doc !== 'object' ||
    doc.format !== FORMAT ||
    doc.chains === null ||
    typeof doc.chains !== 'object' ||
    Array.isArray(doc.chains)
  ) {
    return damaged(`${LABEL} is not an ${FORMAT} document`);
  }
  for (const [k, v] of Object.entries(doc.chains as Record<string, unknown>)) {
    const m = v as Partial<Mark> | null;
    if (m === null || typeof m !== 'object' || !Number.isSafeInteger(m.seq) || (m.seq as number) < 0 || typeof m.id !== 'string')
      return damaged(`${LABEL} has a malformed mark for ${JSON.stringify(k)}`);
    marks.set(k, { seq: m.seq as number, id: m.id });
  }
  return { ok: true, marks };
}

/** SNAPSHOT_ROLLBACK when a chain is shorter than this clone's mark for it. */
export function highWaterFindings(marks: Marks, framework: string, stage: string, snapshots: readonly StoredSnapshot[]): Finding[] {
  const mark = marks.get(chainKey(framework, stage));
  if (!mark || snapshots.length >= mark.seq) return [];
  const dir = `.artifacts/snapshots/${framework}/${stage}`;
  return [
    finding(
      'SNAPSHOT_ROLLBACK',
      `${framework}/${stage} has ${snapshots.length} snapshot(s), but this clone has seen it verify with ${mark.seq} (the last was ${mark.id}): newer snapshots were removed`,
      {
        path: dir,
      },
    ),
  ];
}

/** Marks findings for one chain: the mark file's own problem, or SNAPSHOT_ROLLBACK. */
export async function chainMarkFindings(
  repo: Repo,
  framework: string,
  stage: string,
  snapshots: readonly StoredSnapshot[],
): Promise<Finding[]> {
  const read = await readMarks(repo);
  return read.ok ? highWaterFindings(read.marks, framework, stage, snapshots) : [read.finding];
}

/**
 * Raise the marks of chains that verified, or were just extended, to their current length.
 * Never lowers a mark, never drops one, never replaces a damaged file.
 */
export async function raiseMarks(
  repo: Repo,
  chains: ReadonlyArray<{ framework: string; stage: string; snapshots: readonly StoredSnapshot[] }>,
): Promise<void> {
  const seen = chains.flatMap((c) => {
    const last = c.snapshots[c.snapshots.length - 1];
    return last ? [{ key: chainKey(c.framework, c.stage), mark: { seq: c.snapshots.length, id: last.id } }] : [];
  });
  if (seen.length === 0) return;
  // Re-read just before writing: another process may have raised a mark meanwhile.
  const read = await readMarks(repo);
  if (!read.ok || (await markTracked(repo))) return;
  let changed = false;
  for (const { key, mark } of seen) {
    const cur = read.marks.get(key);
    if (cur && cur.seq >= mark.seq) continue;
    read.marks.set(key, mark);
    changed = true;
  }
  if (!changed) return;
  const out: Record<string, Mark> = {};
  for (const k of [...read.marks.keys()].sort()) out[k] = read.marks.get(k)!;
  await writeFileDurable(markPath(repo), `${JSON.stringify({ format: FORMAT, chains: out }, null, 2)}\n`, {
    root: repo.root,
    faultHook: repo.faultHook,
  });
}
