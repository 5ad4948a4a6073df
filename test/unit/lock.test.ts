// The index lock's one protocol (src/core/store/lock.ts): owner record, heartbeat, liveness,
// takeover, compromise detection. Time is injected (a short stale threshold, a clock moved
// forward), never waited out.
import { mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ArtifactsError } from '../../src/core/errors.js';
import { acquireLock } from '../../src/core/store/lock.js';
import { testdir } from '../helpers.js';

const target = () => join(testdir(), 'artifacts_index.json');
const later = (ms: number) => () => Date.now() + ms;

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof ArtifactsError) return e.code;
    throw e;
  }
}

function plantOwner(t: string, owner: Record<string, unknown>): string {
  const lockDir = `${t}.lock`;
  mkdirSync(lockDir);
  writeFileSync(
    join(lockDir, 'owner.json'),
    JSON.stringify({ host: hostname(), since: '2026-01-01T00:00:00Z', nonce: 'planted', ...owner }),
  );
  return lockDir;
}

describe('index lock', () => {
  test('a lock held across many heartbeats stays ours, and a contender times out', async () => {
    const t = target();
    const lock = await acquireLock(t, { timeoutMs: 0, staleMs: 90 });
    await new Promise((r) => setTimeout(r, 300));
    await expect(lock.assertHeld()).resolves.toBeUndefined();
    expect(await code(acquireLock(t, { timeoutMs: 100, staleMs: 90 }))).toBe('LOCK_TIMEOUT');
    await lock.release();
    const again = await acquireLock(t, { timeoutMs: 0 });
    await again.release();
    // Released by renaming aside, then removed: nothing is left next to the index.
    expect(readdirSync(join(t, '..'))).toEqual([]);
  });

  test('a holder whose heartbeat is older than the stale threshold is taken over; it then finds its lock compromised', async () => {
    const t = target();
    const first = await acquireLock(t, { timeoutMs: 0 });
    // The contender's clock is 31 s ahead: the first holder looks paused past 30 s.
    const second = await acquireLock(t, { timeoutMs: 0, now: later(31_000) });
    expect(await code(first.assertHeld())).toBe('LOCK_COMPROMISED');
    await first.release(); // not ours any more: leaves the new holder's lock alone
    await expect(second.assertHeld()).resolves.toBeUndefined();
    await second.release();
  });

  test('a live holder within the threshold is waited for, not taken over', async () => {
    const t = target();
    const first = await acquireLock(t, { timeoutMs: 0 });
    expect(await code(acquireLock(t, { timeoutMs: 50, now: later(25_000) }))).toBe('LOCK_TIMEOUT');
    await expect(first.assertHeld()).resolves.toBeUndefined();
    await first.release();
  });

  test('a holder gone from this host is taken over at once: dead pid, reused pid, an earlier lock of this process', async () => {
    for (const owner of [
      { pid: 4194305 }, // above Linux's default pid range: not running
      { pid: 1, start: -1 }, // running, but not the process that took the lock (another start time)
      { pid: process.pid }, // ours, but no acquisition of ours holds it
    ]) {
      const t = target();
      plantOwner(t, owner);
      const lock = await acquireLock(t, { timeoutMs: 0 });
      await lock.assertHeld();
      await lock.release();
    }
  });

  test('a holder on another host is judged by its heartbeat only', async () => {
    const t = target();
    const lockDir = plantOwner(t, { pid: 1, host: 'elsewhere.example' });
    expect(await code(acquireLock(t, { timeoutMs: 30 }))).toBe('LOCK_TIMEOUT');
    const old = new Date(Date.now() - 40_000);
    utimesSync(join(lockDir, 'owner.json'), old, old);
    const lock = await acquireLock(t, { timeoutMs: 0 });
    await lock.release();
  });

  test('an ownerless lock directory is given a short grace, then taken over', async () => {
    const t = target();
    mkdirSync(`${t}.lock`);
    expect(await code(acquireLock(t, { timeoutMs: 30 }))).toBe('LOCK_TIMEOUT');
    const lock = await acquireLock(t, { timeoutMs: 0, now: later(6_000) });
    await lock.release();
  });

  test('a symlink or a file in the lock place is refused, never followed or removed', async () => {
    const t = target();
    const elsewhere = testdir();
    symlinkSync(elsewhere, `${t}.lock`);
    expect(await code(acquireLock(t, { timeoutMs: 1000 }))).toBe('LOCK_INVALID');
    const u = target();
    writeFileSync(`${u}.lock`, 'x');
    expect(await code(acquireLock(u, { timeoutMs: 1000 }))).toBe('LOCK_INVALID');
  });

  test('two acquisitions in one process exclude each other', async () => {
    const t = target();
    const first = await acquireLock(t, { timeoutMs: 0 });
    const waiting = acquireLock(t, { timeoutMs: 2_000 });
    await new Promise((r) => setTimeout(r, 50));
    await first.release();
    const second = await waiting;
    await second.assertHeld();
    expect(await code(first.assertHeld())).toBe('LOCK_COMPROMISED');
    await second.release();
  });
});

describe('the owner record', () => {
  test('names this process with its kernel start time, and a fresh nonce per acquisition', async () => {
    const { readFileSync } = await import('node:fs');
    const t = target();
    const a = await acquireLock(t, { timeoutMs: 0 });
    const first = JSON.parse(readFileSync(join(`${t}.lock`, 'owner.json'), 'utf8')) as {
      pid: number;
      host: string;
      start?: number;
      nonce: string;
    };
    await a.release();
    const b = await acquireLock(t, { timeoutMs: 0 });
    const second = JSON.parse(readFileSync(join(`${t}.lock`, 'owner.json'), 'utf8')) as { nonce: string };
    await b.release();
    expect(first.pid).toBe(process.pid);
    expect(first.host).toBe(hostname());
    const stat = readFileSync('/proc/self/stat', 'utf8');
    expect(first.start).toBe(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]));
    expect(first.nonce).toMatch(/^[0-9a-f]{24}$/);
    expect(second.nonce).not.toBe(first.nonce);
  });
});
