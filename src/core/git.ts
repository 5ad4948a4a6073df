// Running git to completion: the one helper every library module uses for a git command
// whose whole output it needs. (Long-lived batch processes — `hash-object --stdin-paths`,
// `cat-file --batch`, the single `git log` of hydration — are spawned where they are used.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The environment of every git process the tool starts. GIT_OPTIONAL_LOCKS=0: commands
 * that only read (status) must not refresh and rewrite .git/index as a side effect; the
 * tool never changes anything under .git/ except the index entries of the files `route fix`
 * moves (one `git update-index` batch) and the merge-driver settings `init` installs
 * (`git config`). */
export const GIT_ENV: NodeJS.ProcessEnv = { ...process.env, GIT_OPTIONAL_LOCKS: '0' };

/** Run `git <args>` in `cwd`, with `input` on its standard input if given, and return its
 * standard output (UTF-8, up to 1 GiB). Rejects when git exits non-zero or is not installed. */
export async function git(cwd: string, args: readonly string[], opts: { input?: string } = {}): Promise<string> {
  const running = execFileP('git', args, { cwd, env: GIT_ENV, maxBuffer: 1 << 30 });
  if (opts.input !== undefined) {
    running.child.stdin?.on('error', () => undefined);
    running.child.stdin?.end(opts.input);
  }
  const { stdout } = await running;
  return stdout;
}

/** Does git track anything at or below `path` (relative to `cwd`)? Committed content is
 * never the tool's own state (a lock, a high-water mark). False outside a work tree. */
export async function gitTracks(cwd: string, path: string): Promise<boolean> {
  return git(cwd, ['ls-files', '-z', '--', path]).then(
    (out) => out.length > 0,
    () => false,
  );
}

/** Is `root` inside a git work tree? */
export async function isGitWorkTree(root: string): Promise<boolean> {
  try {
    return (await git(root, ['rev-parse', '--is-inside-work-tree'])).trim() === 'true';
  } catch {
    return false;
  }
}

/** The commit that first added `file` (relative to `cwd`) in HEAD's history, and its first
 * parent; undefined when the file was never committed (or outside a work tree). */
export async function firstAdded(cwd: string, file: string): Promise<{ commit: string; parent?: string } | undefined> {
  const out = await git(cwd, ['--literal-pathspecs', 'log', '--format=%H %P', '--diff-filter=A', '--', file]).catch(() => '');
  const lines = out.trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1];
  if (!last) return undefined;
  const [commit, parent] = last.split(' ');
  return { commit: commit!, ...(parent ? { parent } : {}) };
}
