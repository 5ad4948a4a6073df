// The one implementation of "write a file safely" in the codebase. Every writer (index,
// journal, cache, objects, snapshots) goes through here.
//
// Protocol for a whole-file replace: exclusive-create a temp file in the target's directory,
// write, fsync the file, rename over the target, fsync the directory. A crash at any point
// leaves the old or the new file, never a torn one. An fsync error is fatal for the write
// (no retry: after a failed fsync the page cache state is unknown) and the old file is kept.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { ArtifactsError } from '../errors.js';

/** An open file as the write protocol uses it. */
export interface WriteHandle {
  /** Write all of `data` at the current position (the end, for a file opened to append). */
  write(data: Uint8Array | string): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file-system calls that change state, as the write protocol makes them. Production
 * uses node:fs; tests substitute a layer that records every call, fails a chosen fsync, or
 * replays a prefix of the calls with unsynced writes dropped (simulated power loss).
 */
export interface WriteFs {
  open(path: string, flags: number, mode?: number): Promise<WriteHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
}

/** The real file system. */
export const nodeWriteFs: WriteFs = {
  async open(path, flags, mode) {
    const fh = await fsp.open(path, flags, mode);
    return {
      // FileHandle.writeFile writes everything from the current position (retrying short writes).
      write: (data) => fh.writeFile(data),
      sync: () => fh.sync(),
      truncate: (length) => fh.truncate(length),
      close: () => fh.close(),
    };
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true });
  },
};

const writeFsStore = new AsyncLocalStorage<WriteFs>();

function wfs(): WriteFs {
  return writeFsStore.getStore() ?? nodeWriteFs;
}

/** Run `fn` with every durable write inside it (across awaits) going through `fs`. */
export function withWriteFs<T>(fs: WriteFs, fn: () => Promise<T>): Promise<T> {
  return writeFsStore.run(fs, fn);
}

/** Named points of the write protocol, where tests inject crashes or faults. */
export type FaultPoint =
  | 'journal-append'
  | 'journal-fsync'
  | 'temp-write'
  | 'temp-fsync'
  | 'rename'
  | 'dir-fsync'
  | 'journal-commit'
  | 'before-release';

/** Called after each protocol step; a test hook may kill the process or throw. */
export type FaultHook = (point: FaultPoint, file: string) => void;

export interface DurableOptions {
  mode?: number;
  faultHook?: FaultHook | undefined;
  /** Called right before the rename that publishes the file (lock checks go here). */
  beforeCommit?: (() => void | Promise<void>) | undefined;
  /** Refuse to publish unless the target's directory still resolves inside this root: a
   * directory swapped for a symlink between the caller's checks and the rename is caught. */
  confineTo?: string | undefined;
  /** Called once the rename has published the file (a later failure cannot un-publish it). */
  afterRename?: (() => void) | undefined;
  /** false for rebuildable caches: still atomic (temp + rename, old or new content after a
   * crash), but without the fsyncs that only matter for data that must survive power loss. */
  durable?: boolean;
}

function ioError(op: string, file: string, cause: unknown): ArtifactsError {
  const code = (cause as NodeJS.ErrnoException)?.code ?? 'EIO';
  return new ArtifactsError('IO_ERROR', `${op} failed for ${file}: ${code}`, { cause, details: { op, errno: code } });
}

/** Refuse to operate on a path that is a symlink (writes never follow links). */
export async function refuseSymlink(file: string): Promise<void> {
  try {
    const st = await lstat(file);
    if (st.isSymbolicLink()) {
      throw new ArtifactsError('SYMLINK_REFUSED', `refusing to use ${basename(file)}: it is a symlink`, { details: { file } });
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
}

async function fsyncHandle(fh: WriteHandle, file: string): Promise<void> {
  try {
    await fh.sync();
  } catch (e) {
    throw ioError('fsync', file, e);
  }
}

/** fsync a directory so a rename or create inside it survives power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: WriteHandle | undefined;
  try {
    fh = await wfs().open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Some file systems do not support fsync on directories; nothing more can be done there.
    if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EISDIR') return;
    throw ioError('fsync(dir)', dir, e);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

async function assertConfined(root: string, dir: string, file: string): Promise<void> {
  let realRoot: string;
  let realDir: string;
  try {
    [realRoot, realDir] = await Promise.all([realpath(root), realpath(dir)]);
  } catch {
    throw new ArtifactsError('PATH_UNSAFE', `refusing to write ${basename(file)}: its directory was moved or removed during the write`);
  }
  const rel = relative(realRoot, realDir);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new ArtifactsError('PATH_UNSAFE', `refusing to write ${basename(file)}: its directory now resolves outside the repository (${realDir})`);
  }
}

/** Atomically replace `file` with `data` (bytes, text, or a stream of chunks), durably. */
export async function writeFileDurable(file: string, data: Uint8Array | string | AsyncIterable<Uint8Array>, opts: DurableOptions = {}): Promise<void> {
  const dir = dirname(file);
  const fs = wfs();
  await refuseSymlink(file);
  await fs.mkdir(dir);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fh: WriteHandle | undefined;
  let renamed = false;
  try {
    // O_EXCL: never reuse or follow anything already at the temp name.
    fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, opts.mode ?? 0o644);
    if (typeof data === 'string' || data instanceof Uint8Array) await fh.write(data);
    else for await (const chunk of data) await fh.write(chunk);
    opts.faultHook?.('temp-write', file);
    // fsync before rename: otherwise the rename can reach the disk before the data does.
    if (opts.durable !== false) await fsyncHandle(fh, tmp);
    opts.faultHook?.('temp-fsync', file);
    await fh.close();
    fh = undefined;
    await opts.beforeCommit?.();
    if (opts.confineTo !== undefined) await assertConfined(opts.confineTo, dir, file);
    await refuseSymlink(file);
    try {
      await fs.rename(tmp, file);
    } catch (e) {
      throw ioError('rename', file, e);
    }
    renamed = true;
    opts.afterRename?.();
    opts.faultHook?.('rename', file);
    // fsync the directory: the rename itself is only durable once the directory is.
    if (opts.durable !== false) await fsyncDir(dir);
    opts.faultHook?.('dir-fsync', file);
  } finally {
    await fh?.close().catch(() => undefined);
    if (!renamed) await fs.unlink(tmp).catch(() => undefined);
  }
}

/** Write a file only if nothing exists at its path (content-addressed objects). */
export async function writeFileExclusiveDurable(file: string, data: Uint8Array | AsyncIterable<Uint8Array>, opts: DurableOptions = {}): Promise<boolean> {
  try {
    await lstat(file);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await writeFileDurable(file, data, opts);
  return true;
}

/** Append bytes to a file and fsync it (the journal). Never follows a symlink. */
export async function appendDurable(file: string, data: Uint8Array | string | AsyncIterable<Uint8Array>, opts: DurableOptions = {}): Promise<void> {
  const fs = wfs();
  await fs.mkdir(dirname(file));
  let fh: WriteHandle;
  let created = false;
  try {
    await lstat(file);
  } catch {
    created = true;
  }
  try {
    fh = await fs.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new ArtifactsError('SYMLINK_REFUSED', `refusing to use ${basename(file)}: it is a symlink`, { details: { file } });
    }
    throw ioError('open', file, e);
  }
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await fh.write(data);
    else for await (const chunk of data) await fh.write(chunk);
    opts.faultHook?.('journal-append', file);
    await fsyncHandle(fh, file);
    opts.faultHook?.('journal-fsync', file);
  } finally {
    await fh.close().catch(() => undefined);
  }
  if (created) await fsyncDir(dirname(file));
}

/** Truncate a file to zero bytes durably (the journal after commit). */
export async function truncateDurable(file: string, opts: DurableOptions = {}): Promise<void> {
  let fh: WriteHandle;
  try {
    fh = await wfs().open(file, constants.O_WRONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ELOOP') throw new ArtifactsError('SYMLINK_REFUSED', `refusing to use ${basename(file)}: it is a symlink`);
    throw ioError('open', file, e);
  }
  try {
    await fh.truncate(0);
    await fsyncHandle(fh, file);
    opts.faultHook?.('journal-commit', file);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
