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
import { compareBytes, lstatQuiet } from '../paths.js';
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
 * line per file in path order (paths.compareBytes), `<path as a JSON string> TAB <stamps>
 * TAB <encoded result>`. None of the three holds a raw tab or newline (JSON escapes them;
 * stamps are digits and punctuation), so the file is read as lines without parsing it
 * whole: a record is found by a search that starts where the previous one ended (scans ask
 * in path order), its stamps are compared in place, and its result is decoded only when
 * used. At 100,000 files the file is tens of megabytes; parsed whole, or held as a map of
 * its paths, it cost several times that in memory. A file whose lines are out of order is
 * not one this tool wrote: it is ignored.
 */
export class StatCache {
  private readonly file: string;
  private readonly root: string;
  private readonly identity: string;
  /** The file's bytes, and per record the offsets of its start, its two tabs and its end. */
  private buf: Buffer = Buffer.alloc(0);
  private count = 0;
  private starts: Uint32Array = new Uint32Array(0);
  private tabs: Uint32Array = new Uint32Array(0);
  private ends: Uint32Array = new Uint32Array(0);
  /** Where the last search ended: the next one, usually for the next path, starts there. */
  private hint = 0;
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
    const starts: number[] = [];
    const tabs: number[] = [];
    const ends: number[] = [];
    let prev: string | undefined;
    for (let pos = head.length; pos < buf.length;) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break; // a torn last line: a miss
      const t1 = buf.indexOf(0x09, pos);
      const t2 = t1 >= 0 && t1 < nl ? buf.indexOf(0x09, t1 + 1) : -1;
      const key = t2 > t1 && t2 < nl ? pathOfRecord(buf, pos, t1) : undefined;
      if (key !== undefined) {
        if (prev !== undefined && compareBytes(prev, key) >= 0) return this; // out of order: not ours
        prev = key;
        starts.push(pos);
        tabs.push(t1, t2);
        ends.push(nl);
      }
      pos = nl + 1;
    }
    this.buf = buf;
    this.count = starts.length;
    this.starts = Uint32Array.from(starts);
    this.tabs = Uint32Array.from(tabs);
    this.ends = Uint32Array.from(ends);
    return this;
  }

  /** How many files the stored cache knows. */
  get size(): number {
    return this.count;
  }

  private keyAt(i: number): string {
    return pathOfRecord(this.buf, this.starts[i]!, this.tabs[2 * i]!)!;
  }

  /** The stored record of `key`, or -1: a galloping search from where the last one ended,
   * then a binary search (a scan in path order costs a probe or two a file). */
  private find(key: string): number {
    const n = this.count;
    const h = Math.min(this.hint, n);
    let lo = 0;
    let hi = h;
    const at = h < n ? this.keyAt(h) : undefined;
    if (at === key) {
      this.hint = h + 1;
      return h;
    }
    if (at !== undefined && compareBytes(at, key) < 0) {
      // Ahead of the hint: gallop (1, 2, 4... records on) to a record at or after the key.
      lo = h + 1;
      hi = n;
      for (let step = 1; lo < n; step *= 2) {
        const probe = Math.min(n - 1, h + step);
        if (compareBytes(this.keyAt(probe), key) >= 0) {
          hi = probe + 1;
          break;
        }
        lo = probe + 1;
      }
    } else if (h > 0 && compareBytes(this.keyAt(h - 1), key) < 0) {
      // Between the previous record and the hint: not stored.
      this.hint = h;
      return -1;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keyAt(mid), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && this.keyAt(lo) === key) {
      this.hint = lo + 1;
      return lo;
    }
    this.hint = lo;
    return -1;
  }

  /** The stored record of `key` under exactly these stamps, or -1. */
  private storedWith(key: string, stamps: string): number {
    if (this.fresh.has(key)) return -1;
    const i = this.find(key);
    if (i < 0) return -1;
    const t1 = this.tabs[2 * i]!;
    const t2 = this.tabs[2 * i + 1]!;
    return t2 - t1 - 1 === stamps.length && this.buf.toString('latin1', t1 + 1, t2) === stamps ? i : -1;
  }

  /** The encoded result cached for `key` when its stamps are unchanged. */
  get(key: string, stamps: string | undefined): string | undefined {
    if (stamps === undefined) return undefined;
    const rec = this.fresh.get(key);
    if (rec !== undefined) return rec !== null && rec.stamps === stamps ? encodeResult(rec.result) : undefined;
    const i = this.storedWith(key, stamps);
    return i < 0 ? undefined : this.buf.toString('utf8', this.tabs[2 * i + 1]! + 1, this.ends[i]);
  }

  /** Is the stored record for `key`, under these stamps, the artifact whose canonical text
   * is `text[start, end)`? (Compared as bytes: no string is made.) */
  holdsArtifact(key: string, stamps: string, text: Buffer, start: number, end: number): boolean {
    const i = this.storedWith(key, stamps);
    if (i < 0) return false;
    const t2 = this.tabs[2 * i + 1]!;
    return this.buf[t2 + 1] === 0x41 /* A */ && this.buf.compare(text, start, end, t2 + 2, this.ends[i]) === 0;
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
    return rec !== undefined ? rec !== null : this.find(key) >= 0;
  }

  /** Drop entries for files that are not among `files` (a whole-tree scan's list). Both
   * are in path order (the scan's list is sorted), so one walk over the two compares them
   * without a set of 100,000 paths; an unsorted list is looked up in a set instead. */
  retainOnly(files: readonly string[]): void {
    const drop = (k: string) => {
      this.fresh.set(k, null);
      this.dirty = true;
    };
    let sorted = true;
    for (let j = 1; j < files.length && sorted; j++) sorted = compareBytes(files[j - 1]!, files[j]!) < 0;
    const keys = sorted ? undefined : new Set(files);
    let j = 0;
    for (let i = 0; i < this.count; i++) {
      const k = this.keyAt(i);
      let kept: boolean;
      if (keys) kept = keys.has(k);
      else {
        while (j < files.length && compareBytes(files[j]!, k) < 0) j++;
        kept = j < files.length && files[j] === k;
      }
      if (!kept && !this.fresh.has(k)) drop(k);
    }
    if (this.fresh.size > 0) {
      const all = keys ?? new Set(files);
      for (const [k, rec] of this.fresh) if (rec !== null && !all.has(k)) drop(k);
    }
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const { identity, fresh, buf, starts, ends, count } = this;
    const keyAt = (i: number) => this.keyAt(i);
    const added = [...fresh.keys()].sort(compareBytes);
    // Stored records and this run's merged in path order; a kept stored record is copied as
    // bytes, in runs of adjacent lines.
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield Buffer.from(`${JSON.stringify({ identity })}\n`, 'utf8');
      let part: string[] = [];
      let from = -1;
      let to = -1;
      const flushRun = function* (): Iterable<Uint8Array> {
        if (from >= 0) yield buf.subarray(from, to);
        from = -1;
      };
      const flushPart = function* (): Iterable<Uint8Array> {
        if (part.length > 0) yield Buffer.from(part.join(''), 'utf8');
        part = [];
      };
      let a = 0;
      for (let i = 0; i <= count; i++) {
        const k = i < count ? keyAt(i) : undefined;
        // This run's records that sort before the stored one.
        while (a < added.length && (k === undefined || compareBytes(added[a]!, k) <= 0)) {
          const key = added[a++]!;
          const rec = fresh.get(key)!;
          if (rec === null) continue;
          yield* flushRun();
          part.push(`${JSON.stringify(key)}\t${rec.stamps}\t${encodeResult(rec.result)}\n`);
          if (part.length === 1000) yield* flushPart();
        }
        if (k === undefined || fresh.has(k)) continue;
        yield* flushPart();
        if (from >= 0 && starts[i] === to) to = ends[i]! + 1;
        else {
          yield* flushRun();
          from = starts[i]!;
          to = ends[i]! + 1;
        }
      }
      yield* flushRun();
      yield* flushPart();
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
