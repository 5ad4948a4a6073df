// A repository handle: root, config and the locations of the tool's files. Every library
// entry point takes one; the CLI builds it from flags.
import { join, resolve } from 'node:path';
import { discoverRoot, loadConfig, INDEX_FILE, STATE_DIR, type ArtifactsConfig } from './config.js';
import type { FaultHook } from './store/durable-write.js';
import { ArtifactsError } from './errors.js';

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
}

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
  };
}
