// A git merge driver for artifacts_index.json (`artifacts index merge-driver %O %A %B`):
// a three-way merge of entries by path, so that two branches that each added artifacts
// merge cleanly. A genuine conflict — both sides changed one path differently, or one
// id@version with two contents — is left to the user and explained.
import { basename, dirname, resolve } from 'node:path';
import { readChecked, READ_LIMITS } from '../store/checked-read.js';
import { controlFilesOf, DEFAULT_CONFIG } from '../config.js';
import { EXIT, finding, type Finding } from '../errors.js';
import type { IndexEntry } from './entry.js';
import { compareBytes, controlPathProblem } from '../paths.js';
import { writeFileDurable } from '../store/durable-write.js';
import { entriesEqual, indexDigestValid, makeIndexDocument, parseIndex, serializeIndex, type IndexDocument } from './document.js';

export interface MergeResult {
  merged?: IndexDocument;
  conflicts: Finding[];
}

/** Pure three-way merge of index documents. */
export function mergeIndexes(base: IndexDocument | null, ours: IndexDocument, theirs: IndexDocument): MergeResult {
  const conflicts: Finding[] = [];
  if (ours.digest_algorithm !== theirs.digest_algorithm) {
    conflicts.push(
      finding('INDEX_CORRUPT', `the two sides use different digest algorithms (${ours.digest_algorithm}, ${theirs.digest_algorithm})`, {
        hint: 'Rebuild the index on the merged tree: `artifacts index rebuild`.',
      }),
    );
    return { conflicts };
  }
  const o = new Map((base?.artifacts ?? []).map((e) => [e.path, e]));
  const a = new Map(ours.artifacts.map((e) => [e.path, e]));
  const b = new Map(theirs.artifacts.map((e) => [e.path, e]));
  const paths = [...new Set([...o.keys(), ...a.keys(), ...b.keys()])].sort(compareBytes);
  const merged: IndexEntry[] = [];
  for (const p of paths) {
    const x = a.get(p);
    const y = b.get(p);
    const z = o.get(p);
    let take: IndexEntry | undefined;
    if (entriesEqual(x, y)) take = x;
    else if (entriesEqual(x, z)) take = y;
    else if (entriesEqual(y, z)) take = x;
    else {
      conflicts.push(
        finding(
          'INDEX_STALE_ENTRY',
          `${p}: both sides changed it differently (ours ${x ? `${x.id}@${x.version} ${x.content_address}` : 'removed'}, theirs ${y ? `${y.id}@${y.version} ${y.content_address}` : 'removed'})`,
          {
            path: p,
            hint: 'Resolve the artifact file, then run `artifacts index rebuild` and `git add artifacts_index.json`.',
          },
        ),
      );
      continue;
    }
    if (take) merged.push(take);
  }
  const byVersion = new Map<string, IndexEntry>();
  for (const e of merged) {
    const k = `${e.id}@${e.version}`;
    const prev = byVersion.get(k);
    if (prev && prev.content_address !== e.content_address) {
      conflicts.push(
        finding(
          'DUPLICATE_VERSION',
          `${k} has different content on the two sides (${prev.path}: ${prev.content_address}; ${e.path}: ${e.content_address})`,
          {
            path: e.path,
            paths: [...new Set([prev.path, e.path])].sort(compareBytes),
            refs: [k],
            hint: 'Give one of them a new version, then run `artifacts index rebuild` and `git add artifacts_index.json`.',
          },
        ),
      );
    } else byVersion.set(k, e);
  }
  if (conflicts.length > 0) return { conflicts };
  return { merged: makeIndexDocument(ours.digest_algorithm, merged), conflicts };
}

/** Read one side of the merge. git hands the driver temporary regular files; anything
 * else (a FIFO, a symlink, an oversized file) is INDEX_CORRUPT, never a hang. */
async function readDoc(file: string): Promise<IndexDocument | null> {
  const bytes = (await readChecked(file, {
    root: dirname(file),
    maxBytes: READ_LIMITS.index,
    code: 'INDEX_CORRUPT',
    label: basename(file),
  }))!;
  const text = bytes.toString('utf8');
  return text.trim() === '' ? null : parseIndex(text);
}

/** INDEX_DIGEST_MISMATCH for each side whose index_digest does not verify: a merge would
 * launder a hand-edited side into a freshly digested result. */
function digestConflicts(sides: ReadonlyArray<[string, IndexDocument | null]>): Finding[] {
  return sides
    .filter(([, d]) => d !== null && !indexDigestValid(d))
    .map(([side, d]) =>
      finding(
        'INDEX_DIGEST_MISMATCH',
        `${side}: artifacts_index.json fails its index_digest check (${d!.index_digest} does not match the content); refusing to merge it`,
        {
          path: 'artifacts_index.json',
          hint: `That side's index was edited by hand or damaged: resolve by checking out a side you trust, then run \`artifacts index rebuild\` and \`git add artifacts_index.json\`.`,
        },
      ),
    );
}

/** PATH_UNSAFE for each entry of either side whose path names .git/, the tool's own files
 * or leaves the repository: merging would carry it into an index every clone then reads.
 * (The driver runs without the repository's configuration: the default file names.) */
function unsafePathConflicts(sides: ReadonlyArray<[string, IndexDocument | null]>): Finding[] {
  const control = controlFilesOf(DEFAULT_CONFIG);
  const out: Finding[] = [];
  for (const [side, d] of sides) {
    for (const e of d?.artifacts ?? []) {
      const problem = controlPathProblem(e.path, control);
      if (problem) {
        out.push(
          finding('PATH_UNSAFE', `${side}: the index entry ${JSON.stringify(e.path)} is unsafe (${problem}); refusing to merge it`, {
            path: 'artifacts_index.json',
            paths: [e.path],
            exit: EXIT.INTEGRITY,
          }),
        );
      }
    }
  }
  return out;
}

/** The driver: merge %O %A %B, write the result into %A. Conflicts leave %A untouched. */
export async function runMergeDriver(base: string, ours: string, theirs: string): Promise<MergeResult> {
  const [o, a, b] = await Promise.all([readDoc(base).catch(() => null), readDoc(ours), readDoc(theirs)]);
  const refused = digestConflicts([
    ['the common ancestor (base)', o],
    ['our side (ours)', a],
    ['their side (theirs)', b],
  ]);
  refused.push(
    ...unsafePathConflicts([
      ['our side (ours)', a],
      ['their side (theirs)', b],
    ]),
  );
  if (refused.length > 0) return { conflicts: refused };
  if (!a || !b) return { merged: a ?? b ?? undefined, conflicts: [] };
  const r = mergeIndexes(o, a, b);
  // git names %A (a file it made for the driver); the result goes there and nowhere else.
  if (r.merged) await writeFileDurable(ours, serializeIndex(r.merged), { root: dirname(resolve(ours)) });
  return r;
}
