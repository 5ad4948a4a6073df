// The one implementation of "write a file safely" in the codebase. Every writer (index,
// journal, cache, objects, snapshots, keys, init, route fix) goes through here.
//
// Confinement is part of every write, not an option: each call names the root it writes
// under (the repository), and before anything is created the path from that root to the
// target's directory is walked one segment at a time with lstat. A segment that is a
// symlink leading outside the root's real path (or into git's directory) refuses the write
// with nothing created; missing directories are made one segment at a time, so mkdir never
// follows a link. The check is repeated right before the rename that publishes the file.
//
// Protocol for a whole-file replace: exclusive-create a temp file in the target's directory,
// write, fsync the file, rename over the target, fsync the directory. A crash at any point
// leaves the old or the new file, never a torn one. An fsync error is fatal for the write
// (no retry: after a failed fsync the page cache state is unknown) and the old file is kept.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ArtifactsError, isArtifactsError } from '../errors.js';
import { climbsOut, isGitSegment } from '../paths.js';

/** An open file as the write protocol uses it. */
export interface WriteHandle {
  /** Write all of `data` at the current position (the end, for a file opened to append). */
  write(data: Uint8Array | string): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /** Set the permission bits (fchmod); optional for test layers that do not model modes. */
  chmod?(mode: number): Promise<void>;
}

/**
 * The file-system calls that change state, as the write protocol makes them. Production
 * uses node:fs; tests substitute a layer that records every call, fails a chosen fsync, or
 * replays a prefix of the calls with unsynced writes dropped (simulated power loss).
 */
export interface WriteFs {
  open(path: string, flags: number, mode?: number): Promise<WriteHandle>;
  rename(from: string, to: string): Promise<void>;
  /** Hard-link `from` at `to`; fails with EEXIST when `to` exists (exclusive publish). */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Create one directory (never recursive: the caller walks the path segment by segment). */
  mkdir(path: string): Promise<void>;
  /** Remove one empty directory. */
  rmdir(path: string): Promise<void>;
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
      chmod: (mode) => fh.chmod(mode),
    };
  },
  rename: (from, to) => fsp.rename(from, to),
  link: (from, to) => fsp.link(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: (path) => fsp.mkdir(path),
  rmdir: (path) => fsp.rmdir(path),
};

const writeFsStore = new AsyncLocalStorage<WriteFs>();

function wfs(): WriteFs {
  return writeFsStore.getStore() ?? nodeWriteFs;
}

/** The WriteFs in force: for writers outside this module (the index lock) whose changes the
 * simulated-disk tests must see too. */
export function activeWriteFs(): WriteFs {
  return wfs();
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
  | 'before-release'
  /** A blob was uploaded to a registry (push). */
  | 'blob-pushed';

/** Called after each protocol step; a test hook may kill the process or throw. */
export type FaultHook = (point: FaultPoint, file: string) => void;

/** Where a write may land: every call names it, so no writer can forget confinement. */
export interface ConfinedOptions {
  /** The directory the write must stay inside (the repository root). The target's path
   * must lie under it, no directory on the way may be a symlink leading outside its real
   * path or into `.git`, and the target's own path may not name a `.git` segment. */
  root: string;
}

export interface DurableOptions extends ConfinedOptions {
  /** Permission bits of the new file. Default: those of the file it replaces, else 0644. */
  mode?: number;
  faultHook?: FaultHook | undefined;
  /** Called right before the rename that publishes the file (lock checks go here). */
  beforeCommit?: (() => void | Promise<void>) | undefined;
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

function outside(message: string, details: Record<string, unknown>): ArtifactsError {
  return new ArtifactsError('SYMLINK_OUTSIDE_ROOT', message, {
    details,
    hint: 'Replace the symlink with a real directory inside the repository (`rm LINK && mkdir LINK`); the tool never writes through a link that leads outside.',
  });
}

function intoGit(what: string, details: Record<string, unknown>, link = false): ArtifactsError {
  const hint = link
    ? "The path goes through a symlink into git's own directory (.git); replace the symlink with a real directory inside the repository (`rm LINK && mkdir LINK`). The tool never writes into .git."
    : "The path lies in git's own directory (.git); the tool never writes there. Use a path outside .git.";
  return new ArtifactsError('PATH_UNSAFE', `refusing to write ${what}: it lies in git's own directory`, { details, hint });
}

/** The root's real path, and the target's path relative to the (lexical) root. */
async function locate(root: string, target: string): Promise<{ lexRoot: string; realRoot: string; segs: string[] }> {
  const lexRoot = resolve(root);
  const rel = relative(lexRoot, resolve(target));
  if (climbsOut(rel)) {
    throw new ArtifactsError('PATH_UNSAFE', `refusing to write ${target}: it is outside ${lexRoot}`, {
      details: { root: lexRoot, target },
    });
  }
  const segs = rel === '' ? [] : rel.split(sep);
  if (segs.some(isGitSegment)) throw intoGit(rel.split(sep).join('/'), { target });
  let realRoot: string;
  try {
    realRoot = await realpath(lexRoot);
  } catch (e) {
    throw ioError('realpath', lexRoot, e);
  }
  return { lexRoot, realRoot, segs };
}

/** Judge a real path reached from the root: inside the root's real path, never in `.git`. */
function judgeReal(realRoot: string, real: string, shown: string): void {
  const rel = relative(realRoot, real);
  if (climbsOut(rel)) {
    throw outside(`refusing to write under ${shown}: it is a symlink that leads outside the repository`, { path: shown });
  }
  if (rel !== '' && rel.split(sep).some(isGitSegment)) throw intoGit(`under ${shown} (a symlink into .git)`, { path: shown }, true);
}

/**
 * Walk from `root` down to `dir` one segment at a time with lstat; with `create`, make each
 * missing directory with a single non-recursive mkdir. A symlinked segment is followed
 * only when its real path stays inside the root's real path and outside `.git`.
 * Returns false when `dir` does not exist and `create` is off.
 */
async function walkConfined(root: string, dir: string, create: boolean, durable: boolean): Promise<boolean> {
  const { lexRoot, realRoot, segs } = await locate(root, dir);
  let cur = lexRoot;
  for (const seg of segs) {
    const parent = cur;
    cur = join(cur, seg);
    const shown = relative(lexRoot, cur).split(sep).join('/');
    let st = await lstat(cur).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw ioError('lstat', cur, e);
    });
    if (!st) {
      if (!create) return false;
      try {
        await wfs().mkdir(cur);
        // The new entry is only durable once its parent directory is.
        if (durable) await fsyncDir(parent);
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('mkdir', cur, e);
        // Made concurrently by another writer (or a link planted meanwhile): judge what is there.
        st = await lstat(cur).catch((e2: unknown) => {
          throw ioError('lstat', cur, e2);
        });
      }
    }
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = await realpath(cur);
      } catch {
        throw outside(`refusing to write under ${shown}: it is a symlink that does not resolve`, { path: shown });
      }
      judgeReal(realRoot, real, shown);
      if (!(await stat(real)).isDirectory()) throw ioError('mkdir', cur, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
    } else if (!st.isDirectory()) {
      throw ioError('mkdir', cur, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
    }
  }
  return true;
}

/**
 * Make `dir` (and any missing parent) under `root`, refusing symlinks that lead outside it.
 * For callers that put something other than a file there (route fix moves, git mv).
 */
export async function ensureDirConfined(dir: string, opts: ConfinedOptions & { durable?: boolean }): Promise<void> {
  await walkConfined(opts.root, dir, true, opts.durable !== false);
}

/**
 * The checks of {@link ensureDirConfined} without making anything: every existing segment
 * of `dir` is judged (a symlink leading outside the root or into `.git` refuses, with the
 * same error); the walk stops at the first missing segment, below which ensureDirConfined
 * would only make real directories. For rehearsals (`route fix --dry-run`).
 */
export async function checkDirConfined(dir: string, opts: ConfinedOptions): Promise<void> {
  await walkConfined(opts.root, dir, false, false);
}

/** Right before publishing: the directory must still resolve inside the root (a directory
 * swapped for a symlink between the walk and the rename is caught here). */
async function assertConfined(root: string, dir: string, file: string): Promise<void> {
  let realRoot: string;
  let realDir: string;
  try {
    [realRoot, realDir] = await Promise.all([realpath(root), realpath(dir)]);
  } catch {
    throw new ArtifactsError('PATH_UNSAFE', `refusing to write ${basename(file)}: its directory was moved or removed during the write`);
  }
  const rel = relative(realRoot, realDir);
  if (climbsOut(rel)) {
    throw new ArtifactsError(
      'PATH_UNSAFE',
      `refusing to write ${basename(file)}: its directory now resolves outside the repository (${realDir})`,
    );
  }
  if (rel !== '' && rel.split(sep).some(isGitSegment)) throw intoGit(basename(file), { file });
}

/** The mode a replacement keeps: the old file's permission bits, when there is one. */
async function existingMode(file: string): Promise<number | undefined> {
  const st = await lstat(file).catch(() => undefined);
  return st?.isFile() ? st.mode & 0o777 : undefined;
}

/** Write `data` to a new temp file next to `file`, fsynced; returns its path. */
async function writeTemp(
  file: string,
  data: Uint8Array | string | AsyncIterable<Uint8Array>,
  opts: DurableOptions,
  mode: number | undefined,
): Promise<string> {
  const fs = wfs();
  const tmp = join(dirname(file), tempName(basename(file)));
  let fh: WriteHandle | undefined;
  let done = false;
  try {
    // O_EXCL: never reuse or follow anything already at the temp name.
    fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode ?? 0o644);
    // The umask narrows the mode given to open(); a kept or requested mode is set exactly.
    if (mode !== undefined) await fh.chmod?.(mode);
    if (typeof data === 'string' || data instanceof Uint8Array) await fh.write(data);
    else for await (const chunk of data) await fh.write(chunk);
    opts.faultHook?.('temp-write', file);
    // fsync before rename: otherwise the rename can reach the disk before the data does.
    if (opts.durable !== false) await fsyncHandle(fh, tmp);
    opts.faultHook?.('temp-fsync', file);
    await fh.close();
    fh = undefined;
    done = true;
    return tmp;
  } finally {
    await fh?.close().catch(() => undefined);
    if (!done) await fs.unlink(tmp).catch(() => undefined);
  }
}

/** Atomically replace `file` with `data` (bytes, text, or a stream of chunks), durably. */
export async function writeFileDurable(
  file: string,
  data: Uint8Array | string | AsyncIterable<Uint8Array>,
  opts: DurableOptions,
): Promise<void> {
  const dir = dirname(file);
  const fs = wfs();
  await locate(opts.root, file);
  await walkConfined(opts.root, dir, true, opts.durable !== false);
  await refuseSymlink(file);
  const tmp = await writeTemp(file, data, opts, opts.mode ?? (await existingMode(file)));
  let renamed = false;
  try {
    await opts.beforeCommit?.();
    await assertConfined(opts.root, dir, file);
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
    if (!renamed) await fs.unlink(tmp).catch(() => undefined);
  }
}

/**
 * Write a file only if nothing exists at its path (content-addressed objects, init's files).
 * The complete, fsynced temp file is published with link(), which fails with EEXIST when
 * anything is at the name: of two concurrent writers exactly one wins, and there is no
 * window between a check and a rename. Returns false when someone else's file was there.
 */
export async function writeFileExclusiveDurable(
  file: string,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  opts: DurableOptions,
): Promise<boolean> {
  const dir = dirname(file);
  const fs = wfs();
  await locate(opts.root, file);
  await walkConfined(opts.root, dir, true, opts.durable !== false);
  if ((await lstat(file).catch(() => undefined)) !== undefined) return false;
  const tmp = await writeTemp(file, data, opts, opts.mode);
  let published = false;
  try {
    await opts.beforeCommit?.();
    await assertConfined(opts.root, dir, file);
    try {
      await fs.link(tmp, file);
      published = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('link', file, e);
    }
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  if (!published) return false;
  opts.afterRename?.();
  opts.faultHook?.('rename', file);
  if (opts.durable !== false) await fsyncDir(dir);
  opts.faultHook?.('dir-fsync', file);
  return true;
}

/** Append bytes to a file and fsync it (the journal). Never follows a symlink. */
export async function appendDurable(
  file: string,
  data: Uint8Array | string | AsyncIterable<Uint8Array>,
  opts: DurableOptions,
): Promise<void> {
  const fs = wfs();
  await locate(opts.root, file);
  await walkConfined(opts.root, dirname(file), true, true);
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
export async function truncateDurable(file: string, opts: DurableOptions): Promise<void> {
  if (!(await walkConfined(opts.root, dirname(file), false, true))) return;
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

/** Remove a file under the root (gc, unhold, a failed transaction's index). Removing a
 * symlink removes the link itself; nothing is removed through a link leading outside.
 * Returns false when there was nothing to remove. */
export async function removeFileDurable(file: string, opts: ConfinedOptions & { durable?: boolean }): Promise<boolean> {
  await locate(opts.root, file);
  if (!(await walkConfined(opts.root, dirname(file), false, false))) return false;
  try {
    await wfs().unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError('unlink', file, e);
  }
  if (opts.durable !== false) await fsyncDir(dirname(file));
  return true;
}

/**
 * Move a file to a path where nothing exists yet, both under the root (route fix). The
 * destination directory is made through the confined walk; link() + unlink() makes the
 * move refuse an existing target instead of replacing it.
 */
export async function moveFileDurable(from: string, to: string, opts: ConfinedOptions & { durable?: boolean }): Promise<void> {
  await locate(opts.root, from);
  await locate(opts.root, to);
  if (!(await walkConfined(opts.root, dirname(from), false, false)))
    throw ioError('rename', from, Object.assign(new Error('missing'), { code: 'ENOENT' }));
  await walkConfined(opts.root, dirname(to), true, true);
  await assertConfined(opts.root, dirname(to), to);
  try {
    await wfs().link(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new ArtifactsError('ROUTE_TARGET_EXISTS', `refusing to overwrite ${basename(to)}`, { details: { to } });
    throw ioError('link', to, e);
  }
  await wfs().unlink(from);
  // durable: false — a caller moving many files syncs each directory once at the end.
  if (opts.durable === false) return;
  await fsyncDir(dirname(to));
  if (dirname(to) !== dirname(from)) await fsyncDir(dirname(from));
}

/** The temp name writeFileDurable uses: `.<name>.<pid>.<12 hex>.tmp`. */
function tempName(name: string): string {
  return `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** A temp file is left over when its writer is gone; pids can be reused, so a temp older
 * than this is left over whoever holds its pid now. */
export const TEMP_MAX_AGE_MS = 60 * 60 * 1000;

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temp files that killed writers left behind in `dir` (and, with `recursive`, the
 * directories below it). Only regular files named like writeFileDurable's temps are
 * touched, symlinks are never followed, and a temp whose writer is still alive on this
 * host and that is younger than {@link TEMP_MAX_AGE_MS} is left alone (a concurrent
 * writer's temp is never taken away from it). A symlinked directory met on the way that
 * leads outside the root is refused, like a write through it would be.
 */
export async function sweepTemps(
  dir: string,
  opts: ConfinedOptions & { recursive?: boolean; now?: number; descend?: (dir: string) => boolean; dryRun?: boolean },
): Promise<string[]> {
  const removed: string[] = [];
  if (!(await walkConfined(opts.root, dir, false, false))) return removed;
  const { realRoot } = await locate(opts.root, dir);
  const now = opts.now ?? Date.now();
  const visit = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (opts.recursive && (opts.descend?.(p) ?? true)) await visit(p);
        continue;
      }
      if (e.isSymbolicLink()) {
        // A link to a directory below a swept tree is a place writes would go through: judge
        // it now. A non-recursive sweep (the repository's top, next to the index) writes
        // nothing below the directories it lists, so unrelated links there are not judged.
        if (!opts.recursive) continue;
        const real = await realpath(p).catch(() => undefined);
        if (real !== undefined && (await stat(real).catch(() => undefined))?.isDirectory()) {
          judgeReal(realRoot, real, relative(resolve(opts.root), p).split(sep).join('/'));
        }
        continue;
      }
      const m = TEMP_NAME.exec(e.name);
      if (!m || !e.isFile()) continue;
      const st = await lstat(p).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (pidAlive(Number(m[2])) && now - st.mtimeMs < TEMP_MAX_AGE_MS) continue;
      if (opts.dryRun) continue;
      if (await removeFileDurable(p, { root: opts.root, durable: false }).catch(() => false)) removed.push(p);
    }
  };
  await visit(dir);
  return removed;
}

/** Was a write refused because the repository tried to redirect it (not an I/O failure)? */
export function isConfinementError(e: unknown): boolean {
  return isArtifactsError(e) && (e.code === 'SYMLINK_OUTSIDE_ROOT' || e.code === 'PATH_UNSAFE' || e.code === 'SYMLINK_REFUSED');
}

/** The `.catch` of a cache write: a cache is an accelerator, so failing to save one never
 * fails the command, except when the repository tried to redirect the write, which the
 * user has to hear about. */
export function cacheWriteFailed(e: unknown): void {
  if (isConfinementError(e)) throw e;
}
