// The single-writer lock over the index (SPEC §5 step 1). One protocol, four parts:
//
// - Owner record. The lock is a directory, `<index>.lock`, made with one atomic mkdir; the
//   holder writes `owner.json` into it at once: pid, host, the process's start time and a
//   random nonce. While it holds the lock it touches that file every `staleMs / 3` (the
//   heartbeat), at most every 5 s.
// - Liveness. A holder recorded on this host whose process is gone (no such pid, or a pid
//   now used by a process that started at another time) is dead at once: a user who hit
//   Ctrl-C must not wait. Any other holder is stale once its heartbeat is older than
//   `staleMs` (30 s): a holder on another host, or one paused with SIGSTOP. A directory
//   with no owner record (a holder killed between mkdir and writing it) is abandoned after a
//   short grace.
// - Takeover. An abandoned lock is renamed aside (only one contender can move it), checked
//   to be the one judged (else put back), and removed. Releasing also renames the lock aside
//   first, so no one ever sees our directory half-removed.
// - Compromise detection. A writer calls assertHeld() right before the rename that
//   publishes its work; if its lock was taken over meanwhile (its owner record is gone or
//   another nonce is there), it aborts with LOCK_COMPROMISED and publishes nothing.
//
// Every change the lock makes (mkdir, the owner record, renames, removal) goes through the
// durable-write WriteFs layer, so the simulated-disk tests see them. None is fsynced: after
// a power loss no holder is alive, and a leftover lock is judged like any other.
// The clock, the stale threshold and the ownerless grace are injectable for tests.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, lutimes, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ArtifactsError } from '../errors.js';
import { gitTracks } from '../git.js';
import { now as clockNow } from '../stamp.js';
import { parseJsonQuiet, readChecked } from './checked-read.js';
import { activeWriteFs } from './durable-write.js';

/** A holder whose heartbeat is older than this is stale (SPEC §5: at least 30 s). */
export const STALE_MS = 30_000;
const OWNER_FILE = 'owner.json';
const OWNER_MAX_BYTES = 4096;
/** How long a lock directory may exist without an owner record before it counts as abandoned. */
const OWNERLESS_GRACE_MS = 5_000;
/** The heartbeat never waits longer than this between touches. */
const MAX_HEARTBEAT_MS = 5_000;

interface Owner {
  pid: number;
  host: string;
  /** The holder process's start time (kernel clock ticks since boot): tells a reused pid
   * apart. Absent where the system does not say, and in records of earlier versions. */
  start: number | undefined;
  /** Random, per acquisition: the lock is ours only while our nonce is in it. */
  nonce: string;
  since: string;
}

export interface LockHandle {
  /** Throws LOCK_COMPROMISED if the lock is no longer ours. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LockOptions {
  timeoutMs: number;
  /** Heartbeat age after which a holder is stale. Default STALE_MS. */
  staleMs?: number;
  /** Milliseconds since the epoch. Default: the shared clock (stamp.ts). */
  now?: () => number;
  /** How long an ownerless lock directory is given. Default 5 s (never more than staleMs). */
  ownerlessGraceMs?: number;
}

/** The default stale threshold: STALE_MS, or ARTIFACTS_LOCK_STALE_MS, a hook for tests of
 * lock takeover with real processes (like ARTIFACTS_FAULT_INJECT, never set in use). */
function defaultStaleMs(): number {
  const env = Number(process.env.ARTIFACTS_LOCK_STALE_MS);
  return Number.isSafeInteger(env) && env > 0 ? env : STALE_MS;
}

/** Nonces of the locks this process holds: a record naming this process with another
 * nonce was left by an acquisition of ours that is over. */
const heldNonces = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When a process started, as the kernel counts it (clock ticks since boot, field 22 of
 * /proc/<pid>/stat): exact, and immune to changes of the wall clock. Undefined where there
 * is no /proc (then a reused pid cannot be told apart, and only the heartbeat judges). */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Counted after the parenthesised command name, which may itself contain spaces.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

const selfStart = processStartTicks(process.pid);

/** Is the holder recorded in `o` still running on this host? (Only asked for this host.) */
function holderAlive(o: Owner): boolean {
  if (o.pid === process.pid) return heldNonces.has(o.nonce);
  if (!pidAlive(o.pid)) return false;
  // The same pid, started at another time: the pid was reused by another process.
  const start = o.start === undefined ? undefined : processStartTicks(o.pid);
  return start === undefined || start === o.start;
}

/** The holder recorded in the lock, or undefined. The owner file is read like every other
 * repository file (a FIFO or symlink in its place is never opened) and must have the
 * expected shape: anything else counts as no owner. */
async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const bytes = await readChecked(join(lockDir, OWNER_FILE), {
      root: dirname(lockDir),
      maxBytes: OWNER_MAX_BYTES,
      code: 'LOCK_INVALID',
      allowMissing: true,
    });
    if (!bytes) return undefined;
    const parsed = parseJsonQuiet(bytes.toString('utf8'));
    const o = parsed.ok ? (parsed.value as (Partial<Owner> & { token?: unknown }) | null) : null;
    if (o === null || typeof o !== 'object' || typeof o.host !== 'string' || !Number.isSafeInteger(o.pid) || typeof o.since !== 'string')
      return undefined;
    // Earlier versions of the tool called the nonce `token` and recorded no start time.
    const nonce = typeof o.nonce === 'string' ? o.nonce : typeof o.token === 'string' ? o.token : undefined;
    if (nonce === undefined) return undefined;
    const start = Number.isSafeInteger(o.start) ? o.start : undefined;
    return { pid: o.pid!, host: o.host, since: o.since, nonce, start };
  } catch {
    return undefined;
  }
}

/**
 * Refuse a lock path this tool cannot have made: a symlink (never followed, never removed),
 * anything but a directory, or a directory tracked by git (committed content is never a
 * live lock, and taking it over would delete it). LOCK_INVALID, exit 4, before waiting.
 */
async function assertLockSane(lockDir: string, tracked: () => Promise<boolean>): Promise<void> {
  let st;
  try {
    st = await lstat(lockDir);
  } catch {
    return; // gone meanwhile
  }
  const name = basename(lockDir);
  if (st.isSymbolicLink())
    throw new ArtifactsError('LOCK_INVALID', `${name} is a symlink, not a lock this tool made; it is never followed or removed`, {
      details: { path: name, problem: 'symlink' },
    });
  if (!st.isDirectory())
    throw new ArtifactsError('LOCK_INVALID', `${name} is not a directory, so it is not a lock this tool made`, {
      details: { path: name, problem: 'not-regular' },
    });
  if (await tracked()) {
    throw new ArtifactsError('LOCK_INVALID', `${name}/ is tracked by git: committed content is never a live lock`, {
      hint: `Remove it from the repository (\`git rm -r --cached ${name}\`, then commit), and delete the directory after checking no artifacts process runs.`,
      details: { path: name, problem: 'tracked' },
    });
  }
}

/** Does git track anything under `lockDir`? Asked once per acquisition, only when the
 * lock is found taken; outside a git work tree nothing is tracked. */
function trackedOnce(lockDir: string): () => Promise<boolean> {
  let answer: Promise<boolean> | undefined;
  return () => (answer ??= gitTracks(dirname(lockDir), basename(lockDir)));
}

interface Timing {
  staleMs: number;
  graceMs: number;
  now: () => number;
}

/** Is the existing lock abandoned? Returns the judged holder's nonce ('' when it had no
 * owner record), or undefined while the lock is live. */
async function abandonedNonce(lockDir: string, t: Timing): Promise<string | undefined> {
  const owner = await readOwner(lockDir);
  let beatMs: number;
  try {
    // The heartbeat touches the owner record; without one, the directory's own mtime.
    beatMs = (await lstat(owner ? join(lockDir, OWNER_FILE) : lockDir)).mtimeMs;
  } catch {
    return undefined; // gone meanwhile: the next attempt simply takes it
  }
  const age = t.now() - beatMs;
  if (!owner) return age > t.graceMs ? '' : undefined;
  if (age > t.staleMs) return owner.nonce;
  return owner.host === hostname() && !holderAlive(owner) ? owner.nonce : undefined;
}

/** Remove a lock directory that has been renamed aside (nothing else can reach it now). */
async function removeGrave(grave: string): Promise<void> {
  const fs = activeWriteFs();
  try {
    const names = await readdir(grave);
    if (names.length === 1 && names[0] === OWNER_FILE) {
      await fs.unlink(join(grave, OWNER_FILE));
      await fs.rmdir(grave);
      return;
    }
  } catch {
    // fall through to the general removal
  }
  // Anything else left inside (an older tool's lock, hand-made content) goes as a whole.
  await rm(grave, { recursive: true, force: true });
}

function graveName(lockDir: string): string {
  return `${lockDir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Take over an abandoned lock. Renaming first makes the removal atomic with respect to a
 * concurrent taker: only one process can move the directory away. Between judging the
 * holder dead and the rename, the lock may have been released and taken by a live process;
 * the moved directory then holds a different nonce, and it is put back at once.
 */
async function takeOver(lockDir: string, judged: string): Promise<void> {
  // Judge again immediately before moving: the holder read earlier may have released, and a
  // live process taken the lock, while we were checking the old holder's pid.
  if (((await readOwner(lockDir))?.nonce ?? '') !== judged) return;
  const fs = activeWriteFs();
  const grave = graveName(lockDir);
  try {
    await fs.rename(lockDir, grave);
  } catch {
    return;
  }
  const moved = await readOwner(grave);
  if ((moved?.nonce ?? '') !== judged) {
    try {
      await fs.rename(grave, lockDir);
      return;
    } catch {
      // Someone locked meanwhile; the live holder we moved will find its lock compromised
      // and abort before publishing anything.
    }
  }
  await removeGrave(grave);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Create the lock directory and our owner record in it; false if the lock exists. */
async function tryCreate(lockDir: string, owner: Owner): Promise<boolean> {
  const fs = activeWriteFs();
  try {
    await fs.mkdir(lockDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new ArtifactsError('IO_ERROR', `could not take the index lock (${code ?? (e as Error).message})`, {
      cause: e,
      details: { op: 'mkdir', errno: code ?? 'EIO' },
    });
  }
  try {
    const h = await fs.open(
      join(lockDir, OWNER_FILE),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      await h.write(JSON.stringify(owner));
    } finally {
      await h.close();
    }
  } catch (e) {
    // The directory is ours (an ownerless lock of ours would block others for the grace
    // period): take it away again, and report.
    await removeGrave(lockDir).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArtifactsError('IO_ERROR', `could not record the index lock's owner (${code ?? (e as Error).message})`, {
      cause: e,
      details: { op: 'write', errno: code ?? 'EIO' },
    });
  }
  return true;
}

/** Acquire the lock for `target` (the index path), waiting at most `timeoutMs`. */
export async function acquireLock(target: string, opts: LockOptions): Promise<LockHandle> {
  const lockDir = `${target}.lock`;
  const staleMs = opts.staleMs ?? defaultStaleMs();
  const t: Timing = { staleMs, graceMs: Math.min(opts.ownerlessGraceMs ?? OWNERLESS_GRACE_MS, staleMs), now: opts.now ?? clockNow };
  const deadline = t.now() + Math.max(0, opts.timeoutMs);
  const tracked = trackedOnce(lockDir);
  let delay = 10;
  for (;;) {
    const owner: Owner = {
      pid: process.pid,
      host: hostname(),
      start: selfStart,
      nonce: randomBytes(12).toString('hex'),
      since: new Date(t.now()).toISOString(),
    };
    // Registered before the record exists: a concurrent acquisition in this process must
    // never judge it a leftover of ours.
    heldNonces.add(owner.nonce);
    let created = false;
    try {
      created = await tryCreate(lockDir, owner);
    } finally {
      if (!created) heldNonces.delete(owner.nonce);
    }
    if (created) return holding(lockDir, owner, t);
    await assertLockSane(lockDir, tracked);
    const judged = await abandonedNonce(lockDir, t);
    if (judged !== undefined) {
      await takeOver(lockDir, judged);
      continue;
    }
    if (t.now() >= deadline) {
      const holder = await readOwner(lockDir);
      throw new ArtifactsError(
        'LOCK_TIMEOUT',
        `could not lock the index within ${opts.timeoutMs} ms${holder ? ` (held by pid ${holder.pid} on ${holder.host} since ${holder.since})` : ''}`,
        { details: holder ? { holder: { pid: holder.pid, host: holder.host, since: holder.since } } : {} },
      );
    }
    // Exponential backoff with jitter, bounded by the deadline.
    const wait = Math.min(delay, Math.max(1, deadline - t.now())) * (0.5 + Math.random());
    await sleep(wait);
    delay = Math.min(delay * 2, 250);
  }
}

/** The handle of a lock we just created: heartbeat, compromise checks, release. */
function holding(lockDir: string, owner: Owner, t: Timing): LockHandle {
  const ownerPath = join(lockDir, OWNER_FILE);
  let compromised: string | undefined;
  let released = false;
  const beat = async () => {
    if (released || compromised) return;
    const found = await readOwner(lockDir);
    // Only another nonce is proof: a contender may move the lock aside for an instant.
    if (found && found.nonce !== owner.nonce) {
      compromised = `taken over by pid ${found.pid} on ${found.host}`;
      return;
    }
    if (found) {
      const s = new Date(t.now());
      await lutimes(ownerPath, s, s).catch(() => undefined);
    }
  };
  const timer = setInterval(() => void beat(), Math.max(1, Math.min(MAX_HEARTBEAT_MS, Math.floor(t.staleMs / 3))));
  timer.unref();
  return {
    async assertHeld() {
      if (compromised) throw new ArtifactsError('LOCK_COMPROMISED', `index lock lost: ${compromised}`);
      // A competing process may move a lock aside for an instant and put it back when it
      // sees a live owner (see takeOver); only a lasting absence or a foreign nonce counts.
      for (let attempt = 0; ; attempt++) {
        const found = await readOwner(lockDir);
        if (found?.nonce === owner.nonce) return;
        if (found !== undefined || attempt === 4)
          throw new ArtifactsError('LOCK_COMPROMISED', 'index lock was taken over by another process');
        await sleep(20);
      }
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        // Renamed aside first: the lock is free the moment the rename lands, and no one sees
        // our directory half-removed. Only a lock that is still ours is touched.
        if ((await readOwner(lockDir))?.nonce !== owner.nonce) return;
        const grave = graveName(lockDir);
        try {
          await activeWriteFs().rename(lockDir, grave);
        } catch {
          return;
        }
        // Taken over between the check and the rename: it is the new holder's, put it back.
        if ((await readOwner(grave))?.nonce !== owner.nonce) {
          await activeWriteFs()
            .rename(grave, lockDir)
            .catch(() => undefined);
          return;
        }
        await removeGrave(grave).catch(() => undefined);
      } finally {
        heldNonces.delete(owner.nonce);
      }
    },
  };
}
