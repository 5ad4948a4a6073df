// A stat cache in .artifacts/cache/ so that an unchanged tree is not re-read: per file, the
// (size, mtime ns, ctime ns, inode) seen when it was inspected, and the result. It is only
// an accelerator: it never affects the index bytes, and a missing or damaged cache is
// simply rebuilt, and one written under another cache identity (stamp.ts) is ignored.
// Racy-git safety: a file whose mtime or ctime is within two seconds (the racy window) of the
// moment its inspection started may change again within the same timestamp tick, so such
// a result is not cached.
//
// Records are lines whose results are parsed only when used: verifying an unchanged
// 10,000-file tree costs a comparison of stamps per file instead of rebuilding 10,000
// objects.
import { join } from 'node:path';
import { canonicalEntry } from './document.js';
import type { Inspection } from '../metadata/inspect.js';
import type { IndexEntry } from './entry.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';
import { cacheIdentity, racyWindowMs } from '../stamp.js';
import { lstatQuiet } from '../paths.js';
import { READ_LIMITS, readCheckedSync } from '../store/checked-read.js';

/** A result inspected in this run: encoded only when the cache is saved, so that a cold
 * scan does not hold every entry twice (as an object and as its canonical string). */
interface FreshRecord {
  stamps: string;
  result: Inspection;
}

/** The cache key of a file's stamp, and whether the stamp is too recent to be trusted. */
export interface StampKey {
  /** `size:mtime:ctime:ino;` per file; undefined when a file is missing. */
  key: string | undefined;
  racy: boolean;
}

/** Stamp one or more files (an artifact and, for a sidecar, the file it describes) in one
 * pass: plain strings and a flag, so that a 100,000-file scan holds no stamp objects.
 * Number stats, not BigInt: a millisecond time held in a double resolves about a quarter
 * of a microsecond, finer than any file system's timestamp granularity that matters here,
 * and the BigInt variant allocates a dozen BigInts per call. */
export function stampFiles(absPaths: readonly string[], scanStartMs: number): StampKey {
  let key = '';
  let racy = false;
  const window = racyWindowMs();
  for (const abs of absPaths) {
    const st = lstatQuiet(abs);
    if (!st) return { key: undefined, racy: true };
    key += `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino};`;
    if (st.mtimeMs + window >= scanStartMs || st.ctimeMs + window >= scanStartMs) racy = true;
  }
  return { key, racy };
}

/** Serialise a result; an artifact's entry is written in canonical form ("A" + JSON). */
export function encodeResult(r: Inspection): string {
  if (r.type === 'artifact') return `A${canonicalEntry(r.entry)}`;
  return `R${JSON.stringify(r)}`;
}

export function decodeResult(s: string): Inspection {
  if (s.startsWith('A')) return { type: 'artifact', entry: JSON.parse(s.slice(1)) as IndexEntry, findings: [] };
  return JSON.parse(s.slice(1)) as Inspection;
}

/** {@link decodeResult} for a cache that may be damaged: undefined unless the record is an
 * inspection of the expected shape (a bad cache entry is a miss, never an error). */
export function tryDecodeResult(s: string): Inspection | undefined {
  let r: unknown;
  try {
    r = decodeResult(s);
  } catch {
    return undefined;
  }
  const x = r as { type?: unknown; entry?: unknown; findings?: unknown; metadataPath?: unknown } | null;
  if (x === null || typeof x !== 'object') return undefined;
  if (x.type === 'not-artifact') return r as Inspection;
  if (x.type === 'artifact')
    return x.entry !== null && typeof x.entry === 'object' && typeof (x.entry as { path?: unknown }).path === 'string'
      ? (r as Inspection)
      : undefined;
  if (x.type === 'invalid') return Array.isArray(x.findings) && typeof x.metadataPath === 'string' ? (r as Inspection) : undefined;
  return undefined;
}

/**
 * The cache file, `.artifacts/cache/stat-cache`: a first line `{"identity":...}`, then one
 * line per file, `<path as a JSON string> TAB <stamps> TAB <encoded result>`. None of the
 * three holds a raw tab or newline (JSON escapes them; stamps are digits and punctuation),
 * so the file is read as lines without parsing it whole: a record is located by offsets,
 * its stamps compared in place, and its result decoded only when used. At 100,000 files
 * the file is tens of megabytes; parsed whole it cost several times that in memory.
 */
export class StatCache {
  private readonly file: string;
  private readonly root: string;
  private readonly identity: string;
  /** The file's bytes, and per path the offsets of its record's two tabs and its end. */
  private buf: Buffer = Buffer.alloc(0);
  private readonly stored = new Map<string, number>();
  private tabs: Uint32Array = new Uint32Array(0);
  private lineStarts: Uint32Array = new Uint32Array(0);
  private lineEnds: Uint32Array = new Uint32Array(0);
  /** Records of this run (null: dropped), over the stored ones. */
  private readonly fresh = new Map<string, FreshRecord | null>();
  private dirty = false;

  /** `fingerprint`: what every cached inspection depends on besides the file's stamps. */
  constructor(repo: Repo, fingerprint: string) {
    this.file = join(repo.cacheDir, STAT_CACHE_FILE);
    this.root = repo.root;
    this.identity = cacheIdentity('statCache', fingerprint);
  }

  load(): this {
    let buf: Buffer | undefined;
    try {
      buf = readCheckedSync(this.file, { root: this.root, maxBytes: READ_LIMITS.cache, code: 'STORE_FILE_INVALID', allowMissing: true });
    } catch {
      buf = undefined; // unreadable: start empty
    }
    if (!buf) return this;
    const head = Buffer.from(`${JSON.stringify({ identity: this.identity })}\n`, 'utf8');
    if (buf.length < head.length || !buf.subarray(0, head.length).equals(head)) return this;
    const tabs: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let pos = head.length; pos < buf.length;) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break; // a torn last line: a miss
      const t1 = buf.indexOf(0x09, pos);
      const t2 = t1 >= 0 && t1 < nl ? buf.indexOf(0x09, t1 + 1) : -1;
      if (t2 > t1 && t2 < nl) {
        const key = pathOfRecord(buf, pos, t1);
        if (key !== undefined) {
          this.stored.set(key, tabs.length >> 1);
          tabs.push(t1, t2);
          starts.push(pos);
          ends.push(nl);
        }
      }
      pos = nl + 1;
    }
    this.buf = buf;
    this.tabs = Uint32Array.from(tabs);
    this.lineStarts = Uint32Array.from(starts);
    this.lineEnds = Uint32Array.from(ends);
    return this;
  }

  /** How many files the stored cache knows. */
  get size(): number {
    return this.stored.size;
  }

  /** The encoded result cached for `key` when its stamps are unchanged. */
  get(key: string, stamps: string | undefined): string | undefined {
    if (stamps === undefined) return undefined;
    const rec = this.fresh.get(key);
    if (rec !== undefined) return rec !== null && rec.stamps === stamps ? encodeResult(rec.result) : undefined;
    const i = this.stored.get(key);
    if (i === undefined) return undefined;
    const t1 = this.tabs[2 * i]!;
    const t2 = this.tabs[2 * i + 1]!;
    if (t2 - t1 - 1 !== stamps.length || this.buf.toString('latin1', t1 + 1, t2) !== stamps) return undefined;
    return this.buf.toString('utf8', t2 + 1, this.lineEnds[i]);
  }

  /** Remember a result, unless a stamp is racy (too close to the scan's start). */
  set(key: string, stamp: StampKey, result: Inspection): void {
    if (stamp.key === undefined || stamp.racy) {
      if (this.has(key)) {
        this.fresh.set(key, null);
        this.dirty = true;
      }
      return;
    }
    this.fresh.set(key, { stamps: stamp.key, result });
    this.dirty = true;
  }

  private has(key: string): boolean {
    const rec = this.fresh.get(key);
    return rec !== undefined ? rec !== null : this.stored.has(key);
  }

  /** Drop entries for files that no longer exist in the scan. */
  retainOnly(keys: Set<string>): void {
    for (const k of [...this.stored.keys(), ...this.fresh.keys()]) {
      if (!keys.has(k) && this.has(k)) {
        this.fresh.set(k, null);
        this.dirty = true;
      }
    }
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const { identity, stored, fresh, buf, lineStarts, lineEnds } = this;
    // Streamed in pieces; a stored record that this run kept is copied as bytes.
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield Buffer.from(`${JSON.stringify({ identity })}\n`, 'utf8');
      let part: string[] = [];
      const flush = function* (): Iterable<Uint8Array> {
        if (part.length > 0) yield Buffer.from(part.join(''), 'utf8');
        part = [];
      };
      // Kept stored lines are copied in runs of adjacent lines.
      let from = -1;
      let to = -1;
      for (const [k, i] of stored) {
        if (fresh.has(k)) continue;
        if (lineStarts[i] === to) {
          to = lineEnds[i]! + 1;
          continue;
        }
        if (from >= 0) yield buf.subarray(from, to);
        from = lineStarts[i]!;
        to = lineEnds[i]! + 1;
      }
      if (from >= 0) yield buf.subarray(from, to);
      for (const [k, rec] of fresh) {
        if (rec === null) continue;
        part.push(`${JSON.stringify(k)}\t${rec.stamps}\t${encodeResult(rec.result)}\n`);
        if (part.length === 1000) yield* flush();
      }
      yield* flush();
    }
    try {
      await writeFileDurable(this.file, chunks(), { root: this.root, durable: false });
      this.dirty = false;
    } catch {
      // The cache is an accelerator: failing to save it must not fail the command.
    }
  }
}

/** The stat cache's file name in `.artifacts/cache/`. */
export const STAT_CACHE_FILE = 'stat-cache';

/** The path a record names: its first field, a JSON string; undefined if it is not one. */
function pathOfRecord(buf: Buffer, start: number, end: number): string | undefined {
  if (buf[start] !== 0x22 || buf[end - 1] !== 0x22 || end - start < 2) return undefined;
  let escaped = false;
  for (let i = start + 1; i < end - 1; i++) {
    const c = buf[i]!;
    if (c === 0x5c || c === 0x22 || c < 0x20) escaped = true; // JSON.parse decides
  }
  if (!escaped) return buf.toString('utf8', start + 1, end - 1);
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', start, end));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
