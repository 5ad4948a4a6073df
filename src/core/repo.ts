// A repository handle: root, config and the locations of the tool's files. Every library
// entry point takes one; the CLI builds it from flags.
import { join, resolve } from 'node:path';
import { discoverRoot, loadConfig, INDEX_FILE, STATE_DIR, type ArtifactsConfig } from './config.js';
import type { FaultHook } from './store/durable-write.js';
import { ArtifactsError, type Finding } from './errors.js';

export interface Repo {
  root: string;
  config: ArtifactsConfig;
  configPresent: boolean;
  indexPath: string;
  stateDir: string;
  journalPath: string;
  cacheDir: string;
  lockTimeoutMs: number;
  faultHook?: FaultHook | undefined;
  /** Progress of long scans (the CLI draws it on a terminal); never required. */
  progress?: ProgressSink | undefined;
  /** Cap on each inspection worker's heap, in MB (see {@link OpenRepoOptions.workerHeapMb}). */
  workerHeapMb?: number | undefined;
  /** The pinned trust root key id, from outside the repository content (the CLI passes
   * `--trust-root` or ARTIFACTS_TRUST_ROOT); it takes precedence over the config's. */
  trustRoot?: string | undefined;
  /** Receives warnings that are not findings of the command itself (TRUST_ROOT_UNPINNED). */
  warn?: WarningSink | undefined;
}

/** Receives a warning; the CLI prints it on stderr, or adds it to the --json findings. */
export type WarningSink = (warning: Finding) => void;

/** Receives progress of long-running work: `done` of `total` items in a named phase. */
export type ProgressSink = (phase: string, done: number, total: number) => void;

export interface OpenRepoOptions {
  /** Directory to start root discovery from (the CLI passes the cwd). */
  cwd: string;
  /** Explicit root (`--root`). */
  root?: string | undefined;
  lockTimeoutMs?: number | undefined;
  /** Test hook called at each step of the write protocol. */
  faultHook?: FaultHook | undefined;
  progress?: ProgressSink | undefined;
  /** Cap on each inspection worker's old-generation heap, in MB. Default: 48 plus about
   * 0.5 KB per file the worker inspects. A worker that reaches the cap hands its share of
   * the files back to the calling thread, so a low cap costs time, never a result. */
  workerHeapMb?: number | undefined;
  /** Pin the trust root (SPEC §12): the key id that must self-sign the first trust record. */
  trustRoot?: string | undefined;
  warn?: WarningSink | undefined;
}

/**
 * Discover the repository root and load its configuration. Every library call takes the
 * returned {@link Repo}.
 *
 * @example
 * ```ts
 * const repo = await openRepo({ cwd: process.cwd(), lockTimeoutMs: 5_000 });
 * ```
 */
export async function openRepo(opts: OpenRepoOptions): Promise<Repo> {
  if (opts.workerHeapMb !== undefined && !(Number.isInteger(opts.workerHeapMb) && opts.workerHeapMb > 0)) {
    throw new ArtifactsError('USAGE', `the worker heap cap must be a positive whole number of MB, not ${opts.workerHeapMb}`);
  }
  if (opts.trustRoot !== undefined && opts.trustRoot.trim() === '') {
    throw new ArtifactsError('USAGE', 'the trust root pin is set but empty', {
      hint: "Set --trust-root / ARTIFACTS_TRUST_ROOT to the root key id, or unset it. In CI an empty value usually means a secret or variable the job cannot see (a fork's pull request gets none): failing here keeps the repository from pinning itself.",
    });
  }
  if (opts.trustRoot !== undefined && !/^[0-9a-fA-F]{64}$/.test(opts.trustRoot.trim())) {
    throw new ArtifactsError(
      'USAGE',
      `the trust root must be a key id (64 hex digits, as \`artifacts keys list\` prints), not "${opts.trustRoot}"`,
    );
  }
  const root = await discoverRoot(resolve(opts.cwd), opts.root);
  const { config, present } = await loadConfig(root);
  const stateDir = join(root, STATE_DIR);
  return {
    root,
    config,
    configPresent: present,
    indexPath: join(root, INDEX_FILE),
    stateDir,
    journalPath: join(stateDir, 'journal'),
    cacheDir: join(stateDir, 'cache'),
    lockTimeoutMs: opts.lockTimeoutMs ?? 10_000,
    faultHook: opts.faultHook,
    progress: opts.progress,
    workerHeapMb: opts.workerHeapMb,
    trustRoot: opts.trustRoot?.trim().toLowerCase(),
    warn: opts.warn,
  };
}
