// What the files say, not what the index says. A gate passes, and promote signs, on an
// artifact's status, version, kind, id and framework: those facts are re-derived here from
// the very bytes that are hashed, and an index entry that disagrees with its file is a
// finding. An entry whose path is unsafe, or is not a regular file inside the repository,
// is never opened.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { controlFilesOf } from '../config.js';
import { finding, type Finding } from '../errors.js';
import type { DigestAlgorithm } from '../hash/digest.js';
import { cacheFingerprint } from '../index/scan.js';
import { inspectFile, SIDECAR_SUFFIXES, type InspectContext } from '../metadata/inspect.js';
import type { IndexEntry } from '../index/entry.js';
import { controlPathProblem, isInside, lstatQuiet } from '../paths.js';
import { kindOf } from '../store/checked-read.js';
import type { Repo } from '../repo.js';

/** The facts a decision rests on, compared between the index and the bytes. */
const DECISION_FIELDS = ['id', 'version', 'status', 'framework', 'kind', 'content_address'] as const;

export interface VerifiedEntries {
  /** Entries as the files' bytes describe them (one per index entry that checked out). */
  entries: IndexEntry[];
  findings: Finding[];
}

type Target = { kind: 'file' } | { kind: 'missing' } | { kind: 'problem'; finding: Finding };

/** A regular file inside the repository's real path, reached without symlinks? */
function regularTarget(realRoot: string, root: string, rel: string, realDirs: Map<string, string | undefined>): Target {
  const abs = join(root, rel);
  const st = lstatQuiet(abs);
  if (!st) return { kind: 'missing' };
  // One realpath per directory (artifacts share directories; each realpath is an lstat per
  // segment). The file itself is opened later with the checked-read rules, which judge its
  // directory again at that moment.
  const dir = dirname(abs);
  if (!realDirs.has(dir)) {
    let real: string | undefined;
    try {
      real = realpathSync(dir);
    } catch {
      real = undefined;
    }
    realDirs.set(dir, real);
  }
  const realDir = realDirs.get(dir);
  if (realDir === undefined) return { kind: 'missing' };
  if (!isInside(realRoot, realDir)) {
    return {
      kind: 'problem',
      finding: finding(
        'SYMLINK_OUTSIDE_ROOT',
        `${rel} is reached through a symlinked directory that leads outside the repository; it is never opened`,
        { path: rel },
      ),
    };
  }
  if (!st.isFile()) {
    const what = kindOf(st);
    return {
      kind: 'problem',
      finding: finding('FILE_NOT_REGULAR', `${rel} is ${what}; an indexed artifact must be a regular file, and this one is never opened`, {
        path: rel,
      }),
    };
  }
  return { kind: 'file' };
}

/**
 * Re-inspect indexed artifacts from their bytes. Returns the entries the bytes give (for
 * each index entry whose file is a valid artifact at that path) and a finding for every
 * entry that cannot be checked or disagrees with its file.
 */
export async function verifyEntriesFromBytes(
  repo: Repo,
  indexed: readonly IndexEntry[],
  algorithm: DigestAlgorithm,
): Promise<VerifiedEntries> {
  const control = controlFilesOf(repo.config);
  const realRoot = realpathSync(repo.root);
  const ctx: InspectContext = {
    root: repo.root,
    algorithm,
    schemasDir: join(repo.root, repo.config.schemas),
    schemaGeneration: cacheFingerprint(repo),
  };
  const entries: IndexEntry[] = [];
  const findings: Finding[] = [];
  const realDirs = new Map<string, string | undefined>();
  for (const e of indexed) {
    const why = controlPathProblem(e.path, control);
    if (why) {
      findings.push(
        finding('PATH_UNSAFE', `index entry ${e.id}@${e.version} has the path ${JSON.stringify(e.path)}: ${why}; it is never opened`, {
          path: e.path,
          refs: [`${e.id}@${e.version}`],
        }),
      );
      continue;
    }
    const t = regularTarget(realRoot, repo.root, e.path, realDirs);
    if (t.kind === 'missing') {
      findings.push(
        finding('INDEX_MISSING_FILE', `${e.path} (${e.id}@${e.version}) is indexed but missing`, {
          path: e.path,
          refs: [`${e.id}@${e.version}`],
        }),
      );
      continue;
    }
    if (t.kind === 'problem') {
      findings.push(t.finding);
      continue;
    }
    // The metadata lives in a sidecar when there is one; it must be a regular file too.
    let metadataRel = e.path;
    for (const s of SIDECAR_SUFFIXES) {
      const sc = regularTarget(realRoot, repo.root, e.path + s, realDirs);
      if (sc.kind === 'missing') continue;
      if (sc.kind === 'problem') {
        findings.push(sc.finding);
        metadataRel = '';
      } else metadataRel = e.path + s;
      break;
    }
    if (metadataRel === '') continue;
    const r = await inspectFile(ctx, metadataRel, { explicit: true });
    if (r.type !== 'artifact') {
      findings.push(
        ...(r.type === 'invalid'
          ? r.findings
          : [finding('INDEX_STALE_ENTRY', `${e.path} is indexed but is no longer an artifact`, { path: e.path })]),
      );
      continue;
    }
    const actual = r.entry;
    const differ = DECISION_FIELDS.filter((k) => actual[k] !== e[k]);
    if (differ.length > 0) {
      const what = differ.map((k) => `${k} ${JSON.stringify(e[k])} in the index, ${JSON.stringify(actual[k])} in the file`).join('; ');
      findings.push(
        finding('INDEX_STALE_ENTRY', `${e.path}: the index entry disagrees with the file (${what}); the file's bytes decide`, {
          path: e.path,
          hint:
            e.status === 'approved' && actual.id === e.id && actual.version === e.version
              ? `${e.id}@${e.version} is approved, so it cannot change: bump \`version\` in ${e.path}, then run \`artifacts index update ${e.path}\`; or restore its approved content.`
              : `Run \`artifacts index update ${e.path}\` (or \`index rebuild\`), then review the change.`,
        }),
      );
    }
    entries.push(actual);
  }
  return { entries, findings };
}
