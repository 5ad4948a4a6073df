// Append-only records at merge time (SPEC §12): a pull request may add snapshot, channel and
// trust records, never change or remove one its target branch has. CI clones are shallow and
// fresh (no high-water marks, little history), so this comparison against the target branch
// is the decisive check.
//
// Protected: every file the base revision has under `.artifacts/snapshots/`,
// `.artifacts/channels/` and `.artifacts/keys/trust/` (records and their `.sig`), except
// the markers that are mutable by design: `.hold` (a hold may be added and removed) and
// `.released` (retention's advisory note, which never licenses a deletion).
import { join } from 'node:path';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { git } from '../git.js';
import type { Repo } from '../repo.js';
import { blobIds } from './git-objects.js';
import { lstatQuiet } from '../paths.js';

export const APPEND_ONLY_DIRS = ['.artifacts/snapshots', '.artifacts/channels', '.artifacts/cohorts', '.artifacts/keys/trust'] as const;

/** Files in the protected directories that may change: holds and retention markers. */
function mutableByDesign(path: string): boolean {
  return path.startsWith('.artifacts/snapshots/') && (path.endsWith('.hold') || path.endsWith('.released'));
}

/** How to fetch a missing base, for the hint: `origin/main` → `git fetch origin main`. */
function fetchHint(ref: string): string {
  const m = /^([A-Za-z0-9._-]+)\/(.+)$/.exec(ref);
  const cmd = m ? `git fetch ${m[1]} ${m[2]} --depth=1` : `git fetch origin ${ref} --depth=1`;
  return `Fetch it first: \`${cmd}\` (in GitHub Actions: \`git fetch origin "$GITHUB_BASE_REF" --depth=1\`), then pass --base ${m ? ref : `origin/${ref}`}.`;
}

/** Resolve REF to a commit id, or throw BASE_REF_MISSING (exit 2) with the fetch command. */
async function resolveBase(repo: Repo, ref: string): Promise<string> {
  // A ref is never an option: `--base --upload-pack=…` must not reach git as a flag.
  if (ref === '' || ref.startsWith('-') || /[\0\s]/.test(ref))
    throw new ArtifactsError('USAGE', `--base needs a git revision, not ${JSON.stringify(ref)}`);
  try {
    return (await git(repo.root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch {
    throw new ArtifactsError(
      'BASE_REF_MISSING',
      `the base revision ${ref} is not present in this clone: append-only records cannot be compared with it`,
      { hint: fetchHint(ref), details: { ref } },
    );
  }
}

/**
 * `validate --base REF`: RECORD_NOT_APPEND_ONLY for every protected record that REF has and
 * the working tree (committed, staged or not) modifies or deletes. Compares blob ids, so
 * a file is judged by its exact bytes; anything but a regular file counts as a change.
 */
export async function appendOnlyFindings(repo: Repo, ref: string): Promise<Finding[]> {
  const base = await resolveBase(repo, ref);
  // Run in the repository root, ls-tree takes and prints paths relative to it (the root may
  // be a subdirectory of the git work tree).
  const listing = await git(repo.root, ['ls-tree', '-r', '-z', base, '--', ...APPEND_ONLY_DIRS]);
  const records: Array<{ path: string; blob: string }> = [];
  for (const line of listing.split('\0')) {
    // "<mode> SP <type> SP <object> TAB <path>"
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const [, type, blob] = line.slice(0, tab).split(' ');
    const path = line.slice(tab + 1);
    if (!APPEND_ONLY_DIRS.some((d) => path.startsWith(`${d}/`)) || mutableByDesign(path)) continue;
    records.push({ path, blob: type === 'blob' ? blob! : `${type}:${blob}` });
  }
  const findings: Finding[] = [];
  const regular = new Set<string>();
  for (const r of records) {
    const st = lstatQuiet(join(repo.root, r.path));
    if (!st) findings.push(notAppendOnly(r.path, ref, 'deletes it'));
    else if (!st.isFile()) findings.push(notAppendOnly(r.path, ref, 'replaces it with something that is not a regular file'));
    else regular.add(r.path);
  }
  const ids = await blobIds(repo.root, [...regular]);
  for (const r of records) {
    if (!regular.has(r.path)) continue;
    if (ids.get(r.path) !== r.blob) findings.push(notAppendOnly(r.path, ref, 'modifies it'));
  }
  return findings.sort((a, b) => (a.path! < b.path! ? -1 : a.path! > b.path! ? 1 : 0));
}

function notAppendOnly(path: string, ref: string, what: string): Finding {
  return finding(
    'RECORD_NOT_APPEND_ONLY',
    `${path} exists in ${ref}, and this change ${what}: snapshot, channel and trust records are append-only`,
    {
      path,
      hint: `Restore it (\`git checkout ${ref} -- ${path}\`) and append a new record instead.`,
    },
  );
}
