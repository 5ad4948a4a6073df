// A stat cache in .artifacts/cache/ so that an unchanged tree is not re-read: per file, the
// (size, mtime ns, ctime ns, inode) seen when it was inspected, and the result. It is only
// an accelerator: it never affects the index bytes, and a missing or damaged cache is
// simply rebuilt. Racy-git safety: a file whose mtime is not older than the moment its
// inspection started may have changed within the same timestamp tick, so it is not trusted.
import { lstatSync, readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { Inspection } from '../metadata/inspect.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';

const CACHE_VERSION = 1;
/** Timestamps closer than this to the scan start are treated as racy. */
const RACY_SLACK_NS = 2_000_000_000n;

export interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

interface CacheRecord {
  stamps: FileStamp[];
  result: Inspection;
}

interface CacheFile {
  version: number;
  fingerprint: string;
  entries: Record<string, CacheRecord>;
}

export function stampOf(abs: string): FileStamp | undefined {
  const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false }) as BigIntStats | undefined;
  if (!st) return undefined;
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

export class StatCache {
  private readonly file: string;
  private entries: Record<string, CacheRecord> = Object.create(null) as Record<string, CacheRecord>;
  private dirty = false;

  constructor(
    private readonly repo: Repo,
    private readonly fingerprint: string,
  ) {
    this.file = join(repo.cacheDir, 'stat-cache.json');
  }

  load(): this {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as CacheFile;
      if (data.version === CACHE_VERSION && data.fingerprint === this.fingerprint && data.entries && typeof data.entries === 'object') {
        this.entries = Object.assign(Object.create(null) as Record<string, CacheRecord>, data.entries);
      }
    } catch {
      // no cache or a damaged one: start empty
    }
    return this;
  }

  /** Cached inspection when every involved file's stamp is unchanged. */
  get(key: string, stamps: (FileStamp | undefined)[]): Inspection | undefined {
    const rec = this.entries[key];
    if (!rec || rec.stamps.length !== stamps.length) return undefined;
    for (let i = 0; i < stamps.length; i++) if (!sameStamp(rec.stamps[i], stamps[i])) return undefined;
    return rec.result;
  }

  /** Remember a result, unless a stamp is racy (too close to `scanStartNs`). */
  set(key: string, stamps: (FileStamp | undefined)[], result: Inspection, scanStartNs: bigint): void {
    const defined = stamps.filter((s): s is FileStamp => s !== undefined);
    if (defined.length !== stamps.length) return;
    if (defined.some((s) => BigInt(s.mtimeNs) + RACY_SLACK_NS >= scanStartNs || BigInt(s.ctimeNs) + RACY_SLACK_NS >= scanStartNs)) {
      if (this.entries[key]) {
        delete this.entries[key];
        this.dirty = true;
      }
      return;
    }
    this.entries[key] = { stamps: defined, result };
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
    const data: CacheFile = { version: CACHE_VERSION, fingerprint: this.fingerprint, entries: this.entries };
    try {
      await writeFileDurable(this.file, JSON.stringify(data));
      this.dirty = false;
    } catch {
      // The cache is an accelerator: failing to save it must not fail the command.
    }
  }
}
