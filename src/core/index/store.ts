// Reading the index (lock-free) and changing it (one journaled transaction under the lock).
import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { INDEX_FILE, readCacheJson } from '../config.js';
import { ArtifactsError } from '../errors.js';
import { readCheckedSync, READ_LIMITS } from '../store/checked-read.js';
import type { DigestAlgorithm } from '../hash/digest.js';
import type { IndexEntry } from '../metadata/inspect.js';
import type { Repo } from '../repo.js';
import { cacheWriteFailed, removeFileDurable, sweepTemps, writeFileDurable } from '../store/durable-write.js';
import { appendRecord, clearJournal, readJournal, type JournalOp, type JournalRecord } from '../store/journal.js';
import { acquireLock, type LockHandle } from '../store/lock.js';
import { cacheIdentity, stampOf, stampSettled, stampString, type FileStamp } from '../stamp.js';
import {
  INDEX_FORMAT_V1,
  IndexLines,
  indexDigestValid,
  makeIndexDocument,
  parseIndex,
  serializeIndexChunks,
  type IndexDocument,
} from './document.js';

/** Pieces produced synchronously, handed to the durable writer as an async iterable. */
function asAsync<T>(it: Iterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const i = it[Symbol.iterator]();
      return { next: () => Promise.resolve(i.next()) };
    },
  };
}

function indexBytes(doc: IndexDocument): AsyncIterable<Uint8Array> {
  return asAsync(
    (function* () {
      for (const c of serializeIndexChunks(doc)) yield Buffer.from(c, 'utf8');
    })(),
  );
}

export interface IndexState {
  /** The document on disk, or null when there is no index yet. For an
   * `artifacts-index/2` file whose digest was already known good, it is parsed on first use. */
  doc: IndexDocument | null;
  /** false when index_digest does not match the content. */
  digestValid: boolean;
  /** The file as lines, when it is an `artifacts-index/2` file: lookups (by path, by
   * id@version, by folded path) and splices without parsing it whole. */
  lines?: IndexLines;
  /** The file's bytes as read (restored as they were when a transaction is abandoned). */
  bytes?: Buffer;
}

export interface ReadIndexOptions {
  /** Treat an index that cannot be parsed (not JSON, over the size cap, a FIFO or device in
   * its place) as absent: `index rebuild` replaces it and never needs the old content. A
   * directory or a symlink in its place is still refused: the tool never deletes them. */
  replaceCorrupt?: boolean;
  /** Check an `artifacts-index/2` file line by line without keeping its parsed entries
   * (they are parsed again only if `doc` is used). */
  lazy?: boolean;
  /** A reader that also keeps the lines (their bytes), to compare entries as bytes. */
  keepLines?: boolean;
}

const INDEX_DIRECTORY_HINT =
  'artifacts_index.json is a directory. The tool never deletes a directory it did not create: look inside, move or remove it yourself, then run `artifacts index rebuild`.';

/** Read artifacts_index.json as it is on disk (no journal applied). Every problem with the
 * file is an ArtifactsError with a code (INDEX_CORRUPT, SYMLINK_REFUSED), exit 4. */
export async function readIndexFile(repo: Repo, opts: ReadIndexOptions = {}): Promise<IndexState> {
  try {
    return await readIndexFileNow(repo, opts);
  } finally {
    // A digest memo this read started is written before the read returns: no write of the
    // library outlives the call that made it (a caller may remove the repository next).
    const pending = memoWrites.get(repo);
    memoWrites.delete(repo);
    await pending;
  }
}

/** Digest memo writes started by a read, awaited before that read returns. */
const memoWrites = new WeakMap<Repo, Promise<void>>();

async function readIndexFileNow(repo: Repo, opts: ReadIndexOptions): Promise<IndexState> {
  let st;
  try {
    st = await lstat(repo.indexPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { doc: null, digestValid: true };
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (st.isSymbolicLink()) throw new ArtifactsError('SYMLINK_REFUSED', 'refusing to read artifacts_index.json: it is a symlink');
  if (st.isDirectory()) {
    throw new ArtifactsError('INDEX_CORRUPT', 'artifacts_index.json is a directory, not the index file', {
      hint: INDEX_DIRECTORY_HINT,
      details: { path: INDEX_FILE, problem: 'not-regular' },
    });
  }
  const stampBefore = stampOf(repo.indexPath);
  try {
    const bytes = readCheckedSync(repo.indexPath, {
      root: repo.root,
      maxBytes: READ_LIMITS.index,
      code: 'INDEX_CORRUPT',
      label: INDEX_FILE,
      allowMissing: true,
    });
    if (bytes === undefined) return { doc: null, digestValid: true };
    const lines = IndexLines.scan(bytes);
    if (lines) return linesState(repo, bytes, lines, stampBefore, opts);
    let text: string;
    try {
      text = bytes.toString('utf8');
    } catch {
      throw new ArtifactsError('INDEX_CORRUPT', 'artifacts_index.json is too large to parse', {
        details: { path: INDEX_FILE, problem: 'too-large' },
      });
    }
    const doc = parseIndex(text);
    return { doc, digestValid: digestValidMemo(repo, doc, stampBefore), bytes };
  } catch (e) {
    if (e instanceof ArtifactsError && e.code === 'INDEX_CORRUPT') {
      if (opts.replaceCorrupt && e.details.problem !== 'symlink' && e.details.problem !== 'outside')
        return { doc: null, digestValid: true };
      if (e.details.type === 'directory')
        throw new ArtifactsError('INDEX_CORRUPT', e.message, { hint: INDEX_DIRECTORY_HINT, details: e.details });
    }
    throw e;
  }
}

/**
 * The state of an `artifacts-index/2` file. Its digest is known good without reading the
 * entries when the digest memo names this very file (its stamp); otherwise every line is
 * checked (as parseIndex would) and the digest streamed over the bytes. With `lazy` (a
 * transaction, which looks entries up by line) the parsed entries are not kept.
 */
function linesState(repo: Repo, bytes: Buffer, lines: IndexLines, stamp: FileStamp | undefined, opts: ReadIndexOptions): IndexState {
  const memo = memoSays(repo, stamp, lines.index_digest);
  if (!opts.lazy) {
    // A reader wants the entries: parse them now and keep neither the bytes nor the lines
    // (at 100,000 entries the bytes alone are tens of MB).
    const doc = lines.document({ checked: memo });
    const digestValid = memo || lines.computeDigest() === lines.index_digest;
    if (digestValid && !memo) rememberValid(repo, stamp, lines.index_digest);
    return opts.keepLines ? { doc, digestValid, lines } : { doc, digestValid };
  }
  let digestValid = memo;
  if (!memo) {
    lines.validate();
    digestValid = lines.computeDigest() === lines.index_digest;
    if (digestValid) rememberValid(repo, stamp, lines.index_digest);
  }
  let doc: IndexDocument | undefined;
  const state: IndexState = { doc: null, digestValid, lines, bytes };
  Object.defineProperty(state, 'doc', {
    enumerable: true,
    get: () => (doc ??= lines.document({ checked: true })),
  });
  return state;
}

/** A digest check costs a canonicalization of the whole index; remember a successful one
 * for an index file whose (size, mtime, ctime, inode) has not changed since. The memo is
 * only an accelerator, like the stat cache, and follows the same racy-timestamp rule and
 * cache identity (stamp.ts). */
function memoKey(stamp: FileStamp | undefined): string | undefined {
  return stamp ? stampString(stamp) : undefined;
}

/** Write the memo: `digest` is the verified index_digest of the file with stamp `key`. */
function writeDigestMemo(repo: Repo, key: string, digest: string): Promise<void> {
  return writeFileDurable(
    join(repo.cacheDir, 'index-digest.json'),
    JSON.stringify({ identity: cacheIdentity('digestMemo'), stamp: key, index_digest: digest }),
    { root: repo.root, durable: false },
  );
}

/** After our own rename the index file is a new inode holding exactly the bytes we wrote. */
async function rememberDigest(repo: Repo, digest: string): Promise<void> {
  const key = memoKey(stampOf(repo.indexPath));
  if (key) await writeDigestMemo(repo, key, digest).catch(cacheWriteFailed);
}

function memoSays(repo: Repo, stamp: FileStamp | undefined, digest: string): boolean {
  const key = memoKey(stamp);
  if (!key) return false;
  try {
    const memo = readCacheJson(repo.root, join(repo.cacheDir, 'index-digest.json')) as
      { identity?: unknown; stamp?: unknown; index_digest?: unknown } | undefined;
    return !!memo && memo.identity === cacheIdentity('digestMemo') && memo.stamp === key && memo.index_digest === digest;
  } catch {
    return false; // no memo
  }
}

function rememberValid(repo: Repo, stamp: FileStamp | undefined, digest: string): void {
  const key = memoKey(stamp);
  if (key && stamp && stampSettled(stamp)) {
    const before = memoWrites.get(repo);
    const write = writeDigestMemo(repo, key, digest).catch(() => undefined);
    memoWrites.set(repo, before ? before.then(() => write) : write);
  }
}

function digestValidMemo(repo: Repo, doc: IndexDocument, stamp: FileStamp | undefined): boolean {
  if (memoSays(repo, stamp, doc.index_digest)) return true;
  const valid = indexDigestValid(doc);
  if (valid) rememberValid(repo, stamp, doc.index_digest);
  return valid;
}

/** Apply journal operations to a list of entries (keyed by path). */
export function applyOps(base: readonly IndexEntry[], ops: readonly JournalOp[]): IndexEntry[] {
  const byPath = new Map(base.map((e) => [e.path, e]));
  for (const op of ops) {
    if (op.op === 'put') byPath.set(op.entry.path, op.entry);
    else byPath.delete(op.path);
  }
  return [...byPath.values()];
}

function replay(current: IndexDocument | null, r: JournalRecord): IndexDocument {
  const base = r.reset ? [] : (current?.artifacts ?? []);
  const entries = applyOps(base, r.entries);
  let doc = makeIndexDocument(r.digest_algorithm, entries);
  // A record written by a version of the tool that wrote artifacts-index/1.
  if (doc.index_digest !== r.after) doc = makeIndexDocument(r.digest_algorithm, entries, INDEX_FORMAT_V1);
  if (doc.index_digest !== r.after) {
    throw new ArtifactsError('JOURNAL_MISMATCH', `journal transaction ${r.txid} does not reproduce its recorded result`);
  }
  return doc;
}

/** The pending (not yet applied) records, in order, and the state they lead to. */
function pendingFrom(
  current: IndexDocument | null,
  records: readonly JournalRecord[],
): { pending: JournalRecord[]; result: IndexDocument | null } {
  let doc = current;
  const pending: JournalRecord[] = [];
  for (const r of records) {
    const cur = doc?.index_digest ?? null;
    if (cur === r.after) continue; // already applied: the crash came after the rename
    if (cur !== r.before) {
      throw new ArtifactsError(
        'JOURNAL_MISMATCH',
        `journal transaction ${r.txid} expects index ${r.before ?? '(none)'} but found ${cur ?? '(none)'}`,
      );
    }
    doc = replay(doc, r);
    pending.push(r);
  }
  return { pending, result: doc };
}

export interface IndexView extends IndexState {
  /** Committed-but-unapplied journal records that readers applied in memory. */
  pendingRecords: number;
}

/** What a reader sees: the index plus any committed journal record, applied in memory.
 * Readers never take the lock: the rename guarantees they see the old or the new file. */
export async function readIndexView(repo: Repo, opts: Pick<ReadIndexOptions, 'keepLines'> = {}): Promise<IndexView> {
  const state = await readIndexFile(repo, opts);
  const journal = await readJournal(repo.journalPath, repo.root);
  if (journal.records.length === 0) return { ...state, pendingRecords: 0 };
  const { pending, result } = pendingFrom(state.doc, journal.records);
  return { doc: result, digestValid: pending.length > 0 ? true : state.digestValid, pendingRecords: pending.length };
}

export interface RecoveryReport {
  replayed: string[];
  discardedTailBytes: number;
  alreadyApplied: number;
}

/**
 * Remove the temp files of writers that were killed (next to the index, and anywhere under
 * `.artifacts/`). Run first by every recovery, so that it also refuses, before anything is
 * written, a `.artifacts` (or a directory below it) that is a symlink leading outside.
 */
export async function checkStateDirs(repo: Repo, opts: { deep?: boolean; dryRun?: boolean } = {}): Promise<void> {
  // dryRun: judge the same directories, remove nothing (rehearsals).
  const dry = opts.dryRun ? { dryRun: true } : {};
  await sweepTemps(dirname(repo.indexPath), { root: repo.root, ...dry });
  // Every directory under .artifacts is judged (a symlink leading outside refuses the
  // command), but the object store's fan-out directories, which can hold hundreds of
  // thousands of files, are listed only by `index recover`, `gc` and `prune`.
  const fanout = join(repo.stateDir, 'objects');
  const descend = opts.deep ? undefined : (dir: string) => !(dirname(dirname(dir)) === fanout);
  await sweepTemps(repo.stateDir, { root: repo.root, recursive: true, ...(descend ? { descend } : {}), ...dry });
}

/** Finish an interrupted transaction (call with the lock held). Idempotent. */
async function recoverLocked(repo: Repo, opts: { discard?: boolean; deep?: boolean } & ReadIndexOptions = {}): Promise<RecoveryReport> {
  await checkStateDirs(repo, { deep: opts.deep === true });
  if (opts.discard) {
    // Truncating opens the file for writing, which blocks on a FIFO: only a regular file
    // (or nothing) is ever cleared; anything else in its place is for a person to remove.
    const st = await lstat(repo.journalPath).catch(() => undefined);
    if (st && !st.isFile()) {
      throw new ArtifactsError(
        'JOURNAL_CORRUPT',
        `.artifacts/journal is ${st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : 'not a regular file'}; refusing to clear it`,
        {
          hint: 'Remove .artifacts/journal yourself after checking what it is, then run `artifacts index rebuild`.',
          details: { path: '.artifacts/journal', problem: st.isSymbolicLink() ? 'symlink' : 'not-regular' },
        },
      );
    }
    await clearJournal(repo.root, repo.journalPath);
    return { replayed: [], discardedTailBytes: 0, alreadyApplied: 0 };
  }
  const journal = await readJournal(repo.journalPath, repo.root);
  if (journal.records.length === 0) {
    if (journal.discardedTailBytes > 0) await clearJournal(repo.root, repo.journalPath);
    return { replayed: [], discardedTailBytes: journal.discardedTailBytes, alreadyApplied: 0 };
  }
  const state = await readIndexFile(repo, { replaceCorrupt: !!opts.replaceCorrupt });
  const { pending, result } = pendingFrom(state.doc, journal.records);
  if (pending.length > 0 && result) await writeFileDurable(repo.indexPath, indexBytes(result), { root: repo.root });
  await clearJournal(repo.root, repo.journalPath);
  return {
    replayed: pending.map((r) => r.txid),
    discardedTailBytes: journal.discardedTailBytes,
    alreadyApplied: journal.records.length - pending.length,
  };
}

/** `artifacts index recover`: take the lock and finish (or with `discard`, drop) the tail. */
export async function recoverIndex(repo: Repo, opts: { discard?: boolean } = {}): Promise<RecoveryReport> {
  const lock = await acquireLock(repo.indexPath, { timeoutMs: repo.lockTimeoutMs });
  try {
    return await recoverLocked(repo, { ...opts, deep: true });
  } finally {
    await lock.release();
  }
}

export interface TransactionPlan<T = undefined> {
  ops: JournalOp[];
  reset?: boolean;
  algorithm?: DigestAlgorithm;
  /** What the transaction returns to its caller (as `result`). */
  result?: T;
}

export interface TransactionResult<T = undefined> {
  before: string | null;
  after: string;
  changed: boolean;
  recovered: RecoveryReport;
  /** The plan's `result`. */
  result: T;
}

/** The index a transaction writes: its digest, its bytes, and (for a journal record that
 * must list every entry) its entries. */
interface NextIndex {
  index_digest: string;
  bytes: () => AsyncIterable<Uint8Array>;
  artifacts: () => IndexEntry[];
}

/** Apply the plan's operations once: an `artifacts-index/2` file with a good digest is
 * spliced line by line (the cost grows with the change); anything else is rebuilt whole. */
function nextIndex(current: IndexState, p: TransactionPlan<unknown>, algorithm: DigestAlgorithm): NextIndex {
  const { lines } = current;
  if (!p.reset && lines && current.digestValid && lines.digest_algorithm === algorithm) {
    const s = lines.splice(p.ops);
    return {
      index_digest: s.index_digest,
      bytes: () => asAsync(s.chunks()),
      artifacts: () => makeIndexDocument(algorithm, applyOps(current.doc?.artifacts ?? [], p.ops)).artifacts,
    };
  }
  const base = p.reset ? [] : (current.doc?.artifacts ?? []);
  const doc = makeIndexDocument(algorithm, applyOps(base, p.ops));
  return { index_digest: doc.index_digest, bytes: () => indexBytes(doc), artifacts: () => doc.artifacts };
}

/**
 * Run one index transaction (SPEC §5 write protocol). `plan` sees the recovered current
 * state and returns the operations (and the `result` handed back to the caller), or throws
 * to abort with nothing written.
 */
export async function runTransaction<T = undefined>(
  repo: Repo,
  plan: (current: IndexState) => Promise<TransactionPlan<T>>,
  opts: { heldLock?: LockHandle } & ReadIndexOptions = {},
): Promise<TransactionResult<T>> {
  const hook = repo.faultHook;
  const lock = opts.heldLock ?? (await acquireLock(repo.indexPath, { timeoutMs: repo.lockTimeoutMs }));
  try {
    // Recover under the lock, before reading: the previous writer may have died mid-way.
    const recovered = await recoverLocked(repo, { replaceCorrupt: !!opts.replaceCorrupt });
    const current = await readIndexFile(repo, { replaceCorrupt: !!opts.replaceCorrupt, lazy: true });
    const p = await plan(current);
    const result = p.result as T;
    const algorithm = p.algorithm ?? current.lines?.digest_algorithm ?? current.doc?.digest_algorithm ?? repo.config.digest_algorithm;
    const next = nextIndex(current, p, algorithm);
    const before = current.lines?.index_digest ?? current.doc?.index_digest ?? null;
    if (before !== null && current.digestValid && next.index_digest === before) {
      return { before, after: before, changed: false, recovered, result };
    }
    const record: JournalRecord = {
      txid: randomBytes(8).toString('hex'),
      before,
      after: next.index_digest,
      digest_algorithm: algorithm,
      reset: p.reset ?? false,
      entries: p.ops,
    };
    // A reset (rebuild) may start from a corrupt index; journal it as a full replacement.
    if (before !== null && !current.digestValid) record.reset = true;
    // (A reset plan's operations already put every entry.)
    if (record.reset && !p.reset) record.entries = next.artifacts().map((entry) => ({ op: 'put', entry }));
    await lock.assertHeld();
    let published = false;
    try {
      // The journal record is durable before the index changes: recovery can roll forward.
      await appendRecord(repo.root, repo.journalPath, record, hook);
      await writeFileDurable(repo.indexPath, next.bytes(), {
        root: repo.root,
        faultHook: hook,
        // A lock taken over as stale must abort the write before it is published.
        beforeCommit: () => lock.assertHeld(),
        afterRename: () => {
          published = true;
        },
      });
    } catch (e) {
      // A lock taken over as stale belongs to its new holder, journal included.
      if (!(e instanceof ArtifactsError && e.code === 'LOCK_COMPROMISED')) await abandonTransaction(repo, current, published, e);
      throw e;
    }
    // Committed: the index is renamed and its directory synced. Clearing the journal is
    // housekeeping; a record left behind is recognised as applied by the next recovery.
    await clearJournal(repo.root, repo.journalPath, hook).catch(() => undefined);
    await rememberDigest(repo, next.index_digest);
    hook?.('before-release', repo.indexPath);
    return { before, after: next.index_digest, changed: true, recovered, result };
  } finally {
    if (!opts.heldLock) await lock.release();
  }
}

/**
 * Undo a transaction that failed before it was durably committed (an fsync or write error;
 * no fsync is ever retried): drop its journal record first, so that no recovery can roll it
 * forward, then, if the new index had already been renamed into place, put the old content
 * back. The caller reports the original error; a failure here is attached to it.
 */
async function abandonTransaction(repo: Repo, old: IndexState, published: boolean, cause: unknown): Promise<void> {
  try {
    await clearJournal(repo.root, repo.journalPath);
    if (published) {
      // The old bytes exactly as they were read (a file replaced as corrupt had none).
      if (old.bytes) await writeFileDurable(repo.indexPath, old.bytes, { root: repo.root });
      else await removeFileDurable(repo.indexPath, { root: repo.root });
    }
  } catch (e) {
    if (cause instanceof ArtifactsError) {
      cause.details.rollback_failed = (e as Error).message;
    }
  }
}

/** Run `fn` holding the index lock (promote and rollback hold it across several writes),
 * after recovering any interrupted index transaction. */
export async function withIndexLock<T>(repo: Repo, fn: (lock: LockHandle) => Promise<T>): Promise<T> {
  const lock = await acquireLock(repo.indexPath, { timeoutMs: repo.lockTimeoutMs });
  try {
    await recoverLocked(repo);
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
