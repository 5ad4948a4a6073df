// A stat cache in .artifacts/cache/ so that an unchanged tree is not re-read: per file, the
// (size, mtime ns, ctime ns, inode) seen when it was inspected, and the result. It is only
// an accelerator: it never affects the index bytes, and a missing or damaged cache is
// simply rebuilt. Racy-git safety: a file whose mtime or ctime is within two seconds of the
// moment its inspection started may change again within the same timestamp tick, so such
// a result is not cached.
//
// Each record is one string, "<stamps>\n<result>", and results are parsed only when used:
// verifying an unchanged 10,000-file tree then costs a string comparison per file instead
// of rebuilding 10,000 objects.
import { lstatSync, readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import type { IndexEntry, Inspection } from '../metadata/inspect.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';

const CACHE_VERSION = 2;
/** Timestamps closer than this to the scan start are treated as racy. */
const RACY_SLACK_NS = 2_000_000_000n;

export interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

interface CacheFile {
  version: number;
  fingerprint: string;
  entries: Record<string, string>;
}

export function stampOf(abs: string): FileStamp | undefined {
  const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false }) as BigIntStats | undefined;
  if (!st) return undefined;
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}

/** One string for a list of stamps (undefined when a file is missing). */
export function stampKey(stamps: readonly (FileStamp | undefined)[]): string | undefined {
  let out = '';
  for (const s of stamps) {
    if (!s) return undefined;
    out += `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino};`;
  }
  return out;
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

export class StatCache {
  private readonly file: string;
  private entries: Record<string, string> = Object.create(null) as Record<string, string>;
  private dirty = false;

  constructor(
    repo: Repo,
    private readonly fingerprint: string,
  ) {
    this.file = join(repo.cacheDir, 'stat-cache.json');
  }

  load(): this {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as CacheFile;
      if (data.version === CACHE_VERSION && data.fingerprint === this.fingerprint && data.entries && typeof data.entries === 'object') {
        this.entries = Object.assign(Object.create(null) as Record<string, string>, data.entries);
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
    if (rec === undefined || !rec.startsWith(stamps) || rec.charCodeAt(stamps.length) !== 10) return undefined;
    return rec.slice(stamps.length + 1);
  }

  /** Remember a result, unless a stamp is racy (too close to `scanStartNs`). */
  set(key: string, stamps: readonly (FileStamp | undefined)[], encoded: string, scanStartNs: bigint): void {
    const k = stampKey(stamps);
    const racy = k === undefined || stamps.some((s) => BigInt(s!.mtimeNs) + RACY_SLACK_NS >= scanStartNs || BigInt(s!.ctimeNs) + RACY_SLACK_NS >= scanStartNs);
    if (racy) {
      if (this.entries[key] !== undefined) {
        delete this.entries[key];
        this.dirty = true;
      }
      return;
    }
    this.entries[key] = `${k}\n${encoded}`;
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
    const { fingerprint, entries } = this;
    // Streamed in pieces: for a large tree the cache is tens of megabytes.
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield Buffer.from(`{"version":${CACHE_VERSION},"fingerprint":${JSON.stringify(fingerprint)},"entries":{`);
      let first = true;
      let part: string[] = [];
      for (const k in entries) {
        part.push(`${first ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(entries[k])}`);
        first = false;
        if (part.length === 1000) {
          yield Buffer.from(part.join(''));
          part = [];
        }
      }
      yield Buffer.from(`${part.join('')}}}`);
    }
    try {
      await writeFileDurable(this.file, chunks(), { durable: false });
      this.dirty = false;
    } catch {
      // The cache is an accelerator: failing to save it must not fail the command.
    }
  }
}
