// A stat cache in .artifacts/cache/ so that an unchanged tree is not re-read: per file, the
// (size, mtime ns, ctime ns, inode) seen when it was inspected, and the result. It is only
// an accelerator: it never affects the index bytes, and a missing or damaged cache is
// simply rebuilt, and one written under another cache identity (stamp.ts) is ignored.
// Racy-git safety: a file whose mtime or ctime is within two seconds (the racy window) of the
// moment its inspection started may change again within the same timestamp tick, so such
// a result is not cached.
//
// Each record is one string, "<stamps>\n<result>", and results are parsed only when used:
// verifying an unchanged 10,000-file tree then costs a string comparison per file instead
// of rebuilding 10,000 objects.
import { readCacheJson } from '../config.js';
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import type { Inspection } from '../metadata/inspect.js';
import type { IndexEntry } from './entry.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';
import { cacheIdentity, racyWindowMs } from '../stamp.js';
import { lstatQuiet } from '../paths.js';

/** A result inspected in this run: encoded only when the cache is saved, so that a cold
 * scan does not hold every entry twice (as an object and as its canonical string). */
interface FreshRecord {
  stamps: string;
  result: Inspection;
}

interface CacheFile {
  /** The cache identity (stamp.ts) it was written under: package and format versions and
   * the fingerprint of the digest algorithm and schemas. */
  identity: string;
  entries: Record<string, string>;
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
  if (r.type === 'artifact') return `A${canonicalJson(r.entry)}`;
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

export class StatCache {
  private readonly file: string;
  private readonly root: string;
  private entries: Record<string, string | FreshRecord> = Object.create(null) as Record<string, string | FreshRecord>;
  private dirty = false;
  private readonly identity: string;

  /** `fingerprint`: what every cached inspection depends on besides the file's stamps. */
  constructor(repo: Repo, fingerprint: string) {
    this.file = join(repo.cacheDir, 'stat-cache.json');
    this.root = repo.root;
    this.identity = cacheIdentity('statCache', fingerprint);
  }

  load(): this {
    try {
      const data = readCacheJson(this.root, this.file) as CacheFile | undefined;
      if (data && data.identity === this.identity && data.entries && typeof data.entries === 'object') {
        this.entries = Object.assign(Object.create(null) as Record<string, string | FreshRecord>, data.entries);
      }
    } catch {
      // no cache or a damaged one: start empty
    }
    return this;
  }

  /** The encoded result cached for `key` when its stamps are unchanged. */
  get(key: string, stamps: string | undefined): string | undefined {
    if (stamps === undefined) return undefined;
    const rec = this.entries[key];
    if (rec !== undefined && typeof rec !== 'string') return rec.stamps === stamps ? encodeResult(rec.result) : undefined;
    if (rec === undefined || !rec.startsWith(stamps) || rec.charCodeAt(stamps.length) !== 10) return undefined;
    return rec.slice(stamps.length + 1);
  }

  /** Remember a result, unless a stamp is racy (too close to the scan's start). */
  set(key: string, stamp: StampKey, result: Inspection): void {
    if (stamp.key === undefined || stamp.racy) {
      if (this.entries[key] !== undefined) {
        delete this.entries[key];
        this.dirty = true;
      }
      return;
    }
    this.entries[key] = { stamps: stamp.key, result };
    this.dirty = true;
  }

  /** Drop entries for files that no longer exist in the scan. */
  retainOnly(keys: Set<string>): void {
    for (const k of Object.keys(this.entries)) {
      if (!keys.has(k)) {
        delete this.entries[k];
        this.dirty = true;
      }
    }
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const { identity, entries } = this;
    // Streamed in pieces: for a large tree the cache is tens of megabytes.
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield Buffer.from(`{"identity":${JSON.stringify(identity)},"entries":{`);
      let first = true;
      let part: string[] = [];
      for (const k in entries) {
        const rec = entries[k]!;
        const text = typeof rec === 'string' ? rec : `${rec.stamps}\n${encodeResult(rec.result)}`;
        part.push(`${first ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(text)}`);
        first = false;
        if (part.length === 1000) {
          yield Buffer.from(part.join(''));
          part = [];
        }
      }
      yield Buffer.from(`${part.join('')}}}`);
    }
    try {
      await writeFileDurable(this.file, chunks(), { root: this.root, durable: false });
      this.dirty = false;
    } catch {
      // The cache is an accelerator: failing to save it must not fail the command.
    }
  }
}
