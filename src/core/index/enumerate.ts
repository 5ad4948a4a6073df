// Which files may be artifacts: in a git work tree, one `git ls-files` for tracked plus
// untracked-not-ignored files; elsewhere a directory walk that skips .git, node_modules and
// .artifacts. Then the config's include/exclude patterns.
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, INDEX_FILE, STATE_DIR } from '../config.js';
import { git } from '../git.js';
import { matchesAny } from '../glob.js';
import { isMarkdownPath, sidecarTarget } from '../metadata/inspect.js';
import { compareBytes } from '../paths.js';
import type { Repo } from '../repo.js';

const WALK_SKIP = new Set(['.git', 'node_modules', STATE_DIR]);

async function gitListFiles(root: string): Promise<string[] | undefined> {
  try {
    // A pathname is UTF-8 bytes in git's index; -z output is never quoted.
    const out = (await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).split('\0');
    out.pop(); // the list ends with a NUL
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Repository paths below `rel` whose directory entry `keep` accepts, never entering `.git`,
 * `node_modules` or the state directory and never following a symbolic link. With
 * `skipUnreadable`, a directory that cannot be listed is passed over instead of failing.
 */
export async function walkTree(
  root: string,
  rel: string,
  keep: (e: Dirent) => boolean,
  opts: { skipUnreadable?: boolean } = {},
  out: string[] = [],
): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch (e) {
    if (opts.skipUnreadable) return out;
    throw e;
  }
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!WALK_SKIP.has(e.name)) await walkTree(root, p, keep, opts, out);
    } else if (keep(e)) out.push(p);
  }
  return out;
}

/** Is this repository path one the tool owns or configures (never an artifact)? */
export function isToolPath(repo: Repo, p: string): boolean {
  return (
    p === INDEX_FILE ||
    p === CONFIG_FILE ||
    p === repo.config.routing ||
    p === repo.config.command_routing ||
    p.startsWith(`${STATE_DIR}/`) ||
    p === STATE_DIR
  );
}

/** Is `p` a path that could hold artifact metadata, within include/exclude? */
export function isCandidatePath(repo: Repo, p: string): boolean {
  if (!isMarkdownPath(p) && sidecarTarget(p) === undefined) return false;
  if (isToolPath(repo, p)) return false;
  const { include, exclude } = repo.config;
  const subject = sidecarTarget(p) ?? p;
  const included = include.length === 1 && include[0] === '**/*' ? true : matchesAny(subject, include);
  return included && !matchesAny(subject, exclude);
}

/** All candidate metadata files under the root, sorted (byte order), deduplicated. */
export async function listCandidates(repo: Repo): Promise<{ files: string[]; git: boolean }> {
  let files = await gitListFiles(repo.root);
  const git = files !== undefined;
  if (!files) {
    files = await walkTree(repo.root, '', (e) => e.isFile() || e.isSymbolicLink());
  }
  let out = files.filter((f) => isCandidatePath(repo, f));
  // git lists tracked files in byte order, then untracked ones, and an unmerged path once per
  // stage: sort only when needed, then drop adjacent duplicates.
  for (let i = 1; i < out.length; i++) {
    if (compareBytes(out[i - 1]!, out[i]!) >= 0) {
      out = out.sort(compareBytes).filter((f, k, a) => k === 0 || f !== a[k - 1]);
      break;
    }
  }
  return { files: out, git };
}
