// The index as a basis for decisions (hydrate, gate, promote, rollback, lineage, history).
//
// The index is repository content: anyone can edit it, and anyone can recompute its
// `index_digest` (a digest is no signature). So a decision never rests on it alone: a
// document whose digest does not verify is refused outright (it was edited by hand or
// damaged), an entry whose path names a control file or leaves the repository is refused
// before anything opens it, and what an entry says about a file is re-derived from the
// file's bytes by the callers that sign or gate (see hydrate/verified-entries.ts).
import { controlFilesOf } from '../config.js';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import type { IndexEntry } from './entry.js';
import { controlPathProblem } from '../paths.js';
import type { Repo } from '../repo.js';
import { readIndexView, type IndexView } from './store.js';

/** PATH_UNSAFE for every entry whose path must never be opened or written. */
export function unsafeEntryFindings(repo: Repo, entries: readonly IndexEntry[]): Finding[] {
  const control = controlFilesOf(repo.config);
  const out: Finding[] = [];
  for (const e of entries) {
    const why = typeof e.path === 'string' ? controlPathProblem(e.path, control) : 'the path is not a string';
    if (why) {
      out.push(
        finding(
          'PATH_UNSAFE',
          `index entry ${String(e.id)}@${String(e.version)} has the path ${JSON.stringify(e.path)}: ${why}; it is never opened`,
          {
            path: String(e.path),
            refs: [`${String(e.id)}@${String(e.version)}`],
            hint: 'The index names a path no artifact may have: run `artifacts index rebuild` on a tree you trust.',
          },
        ),
      );
    }
  }
  return out;
}

/**
 * Read the index for a decision: INDEX_DIGEST_MISMATCH (exit 4) when its digest does not
 * verify, PATH_UNSAFE when an entry's path is unsafe. Returns the view otherwise (its
 * `doc` is null when there is no index).
 */
export async function readDecisionIndex(repo: Repo): Promise<IndexView> {
  const view = await readIndexView(repo);
  if (!view.doc) return view;
  if (!view.digestValid) {
    throw new ArtifactsError(
      'INDEX_DIGEST_MISMATCH',
      `artifacts_index.json fails its index_digest check (${view.doc.index_digest} does not match the content): refusing to decide anything from it`,
      {
        findings: [
          finding('INDEX_DIGEST_MISMATCH', `index_digest ${view.doc.index_digest} does not match the index content`, {
            path: 'artifacts_index.json',
          }),
        ],
      },
    );
  }
  const unsafe = unsafeEntryFindings(repo, view.doc.artifacts);
  if (unsafe.length > 0) {
    throw new ArtifactsError(
      'PATH_UNSAFE',
      `artifacts_index.json has ${unsafe.length} entr${unsafe.length === 1 ? 'y' : 'ies'} with unsafe paths: refusing to decide anything from it`,
      { findings: unsafe },
    );
  }
  return view;
}
