// File stamps and the identity of the tool's caches.
//
// Stamps: (size, mtime ns, ctime ns, inode), the evidence every cache in the tool uses to
// decide that a file is unchanged, and the racy-timestamp rule that goes with them: a stamp
// younger than the racy window (two seconds) may still change within the same timestamp
// tick, so nothing is remembered against it.
//
// Identity: every cache under .artifacts/cache/ (the stat cache, the clean-verification
// record, the index-digest memo, the config memo) records the identity it was written
// under — the package version, the format versions of the files involved, and a
// fingerprint of the configuration and schemas the cached result depends on — and treats a
// record under any other identity as absent. An upgrade, a format change or a changed
// schema therefore never serves a result computed under other rules.
//
// The clock and the racy window are read through this module so that tests can move time
// instead of sleeping (`setClockForTests`).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Stamps closer than this to "now" (or to a scan's start) are racy. */
export const RACY_WINDOW_MS = 2_000;

/** Format versions of the files whose meaning the caches depend on. Bump the one whose
 * layout or meaning changes; every cache written under the old value is then ignored. */
export const FORMAT_VERSIONS = {
  /** artifacts_index.json (reading accepts every supported format; this names the rules). 2: artifacts-index/2. */
  index: 2,
  /** .artifacts/cache/stat-cache. 4: invalid inspections carry `foreign`; 5: one record per line (was stat-cache.json). */
  statCache: 5,
  /** .artifacts/cache/clean-verify.json. */
  cleanVerify: 2,
  /** .artifacts/cache/index-digest.json. */
  digestMemo: 1,
  /** .artifacts/cache/config.json. 2: the parse-memo record ({identity, stamp, text, result}). */
  configMemo: 2,
  /** .artifacts/cache/routing.json: the parsed routes of artifact_routing.mdc. */
  routingMemo: 1,
} as const;

export interface Clock {
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Stamps this close to "now" are not trusted. */
  racyWindowMs: number;
}

const realClock: Clock = { now: () => Date.now(), racyWindowMs: RACY_WINDOW_MS };
let clock: Clock = realClock;
let versionOverride: string | undefined;

/** The current time as every cache and lock decision sees it. */
export function now(): number {
  return clock.now();
}

/** The racy window in force. */
export function racyWindowMs(): number {
  return clock.racyWindowMs;
}

/**
 * For tests only: replace the clock and/or the racy window (and, to show that caches follow
 * the identity, the package version). Returns a function that restores the previous state.
 */
export function setClockForTests(c: Partial<Clock> & { packageVersion?: string }): () => void {
  const saved = clock;
  const savedVersion = versionOverride;
  clock = { now: c.now ?? saved.now, racyWindowMs: c.racyWindowMs ?? saved.racyWindowMs };
  if (c.packageVersion !== undefined) versionOverride = c.packageVersion;
  return () => {
    clock = saved;
    versionOverride = savedVersion;
  };
}

let packageVersionCache: string | undefined;

/** The version in the tool's own package.json ('' if it cannot be read). */
export function packageVersion(): string {
  if (versionOverride !== undefined) return versionOverride;
  if (packageVersionCache === undefined) {
    try {
      // src/core/stamp.ts and dist/core/stamp.js are both two levels below the package root.
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: unknown };
      packageVersionCache = typeof pkg.version === 'string' ? pkg.version : '';
    } catch {
      packageVersionCache = '';
    }
  }
  return packageVersionCache;
}

/**
 * The identity a cache record is written under and must match to be used: the package
 * version, every format version, the cache's own name, and `fingerprint` (what the cached
 * result depends on besides its file stamps: configuration, schemas, digest algorithm).
 */
export function cacheIdentity(cache: keyof typeof FORMAT_VERSIONS, fingerprint = ''): string {
  const formats = Object.entries(FORMAT_VERSIONS)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return createHash('sha256').update(`artifacts-cache\n${packageVersion()}\n${formats}\n${cache}\n${fingerprint}`).digest('hex');
}

export interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** The stamp of a file (of a symlink itself unless `follow`), or undefined if missing. */
export function stampOf(abs: string, opts: { follow?: boolean } = {}): FileStamp | undefined {
  let st: BigIntStats | undefined;
  try {
    st = (opts.follow ? statSync : lstatSync)(abs, { bigint: true, throwIfNoEntry: false });
  } catch {
    // A path through a file, a symlink loop: nothing stampable is there.
    return undefined;
  }
  if (!st) return undefined;
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}

/** A stamp as one comparable string. */
export function stampString(s: FileStamp): string {
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
}

/** Are both of a stamp's times older than the racy window before `nowMs`? */
export function stampSettled(s: FileStamp, nowMs: number = now()): boolean {
  const limit = BigInt(Math.floor(nowMs - racyWindowMs())) * 1_000_000n;
  return BigInt(s.mtimeNs) < limit && BigInt(s.ctimeNs) < limit;
}
