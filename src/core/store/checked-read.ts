// The one way the tool reads a file whose path or content comes from the repository.
//
// Every byte of the repository is attacker input (it arrives in pull requests), so a read
// must never follow a symlink out of the repository, block on a FIFO or device, or pull
// gigabytes into memory. The file is opened with O_NOFOLLOW | O_NONBLOCK (a FIFO opens
// without waiting for a writer), checked with fstat on the open descriptor (no
// check-then-open race) to be a regular file under the size cap, and read with a deadline.
// Problems are thrown as ArtifactsError with the caller's code, so each kind of file keeps
// its own documented code and exit status; the file's content never appears in a message.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { open, readdir, realpath } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { ArtifactsError, CATALOGUE, type ErrorCode, isArtifactsError } from '../errors.js';
import { climbsOut, insideWorkTree } from '../paths.js';

/** Size caps per kind of file (bytes). */
export const READ_LIMITS = {
  /** Front matter, sidecars (SPEC §3: 64 KiB of metadata, read with some slack). */
  metadata: 64 * 1024,
  /** Routing files, the config, framework contracts, per-kind schemas. */
  config: 1024 * 1024,
  /** Snapshots, trust and channel records, holds, signatures. */
  record: 16 * 1024 * 1024,
  /** The index and the journal. */
  index: 1024 * 1024 * 1024,
  /** Caches (rebuildable; a bigger one is ignored). */
  cache: 512 * 1024 * 1024,
  /** Public key files. */
  key: 64 * 1024,
} as const;

/** Default deadline of one read (ms): a regular file on a healthy disk is read far sooner. */
export const READ_DEADLINE_MS = 30_000;

/** Why a checked read refused a file. */
export type ReadProblem = 'missing' | 'symlink' | 'outside' | 'not-regular' | 'too-large' | 'timeout' | 'io';

export interface CheckedReadOptions {
  /** The repository root: the file must resolve inside its real path. */
  root: string;
  /** Size cap in bytes. */
  maxBytes: number;
  /** The code thrown for every problem (each kind of file has its own). */
  code: ErrorCode;
  /** Repository-relative name for messages (default: the path relative to root). */
  label?: string;
  /** Return undefined instead of throwing when nothing is at the path. */
  allowMissing?: boolean;
  /** Deadline in ms (async reads only). */
  deadlineMs?: number;
  /** The caller has just established that the file's directory resolves inside the root
   * (a tree scan judges each directory once, not once per file): skip that check. */
  parentChecked?: boolean;
}

const PROBLEM_TEXT: Record<ReadProblem, string> = {
  missing: 'does not exist',
  symlink: 'is a symlink (the tool never follows links for this file)',
  outside: 'resolves outside the repository (or into .git/)',
  'not-regular': 'is not a regular file',
  'too-large': 'is larger than the limit',
  timeout: 'could not be read in time',
  io: 'could not be read',
};

/** What is at a path that is not a regular file, for callers (`details.type` of a
 * `not-regular` refusal). */
export type FileType = 'directory' | 'fifo' | 'device' | 'socket' | 'other';

function fileTypeOf(st: Stats): FileType {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isSocket()) return 'socket';
  return 'other';
}

/** What a file that is not a regular file is, for messages. */
export function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The error thrown for a refused read; `details.problem` says which check failed, and for
 * a file that is not a regular file, `details.type` what it is. */
export function readProblem(opts: CheckedReadOptions, path: string, problem: ReadProblem, extra = '', type?: FileType): ArtifactsError {
  const label = opts.label ?? relativeLabel(opts.root, path);
  const details = { path: label, problem, ...(type ? { type } : {}) };
  // A path that leads out of the repository is named for what it is, whatever the file;
  // how grave it is (the exit status) stays that of the kind of file being read.
  if (problem === 'outside') {
    return new ArtifactsError('SYMLINK_OUTSIDE_ROOT', `${label} ${PROBLEM_TEXT[problem]}${extra}`, {
      details,
      exit: CATALOGUE[opts.code].exit,
    });
  }
  return new ArtifactsError(opts.code, `${label} ${PROBLEM_TEXT[problem]}${extra}`, { details });
}

function relativeLabel(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === '' || climbsOut(rel) ? path : rel.split('\\').join('/');
}

const isInsideReal = insideWorkTree;

/** The one mapping of an open's errno to a refusal: nothing there, a symlink where none
 * may be, not a regular file, too large, or any other failure of the file system (named by
 * its errno). */
function mapOpenError(opts: CheckedReadOptions, path: string, e: unknown): ArtifactsError | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return opts.allowMissing ? undefined : readProblem(opts, path, 'missing');
  if (code === 'ELOOP') return readProblem(opts, path, 'symlink');
  if (code === 'EISDIR') return readProblem(opts, path, 'not-regular', ' (a directory)', 'directory');
  if (code === 'ENXIO' || code === 'ENODEV') return readProblem(opts, path, 'not-regular', ' (a device or socket)', 'device');
  if (code === 'EFBIG' || code === 'EOVERFLOW') return readProblem(opts, path, 'too-large', ` (${code})`);
  return readProblem(opts, path, 'io', ` (${code ?? 'error'})`);
}

function checkStat(opts: CheckedReadOptions, path: string, st: Stats): void {
  if (!st.isFile()) throw readProblem(opts, path, 'not-regular', ` (${kindOf(st)})`, fileTypeOf(st));
  if (st.size > opts.maxBytes) throw readProblem(opts, path, 'too-large', ` (${st.size} > ${opts.maxBytes} bytes)`);
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Read a repository file under the checks above. The directories on the way may be
 * symlinks only if they stay inside the repository's real path. Returns undefined for a
 * missing file when `allowMissing`.
 */
export async function readChecked(path: string, opts: CheckedReadOptions): Promise<Buffer | undefined> {
  const h = await openChecked(path, opts);
  if (!h) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(readProblem(opts, path, 'timeout')), opts.deadlineMs ?? READ_DEADLINE_MS);
      timer.unref();
    });
    return await Promise.race([readOpened(opts, path, h), deadline]);
  } catch (e) {
    if (isArtifactsError(e)) throw e;
    throw readProblem(opts, path, 'io', ` (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    if (timer) clearTimeout(timer);
    await h.fh.close().catch(() => undefined);
  }
}

/** Read an open, checked file whole: at most cap + 1 bytes, so a file that grows after
 * the fstat is still bounded. */
async function readOpened(opts: CheckedReadOptions, path: string, h: CheckedHandle): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(Math.min(h.size, opts.maxBytes) + 1);
  let n = 0;
  for (;;) {
    const { bytesRead } = await h.fh.read(buf, n, buf.length - n, n);
    if (bytesRead === 0) break;
    n += bytesRead;
    if (n === buf.length) break;
  }
  return checkLength(opts, path, buf, n);
}

function checkLength(opts: CheckedReadOptions, path: string, buf: Buffer, n: number): Buffer {
  if (n > opts.maxBytes) throw readProblem(opts, path, 'too-large', ` (more than ${opts.maxBytes} bytes)`);
  return buf.subarray(0, n);
}

/**
 * Read a file the user named on the command line (a key file). It may lie outside the
 * repository and be reached through links the user made, so neither is refused; the other
 * checks of {@link readChecked} hold: a FIFO or device is refused, never waited on, and the
 * size is capped. `label` names the file in messages.
 */
export async function readUserFile(path: string, opts: { maxBytes: number; code: ErrorCode; label: string }): Promise<Buffer> {
  const full: CheckedReadOptions = { root: dirname(path), ...opts };
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw mapOpenError(full, path, e)!;
  }
  try {
    const st = await fh.stat();
    checkStat(full, path, st);
    return await readOpened(full, path, { fh, size: st.size });
  } catch (e) {
    if (isArtifactsError(e)) throw e;
    throw readProblem(full, path, 'io', ` (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** {@link readChecked} for callers that must stay synchronous (worker-thread scans, the
 * lock-free index reader). No deadline: O_NONBLOCK and the regular-file check already
 * rule out FIFOs and devices, the only files that can block a read. */
export function readCheckedSync(path: string, opts: CheckedReadOptions): Buffer | undefined {
  const h = openCheckedSync(path, opts);
  if (!h) return undefined;
  try {
    const buf = Buffer.allocUnsafe(Math.min(h.size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(h.fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
      if (n === buf.length) break;
    }
    return checkLength(opts, path, buf, n);
  } catch (e) {
    if (isArtifactsError(e)) throw e;
    throw readProblem(opts, path, 'io', ` (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(h.fd);
  }
}

/** Parse JSON without echoing the text: V8's messages quote the input, and a file that is
 * a symlink to a secret must never reach CI logs through an error message. */
export function parseJsonQuiet(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    return { ok: false, error: m ? `invalid JSON at byte offset ${m[1]}` : 'invalid JSON' };
  }
}

/** An open, checked regular file for callers that stream it (objects, artifact bodies):
 * the same open flags and fstat checks as {@link readChecked}, without reading it whole. */
export interface CheckedHandle {
  fh: import('node:fs/promises').FileHandle;
  size: number;
}

/** Open a repository file under the checks of {@link readChecked} (`maxBytes` may be
 * Infinity); the caller closes `fh`. Undefined for a missing file when `allowMissing`. */
export async function openChecked(path: string, opts: CheckedReadOptions): Promise<CheckedHandle | undefined> {
  if (!opts.parentChecked) {
    let realRoot: string;
    let realDir: string;
    try {
      realRoot = await realpath(opts.root);
      realDir = await realpath(dirname(path));
    } catch (e) {
      const err = mapOpenError(opts, path, e);
      if (err) throw err;
      return undefined;
    }
    if (!isInsideReal(realRoot, realDir)) throw readProblem(opts, path, 'outside');
  }
  let fh;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (e) {
    const err = mapOpenError(opts, path, e);
    if (err) throw err;
    return undefined;
  }
  try {
    const st = await fh.stat();
    checkStat(opts, path, st);
    return { fh, size: st.size };
  } catch (e) {
    await fh.close().catch(() => undefined);
    if (isArtifactsError(e)) throw e;
    throw readProblem(opts, path, 'io', ` (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The sync counterpart of {@link openChecked}: an open descriptor of a checked regular
 * file (the caller closes it). */
export function openCheckedSync(path: string, opts: CheckedReadOptions): { fd: number; size: number } | undefined {
  if (!opts.parentChecked) {
    let realRoot: string;
    let realDir: string;
    try {
      realRoot = realpathSync(opts.root);
      realDir = realpathSync(dirname(path));
    } catch (e) {
      const err = mapOpenError(opts, path, e);
      if (err) throw err;
      return undefined;
    }
    if (!isInsideReal(realRoot, realDir)) throw readProblem(opts, path, 'outside');
  }
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    const err = mapOpenError(opts, path, e);
    if (err) throw err;
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    checkStat(opts, path, st);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    if (isArtifactsError(e)) throw e;
    throw readProblem(opts, path, 'io', ` (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The problem a checked read refused a file for, or undefined for any other error. */
export function readProblemOf(e: unknown): ReadProblem | undefined {
  if (!isArtifactsError(e)) return undefined;
  const p = e.details.problem;
  return typeof p === 'string' ? (p as ReadProblem) : undefined;
}

/** The names in a repository directory (sorted), never following it out of the
 * repository: a directory whose real path lies outside the root is refused with `code`
 * (problem `outside`). Nothing at the path, or something other than a directory, lists as
 * empty. */
export async function readdirChecked(dir: string, opts: Pick<CheckedReadOptions, 'root' | 'code' | 'label'>): Promise<string[]> {
  let realRoot: string;
  let realDir: string;
  try {
    realRoot = await realpath(opts.root);
    realDir = await realpath(dir);
  } catch {
    return [];
  }
  const full = { ...opts, maxBytes: 0 };
  if (!isInsideReal(realRoot, realDir)) throw readProblem(full, dir, 'outside');
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
