// The hostile-repository harness: run the built CLI against a repository an attacker
// wrote, and check every promise that does not depend on the command — nothing written
// outside the repository or into .git/, no planted program ran, a documented exit status,
// finished under a deadline, bounded memory.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, PROJECT, testdir } from '../helpers.js';

/** Exit statuses SPEC §10 documents (70, a bug, is never acceptable for repository content). */
export const DOCUMENTED_EXITS = [0, 1, 2, 3, 4] as const;

const RSS_PROBE = pathToFileURL(join(PROJECT, 'bench', 'rss-probe.js')).href;

/** A directory outside the repository that an attack might try to write into or read. */
export interface Sentinel {
  dir: string;
  /** File a planted hook or command would create if it ever ran. */
  pwned: string;
  checksum(): string;
}

export function makeSentinel(): Sentinel {
  const dir = testdir({ 'secret.txt': 'root:x:0:0:SENTINEL-SECRET-CONTENT\n', 'keep/inner.txt': 'untouched\n' });
  const pwned = join(dir, 'PWNED');
  return { dir, pwned, checksum: () => treeChecksum(dir) };
}

/** A digest of a directory tree: names, types, modes, sizes, contents and link targets.
 * Never follows symlinks, never opens FIFOs or devices. */
export function treeChecksum(dir: string, skip: (rel: string) => boolean = () => false): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = rel === '' ? dir : join(dir, rel);
    const names = readdirSync(abs).sort();
    for (const n of names) {
      const r = rel === '' ? n : `${rel}/${n}`;
      if (skip(r)) continue;
      const st = lstatSync(join(dir, r));
      h.update(`${r}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(`link:${readlinkSync(join(dir, r))}\0`);
      else if (st.isDirectory()) walk(r);
      else if (st.isFile()) h.update(readFileSync(join(dir, r)));
      else h.update('special\0');
    }
  };
  walk('');
  return h.digest('hex');
}

/** Checksum of `.git/`, leaving out what git itself rewrites while only reading. */
export function gitChecksum(repo: string): string {
  if (!existsSync(join(repo, '.git'))) return 'no-git';
  return treeChecksum(join(repo, '.git'), (rel) => rel === 'index' || rel === 'index.lock' || rel === 'FETCH_HEAD');
}

/** What a user does next in the repository: if the tool planted a hook or a config
 * command (core.fsmonitor, core.pager, a hook), this runs it. */
export function triggerGit(repo: string): void {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'T',
    GIT_AUTHOR_EMAIL: 't@example.com',
    GIT_COMMITTER_NAME: 'T',
    GIT_COMMITTER_EMAIL: 't@example.com',
  };
  for (const args of [['status'], ['commit', '-q', '--allow-empty', '-m', 'after'], ['checkout', '-q', '-B', 'after-branch']]) {
    spawnSync('git', args, { cwd: repo, env, stdio: 'ignore', timeout: 20_000 });
  }
}

export interface HostileRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set size of the CLI process, in KiB. */
  maxRssKb: number;
  /** The one JSON document on stdout, when the output parses. */
  doc: Record<string, unknown> | undefined;
  /** Every finding code in the JSON output (top-level code and findings). */
  codes: string[];
}

/** Every `code` in a JSON document, in order. */
export function codesOf(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.code === 'string') out.push(o.code);
      for (const x of Object.values(o)) if (x && typeof x === 'object') walk(x);
    }
  };
  walk(doc);
  return out;
}

/** Run the CLI with `--json` under a deadline, measuring time and peak memory. */
export function runHostile(
  cwd: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; json?: boolean } = {},
): HostileRun {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', RSS_PROBE, BIN, ...(opts.json === false ? [] : ['--json']), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  const ms = Date.now() - t0;
  const m = /@@maxrss (\d+)/.exec(r.stderr ?? '');
  let doc: Record<string, unknown> | undefined;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    doc = undefined;
  }
  return {
    code: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '').replace(/\n?@@maxrss \d+\n?/, ''),
    ms,
    maxRssKb: m ? Number(m[1]) : Number.NaN,
    doc,
    codes: codesOf(doc),
  };
}

/** Snapshot the state an attack must not change, run `fn`, and check it afterwards
 * (finishing with the git commands that would run anything the tool planted). */
export function guarded<T>(repo: string, sentinel: Sentinel, fn: () => T): { result: T; problems: string[] } {
  const outside = sentinel.checksum();
  const gitBefore = gitChecksum(repo);
  const result = fn();
  const problems: string[] = [];
  if (sentinel.checksum() !== outside) problems.push('something was written outside the repository');
  if (gitChecksum(repo) !== gitBefore) problems.push('something was written into .git/');
  // Then do what a user does next: a hook or config command the tool planted would run now.
  if (existsSync(join(repo, '.git'))) triggerGit(repo);
  if (existsSync(sentinel.pwned)) problems.push(`a planted program ran: ${readFileSync(sentinel.pwned, 'utf8')}`);
  return { result, problems };
}
