// The index commands as library functions: add, update, remove, rebuild, verify.
import { realpathSync, type Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ArtifactsError, dedupeFindings, finding, pathsOf, type Finding } from '../errors.js';
import { isMarkdownPath, sidecarTarget, SIDECAR_SUFFIXES, type IndexEntry } from '../metadata/inspect.js';
import { compareBytes, isInside, toRepoPath } from '../paths.js';
import { kindOf } from '../store/checked-read.js';
import type { Repo } from '../repo.js';
import { canonicalPathFor, checkArtifactRoutes, loadRouting, routeFor } from '../routing/routes.js';
import type { JournalOp } from '../store/journal.js';
import { isCandidatePath, listCandidates, walkTree } from './enumerate.js';
import { checkCollection, checkImmutable, type ExpectedEntries, metadataFiles, scanFiles, stampTree } from './scan.js';
import { journalEmpty, readCleanRecord, settledIndexStamp, verifyFingerprint, writeCleanRecord } from './clean-verify.js';
import { unsafeEntryFindings } from './decision-index.js';
import { now } from '../stamp.js';
import { entriesEqual, foldPath, INDEX_FORMAT, type IndexFormat } from './document.js';
import { applyOps, readIndexView, runTransaction, type IndexState, type IndexView, type TransactionResult } from './store.js';

export interface WriteResult {
  changed: boolean;
  before: string | null;
  after: string;
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
  recovered: { replayed: string[]; discardedTailBytes: number };
  /** Every problem of the run: errors for the files that were not indexed (the exit code
   * follows them), warnings for other tools' front matter. Empty when all went in. */
  findings: Finding[];
  /** Paths whose files are invalid now but whose indexed entries were kept as they were. */
  kept: string[];
}

export interface WriteOptions {
  /** All or nothing: any invalid file makes the command write nothing (exit 1). By default
   * every valid artifact is indexed and each invalid one is reported. */
  strict?: boolean;
}

function errorsOf(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}

function fail(findings: Finding[], what: string): never {
  const first = findings[0]!;
  throw new ArtifactsError(
    first.code,
    `${what}: ${findings.length} problem${findings.length === 1 ? '' : 's'} found; nothing was written`,
    { findings },
  );
}

/** A FIFO or device is never opened: reading one would block or never end. */
function notRegularFinding(rel: string, st: Stats): Finding {
  return finding('FILE_NOT_REGULAR', `${rel} is ${kindOf(st)}, not a regular file`, { path: rel, paths: [rel] });
}

/** FIFOs, devices and sockets below `rel` whose names make them metadata files (never
 * following a symbolic link, never entering .git, node_modules or the state directory). */
async function specialFilesBelow(repo: Repo, rel: string): Promise<Array<{ rel: string; st: Stats }>> {
  const special = await walkTree(repo.root, rel, (e) => !e.isFile() && !e.isSymbolicLink(), { skipUnreadable: true });
  const out: Array<{ rel: string; st: Stats }> = [];
  for (const p of special.filter((f) => isCandidatePath(repo, f)).sort(compareBytes)) {
    const st = await lstat(resolve(repo.root, p)).catch(() => undefined);
    if (st) out.push({ rel: p, st });
  }
  return out;
}

/** Resolve user paths (absolute, or relative to the root) to metadata files to inspect. */
export async function resolveArtifactPaths(repo: Repo, paths: readonly string[]): Promise<{ explicit: string[]; walked: string[] }> {
  const explicit = new Set<string>();
  const walked = new Set<string>();
  let candidates: string[] | undefined;
  let realRoot: string | undefined;
  const notRegular: Finding[] = [];
  for (const p of paths) {
    const abs = isAbsolute(p) ? p : resolve(repo.root, p);
    if (!isInside(repo.root, abs)) throw new ArtifactsError('PATH_UNSAFE', `${p} is outside the repository root ${repo.root}`);
    // Lexically inside is not enough: a symlinked directory on the way may lead outside.
    // (A symlinked file is judged by inspection: SYMLINK_OUTSIDE_ROOT.)
    let real: string | undefined;
    try {
      real = realpathSync(dirname(abs));
    } catch {
      real = undefined;
    }
    if (real !== undefined && !isInside((realRoot ??= realpathSync(repo.root)), real)) {
      throw new ArtifactsError('PATH_UNSAFE', `${p} resolves outside the repository (through a symlink) to ${real}`);
    }
    const rel = toRepoPath(repo.root, abs);
    let st;
    try {
      st = await stat(abs);
    } catch {
      throw new ArtifactsError('USAGE', `${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      candidates ??= (await listCandidates(repo)).files;
      const prefix = rel === '' ? '' : `${rel}/`;
      for (const c of candidates) if (c.startsWith(prefix)) walked.add(c);
      // git lists no FIFO, device or socket: look for metadata-named ones in the directory
      // named, so that a walk reports them as a named file would be.
      for (const w of await specialFilesBelow(repo, rel)) notRegular.push(notRegularFinding(w.rel, w.st));
      continue;
    }
    if (!st.isFile()) {
      notRegular.push(notRegularFinding(rel, st));
      continue;
    }
    // A file named directly: prefer its sidecar when it has one.
    let meta = rel;
    if (sidecarTarget(rel) === undefined) {
      for (const s of SIDECAR_SUFFIXES) {
        try {
          await stat(resolve(repo.root, rel + s));
          meta = rel + s;
          break;
        } catch {
          // no such sidecar
        }
      }
    }
    if (meta === rel && !isMarkdownPath(rel) && sidecarTarget(rel) === undefined)
      throw new ArtifactsError('USAGE', `${p} is neither Markdown nor a file with an .artifact.yaml/.artifact.json sidecar`);
    explicit.add(meta);
  }
  if (notRegular.length > 0) {
    throw new ArtifactsError(
      'FILE_NOT_REGULAR',
      `${notRegular.length} path${notRegular.length === 1 ? ' is' : 's are'} not a regular file; nothing was written`,
      { findings: notRegular },
    );
  }
  for (const e of explicit) walked.delete(e);
  return { explicit: [...explicit].sort(compareBytes), walked: [...walked].filter((w) => isCandidatePath(repo, w)).sort(compareBytes) };
}

/**
 * What a non-strict rebuild writes: every valid artifact, except those involved in an
 * error, plus — so that no data is lost — the indexed entries of files that are invalid now.
 *
 * - An invalid file (bad metadata, a route error) is not indexed. If its path was indexed,
 *   the indexed entry is KEPT as it was (reported in `kept`): dropping it would lose the
 *   record of an approved version, and a file broken then repaired with other content
 *   would then slip past VERSION_IMMUTABLE.
 * - DUPLICATE_VERSION / PATH_COLLISION: every file involved is refused; an involved path
 *   that was indexed keeps its indexed entry (so an indexed artifact wins over a newcomer
 *   claiming its id@version, and two newcomers are both left out).
 * - VERSION_IMMUTABLE: the changed file is refused and the indexed entry of that approved
 *   id@version is kept where it was; a valid artifact now at that entry's path is refused
 *   too (the finding names both paths).
 * Refusing an entry can only bring back entries of the previous index, so the loop ends.
 * The result is a pure function of the tree and the previous index (two rebuilds of one
 * tree give the same bytes); with no invalid file it is a pure function of the tree.
 */
export function settleEntries(
  candidates: readonly IndexEntry[],
  entryFindings: readonly Finding[],
  invalidPaths: readonly string[],
  previous: readonly IndexEntry[],
): { entries: IndexEntry[]; kept: string[]; findings: Finding[] } {
  const prevByPath = new Map(previous.map((e) => [e.path, e]));
  const prevByRef = new Map(previous.map((e) => [`${e.id}@${e.version}`, e]));
  const accepted = new Map(candidates.map((e) => [e.path, e]));
  const carried = new Map<string, IndexEntry>();
  const findings: Finding[] = [];
  const carry = (p: string) => {
    const old = prevByPath.get(p);
    if (old && !accepted.has(p)) carried.set(p, old);
  };
  for (const mp of invalidPaths) carry(sidecarTarget(mp) ?? mp);
  let rejected = new Set<string>();
  for (const f of errorsOf(entryFindings)) {
    for (const p of pathsOf(f)) if (accepted.has(p)) rejected.add(p);
  }
  for (;;) {
    for (const p of rejected) accepted.delete(p);
    for (const p of rejected) carry(p);
    const merged = [...accepted.values(), ...carried.values()].sort((a, b) => compareBytes(a.path, b.path));
    const problems = errorsOf(checkCollection(merged, previous));
    rejected = new Set();
    for (const f of problems) {
      for (const p of pathsOf(f)) if (accepted.has(p) && !entriesEqual(accepted.get(p), prevByPath.get(p))) rejected.add(p);
      // An unchanged indexed entry in a conflict stays; only the newcomers are refused.
      if (f.code === 'VERSION_IMMUTABLE') {
        for (const ref of f.refs ?? []) {
          const old = prevByRef.get(ref);
          if (old && accepted.has(old.path) && !entriesEqual(accepted.get(old.path), old)) rejected.add(old.path);
        }
      }
    }
    if (rejected.size === 0) {
      findings.push(...problems);
      break;
    }
    findings.push(...problems.filter((f) => pathsOf(f).some((p) => rejected.has(p))));
    for (const f of problems) {
      if (f.code !== 'VERSION_IMMUTABLE') continue;
      for (const ref of f.refs ?? []) {
        const old = prevByRef.get(ref);
        if (old && (rejected.has(old.path) || !accepted.has(old.path))) carried.set(old.path, old);
      }
    }
  }
  const entries = [...accepted.values(), ...carried.values()].sort((a, b) => compareBytes(a.path, b.path));
  const byPath = new Map(candidates.map((e) => [e.path, e]));
  const kept = [...carried.keys()].filter((p) => !entriesEqual(carried.get(p), byPath.get(p))).sort(compareBytes);
  return { entries, kept, findings: dedupeFindings(findings) };
}

function summarize(
  tx: TransactionResult<unknown>,
  ops: JournalOp[],
  previous: Map<string, IndexEntry>,
  unchanged: string[],
  findings: Finding[] = [],
  kept: string[] = [],
): WriteResult {
  const added: string[] = [];
  const updated: string[] = [];
  const removed: string[] = [];
  for (const op of ops) {
    if (op.op === 'put') (previous.has(op.entry.path) ? updated : added).push(op.entry.path);
    else removed.push(op.path);
  }
  return {
    changed: tx.changed,
    before: tx.before,
    after: tx.after,
    added,
    updated,
    removed,
    unchanged,
    recovered: { replayed: tx.recovered.replayed, discardedTailBytes: tx.recovered.discardedTailBytes },
    findings,
    kept,
  };
}

/**
 * `artifacts index add|update`: validate, route-check, hash and insert artifacts in one
 * transaction. By default every valid artifact goes in and each invalid one is reported in
 * `findings` (a file named explicitly that is not an artifact is invalid; a walked
 * directory's files of other tools are not); when none can go in, or with `strict` when
 * any fails, it throws {@link ArtifactsError} with the findings and writes nothing.
 *
 * @example
 * ```ts
 * const r = await indexAdd(repo, ['docs/plans/fwk-001/plan-x.md']);
 * console.log(r.added, r.after);
 * ```
 */
export async function indexAdd(repo: Repo, paths: readonly string[], opts: { update?: boolean } & WriteOptions = {}): Promise<WriteResult> {
  if (paths.length === 0) throw new ArtifactsError('USAGE', 'no paths given');
  const what = opts.update ? 'index update' : 'index add';
  const { explicit, walked } = await resolveArtifactPaths(repo, paths);
  const [a, b, routing] = await Promise.all([
    scanFiles(repo, { files: explicit, explicit: true }),
    scanFiles(repo, { files: walked }),
    loadRouting(repo.root, repo.config.routing, repo.config.command_routing),
  ]);
  const scanned = [...a.entries, ...b.entries];
  const scanFindings = [...a.findings, ...b.findings];
  const routeFindings = checkArtifactRoutes(routing, scanned);
  const pre = errorsOf([...scanFindings, ...routeFindings]);
  if (opts.strict && pre.length > 0) fail(pre, what);
  // By default an invalid file is reported and left out; the others go in.
  const refused = new Set(errorsOf(routeFindings).flatMap(pathsOf));
  const entries = scanned.filter((e) => !refused.has(e.path));
  if (entries.length === 0 && pre.length > 0) fail(pre, what);
  const tx = await runTransaction(repo, async (current) => {
    if (indexPresent(current) && !current.digestValid) {
      throw new ArtifactsError('INDEX_DIGEST_MISMATCH', 'artifacts_index.json fails its index_digest check; refusing to build on it');
    }
    // Only the indexed entries these files can conflict with are read (see relevantEntries).
    const cur = relevantEntries(current, entries);
    const previous = new Map(cur.map((e) => [e.path, e]));
    let ops: JournalOp[];
    let unchanged: string[];
    const findings: Finding[] = [];
    let accepted = entries;
    // A move: an id@version indexed at another path whose file no longer exists. Its old
    // entry goes out with the new one coming in (one transaction); an approved version must
    // keep its content and metadata (checkImmutable still judges it against `cur`).
    const gone = opts.update ? new Set<string>() : await missingIndexedPaths(repo, cur, entries);
    if (opts.update) {
      for (const e of accepted)
        if (!previous.has(e.path))
          findings.push(
            finding('INDEX_NOT_INDEXED', `${e.path} is not indexed yet`, {
              path: e.path,
              hint: `Run \`artifacts index add ${e.path}\` (for a new artifact, or one moved here: it records the move).`,
            }),
          );
      accepted = accepted.filter((e) => previous.has(e.path));
    }
    // Judge duplicates and collisions on the merged result, but only those that involve the
    // new entries (by their structured subjects: an artifact version or a path). Without
    // --strict, the new entries involved are left out and the rest judged again (leaving
    // one out never creates a conflict, so this ends).
    for (;;) {
      ops = [];
      unchanged = [];
      for (const e of accepted) {
        const old = previous.get(e.path);
        if (old && entriesEqual(old, e)) unchanged.push(e.path);
        else ops.push({ op: 'put', entry: e });
      }
      if (gone.size > 0) {
        const movedRefs = new Set(accepted.filter((e) => !previous.has(e.path)).map((e) => `${e.id}@${e.version}`));
        for (const o of cur) if (gone.has(o.path) && movedRefs.has(`${o.id}@${o.version}`)) ops.push({ op: 'remove', path: o.path });
      }
      const merged = applyOps(cur, ops);
      const touchedRefs = new Set(accepted.map((e) => `${e.id}@${e.version}`));
      const touchedPaths = new Set(accepted.map((e) => e.path));
      const conflicts = errorsOf(
        checkCollection(merged, cur).filter(
          (f) => (f.refs ?? []).some((r) => touchedRefs.has(r)) || pathsOf(f).some((p) => touchedPaths.has(p)),
        ),
      );
      for (const f of conflicts) {
        const stale = f.code === 'DUPLICATE_VERSION' ? pathsOf(f).find((p) => gone.has(p) && !touchedPaths.has(p)) : undefined;
        if (stale)
          f.hint = `${stale} is only an index entry whose file is missing: run \`artifacts index rebuild\` (or \`artifacts index remove ${stale}\`), then add the file again.`;
      }
      findings.push(...conflicts);
      if (conflicts.length === 0 || opts.strict) break;
      const out = new Set<string>();
      for (const f of conflicts) {
        for (const p of pathsOf(f)) if (touchedPaths.has(p)) out.add(p);
        for (const r of f.refs ?? [])
          for (const e of accepted) if (`${e.id}@${e.version}` === r && !entriesEqual(previous.get(e.path), e)) out.add(e.path);
      }
      if (out.size === 0) break;
      accepted = accepted.filter((e) => !out.has(e.path));
    }
    const errors = errorsOf(findings);
    if (errors.length > 0 && (opts.strict || (ops.length === 0 && unchanged.length === 0))) fail(dedupeFindings([...pre, ...errors]), what);
    const reported = dedupeFindings([...scanFindings, ...routeFindings, ...findings]);
    return { ops, result: { ops, previous, unchanged, findings: reported } };
  });
  const r = tx.result;
  return summarize(tx, r.ops, r.previous, r.unchanged, r.findings);
}

/** The index's entries by path, for a scan; with the file's lines, their canonical bytes. */
function expectedEntries(view: IndexView): ExpectedEntries {
  const arts = view.doc?.artifacts ?? [];
  const at = new Map<string, number>();
  arts.forEach((e, i) => at.set(e.path, i));
  const lines = view.lines && view.lines.count === arts.length ? view.lines : undefined;
  return {
    get: (p) => {
      const i = at.get(p);
      return i === undefined ? undefined : arts[i];
    },
    keys: () => at.keys(),
    ...(lines
      ? {
          text: (p: string) => {
            const i = at.get(p);
            return i === undefined ? undefined : { buf: lines.buf, ...lines.range(i) };
          },
        }
      : {}),
  };
}

/** Is there an index file (without parsing an `artifacts-index/2` one)? */
function indexPresent(current: IndexState): boolean {
  return current.lines !== undefined || current.doc !== null;
}

/**
 * The indexed entries that incoming entries can conflict with, in index order: those at
 * the incoming paths; every entry of an id@version among the incoming ones or those
 * entries' (one binary search each); and every entry whose path folds (letter case, NFC) to
 * one of theirs (one pass over the lines reading only the paths). The duplicate, collision,
 * immutability and move checks of `index add`, which keep only the findings that involve
 * the incoming entries, find the same findings in this subset as in the whole index: each
 * such finding concerns a group of entries (one id@version, or one folded path) that is
 * here whole. An `artifacts-index/1` index is read whole.
 */
export function relevantEntries(current: IndexState, incoming: readonly IndexEntry[]): IndexEntry[] {
  const { lines } = current;
  if (!lines) return current.doc?.artifacts ?? [];
  const picked = new Set<number>();
  for (const e of incoming) {
    const i = lines.findPath(e.path);
    if (i !== undefined) picked.add(i);
  }
  const refs = new Map<string, [string, string]>();
  for (const e of [...incoming, ...[...picked].map((i) => lines.entry(i))]) refs.set(`${e.id}@${e.version}`, [e.id, e.version]);
  for (const [id, version] of refs.values()) for (const i of lines.findVersion(id, version)) picked.add(i);
  const folded = new Set<string>(incoming.map((e) => foldPath(e.path)));
  for (const i of picked) folded.add(foldPath(lines.entry(i).path));
  for (const i of lines.findFolded(folded)) picked.add(i);
  return [...picked].sort((a, b) => a - b).map((i) => lines.entry(i));
}

/** Indexed paths whose files no longer exist (nothing at the path, not even a symlink),
 * among those claiming the id@version of an incoming entry at another path. An unsafe
 * indexed path is never looked at and never counts as gone. */
async function missingIndexedPaths(repo: Repo, cur: readonly IndexEntry[], incoming: readonly IndexEntry[]): Promise<Set<string>> {
  const out = new Set<string>();
  const paths = new Set(incoming.map((e) => e.path));
  const refs = new Set(incoming.map((e) => `${e.id}@${e.version}`));
  const candidates = cur.filter((e) => !paths.has(e.path) && refs.has(`${e.id}@${e.version}`));
  const unsafe = new Set(unsafeEntryFindings(repo, candidates).map((f) => f.path));
  for (const e of candidates) {
    if (unsafe.has(e.path)) continue;
    const missing = await lstat(resolve(repo.root, e.path)).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR',
    );
    if (missing) out.add(e.path);
  }
  return out;
}

/**
 * `artifacts index remove`: drop entries by `id@version` or path.
 *
 * @example
 * ```ts
 * await indexRemove(repo, ['plan-x@1.2.0']);
 * ```
 */
export async function indexRemove(repo: Repo, refs: readonly string[]): Promise<WriteResult> {
  if (refs.length === 0) throw new ArtifactsError('USAGE', 'nothing to remove: give id@version or paths');
  const tx = await runTransaction(repo, (current) => {
    const findings: Finding[] = [];
    const previous = new Map<string, IndexEntry>();
    for (const ref of refs) {
      const rel = isAbsolute(ref) ? toRepoPath(repo.root, ref) : ref.replace(/^\.\//, '');
      const hits = findByRefOrPath(current, ref, rel);
      if (hits.length === 0) findings.push(finding('INDEX_NOT_INDEXED', `${ref} is not in the index`));
      for (const h of hits) previous.set(h.path, h);
    }
    if (findings.length > 0) fail(findings, 'index remove');
    const ops: JournalOp[] = [...previous.keys()].sort(compareBytes).map((path) => ({ op: 'remove', path }));
    return Promise.resolve({ ops, result: { ops, previous } });
  });
  return summarize(tx, tx.result.ops, tx.result.previous, []);
}

/** The indexed entries whose `id@version` is `ref` or whose path is `rel`. */
function findByRefOrPath(current: IndexState, ref: string, rel: string): IndexEntry[] {
  const { lines } = current;
  if (!lines) {
    const cur = current.doc?.artifacts ?? [];
    return [...cur.filter((e) => `${e.id}@${e.version}` === ref), ...cur.filter((e) => e.path === rel)];
  }
  const hits: IndexEntry[] = [];
  // An id may itself hold an '@': try every split.
  for (let at = ref.indexOf('@'); at >= 0; at = ref.indexOf('@', at + 1)) {
    for (const i of lines.findVersion(ref.slice(0, at), ref.slice(at + 1))) hits.push(lines.entry(i));
  }
  const i = lines.findPath(rel);
  if (i !== undefined) hits.push(lines.entry(i));
  return hits;
}

/** What `index migrate` did. */
export interface MigrateResult {
  /** Was the index rewritten? (false: it already was `artifacts-index/2`, or there is none) */
  changed: boolean;
  /** The format found, or null when there is no index. */
  from: IndexFormat | null;
  to: typeof INDEX_FORMAT;
  before: string | null;
  after: string | null;
  /** How many entries the index holds. */
  entries: number;
}

/**
 * `artifacts index migrate`: rewrite an `artifacts-index/1` index as `artifacts-index/2`
 * (the same entries, one canonical line each, and the digest of the new document) in one
 * transaction. An index whose digest does not verify is refused (INDEX_DIGEST_MISMATCH):
 * migrating would launder a hand edit. Idempotent: an `artifacts-index/2` index, or none,
 * is left as it is.
 *
 * @example
 * ```ts
 * const { changed, from } = await indexMigrate(repo);
 * ```
 */
export async function indexMigrate(repo: Repo): Promise<MigrateResult> {
  const none: MigrateResult = { changed: false, from: null, to: INDEX_FORMAT, before: null, after: null, entries: 0 };
  if (
    !(await lstat(repo.indexPath).then(
      () => true,
      () => false,
    ))
  )
    return none;
  const tx = await runTransaction(repo, (current) => {
    if (!indexPresent(current))
      throw new ArtifactsError('INDEX_NOT_FOUND', 'artifacts_index.json was removed while `index migrate` waited for the lock');
    if (!current.digestValid)
      throw new ArtifactsError('INDEX_DIGEST_MISMATCH', 'artifacts_index.json fails its index_digest check; refusing to migrate it', {
        hint: 'Run `artifacts index verify` to see what changed, then `artifacts index rebuild` (which writes artifacts-index/2).',
      });
    const from = current.lines ? INDEX_FORMAT : current.doc!.format;
    const entries = current.lines ? current.lines.count : current.doc!.artifacts.length;
    // No operation: an artifacts-index/1 document is rewritten whole, in the new format.
    return Promise.resolve({ ops: [] as JournalOp[], result: { from, entries } });
  });
  return { changed: tx.changed, from: tx.result.from, to: INDEX_FORMAT, before: tx.before, after: tx.after, entries: tx.result.entries };
}

/**
 * `artifacts index rebuild`: rescan the tree and write the index; the bytes are a pure
 * function of the artifacts. By default every valid artifact is indexed and each invalid
 * file reported in `findings` (see {@link settleEntries} for what is kept); with `strict`,
 * any invalid file throws {@link ArtifactsError} and nothing is written.
 *
 * @example
 * ```ts
 * const { count, after } = await indexRebuild(repo);
 * ```
 */
export async function indexRebuild(repo: Repo, opts: { useCache?: boolean } & WriteOptions = {}): Promise<WriteResult & { count: number }> {
  const [scan, routing] = await Promise.all([
    scanFiles(repo, { useCache: opts.useCache ?? true }),
    loadRouting(repo.root, repo.config.routing, repo.config.command_routing),
  ]);
  const routeFindings = checkArtifactRoutes(routing, scan.entries);
  if (opts.strict) {
    const pre = errorsOf([...scan.findings, ...routeFindings, ...checkCollection(scan.entries, [])]);
    if (pre.length > 0) fail(pre, 'index rebuild');
  }
  const tx = await runTransaction(
    repo,
    (current) => {
      const cur = current.doc && current.digestValid ? current.doc.artifacts : [];
      const previous = new Map(cur.map((e) => [e.path, e]));
      let settled: { entries: IndexEntry[]; kept: string[]; findings: Finding[] } = { entries: scan.entries, kept: [], findings: [] };
      if (opts.strict) {
        // Duplicates and collisions were judged on the scan above; only immutability depends on
        // the index found under the lock.
        const immut = errorsOf(checkImmutable(scan.entries, cur));
        if (immut.length > 0) fail(immut, 'index rebuild');
      } else {
        // Every valid artifact goes in; invalid ones are reported, and indexed entries of
        // files that are invalid now are kept as they were (see settleEntries).
        settled = settleEntries(scan.entries, routeFindings, scan.invalid, cur);
      }
      // The transaction puts every entry; `ops` (for the summary) is what changed: the puts
      // of new or changed entries (the same operation objects) and the removals. At 100,000
      // entries each extra list or set of paths costs megabytes: none is made when the
      // index was empty.
      const puts = settled.entries.map((entry): JournalOp => ({ op: 'put', entry }));
      let ops = puts;
      let unchanged: string[] = [];
      if (previous.size > 0) {
        const next = new Set(settled.entries.map((e) => e.path));
        ops = puts.filter((o) => o.op === 'put' && !entriesEqual(previous.get(o.entry.path), o.entry));
        const changed = new Set(ops.map((o) => (o.op === 'put' ? o.entry.path : '')));
        unchanged = settled.entries.filter((e) => !changed.has(e.path)).map((e) => e.path);
        ops = [...ops, ...[...previous.keys()].filter((p) => !next.has(p)).map((path): JournalOp => ({ op: 'remove', path }))];
      }
      return Promise.resolve({
        reset: true,
        ops: puts,
        algorithm: repo.config.digest_algorithm,
        result: { ops, previous, settled, unchanged },
      });
      // A rebuild never needs the old index: one that cannot even be parsed is replaced.
    },
    { replaceCorrupt: true },
  );
  const { ops, previous, settled, unchanged } = tx.result;
  const findings = dedupeFindings([...scan.findings, ...routeFindings, ...settled.findings]);
  return { ...summarize(tx, ops, previous, unchanged, findings, settled.kept), count: settled.entries.length };
}

/** What `index verify` reports. */
export interface VerifySummary {
  findings: Finding[];
  indexed: number;
  scanned: number;
  index_digest: string | null;
}

export interface VerifyResult extends VerifySummary {
  /** How many metadata files were read, how many of them are invalid artifacts, and how
   * many are other tools' unreadable front matter (warnings). */
  files: { files: number; invalid: number; foreign: number };
  /** The valid artifacts found in the tree (callers reuse them instead of scanning again). */
  entries: IndexEntry[];
  /** The indexed entries (with any pending journal record applied). */
  indexedEntries: IndexEntry[];
}

function filesOf(scan: { files: string[]; invalid: string[]; foreign: string[] }): VerifyResult['files'] {
  return { files: scan.files.length, invalid: scan.invalid.length, foreign: scan.foreign.length };
}

/**
 * `artifacts index verify`: compare the index with the tree; never writes the index.
 * Returns the scanned and indexed entries too, for callers that go on to use them; see
 * {@link indexVerifySummary} for the answer alone, which is much faster on an unchanged tree.
 *
 * @example
 * ```ts
 * const { findings } = await indexVerify(repo);
 * if (findings.length) process.exitCode = exitCodeFor(findings);
 * ```
 */
export async function indexVerify(repo: Repo, opts: { listing?: Promise<{ files: string[]; git: boolean }> } = {}): Promise<VerifyResult> {
  const findings: Finding[] = [];
  // Start the git listing first so that the git process runs while the index is read.
  const listing = opts.listing ?? listCandidates(repo);
  listing.catch(() => undefined);
  // The inputs' stamps, taken before they are read, for the clean-verification record.
  const fingerprint = verifyFingerprint(repo);
  const indexStamp = settledIndexStamp(repo, now());
  const noJournal = journalEmpty(repo);
  const view = await readIndexView(repo, { keepLines: true });
  if (view.pendingRecords > 0) {
    findings.push(
      finding(
        'JOURNAL_PENDING',
        `${view.pendingRecords} interrupted transaction(s) in .artifacts/journal are not applied to artifacts_index.json`,
        { path: '.artifacts/journal' },
      ),
    );
  }
  const scan = await scanFiles(repo, { listing, expected: expectedEntries(view) });
  findings.push(...scan.findings);
  findings.push(...checkCollection(scan.entries, []));
  if (!view.doc) {
    if (scan.entries.length > 0)
      findings.push(
        finding('INDEX_NOT_FOUND', `artifacts_index.json does not exist but ${scan.entries.length} artifact(s) were found`, {
          path: 'artifacts_index.json',
        }),
      );
    return {
      findings,
      indexed: 0,
      scanned: scan.entries.length,
      index_digest: null,
      entries: scan.entries,
      indexedEntries: [],
      files: filesOf(scan),
    };
  }
  if (!view.digestValid) {
    findings.push(
      finding('INDEX_DIGEST_MISMATCH', `index_digest ${view.doc.index_digest} does not match the index content`, {
        path: 'artifacts_index.json',
      }),
    );
  }
  // Another digest algorithm makes every content address differ: one finding says so, not
  // one per entry. Approved versions cannot be compared across algorithms, so `index
  // rebuild` over the old index refuses them (VERSION_IMMUTABLE): the way on is a fresh index.
  const algorithmChanged = view.doc.digest_algorithm !== repo.config.digest_algorithm;
  if (algorithmChanged) {
    const approved = view.doc.artifacts.some((e) => e.status === 'approved');
    findings.push(
      finding('INDEX_STALE_ENTRY', `the index uses ${view.doc.digest_algorithm} but the config asks for ${repo.config.digest_algorithm}`, {
        path: 'artifacts_index.json',
        hint: approved
          ? 'Re-address every artifact in a fresh index: delete artifacts_index.json, then run `artifacts index rebuild` (approved versions cannot be compared across digest algorithms; review the new index before committing it).'
          : 'Run `artifacts index rebuild` to re-address every artifact.',
      }),
    );
  }
  const scanned = new Map<string, IndexEntry>();
  for (const e of scan.entries) scanned.set(e.path, e);
  const invalidPaths = new Set(scan.findings.map((f) => (f.path ? (sidecarTarget(f.path) ?? f.path) : '')));
  const unsafeFindings = unsafeEntryFindings(repo, view.doc.artifacts);
  findings.push(...unsafeFindings);
  const unsafe = new Set(unsafeFindings.map((f) => f.path));
  for (const e of view.doc.artifacts) {
    // An unsafe path is never looked at, not even with stat.
    if (unsafe.has(e.path)) continue;
    const now = scanned.get(e.path);
    if (now) {
      if (!algorithmChanged && !entriesEqual(now, e)) {
        const what =
          now.content_address !== e.content_address
            ? `content changed (${e.content_address} -> ${now.content_address})`
            : 'metadata changed';
        findings.push(finding('INDEX_STALE_ENTRY', `${e.path}: ${what}`, { path: e.path, hint: staleHint(e, now) }));
      }
      continue;
    }
    if (invalidPaths.has(e.path)) continue; // its metadata findings are already reported
    const st = await lstat(resolve(repo.root, e.path)).catch(() => undefined);
    if (!st)
      findings.push(
        finding('INDEX_MISSING_FILE', `${e.path} (${e.id}@${e.version}) is indexed but missing`, {
          path: e.path,
          refs: [`${e.id}@${e.version}`],
          hint: `Restore the file (\`git checkout -- ${e.path}\`), or drop the entry: \`artifacts index remove ${e.id}@${e.version}\` (or \`artifacts index rebuild\`).`,
        }),
      );
    else if (!st.isFile()) {
      findings.push(
        finding('FILE_NOT_REGULAR', `${e.path} (${e.id}@${e.version}) is indexed but is ${kindOf(st)}; it is never opened`, {
          path: e.path,
        }),
      );
    } else {
      findings.push(
        finding('INDEX_STALE_ENTRY', `${e.path} is indexed but is no longer an artifact in scope`, {
          path: e.path,
          hint: `Restore its metadata, or drop the entry: \`artifacts index remove ${e.path}\` (or \`artifacts index rebuild\`).`,
        }),
      );
    }
  }
  const indexedPaths = new Set<string>();
  for (const e of view.doc.artifacts) indexedPaths.add(e.path);
  const unindexed = scan.entries.filter((e) => !indexedPaths.has(e.path));
  const hints = await unindexedHints(repo, unindexed);
  for (const e of unindexed) {
    findings.push(
      finding('INDEX_UNINDEXED', `${e.path} (${e.id}@${e.version}) is not in the index`, {
        path: e.path,
        refs: [`${e.id}@${e.version}`],
        hint: hints.get(e.path) ?? `Run \`artifacts index add ${e.path}\`.`,
      }),
    );
  }
  moveHints(findings, view.doc.artifacts, scan.entries);
  if (findings.length === 0 && scan.treeStamp && indexStamp && noJournal) {
    await writeCleanRecord(repo, {
      fingerprint,
      index: indexStamp,
      index_digest: view.doc.index_digest,
      indexed: view.doc.artifacts.length,
      scanned: scan.entries.length,
      tree: scan.treeStamp,
    });
  }
  return {
    findings,
    indexed: view.doc.artifacts.length,
    scanned: scan.entries.length,
    index_digest: view.doc.index_digest,
    entries: scan.entries,
    indexedEntries: view.doc.artifacts,
    files: filesOf(scan),
  };
}

/** A file moved without the index: an INDEX_MISSING_FILE entry and an INDEX_UNINDEXED file
 * with the same id@version (and no other claimant). Their hints say so and name the command
 * that records the move, `index add NEWPATH` (which replaces the old entry), unless the
 * version is approved and its content or metadata changed on the way (VERSION_IMMUTABLE). */
function moveHints(findings: Finding[], indexed: readonly IndexEntry[], scanned: readonly IndexEntry[]): void {
  const missing = new Map<string, Finding[]>();
  const unindexed = new Map<string, Finding[]>();
  for (const f of findings) {
    const ref = f.refs?.[0];
    if (ref === undefined) continue;
    const into = f.code === 'INDEX_MISSING_FILE' ? missing : f.code === 'INDEX_UNINDEXED' ? unindexed : undefined;
    if (into) into.set(ref, [...(into.get(ref) ?? []), f]);
  }
  if (missing.size === 0 || unindexed.size === 0) return;
  const byPath = (es: readonly IndexEntry[]) => new Map(es.map((e) => [e.path, e]));
  const indexedAt = byPath(indexed);
  const scannedAt = byPath(scanned);
  for (const [ref, gone] of missing) {
    const came = unindexed.get(ref);
    if (!came || gone.length !== 1 || came.length !== 1) continue;
    const from = gone[0]!.path!;
    const to = came[0]!.path!;
    const old = indexedAt.get(from);
    const now = scannedAt.get(to);
    if (!old || !now) continue;
    const changed =
      old.content_address !== now.content_address ||
      (old.metadata_address ?? '') !== (now.metadata_address ?? '') ||
      now.status !== 'approved';
    if (old.status === 'approved' && changed) {
      const hint = `${ref} was moved from ${from} to ${to} and changed on the way, but it is approved, so it cannot change: restore its approved content in ${to}, or bump \`version\` in ${to}; then run \`artifacts index add ${to}\` (it records the move).`;
      gone[0]!.hint = hint;
      came[0]!.hint = hint;
      continue;
    }
    gone[0]!.hint = `${ref} was moved to ${to}: run \`artifacts index add ${to}\` (it records the move and drops this entry), or \`artifacts index rebuild\`.`;
    if (/route fix|would refuse/.test(came[0]!.hint ?? '')) gone[0]!.hint = `${ref} was moved to ${to}. ${came[0]!.hint}`;
    else
      came[0]!.hint = `${ref} was moved here from ${from}: run \`artifacts index add ${to}\` (it records the move), or \`artifacts index rebuild\`.`;
  }
}

/** The hint of an INDEX_STALE_ENTRY whose file still is an artifact: `index update` for a
 * draft, but an approved version is immutable (`index update` and `index rebuild` would
 * refuse with VERSION_IMMUTABLE), so there the way on is a new version or the old bytes. */
function staleHint(indexed: IndexEntry, now: IndexEntry): string {
  if (indexed.status === 'approved' && indexed.id === now.id && indexed.version === now.version) {
    return `${indexed.id}@${indexed.version} is approved, so it cannot change: bump \`version\` in ${now.path} (keep the approved file under another path if it must stay), then run \`artifacts index update ${now.path}\`; or restore its approved content (\`git checkout -- ${now.path}\`).`;
  }
  return `Run \`artifacts index update ${now.path}\`.`;
}

/** Hints for unindexed artifacts that `index add` would refuse for their routing: the way
 * on is to fix the routing first (for a misplaced file, `route fix`, then add it where it
 * went). Routing that cannot be read leaves the plain hint (validate reports it). */
async function unindexedHints(repo: Repo, entries: readonly IndexEntry[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (entries.length === 0) return out;
  let routing;
  try {
    routing = await loadRouting(repo.root, repo.config.routing, repo.config.command_routing);
  } catch {
    return out;
  }
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const f of checkArtifactRoutes(routing, entries)) {
    if (f.severity !== 'error' || f.path === undefined || out.has(f.path)) continue;
    if (f.code === 'ROUTE_MISMATCH') {
      // Where route fix will move it: the route's canonical path for the entry, computed
      // again rather than read back out of the finding's message.
      const entry = byPath.get(f.path);
      const route = entry && routeFor(routing, entry.kind);
      const to = entry && route ? canonicalPathFor(route, entry) : undefined;
      out.set(
        f.path,
        `It is not at its route's path: run \`artifacts route fix\` first (it moves the file${to ? ` to ${to}` : ''}), then ${to ? `\`artifacts index add ${to}\`` : '`artifacts index rebuild`'}.`,
      );
    } else {
      out.set(f.path, `\`artifacts index add\` would refuse it (${f.code}): ${f.hint ?? ''} Then run \`artifacts index add ${f.path}\`.`);
    }
  }
  return out;
}

/**
 * `artifacts index verify` for callers that need only the answer (the CLI command, CI).
 * When the last verification was clean and nothing it depended on has changed — the same
 * index file, an empty journal, the same configuration and tool, and the same stamps for
 * every metadata file and directory — the answer is clean again, after one lstat per file;
 * otherwise this runs {@link indexVerify}.
 *
 * @example
 * ```ts
 * const { findings, indexed } = await indexVerifySummary(repo);
 * ```
 */
export async function indexVerifySummary(repo: Repo): Promise<VerifySummary> {
  const listing = listCandidates(repo);
  listing.catch(() => undefined);
  const record = readCleanRecord(repo);
  if (record && journalEmpty(repo) && settledIndexStamp(repo, now()) === record.index && verifyFingerprint(repo) === record.fingerprint) {
    const listed = await listing;
    const { tree } = stampTree(repo, metadataFiles(listed.files), listed.git, now());
    if (tree !== undefined && tree === record.tree) {
      return { findings: [], indexed: record.indexed, scanned: record.scanned, index_digest: record.index_digest };
    }
  }
  const { findings, indexed, scanned, index_digest } = await indexVerify(repo, { listing });
  return { findings, indexed, scanned, index_digest };
}
