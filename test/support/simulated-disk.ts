// A model of what a disk holds after a power loss, for the write protocol's crash tests.
//
// `RecordingFs` is a WriteFs that performs every call on the real file system and logs it
// as an operation on a model: files are inodes, directories map names to inodes. A write
// becomes durable only through an fsync of its inode, a create/rename/unlink only through
// an fsync of its directory. `crashStates` replays a prefix of the log (the moment power was
// lost) onto the state before the run: every durable operation is kept, and every unsynced
// one is kept or dropped independently, in every combination (or a large sample of them).
// Writes are split into 4 KiB pages, each of which may be lost on its own. That is harsher
// than any real file system, which is the point: a protocol that survives it survives them.
import { constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { nodeWriteFs, type WriteFs, type WriteHandle } from '../../src/core/store/durable-write.js';

const PAGE = 4096;

export type DiskOp =
  | { kind: 'create'; path: string; inode: number }
  | { kind: 'write'; inode: number; offset: number; data: Buffer }
  | { kind: 'truncate'; inode: number; length: number }
  | { kind: 'fsync'; inode: number }
  | { kind: 'rename'; from: string; to: string; inode: number }
  | { kind: 'renamedir'; from: string; to: string }
  | { kind: 'link'; from: string; to: string; inode: number }
  | { kind: 'unlink'; path: string }
  | { kind: 'fsyncdir'; dir: string };

/** A directory tree as the model sees it: relative path -> inode, inode -> bytes. */
export interface DiskImage {
  names: Map<string, number>;
  data: Map<number, Buffer>;
}

/** Read every file under `root` except `.git` into a model image. */
export function imageOf(root: string, skip: (rel: string) => boolean = () => false): DiskImage {
  const names = new Map<string, number>();
  const data = new Map<number, Buffer>();
  let next = 1;
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, d.name);
      const rel = relative(root, abs);
      if (rel === '.git' || skip(rel)) continue;
      if (d.isDirectory()) walk(abs);
      else if (d.isFile()) {
        names.set(rel, next);
        data.set(next++, readFileSync(abs));
      }
    }
  };
  walk(root);
  return { names, data };
}

/** A WriteFs over the real disk that logs every state change for `crashStates`. */
export class RecordingFs implements WriteFs {
  readonly ops: DiskOp[] = [];
  private readonly names: Map<string, number>;
  private readonly size = new Map<number, number>();
  private nextInode: number;

  constructor(
    private readonly root: string,
    base: DiskImage,
  ) {
    this.names = new Map(base.names);
    for (const [inode, buf] of base.data) this.size.set(inode, buf.length);
    this.nextInode = Math.max(0, ...base.data.keys()) + 1;
  }

  private rel(p: string): string {
    const r = relative(this.root, p);
    if (r.startsWith('..')) throw new Error(`write outside the recorded tree: ${p}`);
    // The root itself is '.', as dirname() names it.
    return r === '' ? '.' : r;
  }

  async open(path: string, flags: number, mode?: number): Promise<WriteHandle> {
    const rel = this.rel(path);
    const existed = existsSync(path);
    const real = await nodeWriteFs.open(path, flags, mode);
    if ((flags & constants.O_DIRECTORY) !== 0) {
      return {
        write: () => Promise.reject(new Error('write to a directory')),
        truncate: () => Promise.reject(new Error('truncate of a directory')),
        sync: async () => {
          await real.sync();
          this.ops.push({ kind: 'fsyncdir', dir: rel });
        },
        close: () => real.close(),
      };
    }
    let inode = this.names.get(rel);
    if (!existed || inode === undefined) {
      if (existed) throw new Error(`${rel} exists on disk but not in the model`);
      inode = this.nextInode++;
      this.names.set(rel, inode);
      this.size.set(inode, 0);
      this.ops.push({ kind: 'create', path: rel, inode });
    }
    const ino = inode;
    const append = (flags & constants.O_APPEND) !== 0;
    let pos = 0;
    return {
      write: async (data) => {
        const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
        await real.write(buf);
        const offset = append ? this.size.get(ino)! : pos;
        // Each page of the write can reach the disk, or not, on its own.
        for (let at = 0; at < buf.length;) {
          const end = Math.min(buf.length, (Math.floor((offset + at) / PAGE) + 1) * PAGE - offset);
          this.ops.push({ kind: 'write', inode: ino, offset: offset + at, data: buf.subarray(at, end) });
          at = end;
        }
        pos = offset + buf.length;
        this.size.set(ino, Math.max(this.size.get(ino)!, pos));
      },
      truncate: async (length) => {
        await real.truncate(length);
        this.ops.push({ kind: 'truncate', inode: ino, length });
        this.size.set(ino, length);
      },
      sync: async () => {
        await real.sync();
        this.ops.push({ kind: 'fsync', inode: ino });
      },
      close: () => real.close(),
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const inode = this.names.get(this.rel(from));
    if (inode === undefined && statSync(from, { throwIfNoEntry: false })?.isDirectory()) {
      // A directory (the index lock): every name below it moves with it.
      await nodeWriteFs.rename(from, to);
      const [f, t] = [this.rel(from), this.rel(to)];
      for (const [name, ino] of [...this.names]) {
        if (name.startsWith(`${f}/`)) {
          this.names.delete(name);
          this.names.set(t + name.slice(f.length), ino);
        }
      }
      this.ops.push({ kind: 'renamedir', from: f, to: t });
      return;
    }
    await nodeWriteFs.rename(from, to);
    if (inode === undefined) throw new Error(`rename of a file the model does not know: ${from}`);
    this.names.delete(this.rel(from));
    this.names.set(this.rel(to), inode);
    this.ops.push({ kind: 'rename', from: this.rel(from), to: this.rel(to), inode });
  }

  async link(from: string, to: string): Promise<void> {
    const inode = this.names.get(this.rel(from));
    await nodeWriteFs.link(from, to);
    if (inode === undefined) throw new Error(`link of a file the model does not know: ${from}`);
    this.names.set(this.rel(to), inode);
    this.ops.push({ kind: 'link', from: this.rel(from), to: this.rel(to), inode });
  }

  async unlink(path: string): Promise<void> {
    await nodeWriteFs.unlink(path);
    this.names.delete(this.rel(path));
    this.ops.push({ kind: 'unlink', path: this.rel(path) });
  }

  async mkdir(path: string): Promise<void> {
    // Directories are not modelled (a file's name implies them), but a directory the run
    // creates is real, and creating one that exists fails as it would on disk.
    this.rel(path);
    await nodeWriteFs.mkdir(path);
  }

  async rmdir(path: string): Promise<void> {
    this.rel(path);
    await nodeWriteFs.rmdir(path);
  }
}

function dirOf(op: DiskOp): string | undefined {
  if (op.kind === 'create') return dirname(op.path);
  if (op.kind === 'rename' || op.kind === 'renamedir' || op.kind === 'link') return dirname(op.to);
  if (op.kind === 'unlink') return dirname(op.path);
  return undefined;
}

/** Indexes of the operations in `prefix` that no later fsync in `prefix` made durable. */
export function unsyncedOps(prefix: readonly DiskOp[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < prefix.length; i++) {
    const op = prefix[i]!;
    if (op.kind === 'fsync' || op.kind === 'fsyncdir') continue;
    const dir = dirOf(op);
    if ((op.kind === 'rename' || op.kind === 'renamedir') && dirname(op.from) !== dirname(op.to))
      throw new Error('cross-directory rename is not modelled');
    let synced = false;
    for (let j = i + 1; j < prefix.length && !synced; j++) {
      const later = prefix[j]!;
      if (dir !== undefined) synced = later.kind === 'fsyncdir' && later.dir === dir;
      else synced = later.kind === 'fsync' && later.inode === (op as { inode: number }).inode;
    }
    if (!synced) out.push(i);
  }
  return out;
}

/** Apply a prefix of the log to `base`, skipping the operations in `dropped`. */
export function applyOps(base: DiskImage, prefix: readonly DiskOp[], dropped: ReadonlySet<number>): DiskImage {
  const names = new Map(base.names);
  const data = new Map([...base.data].map(([k, v]) => [k, Buffer.from(v)]));
  prefix.forEach((op, i) => {
    if (dropped.has(i)) return;
    switch (op.kind) {
      case 'create':
        names.set(op.path, op.inode);
        if (!data.has(op.inode)) data.set(op.inode, Buffer.alloc(0));
        break;
      case 'write': {
        const cur = data.get(op.inode) ?? Buffer.alloc(0);
        const end = op.offset + op.data.length;
        // A page past a lost one leaves a hole of zeros.
        const buf = end > cur.length ? Buffer.concat([cur, Buffer.alloc(end - cur.length)]) : cur;
        op.data.copy(buf, op.offset);
        data.set(op.inode, buf);
        break;
      }
      case 'truncate': {
        const cur = data.get(op.inode) ?? Buffer.alloc(0);
        data.set(
          op.inode,
          op.length <= cur.length ? cur.subarray(0, op.length) : Buffer.concat([cur, Buffer.alloc(op.length - cur.length)]),
        );
        break;
      }
      case 'rename':
        names.delete(op.from);
        names.set(op.to, op.inode);
        if (!data.has(op.inode)) data.set(op.inode, Buffer.alloc(0));
        break;
      case 'renamedir':
        for (const [name, ino] of [...names]) {
          if (name.startsWith(`${op.from}/`)) {
            names.delete(name);
            names.set(op.to + name.slice(op.from.length), ino);
          }
        }
        break;
      case 'link':
        names.set(op.to, op.inode);
        break;
      case 'unlink':
        names.delete(op.path);
        break;
      default:
        break;
    }
  });
  return { names, data };
}

export interface CrashState {
  /** How many logged operations had happened when power was lost. */
  at: number;
  /** The unsynced operations that were lost. */
  dropped: number[];
  image: DiskImage;
}

/** Simple deterministic PRNG so a failing state can be reproduced from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Is `rel` the index lock, or a lock renamed aside (`<index>.lock.stale-...`)? */
function isLockPath(rel: string): boolean {
  return /^[^/]*\.lock(\.stale-[^/]*)?(\/|$)/.test(rel);
}

/** Indexes of the operations that change the index lock rather than the data. */
function lockOps(ops: readonly DiskOp[]): Set<number> {
  const inodes = new Set<number>();
  const out = new Set<number>();
  ops.forEach((op, i) => {
    if (op.kind === 'create' && isLockPath(op.path)) inodes.add(op.inode);
    const lock =
      op.kind === 'create' || op.kind === 'unlink'
        ? isLockPath(op.path)
        : op.kind === 'rename' || op.kind === 'renamedir' || op.kind === 'link'
          ? isLockPath(op.from) || isLockPath(op.to)
          : op.kind === 'fsyncdir'
            ? isLockPath(op.dir)
            : inodes.has(op.inode);
    if (lock) out.add(i);
  });
  return out;
}

/**
 * Every crash state at each fsync point of `ops` (power lost just before the fsync) and at
 * the end: each unsynced operation kept or dropped, all combinations when there are at most
 * `exhaustiveUpTo` of them, otherwise the all/none/each-single cases plus `samples` random
 * combinations. The index lock's operations (its directory, owner record and release) are
 * judged on their own by every writer, whatever the data holds, so their combinations are
 * cycled through alongside the data's rather than multiplied with them: every combination
 * of each occurs, and the number of states stays that of the data alone.
 */
export function* crashStates(
  base: DiskImage,
  ops: readonly DiskOp[],
  opts: { exhaustiveUpTo?: number; samples?: number; seed?: number } = {},
): Generator<CrashState> {
  const limit = opts.exhaustiveUpTo ?? 10;
  const rand = mulberry32(opts.seed ?? 1);
  const lock = lockOps(ops);
  const points: number[] = [];
  ops.forEach((op, i) => {
    if (op.kind === 'fsync' || op.kind === 'fsyncdir') points.push(i);
  });
  points.push(ops.length);
  const subsetsOf = (pending: number[]): number[][] => {
    const subsets: number[][] = [];
    if (pending.length <= limit) {
      for (let mask = 0; mask < 1 << pending.length; mask++) subsets.push(pending.filter((_, b) => (mask >> b) & 1));
    } else {
      subsets.push([], [...pending], ...pending.map((p) => [p]), ...pending.map((p) => pending.filter((q) => q !== p)));
      for (let s = 0; s < (opts.samples ?? 256); s++) subsets.push(pending.filter(() => rand() < 0.5));
    }
    return subsets;
  };
  for (const at of points) {
    const prefix = ops.slice(0, at);
    const pending = unsyncedOps(prefix);
    const data = subsetsOf(pending.filter((i) => !lock.has(i)));
    const locks = subsetsOf(pending.filter((i) => lock.has(i)));
    const n = Math.max(data.length, locks.length);
    for (let j = 0; j < n; j++) {
      const dropped = [...data[j % data.length]!, ...locks[j % locks.length]!].sort((a, b) => a - b);
      yield { at, dropped, image: applyOps(base, prefix, new Set(dropped)) };
    }
  }
}

/** Write a model image out as a real directory tree (what the machine finds on reboot). */
export function materialize(image: DiskImage, dir: string): void {
  for (const [rel, inode] of image.names) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), image.data.get(inode) ?? Buffer.alloc(0));
  }
}

/** A WriteFs whose n-th fsync (file or directory, counted from 1) fails with EIO, and which
 * records any later fsync of the same handle (a retry, which must never happen). */
export class FailingFsyncFs implements WriteFs {
  syncCalls = 0;
  failedAt: string | undefined;
  retries: string[] = [];

  constructor(private readonly failOn: number) {}

  async open(path: string, flags: number, mode?: number): Promise<WriteHandle> {
    const real = await nodeWriteFs.open(path, flags, mode);
    let failed = false;
    return {
      write: (d) => real.write(d),
      truncate: (n) => real.truncate(n),
      close: () => real.close(),
      sync: async () => {
        if (failed) this.retries.push(path);
        if (++this.syncCalls === this.failOn) {
          failed = true;
          this.failedAt = path;
          throw Object.assign(new Error(`EIO: i/o error, fsync '${path}'`), { code: 'EIO', errno: -5, syscall: 'fsync' });
        }
        await real.sync();
      },
    };
  }

  rename = (from: string, to: string) => nodeWriteFs.rename(from, to);
  link = (from: string, to: string) => nodeWriteFs.link(from, to);
  unlink = (p: string) => nodeWriteFs.unlink(p);
  mkdir = (p: string) => nodeWriteFs.mkdir(p);
  rmdir = (p: string) => nodeWriteFs.rmdir(p);
}
