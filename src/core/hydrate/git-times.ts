// Commit times and cleanliness of candidate files, from git, in a fixed number of
// processes whatever the number of candidates: one `git rev-parse`, one `git status` and
// ONE `git log` walked newest first, where the first commit naming a path gives its time.
import { spawn } from 'node:child_process';
import { git, GIT_ENV } from '../git.js';

export interface GitFacts {
  /** Is the root inside a git work tree? */
  git: boolean;
  shallow: boolean;
  /** Committer time (epoch seconds) of the last commit touching each found path. */
  commitTimes: Map<string, number>;
  /** Paths with uncommitted changes (modified, staged, untracked). */
  dirty: Set<string>;
  /** How many `git log` processes were run (the contract is one). */
  logProcesses: number;
}

async function revParse(root: string): Promise<{ prefix: string; shallow: boolean } | undefined> {
  try {
    const stdout = await git(root, ['rev-parse', '--is-inside-work-tree', '--show-prefix', '--is-shallow-repository']);
    const [inside, prefix, shallow] = stdout.split('\n');
    if (inside !== 'true') return undefined;
    return { prefix: prefix ?? '', shallow: shallow === 'true' };
  } catch {
    return undefined;
  }
}

async function dirtyPaths(root: string, prefix: string): Promise<Set<string>> {
  const stdout = await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', '.']);
  const out = new Set<string>();
  const tokens = stdout.split('\0');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.length < 4) continue;
    const xy = t.slice(0, 2);
    const path = t.slice(3);
    // Porcelain paths are relative to the top level; ours to the artifacts root.
    if (path.startsWith(prefix)) out.add(path.slice(prefix.length));
    if (xy.includes('R') || xy.includes('C')) i++; // the next token is the source path
  }
  return out;
}

/** Walk `git log` once; stop as soon as every wanted path has its time. */
function commitTimes(root: string, wanted: ReadonlySet<string>): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const times = new Map<string, number>();
    if (wanted.size === 0) {
      resolve(times);
      return;
    }
    // --relative: paths relative to the root (and only those under it); -z: no quoting.
    const child = spawn('git', ['log', '-z', '--format=%x01%ct', '--name-only', '--no-renames', '--relative'], {
      cwd: root,
      env: GIT_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let current = 0;
    let rest = '';
    let done = false;
    let stderr = '';
    const finish = () => {
      if (done) return;
      done = true;
      resolve(times);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (done) return;
      const tokens = (rest + chunk).split('\0');
      rest = tokens.pop() ?? '';
      for (let t of tokens) {
        if (t.startsWith('\n')) t = t.slice(1);
        if (t.startsWith('\u0001')) current = Number(t.slice(1));
        else if (t && wanted.has(t) && !times.has(t)) {
          times.set(t, current);
          if (times.size === wanted.size) {
            child.kill();
            finish();
            return;
          }
        }
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (done) return;
      // A repository without commits makes git log fail: no path has a commit time.
      if (code !== 0 && !/does not have any commits/.test(stderr)) {
        reject(new Error(`git log failed: ${stderr.trim()}`));
        return;
      }
      finish();
    });
  });
}

/** Gather git facts for candidate paths (relative to the artifacts root). */
export async function gitFacts(root: string, paths: readonly string[]): Promise<GitFacts> {
  const rp = await revParse(root);
  if (!rp) return { git: false, shallow: false, commitTimes: new Map(), dirty: new Set(), logProcesses: 0 };
  const [dirty, times] = await Promise.all([dirtyPaths(root, rp.prefix), commitTimes(root, new Set(paths))]);
  return { git: true, shallow: rp.shallow, commitTimes: times, dirty, logProcesses: paths.length > 0 ? 1 : 0 };
}
