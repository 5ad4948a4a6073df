// Scanning the tree: inspect candidate files (through the stat cache), then the checks that
// need the whole collection (duplicate id@version, immutability of approved versions).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { join, sep } from 'node:path';
import { finding, type Finding } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import { inspectFile, sidecarTarget, type InspectContext, type Inspection } from '../metadata/inspect.js';
import type { IndexEntry } from './entry.js';
import { BASE_SCHEMA_FILE } from '../metadata/schema.js';
import { compareBytes, lstatQuiet } from '../paths.js';
import type { Repo } from '../repo.js';
import { listCandidates } from './enumerate.js';
import { canonicalEntry, foldPath } from './document.js';
import { stampOf, now } from '../stamp.js';
import { tryDecodeResult, StatCache, stampFiles, type StampKey } from './stat-cache.js';
import { loadRouting, routeDirectories } from '../routing/routes.js';
import { readIndexView } from './store.js';

export interface ScanResult {
  entries: IndexEntry[];
  findings: Finding[];
  /** Metadata files (Markdown or sidecar) that were inspected. */
  files: string[];
  /** Artifact files (metadata paths) that are invalid: each has error findings. */
  invalid: string[];
  /** Files whose front matter (of another tool) could not be read: warnings only. */
  foreign: string[];
  git: boolean;
  /** A digest of the scanned paths, their stamps and their directories, taken before any
   * file was read; undefined when a stamp was too recent to be trusted (or without the cache). */
  treeStamp?: string | undefined;
}

export function cacheFingerprint(repo: Repo): string {
  const parts: string[] = [repo.config.digest_algorithm, JSON.stringify(stampOf(BASE_SCHEMA_FILE)?.mtimeNs ?? '')];
  const kindsDir = join(repo.root, repo.config.schemas, 'kinds');
  try {
    for (const name of readdirSync(kindsDir).sort()) {
      const st = statSync(join(kindsDir, name), { bigint: true });
      parts.push(`${name}:${st.size}:${st.mtimeNs}`);
    }
  } catch {
    // no per-kind schemas
  }
  return sha256Hex(parts.join('\n'));
}

/** Run `fn` over items with at most `limit` in flight, keeping result order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const WORKER_URL = new URL('./inspect-worker.js', import.meta.url);
/** Below this many files, starting worker threads costs more than it saves. */
const WORKER_THRESHOLD = 400;
/** Above this many files the calling thread leaves inspection to the workers. */
const LOCAL_LIMIT = 25_000;

/** A worker's heap is capped so that garbage from parsing is collected early instead of
 * growing each worker's memory; the cap grows with its share of paths (~0.5 KB each). */
function workerLimits(files: number, heapMb: number | undefined): { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number } {
  const old = heapMb ?? 48 + Math.ceil(files / 2000);
  return { maxOldGenerationSizeMb: old, maxYoungGenerationSizeMb: Math.min(8, old) };
}

/**
 * Inspection workers started before the list of files they will read is known, so that
 * their start (loading the inspection modules, about the time it takes to stamp 10,000
 * files) overlaps the stamping of the tree. One per core but one: the calling thread, idle
 * otherwise, inspects too (up to LOCAL_LIMIT files). Work goes out in batches from one queue, so that every thread
 * stays busy to the end; each worker answers a batch with its results.
 */
export class InspectPool {
  /** Per worker: the error it failed with, and what to tell when it fails while working. */
  private readonly failed: Array<Error | undefined> = [];
  private readonly onFail: Array<((e: Error) => void) | undefined> = [];
  private closing = false;

  private constructor(
    private readonly workers: Worker[],
    /** Does the calling thread inspect too? */
    private readonly local: boolean,
  ) {}

  /** Start the workers, or none where they cannot help. `files`: the most files the pool
   * may be given (sizes the workers' heaps, and decides whether this thread joins in: for
   * more than {@link LOCAL_LIMIT} files its heap, which has no cap, would hold the garbage
   * of parsing tens of thousands of files next to the results, so workers do it all). */
  static start(ctx: InspectContext, explicit: boolean, files: number, heapMb: number | undefined): InspectPool | undefined {
    const local = files <= LOCAL_LIMIT;
    const n = Math.min(availableParallelism(), 8) - (local ? 1 : 0);
    // Running from TypeScript sources (tests) there is no compiled worker file: stay in-process.
    if (files < WORKER_THRESHOLD || n < 1 || !existsSync(fileURLToPath(WORKER_URL))) return undefined;
    const limits = workerLimits(Math.ceil(files / (n + (local ? 1 : 0))), heapMb);
    const workers = Array.from({ length: n }, () => new Worker(WORKER_URL, { workerData: { ctx, explicit }, resourceLimits: limits }));
    // An idle worker never keeps the process alive (an error before the files are handed
    // out must not leave it waiting); a working one does.
    const pool = new InspectPool(workers, local);
    workers.forEach((w, k) => {
      w.unref();
      // Listened to from the start: a worker can fail while it loads, before it has work.
      w.on('error', (e: Error) => {
        pool.failed[k] = e;
        pool.onFail[k]?.(e);
      });
      w.on('exit', (code) => {
        if (code !== 0 && !pool.closing) {
          const e = pool.failed[k] ?? new Error(`inspection worker exited with code ${code}`);
          pool.failed[k] = e;
          pool.onFail[k]?.(e);
        }
      });
    });
    return pool;
  }

  /** Inspect `files` on the workers and, through `here`, on this thread; results in order.
   * A worker that runs out of its capped heap (before or during its work) hands its batch
   * back, and the batches left are done here. */
  async run(
    files: readonly string[],
    here: (batch: string[]) => Promise<Inspection[]>,
    onProgress: (done: number) => void,
  ): Promise<Inspection[]> {
    const out = new Array<Inspection>(files.length);
    let next = 0;
    let done = 0;
    const returned: Array<{ at: number; batch: string[] }> = [];
    // Batches small enough that the threads finish together, large enough that a message
    // costs little against the work it carries.
    const threads = this.workers.length + (this.local ? 1 : 0);
    const size = Math.max(32, Math.min(256, Math.ceil(files.length / (8 * threads))));
    const take = (): { at: number; batch: string[] } | undefined => {
      if (returned.length > 0) return returned.pop();
      if (next >= files.length) return undefined;
      const at = next;
      next = Math.min(files.length, next + size);
      return { at, batch: files.slice(at, next) };
    };
    const store = (at: number, results: Inspection[]) => {
      results.forEach((r, k) => (out[at + k] = r));
      done += results.length;
      onProgress(done);
    };
    const onWorker = (k: number) =>
      new Promise<void>((resolve, reject) => {
        const w = this.workers[k]!;
        let current: { at: number; batch: string[] } | undefined;
        const stop = (e: (Error & { code?: string }) | undefined) => {
          w.off('message', onMessage);
          if (current) returned.push(current);
          current = undefined;
          if (e && e.code !== 'ERR_WORKER_OUT_OF_MEMORY') reject(e);
          else resolve();
        };
        const feed = () => {
          current = take();
          if (current) w.postMessage({ files: current.batch });
          else stop(undefined);
        };
        const onMessage = (m: { results: Inspection[] }) => {
          store(current!.at, m.results);
          feed();
        };
        if (this.failed[k]) return stop(this.failed[k]);
        w.ref();
        w.on('message', onMessage);
        this.onFail[k] = stop;
        feed();
      });
    const local = async () => {
      for (let job = take(); job; job = take()) store(job.at, await here(job.batch));
    };
    await Promise.all([...this.workers.map((_, k) => onWorker(k)), ...(this.local ? [local()] : [])]);
    // Batches handed back by workers that failed, when this thread was not working.
    await local();
    return out;
  }

  /** Stop the workers (those that had nothing to do, or are done). */
  async close(): Promise<void> {
    this.closing = true;
    // Awaited: a large scan's next step should not run while the workers' heaps still exist.
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function inspectInProcess(
  ctx: InspectContext,
  files: string[],
  explicit: boolean,
  onProgress: (done: number) => void,
): Promise<Inspection[]> {
  let done = 0;
  return mapLimit(files, 16, async (f) => {
    const r = await inspectFile(ctx, f, { explicit });
    if (++done % 250 === 0) onProgress(done);
    return r;
  });
}

/** Inspect files, across worker threads when there are many (parsing YAML is CPU-bound). */
async function inspectMany(
  ctx: InspectContext,
  files: string[],
  explicit: boolean,
  onProgress: (done: number) => void,
  heapMb: number | undefined,
  started?: InspectPool,
): Promise<Inspection[]> {
  if (files.length < WORKER_THRESHOLD) {
    await started?.close();
    return inspectInProcess(ctx, files, explicit, onProgress);
  }
  const pool = started ?? InspectPool.start(ctx, explicit, files.length, heapMb);
  if (!pool) return inspectInProcess(ctx, files, explicit, onProgress);
  try {
    return await pool.run(files, (batch) => inspectInProcess(ctx, batch, explicit, () => undefined), onProgress);
  } finally {
    await pool.close();
  }
}

/** The stamps that decide whether a cached inspection still holds: the file's, and for a
 * sidecar also the described file's. */
function stampsFor(rootSlash: string, file: string, scanStart: number): StampKey {
  // Plain concatenation: `file` is already a normalised repository path, and path.join
  // costs more than the lstat it feeds for small files.
  const target = sidecarTarget(file);
  return stampFiles(target === undefined ? [rootSlash + file] : [rootSlash + file, rootSlash + target], scanStart);
}

/** The entries a scan expects to find (the index), by path. */
export interface ExpectedEntries {
  get(path: string): IndexEntry | undefined;
  keys(): Iterable<string>;
  /** Where the canonical text of the entry at `path` lies, when the caller has it as bytes:
   * a cache hit is then compared with it byte for byte, without decoding the record. */
  text?(path: string): { buf: Buffer; start: number; end: number } | undefined;
}

export interface ScanOptions {
  /** Restrict to these metadata files (repo-relative); default: the whole tree. */
  files?: string[];
  /** Files named explicitly by the user: report "not an artifact" instead of ignoring. */
  explicit?: boolean;
  useCache?: boolean;
  /** Entries the caller expects (the index, by path): cache hits equal to them are reused. */
  expected?: ExpectedEntries;
  /** A tree listing already under way (lets callers overlap the git process with reads). */
  listing?: Promise<{ files: string[]; git: boolean }>;
  /** Where unreadable front matter is an error rather than another tool's business
   * (default: loaded from the repository when first needed). */
  scope?: ArtifactScope;
}

/**
 * Where a file with unreadable front matter is an artifact error even though its metadata
 * does not name `id` or `kind`: under a route's directory, inside a non-default `include`
 * (an explicit include says "these are artifacts"), or at an indexed path. Elsewhere it
 * is another tool's front matter and at most a warning (FOREIGN_FRONT_MATTER_INVALID).
 */
export interface ArtifactScope {
  /** Route directories ("" is the repository root). */
  routeDirs: readonly string[];
  /** Is the config's include the default catch-all (`**\/*`)? */
  includeAll: boolean;
  /** Paths of indexed artifacts. */
  indexed: ReadonlySet<string>;
}

export function inArtifactScope(scope: ArtifactScope, path: string): boolean {
  if (!scope.includeAll) return true;
  if (scope.indexed.has(path)) return true;
  for (const d of scope.routeDirs) if (d === '' || path.startsWith(`${d}/`)) return true;
  return false;
}

/** The artifact scope of a repository: its routes (as written: a route with an invalid
 * template still claims its directory), its include, and the paths `indexed` (default:
 * those of the index as readers see it). */
export async function loadArtifactScope(repo: Repo, indexed?: Iterable<string>): Promise<ArtifactScope> {
  const routing = await loadRouting(repo.root, repo.config.routing, repo.config.command_routing);
  const routeDirs = [...new Set(routing.routes.flatMap((r) => routeDirectories(r).map((d) => d.replace(/^\.\//, '').replace(/\/+$/, ''))))];
  let paths = indexed;
  if (paths === undefined) {
    try {
      paths = ((await readIndexView(repo)).doc?.artifacts ?? []).map((e) => e.path);
    } catch {
      paths = []; // an unreadable index is reported by the commands that need it
    }
  }
  const { include } = repo.config;
  return { routeDirs, includeAll: include.length === 1 && include[0] === '**/*', indexed: new Set(paths) };
}

/** The warning that stands for the findings of another tool's unreadable front matter. */
function foreignWarning(path: string, findings: readonly Finding[]): Finding {
  const first = findings[0];
  const more = findings.length > 1 ? ` (and ${findings.length - 1} more problem${findings.length === 2 ? '' : 's'})` : '';
  return finding(
    'FOREIGN_FRONT_MATTER_INVALID',
    `front matter without id or kind (not an artifact) cannot be read: ${first ? `${first.code}: ${first.message}` : 'unreadable'}${more}`,
    {
      severity: 'warning',
      path,
      ...(first?.line !== undefined ? { line: first.line } : {}),
      ...(first?.column !== undefined ? { column: first.column } : {}),
    },
  );
}

/** Is `file` reached through one of these directories (repository paths)? */
function throughSymlink(file: string, symlinkedDirs: ReadonlySet<string>): boolean {
  // (A sidecar and the file it describes share a directory.)
  for (let d = file.lastIndexOf('/'); d > 0; d = file.lastIndexOf('/', d - 1)) if (symlinkedDirs.has(file.slice(0, d))) return true;
  return false;
}

/** The metadata files among a listing: a Markdown file that has a sidecar is described by
 * the sidecar. */
export function metadataFiles(listed: readonly string[]): string[] {
  const described = new Set<string>();
  for (const f of listed) {
    const target = sidecarTarget(f);
    if (target !== undefined) described.add(target);
  }
  return described.size === 0 ? [...listed] : listed.filter((f) => !described.has(f));
}

/**
 * Stamp every metadata file (and each directory on the way to one) and digest the lot:
 * two trees with the same digest hold the same files with the same stamps, reached through
 * the same directories (a directory swapped for a symlink changes it). `tree` is undefined
 * when any stamp is racy or missing. Each file's stamp goes to `visit` as it is taken (with
 * whether the file lies below a symlinked directory), so that a scan of 100,000 files keeps
 * only the stamps it still needs.
 */
export function stampTree(
  repo: Repo,
  files: readonly string[],
  git: boolean,
  scanStartMs: number,
  visit: (i: number, stamp: StampKey, viaSymlink: boolean) => void = () => undefined,
): { tree: string | undefined; symlinkedDirs: Set<string> } {
  const rootSlash = repo.root.endsWith(sep) ? repo.root : repo.root + sep;
  const dirs = new Set<string>();
  for (const f of files) {
    for (let d = f.lastIndexOf('/'); d > 0 && !dirs.has(f.slice(0, d)); d = f.lastIndexOf('/', d - 1)) dirs.add(f.slice(0, d));
  }
  const symlinkedDirs = new Set<string>();
  let dirPart = '';
  for (const d of [...dirs].sort(compareBytes)) {
    const st = lstatQuiet(rootSlash + d);
    if (st?.isSymbolicLink()) symlinkedDirs.add(d);
    dirPart += `${d}/\0${st ? `${st.isSymbolicLink() ? 'L' : st.isDirectory() ? 'D' : 'F'}${st.ino}` : '-'}\n`;
  }
  const h = createHash('sha256');
  h.update(`artifacts-tree/1 ${git ? 'git' : 'walk'}\n`);
  let trusted = true;
  let part = '';
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const st = stampsFor(rootSlash, f, scanStartMs);
    if (st.racy || st.key === undefined) trusted = false;
    part += `${f}\0${st.key}\n`;
    if (part.length > 65536) {
      h.update(part);
      part = '';
    }
    visit(i, st, symlinkedDirs.size > 0 && throughSymlink(f, symlinkedDirs));
  }
  h.update(part);
  h.update(dirPart);
  return { tree: trusted ? h.digest('hex') : undefined, symlinkedDirs };
}

/** Inspect metadata files and return valid entries plus all findings. */
export async function scanFiles(repo: Repo, opts: ScanOptions = {}): Promise<ScanResult> {
  if (opts.files?.length === 0) return { entries: [], findings: [], files: [], invalid: [], foreign: [], git: false };
  const listed = opts.files ? { files: [...opts.files].sort(compareBytes), git: false } : await (opts.listing ?? listCandidates(repo));
  const files = metadataFiles(listed.files);
  const useCache = opts.useCache !== false && !opts.explicit;
  const fingerprint = cacheFingerprint(repo);
  const cache = useCache ? new StatCache(repo, fingerprint).load() : undefined;
  const scanStart = now();
  const ctx = {
    root: repo.root,
    algorithm: repo.config.digest_algorithm,
    schemasDir: join(repo.root, repo.config.schemas),
    schemaGeneration: fingerprint,
  };
  // A cold scan of many files (no cache, or one that knows few of them) starts its workers
  // now, so that they load while the tree is stamped.
  const pool =
    files.length >= WORKER_THRESHOLD && (!cache || cache.size < files.length / 2)
      ? InspectPool.start(ctx, opts.explicit ?? false, files.length, repo.workerHeapMb)
      : undefined;
  // Stamps are taken before any file is read: a change during the scan shows up as a
  // different stamp next time, never as a stale result under a fresh stamp. Cache hits are
  // resolved as the stamps are taken; only misses keep theirs and pay for file I/O. A hit
  // whose canonical entry equals the expected (indexed) entry reuses that object unparsed.
  const results = new Array<Inspection>(files.length);
  const misses: Array<{ i: number; stamp: StampKey | undefined }> = [];
  const resolveHit = (i: number, stamp: StampKey, viaSymlink: boolean): void => {
    const f = files[i]!;
    // A file reached through a symlinked directory is judged afresh every time: its stamps
    // do not say where the directory leads.
    if (viaSymlink || stamp.key === undefined) {
      misses.push({ i, stamp });
      return;
    }
    const target = sidecarTarget(f) ?? f;
    const text = opts.expected?.text?.(target);
    if (text && cache!.holdsArtifact(f, stamp.key, text.buf, text.start, text.end)) {
      results[i] = { type: 'artifact', entry: opts.expected!.get(target)!, findings: [] };
      return;
    }
    const hit = cache!.get(f, stamp.key);
    const expected = hit === undefined ? undefined : opts.expected?.get(target);
    const decoded =
      hit === undefined
        ? undefined
        : expected && hit.startsWith('A') && hit.slice(1) === canonicalEntry(expected)
          ? { type: 'artifact' as const, entry: expected, findings: [] }
          : tryDecodeResult(hit);
    // A record is about its own file: one whose result names another path is damaged.
    const own =
      decoded !== undefined &&
      (decoded.type === 'artifact'
        ? decoded.entry.path === target
        : decoded.type === 'invalid'
          ? decoded.metadataPath === f && decoded.findings.every((x) => x.path === undefined || x.path === f || x.path === target)
          : true);
    if (!own) misses.push({ i, stamp });
    else results[i] = decoded;
  };
  let stamped: { tree: string | undefined } | undefined;
  if (cache) stamped = stampTree(repo, files, listed.git, scanStart, resolveHit);
  else for (let i = 0; i < files.length; i++) misses.push({ i, stamp: undefined });
  repo.progress?.('inspecting', files.length - misses.length, files.length);
  const hits = files.length - misses.length;
  const inspected = await inspectMany(
    ctx,
    misses.map((m) => files[m.i]!),
    opts.explicit ?? false,
    (done) => repo.progress?.('inspecting', hits + done, files.length),
    repo.workerHeapMb,
    pool,
  );
  repo.progress?.('inspecting', files.length, files.length);
  misses.forEach(({ i, stamp }, k) => {
    results[i] = inspected[k]!;
    if (stamp) cache?.set(files[i]!, stamp, inspected[k]!);
  });
  if (cache) {
    if (!opts.files) cache.retainOnly(files);
    await cache.save();
  }
  // Unreadable front matter that names neither id nor kind is an error only within the
  // artifact scope (judged here, not in the cached inspection: routes and index change).
  let scope = opts.scope;
  if (!scope && !opts.explicit && results.some((r) => r.type === 'invalid' && r.foreign)) {
    scope = await loadArtifactScope(repo, opts.expected?.keys());
  }
  const entries: IndexEntry[] = [];
  const findings: Finding[] = [];
  const invalid: string[] = [];
  const foreign: string[] = [];
  for (const r of results) {
    if (r.type === 'artifact') entries.push(r.entry);
    else if (r.type === 'invalid') {
      if (r.foreign && !opts.explicit && scope && !inArtifactScope(scope, r.metadataPath)) {
        foreign.push(r.metadataPath);
        findings.push(foreignWarning(r.metadataPath, r.findings));
      } else {
        invalid.push(r.metadataPath);
        findings.push(...r.findings);
      }
    }
  }
  return {
    entries,
    findings,
    files,
    invalid,
    foreign,
    git: listed.git,
    treeStamp: opts.files ? undefined : stamped?.tree,
  };
}

/** Collection checks: DUPLICATE_VERSION among `entries`, VERSION_IMMUTABLE against `previous`. */
export function checkCollection(entries: readonly IndexEntry[], previous: readonly IndexEntry[]): Finding[] {
  const out: Finding[] = [];
  const byVersion = new Map<string, IndexEntry | IndexEntry[]>();
  let dupes = false;
  for (const e of entries) {
    const k = `${e.id}@${e.version}`;
    const prev = byVersion.get(k);
    if (prev === undefined) byVersion.set(k, e);
    else {
      dupes = true;
      byVersion.set(k, Array.isArray(prev) ? [...prev, e] : [prev, e]);
    }
  }
  if (dupes) {
    for (const [k, es] of [...byVersion].sort((a, b) => compareBytes(a[0], b[0]))) {
      if (!Array.isArray(es)) continue;
      const paths = es.map((e) => e.path).sort(compareBytes);
      for (const p of paths.slice(1))
        out.push(finding('DUPLICATE_VERSION', `${k} is claimed by ${paths.join(' and ')}`, { path: p, paths, refs: [k] }));
    }
  }
  // Paths that are one file on a case-insensitive or normalizing file system (macOS, Windows).
  const folded = new Map<string, IndexEntry>();
  for (const e of entries) {
    const k = foldPath(e.path);
    const other = folded.get(k);
    if (other !== undefined && other.path !== e.path) {
      const [a, b] = [other, e].sort((x, y) => compareBytes(x.path, y.path));
      out.push(
        finding('PATH_COLLISION', `${a!.path} and ${b!.path} differ only by letter case or Unicode normalization`, {
          path: b!.path,
          paths: [a!.path, b!.path],
          refs: [`${a!.id}@${a!.version}`, `${b!.id}@${b!.version}`],
        }),
      );
    } else folded.set(k, e);
  }
  out.push(...checkImmutable(entries, previous));
  return out;
}

/** VERSION_IMMUTABLE: an approved, indexed id@version whose content or status changed. */
export function checkImmutable(entries: readonly IndexEntry[], previous: readonly IndexEntry[]): Finding[] {
  const out: Finding[] = [];
  if (previous.length === 0) return out;
  const approved = new Map<string, IndexEntry>();
  for (const e of previous) if (e.status === 'approved') approved.set(`${e.id}@${e.version}`, e);
  for (const e of entries) {
    const old = approved.get(`${e.id}@${e.version}`);
    if (!old) continue;
    const changed =
      old.content_address !== e.content_address || (old.metadata_address ?? '') !== (e.metadata_address ?? '') || e.status !== 'approved';
    if (changed) {
      out.push(
        finding(
          'VERSION_IMMUTABLE',
          `${e.id}@${e.version} is approved and indexed; its content changed (${old.content_address} -> ${e.content_address})`,
          {
            path: e.path,
            paths: old.path === e.path ? [e.path] : [old.path, e.path].sort(compareBytes),
            refs: [`${e.id}@${e.version}`],
          },
        ),
      );
    }
  }
  return out;
}
