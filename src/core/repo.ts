// A repository handle: root, config and the locations of the tool's files. Every library
// entry point takes one; the CLI builds it from flags.
import { join, resolve } from 'node:path';
import { discoverRoot, loadConfig, INDEX_FILE, STATE_DIR, type ArtifactsConfig } from './config.js';
import type { FaultHook } from './store/durable-write.js';

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
}

export interface OpenRepoOptions {
  /** Directory to start root discovery from (the CLI passes the cwd). */
  cwd: string;
  /** Explicit root (`--root`). */
  root?: string | undefined;
  lockTimeoutMs?: number | undefined;
  /** Test hook called at each step of the write protocol. */
  faultHook?: FaultHook | undefined;
}

/** Discover the root and load the config. */
export async function openRepo(opts: OpenRepoOptions): Promise<Repo> {
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
  };
}
