// The single-writer lock over the index (SPEC §5 step 1). proper-lockfile gives us an
// atomic mkdir lock that is refreshed while held and judged stale after 30 s. On top of it
// we record the holder (pid, host, token) inside the lock directory so that a lock left by
// a process that no longer runs on this host is taken over at once, and so that a writer
// can prove, right before it publishes, that the lock is still its own.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { lstat, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArtifactsError, isArtifactsError } from '../errors.js';
import { git } from '../git.js';
import { parseJsonQuiet, readChecked } from './checked-read.js';

export const STALE_MS = 30_000;
const OWNER_FILE = 'owner.json';
/** How long a lock directory may exist without an owner file before it counts as abandoned. */
const OWNERLESS_GRACE_MS = 5_000;

interface Owner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface LockHandle {
  /** Throws LOCK_COMPROMISED if the lock is no longer ours. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LockOptions {
  timeoutMs: number;
  staleMs?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder recorded in the lock, or undefined. The owner file is read like every other
 * repository file (a FIFO or symlink in its place is never opened) and must have the
 * expected shape: anything else counts as no owner. */
async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const bytes = await readChecked(join(lockDir, OWNER_FILE), { root: dirname(lockDir), maxBytes: OWNER_MAX_BYTES, code: 'LOCK_INVALID', allowMissing: true });
    if (!bytes) return undefined;
    const parsed = parseJsonQuiet(bytes.toString('utf8'));
    const o = parsed.ok ? (parsed.value as Partial<Owner> | null) : null;
    if (o === null || typeof o !== 'object' || typeof o.token !== 'string' || typeof o.host !== 'string' || !Number.isSafeInteger(o.pid) || typeof o.since !== 'string') return undefined;
    return o as Owner;
  } catch {
    return undefined;
  }
}

const OWNER_MAX_BYTES = 4096;

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
  if (st.isSymbolicLink()) throw new ArtifactsError('LOCK_INVALID', `${name} is a symlink, not a lock this tool made; it is never followed or removed`, { details: { path: name, problem: 'symlink' } });
  if (!st.isDirectory()) throw new ArtifactsError('LOCK_INVALID', `${name} is not a directory, so it is not a lock this tool made`, { details: { path: name, problem: 'not-regular' } });
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
  return () =>
    (answer ??= git(dirname(lockDir), ['ls-files', '-z', '--', basename(lockDir)]).then(
      (out) => out.length > 0,
      () => false,
    ));
}

/** Is the existing lock abandoned — holder dead on this host, or not refreshed for
 * `staleMs`? Returns the judged holder's token ('' when it had none), or undefined. */
async function abandonedToken(lockDir: string, staleMs: number): Promise<string | undefined> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(lockDir)).mtimeMs;
  } catch {
    return undefined; // gone meanwhile: the next attempt simply takes it
  }
  const owner = await readOwner(lockDir);
  if (Date.now() - mtimeMs > staleMs) return owner?.token ?? '';
  // No owner: the holder is between mkdir and writing its owner file, or between removing
  // it and rmdir on release — milliseconds. A lock left ownerless for longer was abandoned
  // in that window (a kill right after mkdir) and must not block everyone for 30 s.
  if (!owner) return Date.now() - mtimeMs > OWNERLESS_GRACE_MS ? '' : undefined;
  return owner.host === hostname() && owner.pid !== process.pid && !pidAlive(owner.pid) ? owner.token : undefined;
}

/**
 * Take over an abandoned lock. Renaming first makes the removal atomic with respect to a
 * concurrent taker: only one process can move the directory away. Between judging the
 * holder dead and the rename, the lock may have been released and taken by a live process;
 * the moved directory then holds a different token, and it is put back at once.
 */
async function takeOver(lockDir: string, judged: string): Promise<void> {
  // Judge again immediately before moving: the holder read earlier may have released, and a
  // live process taken the lock, while we were checking the old holder's pid.
  if (((await readOwner(lockDir))?.token ?? '') !== judged) return;
  const grave = `${lockDir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockDir, grave);
  } catch {
    return;
  }
  const moved = await readOwner(grave);
  if ((moved?.token ?? '') !== judged) {
    try {
      await rename(grave, lockDir);
      return;
    } catch {
      // Someone locked meanwhile; the live holder we moved will find its lock compromised
      // and abort before publishing anything.
    }
  }
  await rm(grave, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Acquire the lock for `target` (the index path), waiting at most `timeoutMs`. */
export async function acquireLock(target: string, opts: LockOptions): Promise<LockHandle> {
  const lockDir = `${target}.lock`;
  const staleMs = Math.max(opts.staleMs ?? STALE_MS, 30_000);
  const deadline = Date.now() + Math.max(0, opts.timeoutMs);
  const token = randomBytes(12).toString('hex');
  const tracked = trackedOnce(lockDir);
  let compromised: Error | undefined;
  let delay = 10;
  // Loaded here, not at start-up: read-only commands never lock.
  const lockfile = (await import('proper-lockfile')).default;
  for (;;) {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockfile.lock(target, {
        lockfilePath: lockDir,
        stale: staleMs,
        update: Math.min(5_000, staleMs / 3),
        realpath: false,
        retries: 0,
        onCompromised: (err) => {
          // Never throw from here (proper-lockfile's default): remember it, and the write
          // aborts at its next assertHeld(), before the rename that would publish it.
          compromised = err;
        },
      });
    } catch (e) {
      await assertLockSane(lockDir, tracked);
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ELOCKED' && code !== 'ENOTEMPTY' && code !== 'ENOENT') {
        if (isArtifactsError(e)) throw e;
        throw new ArtifactsError('IO_ERROR', `could not take the index lock (${code ?? (e as Error).message})`, { cause: e });
      }
      const judged = await abandonedToken(lockDir, staleMs);
      if (judged !== undefined) {
        await takeOver(lockDir, judged);
        continue;
      }
      if (Date.now() >= deadline) {
        const owner = await readOwner(lockDir);
        throw new ArtifactsError(
          'LOCK_TIMEOUT',
          `could not lock the index within ${opts.timeoutMs} ms${owner ? ` (held by pid ${owner.pid} on ${owner.host} since ${owner.since})` : ''}`,
          { details: owner ? { holder: owner } : {} },
        );
      }
      // Exponential backoff with jitter, bounded by the deadline.
      const wait = Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random());
      await sleep(wait);
      delay = Math.min(delay * 2, 250);
      continue;
    }
    const owner: Owner = { pid: process.pid, host: hostname(), token, since: new Date().toISOString() };
    // Creating the owner file changes the directory's mtime, which proper-lockfile watches to
    // detect a compromised lock: put the mtime back to the value it set.
    const before = await stat(lockDir);
    await writeFile(join(lockDir, OWNER_FILE), JSON.stringify(owner));
    await utimes(lockDir, before.atime, before.mtime);
    const rel = release;
    return {
      async assertHeld() {
        if (compromised) throw new ArtifactsError('LOCK_COMPROMISED', `index lock lost: ${compromised.message}`);
        // A competing process may move a lock aside for an instant and put it back when it
        // sees a live owner (see takeOver); only a lasting absence or a foreign token counts.
        for (let attempt = 0; ; attempt++) {
          const now = await readOwner(lockDir);
          if (now?.token === token) return;
          if (now !== undefined || attempt === 4) throw new ArtifactsError('LOCK_COMPROMISED', 'index lock was taken over by another process');
          await sleep(20);
        }
      },
      async release() {
        // The owner file must go first: proper-lockfile removes the lock with rmdir.
        const now = await readOwner(lockDir);
        if (now?.token === token) await rm(join(lockDir, OWNER_FILE), { force: true });
        await rel().catch(() => undefined);
      },
    };
  }
}
