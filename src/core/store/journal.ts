// The write-ahead journal of index transactions (SPEC §5). One record per line:
// `<json>\t<sha256 hex of json>\n`. JSON.stringify never emits a raw tab, so the tab
// separator is unambiguous. A torn or unchecksummed last record is discarded; a bad record
// followed by a good one is corruption and is reported, never silently dropped.
import { lstat } from 'node:fs/promises';
import { ArtifactsError, isArtifactsError } from '../errors.js';
import { createHash } from 'node:crypto';
import { DIGEST_ALGORITHMS, sha256Hex, type DigestAlgorithm } from '../hash/digest.js';
import { readChecked, READ_LIMITS } from './checked-read.js';
import type { IndexEntry } from '../index/entry.js';
import { appendDurable, truncateDurable, type FaultHook } from './durable-write.js';

export type JournalOp = { op: 'put'; entry: IndexEntry } | { op: 'remove'; path: string };

export interface JournalRecord {
  txid: string;
  /** index_digest before the transaction (null: there was no index). */
  before: string | null;
  after: string;
  digest_algorithm: DigestAlgorithm;
  /** Start from an empty index instead of `before` (a rebuild). */
  reset: boolean;
  entries: JournalOp[];
}

export interface JournalState {
  records: JournalRecord[];
  /** Bytes of an incomplete or unchecksummed tail that recovery discards. */
  discardedTailBytes: number;
}

export function encodeRecord(r: JournalRecord): string {
  const json = JSON.stringify(r);
  return `${json}\t${sha256Hex(json)}\n`;
}

/** The same bytes as encodeRecord, in pieces: a rebuild's record lists every entry, and
 * must not be held as one string on top of the index itself. */
export function* encodeRecordChunks(r: JournalRecord, batch = 1000): Generator<string> {
  const h = createHash('sha256');
  const emit = (s: string) => {
    h.update(s);
    return s;
  };
  const { entries, ...head } = r;
  const headJson = JSON.stringify({ ...head, entries: [] });
  // Everything up to the entries array, which is the last key in the record.
  yield emit(headJson.slice(0, -2));
  for (let i = 0; i < entries.length; i += batch) {
    yield emit(
      (i > 0 ? ',' : '') +
        entries
          .slice(i, i + batch)
          .map((e) => JSON.stringify(e))
          .join(','),
    );
  }
  yield emit(']}');
  yield `\t${h.digest('hex')}\n`;
}

function decodeLine(line: string): JournalRecord | undefined {
  const tab = line.lastIndexOf('\t');
  if (tab < 0) return undefined;
  const json = line.slice(0, tab);
  if (sha256Hex(json) !== line.slice(tab + 1)) return undefined;
  try {
    const r = JSON.parse(json) as JournalRecord;
    // A record is repository content too: one of the wrong shape is damaged, never a crash.
    if (r === null || typeof r !== 'object' || typeof r.txid !== 'string' || typeof r.after !== 'string' || !Array.isArray(r.entries))
      return undefined;
    if (
      !(r.before === null || typeof r.before === 'string') ||
      typeof r.reset !== 'boolean' ||
      !DIGEST_ALGORITHMS.includes(r.digest_algorithm)
    )
      return undefined;
    if (!r.entries.every(opShapeValid)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

const ENTRY_STRING_FIELDS = ['id', 'version', 'status', 'framework', 'kind', 'path', 'content_address'] as const;

function opShapeValid(op: unknown): boolean {
  if (op === null || typeof op !== 'object') return false;
  const o = op as { op?: unknown; path?: unknown; entry?: unknown };
  if (o.op === 'remove') return typeof o.path === 'string';
  if (o.op !== 'put' || o.entry === null || typeof o.entry !== 'object' || Array.isArray(o.entry)) return false;
  const e = o.entry as Record<string, unknown>;
  return ENTRY_STRING_FIELDS.every((f) => typeof e[f] === 'string') && typeof e.size === 'number';
}

/** Parse journal bytes. Throws JOURNAL_CORRUPT when a damaged record precedes a good one. */
export function parseJournal(text: string): JournalState {
  const records: JournalRecord[] = [];
  if (text.length === 0) return { records, discardedTailBytes: 0 };
  const lines = text.split('\n');
  // The segment after the last newline is either empty or a torn write.
  const tail = lines.pop() ?? '';
  let discarded = Buffer.byteLength(tail);
  let badAt: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const r = decodeLine(lines[i]!);
    if (r === undefined) {
      if (badAt === undefined) badAt = i;
      continue;
    }
    if (badAt !== undefined) {
      throw new ArtifactsError('JOURNAL_CORRUPT', `journal record ${badAt + 1} is damaged but later records are intact`, {
        details: { record: badAt + 1 },
      });
    }
    records.push(r);
  }
  if (badAt !== undefined) {
    for (let i = badAt; i < lines.length; i++) discarded += Buffer.byteLength(lines[i]!) + 1;
  }
  return { records, discardedTailBytes: discarded };
}

/** Read the journal under the checked-read rules (`root`: the repository root): a symlink
 * is SYMLINK_REFUSED, a FIFO, device, directory or oversized file JOURNAL_CORRUPT (exit 4). */
export async function readJournal(file: string, root: string): Promise<JournalState> {
  try {
    if ((await lstat(file)).isSymbolicLink()) {
      throw new ArtifactsError('SYMLINK_REFUSED', 'refusing to read .artifacts/journal: it is a symlink');
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], discardedTailBytes: 0 };
    if (isArtifactsError(e)) throw e;
    throw new ArtifactsError('JOURNAL_CORRUPT', `.artifacts/journal could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const bytes = await readChecked(file, {
    root,
    maxBytes: READ_LIMITS.index,
    code: 'JOURNAL_CORRUPT',
    label: '.artifacts/journal',
    allowMissing: true,
  });
  if (bytes === undefined) return { records: [], discardedTailBytes: 0 };
  let text: string;
  try {
    text = bytes.toString('utf8');
  } catch {
    throw new ArtifactsError('JOURNAL_CORRUPT', '.artifacts/journal is too large to parse', { details: { problem: 'too-large' } });
  }
  return parseJournal(text);
}

export function appendRecord(root: string, file: string, r: JournalRecord, faultHook?: FaultHook): Promise<void> {
  return appendDurable(file, toBytes(encodeRecordChunks(r)), { root, faultHook });
}

async function* toBytes(chunks: Iterable<string>): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield Buffer.from(c, 'utf8');
}

export function clearJournal(root: string, file: string, faultHook?: FaultHook): Promise<void> {
  return truncateDurable(file, { root, faultHook });
}
