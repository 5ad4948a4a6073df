// Deleting or replaying snapshot history (TUF's rollback and freeze attacks). A chain from
// which the newest snapshots were removed still links and verifies, so two other witnesses
// are asked: git history (a snapshot file that HEAD's history or HEAD itself had and the
// working tree lacks: SNAPSHOT_DELETED) and this clone's high-water marks
// (SNAPSHOT_ROLLBACK). A shallow clone cannot see all of history; verify then says so
// (HISTORY_SHALLOW) instead of claiming a clean result it could not establish.
import { join } from 'node:path';
import { finding, type Finding } from '../errors.js';
import { git } from '../git.js';
import type { Repo } from '../repo.js';
import { chainMarkFindings, raiseMarks, readMarks, highWaterFindings } from './high-water.js';
import { SNAPSHOTS_DIR } from './snapshot-store.js';
import { verifyChain, type ChainReport, type TrustSource, type VerifyOptions } from './verify-chain.js';
import { lstatQuiet } from '../paths.js';

const SNAPSHOT_FILE = /^\.artifacts\/snapshots\/([^/]+)\/([^/]+)\/(\d{6})\.json$/;

export interface DeletionScan {
  /** false outside a git work tree, or before the first commit. */
  git: boolean;
  shallow: boolean;
  /** Snapshot files git knew of that are gone from the working tree, by chain. */
  deleted: Array<{ framework: string; stage: string; path: string; how: 'history' | 'head' }>;
}

function splitZ(out: string): string[] {
  return out.split('\0').filter((s) => s !== '');
}

/**
 * Snapshot files that existed in the history of HEAD (one `git log --diff-filter=D` pass) or
 * in HEAD itself (one `git ls-tree`) and are missing now.
 */
export async function deletedSnapshots(repo: Repo): Promise<DeletionScan> {
  const scan = await deletedRecordFiles(repo, SNAPSHOTS_DIR, SNAPSHOT_FILE);
  return {
    git: scan.git,
    shallow: scan.shallow,
    deleted: scan.deleted.map((d) => ({ framework: d.match[1]!, stage: d.match[2]!, path: d.path, how: d.how })),
  };
}

/**
 * Record files under `dir` (repository-relative) whose path matches `pattern` that existed
 * in the history of HEAD or in HEAD itself and are missing from the working tree now.
 */
export async function deletedRecordFiles(
  repo: Repo,
  dir: string,
  pattern: RegExp,
): Promise<{ git: boolean; shallow: boolean; deleted: Array<{ path: string; how: 'history' | 'head'; match: RegExpExecArray }> }> {
  let shallow: boolean;
  try {
    const [inside, sh] = (await git(repo.root, ['rev-parse', '--is-inside-work-tree', '--is-shallow-repository'])).trim().split('\n');
    if (inside !== 'true') return { git: false, shallow: false, deleted: [] };
    shallow = sh === 'true';
  } catch {
    return { git: false, shallow: false, deleted: [] };
  }
  let logged: string[];
  let tracked: string[];
  try {
    // --relative: paths relative to the repository root even when it is a subdirectory
    // of the git work tree; -z: no quoting of unusual names.
    [logged, tracked] = await Promise.all([
      // -m: a merge commit is diffed against each parent, so a deletion made while
      // resolving a merge is seen too (a plain merge never shows as a deletion: the file
      // is still there in its result).
      git(repo.root, [
        '--literal-pathspecs',
        'log',
        '-m',
        '--relative',
        '--diff-filter=D',
        '--name-only',
        '-z',
        '--format=',
        'HEAD',
        '--',
        dir,
      ]).then(splitZ),
      git(repo.root, ['--literal-pathspecs', 'ls-tree', '-r', '-z', '--name-only', 'HEAD', '--', dir]).then(splitZ),
    ]);
  } catch {
    return { git: false, shallow, deleted: [] };
  }
  const seen = new Set<string>();
  const deleted: Array<{ path: string; how: 'history' | 'head'; match: RegExpExecArray }> = [];
  const consider = (path: string, how: 'history' | 'head') => {
    const m = pattern.exec(path);
    if (!m || seen.has(path)) return;
    seen.add(path);
    if (lstatQuiet(join(repo.root, path))) return;
    deleted.push({ path, how, match: m });
  };
  for (const p of tracked) consider(p, 'head');
  for (const p of logged) consider(p, 'history');
  deleted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { git: true, shallow, deleted };
}

function deletedFinding(d: DeletionScan['deleted'][number]): Finding {
  const where = d.how === 'head' ? 'is committed in HEAD' : 'existed in the history of HEAD';
  return finding('SNAPSHOT_DELETED', `${d.path} ${where} and is gone: snapshots are append-only, a deleted one hides a promotion`, {
    path: d.path,
    hint:
      d.how === 'head'
        ? `Restore it: \`git checkout HEAD -- ${d.path}\`.`
        : `Restore it from the commit before its deletion: \`git log --diff-filter=D -- ${d.path}\`, then \`git checkout <commit>^ -- ${d.path}\`.`,
  });
}

/**
 * The history checks of `snapshot verify`, applied to the per-chain reports: deleted
 * snapshot files, high-water marks (raised afterwards for every chain that verified), and
 * a note when the clone is shallow. Chains that exist only as deletions get a report.
 */
export async function checkHistory(
  repo: Repo,
  reports: ChainReport[],
  scope: { framework?: string | undefined; stage?: string | undefined },
): Promise<ChainReport[]> {
  const inScope = (framework: string, stage: string) =>
    !(scope.framework && scope.stage) || (scope.framework === framework && scope.stage === stage);
  const out = [...reports];
  const reportFor = (framework: string, stage: string): ChainReport => {
    let r = out.find((x) => x.framework === framework && x.stage === stage);
    if (!r) {
      r = { framework, stage, snapshots: [], findings: [] };
      out.push(r);
    }
    return r;
  };
  const scan = await deletedSnapshots(repo);
  for (const d of scan.deleted) if (inScope(d.framework, d.stage)) reportFor(d.framework, d.stage).findings.push(deletedFinding(d));
  const marks = await readMarks(repo);
  if (marks.ok) {
    for (const [key] of marks.marks) {
      const [framework, stage] = splitKey(key);
      if (framework === undefined || !inScope(framework, stage)) continue;
      const existing = out.find((x) => x.framework === framework && x.stage === stage);
      const f = highWaterFindings(marks.marks, framework, stage, existing?.snapshots ?? []);
      if (f.length > 0) reportFor(framework, stage).findings.push(...f);
    }
  } else (out[0] ?? reportFor('', '')).findings.push(marks.finding);
  if (scan.shallow) {
    (out[0] ?? reportFor('', '')).findings.push(
      finding('HISTORY_SHALLOW', 'this clone is shallow: snapshot files deleted in commits it does not have cannot be detected', {
        severity: 'info',
        path: SNAPSHOTS_DIR,
      }),
    );
  }
  if (marks.ok) {
    const clean = out.filter((r) => r.framework !== '' && r.findings.every((f) => f.severity !== 'error'));
    await raiseMarks(repo, clean).catch((e: unknown) => {
      // A read-only checkout still verifies; it only cannot remember what it saw.
      (out[0] ?? reportFor('', '')).findings.push(
        finding('IO_ERROR', `could not record the snapshot high-water marks in .artifacts/cache/: ${(e as Error).message}`, {
          severity: 'warning',
          path: '.artifacts/cache',
        }),
      );
    });
  }
  return out;
}

function splitKey(key: string): [string, string] | [undefined, undefined] {
  const i = key.indexOf('/');
  return i > 0 && i < key.length - 1 && key.indexOf('/', i + 1) < 0 ? [key.slice(0, i), key.slice(i + 1)] : [undefined, undefined];
}

/**
 * One chain verified for a decision (gate's `after:` stage, promote, rollback): signatures
 * by trusted keys, canonical bytes, links, expiry, and this clone's high-water mark.
 */
export async function verifyChainForDecision(
  repo: Repo,
  framework: string,
  stage: string,
  opts: VerifyOptions,
  trustSource?: TrustSource,
): Promise<ChainReport> {
  const report = await verifyChain(repo, framework, stage, opts, trustSource);
  report.findings.push(...(await chainMarkFindings(repo, framework, stage, report.snapshots)));
  return report;
}
