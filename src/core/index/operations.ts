// The index commands as library functions: add, update, remove, rebuild, verify.
import { realpathSync } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { isMarkdownPath, sidecarTarget, SIDECAR_SUFFIXES, type IndexEntry } from '../metadata/inspect.js';
import { compareBytes, isInside, toRepoPath } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkArtifactRoutes, loadRouting } from '../routing/routes.js';
import type { JournalOp } from '../store/journal.js';
import { isCandidatePath, listCandidates } from './enumerate.js';
import { checkCollection, checkImmutable, metadataFiles, scanFiles, stampTree } from './scan.js';
import { journalEmpty, readCleanRecord, settledIndexStamp, verifyFingerprint, writeCleanRecord } from './clean-verify.js';
import { unsafeEntryFindings } from './decision-index.js';
import { entriesEqual } from './document.js';
import { applyOps, readIndexView, runTransaction, type TransactionResult } from './store.js';

export interface WriteResult {
  changed: boolean;
  before: string | null;
  after: string;
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
  recovered: { replayed: string[]; discardedTailBytes: number };
}

function errorsOf(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}

function fail(findings: Finding[], what: string): never {
  const first = findings[0]!;
  throw new ArtifactsError(first.code, `${what}: ${findings.length} problem${findings.length === 1 ? '' : 's'} found; nothing was written`, { findings });
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
      continue;
    }
    if (!st.isFile()) {
      // A FIFO or device is never opened: reading one would block or never end.
      const what = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
      notRegular.push(finding('FILE_NOT_REGULAR', `${rel} is ${what}, not a regular file`, { path: rel }));
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
    if (meta === rel && !isMarkdownPath(rel) && sidecarTarget(rel) === undefined) throw new ArtifactsError('USAGE', `${p} is neither Markdown nor a file with an .artifact.yaml/.artifact.json sidecar`);
    explicit.add(meta);
  }
  if (notRegular.length > 0) {
    throw new ArtifactsError('FILE_NOT_REGULAR', `${notRegular.length} path${notRegular.length === 1 ? ' is' : 's are'} not a regular file; nothing was written`, { findings: notRegular });
  }
  for (const e of explicit) walked.delete(e);
  return { explicit: [...explicit].sort(compareBytes), walked: [...walked].filter((w) => isCandidatePath(repo, w)).sort(compareBytes) };
}

function summarize(tx: TransactionResult, ops: JournalOp[], previous: Map<string, IndexEntry>, unchanged: string[]): WriteResult {
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
  };
}

/**
 * `artifacts index add|update`: validate, route-check, hash and insert artifacts in one
 * transaction (all or nothing). Throws {@link ArtifactsError} with the findings on failure.
 *
 * @example
 * ```ts
 * const r = await indexAdd(repo, ['docs/plans/fwk-001/plan-x.md']);
 * console.log(r.added, r.after);
 * ```
 */
export async function indexAdd(repo: Repo, paths: readonly string[], opts: { update?: boolean } = {}): Promise<WriteResult> {
  if (paths.length === 0) throw new ArtifactsError('USAGE', 'no paths given');
  const { explicit, walked } = await resolveArtifactPaths(repo, paths);
  const [a, b, routing] = await Promise.all([
    scanFiles(repo, { files: explicit, explicit: true }),
    scanFiles(repo, { files: walked }),
    loadRouting(repo.root, repo.config.routing, repo.config.command_routing),
  ]);
  const entries = [...a.entries, ...b.entries];
  const pre = errorsOf([...a.findings, ...b.findings, ...checkArtifactRoutes(routing, entries)]);
  if (pre.length > 0) fail(pre, opts.update ? 'index update' : 'index add');
  let ops: JournalOp[] = [];
  let previous = new Map<string, IndexEntry>();
  let unchanged: string[] = [];
  const tx = await runTransaction(repo, async (current) => {
    if (current.doc && !current.digestValid) {
      throw new ArtifactsError('INDEX_DIGEST_MISMATCH', 'artifacts_index.json fails its index_digest check; refusing to build on it');
    }
    const cur = current.doc?.artifacts ?? [];
    previous = new Map(cur.map((e) => [e.path, e]));
    const findings: Finding[] = [];
    if (opts.update) {
      for (const e of entries) if (!previous.has(e.path)) findings.push(finding('INDEX_NOT_INDEXED', `${e.path} is not indexed yet`, { path: e.path, hint: 'Use `artifacts index add` for new artifacts.' }));
    }
    ops = [];
    unchanged = [];
    for (const e of entries) {
      const old = previous.get(e.path);
      if (old && entriesEqual(old, e)) unchanged.push(e.path);
      else ops.push({ op: 'put', entry: e });
    }
    // Judge duplicates and collisions on the merged result, but only those that involve the
    // new entries (by their structured subjects: an artifact version or a path).
    const merged = applyOps(cur, ops);
    const touchedRefs = new Set(entries.map((e) => `${e.id}@${e.version}`));
    const touchedPaths = new Set(entries.map((e) => e.path));
    findings.push(
      ...checkCollection(merged, cur).filter(
        (f) => (f.refs ?? []).some((r) => touchedRefs.has(r)) || (f.paths ?? (f.path !== undefined ? [f.path] : [])).some((p) => touchedPaths.has(p)),
      ),
    );
    if (errorsOf(findings).length > 0) fail(findings, opts.update ? 'index update' : 'index add');
    return { ops };
  });
  return summarize(tx, ops, previous, unchanged);
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
  let ops: JournalOp[] = [];
  let previous = new Map<string, IndexEntry>();
  const tx = await runTransaction(repo, async (current) => {
    const cur = current.doc?.artifacts ?? [];
    previous = new Map(cur.map((e) => [e.path, e]));
    const findings: Finding[] = [];
    const paths = new Set<string>();
    for (const ref of refs) {
      const byVersion = cur.filter((e) => `${e.id}@${e.version}` === ref);
      const rel = isAbsolute(ref) ? toRepoPath(repo.root, ref) : ref.replace(/^\.\//, '');
      const byPath = cur.filter((e) => e.path === rel);
      const hits = [...byVersion, ...byPath];
      if (hits.length === 0) findings.push(finding('INDEX_NOT_INDEXED', `${ref} is not in the index`));
      for (const h of hits) paths.add(h.path);
    }
    if (findings.length > 0) fail(findings, 'index remove');
    ops = [...paths].sort(compareBytes).map((path) => ({ op: 'remove', path }));
    return { ops };
  });
  return summarize(tx, ops, previous, []);
}

/**
 * `artifacts index rebuild`: rescan the tree and write the index; the bytes are a pure
 * function of the artifacts.
 *
 * @example
 * ```ts
 * const { count, after } = await indexRebuild(repo);
 * ```
 */
export async function indexRebuild(repo: Repo, opts: { useCache?: boolean } = {}): Promise<WriteResult & { count: number }> {
  const [scan, routing] = await Promise.all([scanFiles(repo, { useCache: opts.useCache ?? true }), loadRouting(repo.root, repo.config.routing, repo.config.command_routing)]);
  const pre = errorsOf([...scan.findings, ...checkArtifactRoutes(routing, scan.entries), ...checkCollection(scan.entries, [])]);
  if (pre.length > 0) fail(pre, 'index rebuild');
  let previous = new Map<string, IndexEntry>();
  let ops: JournalOp[] = [];
  const tx = await runTransaction(repo, async (current) => {
    const cur = current.doc && current.digestValid ? current.doc.artifacts : [];
    previous = new Map(cur.map((e) => [e.path, e]));
    // Duplicates and collisions were judged on the scan above; only immutability depends on
    // the index found under the lock.
    const immut = errorsOf(checkImmutable(scan.entries, cur));
    if (immut.length > 0) fail(immut, 'index rebuild');
    const next = new Set(scan.entries.map((e) => e.path));
    ops = [
      ...scan.entries.filter((e) => !entriesEqual(previous.get(e.path), e)).map((entry): JournalOp => ({ op: 'put', entry })),
      ...[...previous.keys()].filter((p) => !next.has(p)).map((path): JournalOp => ({ op: 'remove', path })),
    ];
    return { reset: true, ops: scan.entries.map((entry) => ({ op: 'put', entry })), algorithm: repo.config.digest_algorithm };
    // A rebuild never needs the old index: one that cannot even be parsed is replaced.
  }, { replaceCorrupt: true });
  const written = new Set(ops.flatMap((o) => (o.op === 'put' ? [o.entry.path] : [])));
  const unchanged = scan.entries.filter((e) => !written.has(e.path)).map((e) => e.path);
  return { ...summarize(tx, ops, previous, unchanged), count: scan.entries.length };
}

/** What `index verify` reports. */
export interface VerifySummary {
  findings: Finding[];
  indexed: number;
  scanned: number;
  index_digest: string | null;
}

export interface VerifyResult extends VerifySummary {
  /** The valid artifacts found in the tree (callers reuse them instead of scanning again). */
  entries: IndexEntry[];
  /** The indexed entries (with any pending journal record applied). */
  indexedEntries: IndexEntry[];
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
  const indexStamp = settledIndexStamp(repo, Date.now());
  const noJournal = journalEmpty(repo);
  const view = await readIndexView(repo);
  if (view.pendingRecords > 0) {
    findings.push(finding('JOURNAL_PENDING', `${view.pendingRecords} interrupted transaction(s) in .artifacts/journal are not applied to artifacts_index.json`, { path: '.artifacts/journal' }));
  }
  const scan = await scanFiles(repo, { listing, expected: new Map((view.doc?.artifacts ?? []).map((e) => [e.path, e])) });
  findings.push(...scan.findings);
  findings.push(...checkCollection(scan.entries, []));
  if (!view.doc) {
    if (scan.entries.length > 0) findings.push(finding('INDEX_NOT_FOUND', `artifacts_index.json does not exist but ${scan.entries.length} artifact(s) were found`, { path: 'artifacts_index.json' }));
    return { findings, indexed: 0, scanned: scan.entries.length, index_digest: null, entries: scan.entries, indexedEntries: [] };
  }
  if (!view.digestValid) {
    findings.push(finding('INDEX_DIGEST_MISMATCH', `index_digest ${view.doc.index_digest} does not match the index content`, { path: 'artifacts_index.json' }));
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
  const scanned = new Map(scan.entries.map((e) => [e.path, e]));
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
        const what = now.content_address !== e.content_address ? `content changed (${e.content_address} -> ${now.content_address})` : 'metadata changed';
        findings.push(finding('INDEX_STALE_ENTRY', `${e.path}: ${what}`, { path: e.path, hint: staleHint(e, now) }));
      }
      continue;
    }
    if (invalidPaths.has(e.path)) continue; // its metadata findings are already reported
    const st = await lstat(resolve(repo.root, e.path)).catch(() => undefined);
    if (!st) findings.push(finding('INDEX_MISSING_FILE', `${e.path} (${e.id}@${e.version}) is indexed but missing`, { path: e.path, refs: [`${e.id}@${e.version}`], hint: `Restore the file (\`git checkout -- ${e.path}\`), or drop the entry: \`artifacts index remove ${e.id}@${e.version}\` (or \`artifacts index rebuild\`).` }));
    else if (!st.isFile()) {
      const what = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'not a regular file';
      findings.push(finding('FILE_NOT_REGULAR', `${e.path} (${e.id}@${e.version}) is indexed but is ${what}; it is never opened`, { path: e.path }));
    } else {
      findings.push(
        finding('INDEX_STALE_ENTRY', `${e.path} is indexed but is no longer an artifact in scope`, {
          path: e.path,
          hint: `Restore its metadata, or drop the entry: \`artifacts index remove ${e.path}\` (or \`artifacts index rebuild\`).`,
        }),
      );
    }
  }
  const indexedPaths = new Set(view.doc.artifacts.map((e) => e.path));
  const unindexed = scan.entries.filter((e) => !indexedPaths.has(e.path));
  const hints = await unindexedHints(repo, unindexed);
  for (const e of unindexed) {
    findings.push(finding('INDEX_UNINDEXED', `${e.path} (${e.id}@${e.version}) is not in the index`, { path: e.path, refs: [`${e.id}@${e.version}`], hint: hints.get(e.path) ?? `Run \`artifacts index add ${e.path}\`.` }));
  }
  if (findings.length === 0 && scan.treeStamp && indexStamp && noJournal) {
    await writeCleanRecord(repo, { fingerprint, index: indexStamp, index_digest: view.doc.index_digest, indexed: view.doc.artifacts.length, scanned: scan.entries.length, tree: scan.treeStamp });
  }
  return { findings, indexed: view.doc.artifacts.length, scanned: scan.entries.length, index_digest: view.doc.index_digest, entries: scan.entries, indexedEntries: view.doc.artifacts };
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
  for (const f of checkArtifactRoutes(routing, entries)) {
    if (f.severity !== 'error' || f.path === undefined || out.has(f.path)) continue;
    if (f.code === 'ROUTE_MISMATCH') {
      const to = /should be at (.*)$/.exec(f.message)?.[1];
      out.set(f.path, `It is not at its route's path: run \`artifacts route fix\` first (it moves the file${to ? ` to ${to}` : ''}), then ${to ? `\`artifacts index add ${to}\`` : '\`artifacts index rebuild\`'}.`);
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
  if (record && journalEmpty(repo) && settledIndexStamp(repo, Date.now()) === record.index && verifyFingerprint(repo) === record.fingerprint) {
    const listed = await listing;
    const { tree } = stampTree(repo, metadataFiles(listed.files), listed.git, Date.now());
    if (tree !== undefined && tree === record.tree) {
      return { findings: [], indexed: record.indexed, scanned: record.scanned, index_digest: record.index_digest };
    }
  }
  const { findings, indexed, scanned, index_digest } = await indexVerify(repo, { listing });
  return { findings, indexed, scanned, index_digest };
}
