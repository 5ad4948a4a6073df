// The index document (SPEC §5): deterministic bytes — keys sorted, entries sorted by id,
// version, path, two-space indentation, final newline — and its `index_digest`.
// `artifacts-index/2` (written) puts each entry on one line in its RFC 8785 form;
// `artifacts-index/1` (still read) pretty-prints each entry over several lines.
import { parseJsonQuiet } from '../store/checked-read.js';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError } from '../errors.js';
import { createHash } from 'node:crypto';
import { isAscii } from 'node:buffer';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from '../hash/digest.js';
import type { IndexEntry } from '../metadata/inspect.js';
import { compareBytes } from '../paths.js';

/** The format every write produces. */
export const INDEX_FORMAT = 'artifacts-index/2';
/** The earlier format, still read everywhere (`index migrate` converts it). */
export const INDEX_FORMAT_V1 = 'artifacts-index/1';
export type IndexFormat = typeof INDEX_FORMAT | typeof INDEX_FORMAT_V1;

export interface IndexDocument {
  format: IndexFormat;
  digest_algorithm: DigestAlgorithm;
  artifacts: IndexEntry[];
  index_digest: string;
}

export function compareEntries(a: IndexEntry, b: IndexEntry): number {
  return compareBytes(a.id, b.id) || compareBytes(a.version, b.version) || compareBytes(a.path, b.path);
}

/** Are an entry's keys in sorted order (its values are scalars or string arrays)? */
function keysSorted(e: IndexEntry): boolean {
  let prev = '';
  for (const k in e) {
    if (compareBytes(prev, k) >= 0 && prev !== '') return false;
    prev = k;
  }
  return true;
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort(compareBytes)) out[k] = sortKeysDeep((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** RFC 8785 form of one entry. An entry whose keys are already in sorted order and whose
 * values are strings, integers or string arrays serialises canonically with plain
 * JSON.stringify (RFC 8785 adopts ECMAScript's string and number serialisation), which is
 * several times faster than the general canonicalizer; anything else takes the general path. */
export function canonicalEntry(e: IndexEntry): string {
  const rec = e as unknown as Record<string, unknown>;
  let prev = '';
  for (const k in rec) {
    const v = rec[k];
    const simple =
      typeof v === 'string' ||
      (typeof v === 'number' && Number.isSafeInteger(v)) ||
      (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!(k > prev) || !simple) return canonicalJson(e);
    prev = k;
  }
  const s = JSON.stringify(e);
  // A lone surrogate has no canonical form: let the general path reject it.
  return s.includes('\\ud') ? canonicalJson(e) : s;
}

/** `index_digest`: SHA-256 of the RFC 8785 form of the document without the field.
 * Hashed piece by piece — `{"artifacts":[e1,e2,…],"digest_algorithm":…,"format":…}` is
 * exactly the canonical form, since those keys sort in that order — so that a large index
 * is never held as one canonical string. */
export function computeIndexDigest(doc: Omit<IndexDocument, 'index_digest'>): string {
  const h = createHash('sha256');
  h.update('{"artifacts":[');
  doc.artifacts.forEach((e, i) => {
    if (i > 0) h.update(',');
    h.update(canonicalEntry(e));
  });
  h.update(`],"digest_algorithm":${canonicalJson(doc.digest_algorithm)},"format":${canonicalJson(doc.format)}}`);
  return `sha256:${h.digest('hex')}`;
}

/** Build a complete document from entries (sorted here; callers need not sort). Every
 * write produces `artifacts-index/2`; `format` exists for reproducing an older record. */
export function makeIndexDocument(
  algo: DigestAlgorithm,
  entries: readonly IndexEntry[],
  format: IndexFormat = INDEX_FORMAT,
): IndexDocument {
  // Entries read from an index already have sorted keys; only new ones need sorting.
  const artifacts = [...entries].sort(compareEntries).map((e) => (keysSorted(e) ? e : (sortKeysDeep(e) as IndexEntry)));
  // Keys in sorted order, so that serializeIndex needs no second pass.
  const base = { artifacts, digest_algorithm: algo, format };
  return { ...base, index_digest: computeIndexDigest(base) };
}

/** The exact bytes written to artifacts_index.json (documents from makeIndexDocument,
 * whose keys are already sorted at every level). */
export function serializeIndex(doc: IndexDocument): string {
  return [...serializeIndexChunks(doc)].join('');
}

/** The lines after the entries: `digest_algorithm`, `format`, `index_digest`. */
function indexFooter(algo: string, format: string, digest: string): string {
  return `  "digest_algorithm": ${JSON.stringify(algo)},\n  "format": ${JSON.stringify(format)},\n  "index_digest": ${JSON.stringify(digest)}\n}\n`;
}

/**
 * The same bytes in pieces of about `batch` entries, so that a large index is written
 * without ever holding its whole text. In `artifacts-index/2` an entry is one line: four
 * spaces, its RFC 8785 form, a comma unless it is the last. In `artifacts-index/1` an entry
 * is `JSON.stringify(entry, null, 2)` with every following line indented by four more
 * spaces — what `JSON.stringify(document, null, 2)` produces at that depth.
 */
export function* serializeIndexChunks(doc: IndexDocument, batch = 1000): Generator<string> {
  const { artifacts } = doc;
  const v1 = doc.format === INDEX_FORMAT_V1;
  if (artifacts.length === 0) yield '{\n  "artifacts": [],\n';
  else {
    yield '{\n  "artifacts": [\n';
    for (let i = 0; i < artifacts.length; i += batch) {
      const part = artifacts
        .slice(i, i + batch)
        .map(
          (e, k) =>
            `    ${v1 ? JSON.stringify(e, null, 2).replace(/\n/g, '\n    ') : canonicalEntry(e)}${i + k < artifacts.length - 1 ? ',' : ''}\n`,
        );
      yield part.join('');
    }
    yield '  ],\n';
  }
  yield indexFooter(doc.digest_algorithm, doc.format, doc.index_digest);
}

const ENTRY_STRING_FIELDS = ['id', 'version', 'status', 'framework', 'kind', 'path', 'content_address'] as const;
const ENTRY_OPTIONAL_STRINGS = ['checksum', 'created_at', 'updated_at', 'metadata_address'] as const;

/** Structural check of one parsed entry; throws INDEX_CORRUPT. */
function checkEntry(e: unknown, i: number): asserts e is IndexEntry {
  const x = e as Record<string, unknown> | null;
  if (
    x === null ||
    typeof x !== 'object' ||
    Array.isArray(x) ||
    ENTRY_STRING_FIELDS.some((f) => typeof x[f] !== 'string') ||
    typeof x.size !== 'number'
  ) {
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i} is malformed`);
  }
  // Optional fields are used as what they claim to be (times, references): a value of
  // another type is damage, not something for a later command to trip over.
  if (ENTRY_OPTIONAL_STRINGS.some((f) => x[f] !== undefined && typeof x[f] !== 'string')) {
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i} has a malformed optional field`);
  }
  if (x.derived_from !== undefined && !(Array.isArray(x.derived_from) && x.derived_from.every((r) => typeof r === 'string'))) {
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i}: derived_from is not a list of id@version strings`);
  }
}

/** Entries of an `artifacts-index/2` document must be strictly sorted by (id, version,
 * path), with no path twice: the order is part of the format (a binary search relies on it). */
function checkOrder(prev: IndexEntry | undefined, e: IndexEntry, i: number, paths: Set<string>): void {
  if (prev !== undefined && compareEntries(prev, e) >= 0) {
    throw new ArtifactsError(
      'INDEX_CORRUPT',
      `artifacts_index.json entry ${i} is out of order or repeated (entries are sorted by id, version, path)`,
      { details: { path: INDEX_FILE_NAME, problem: 'layout' } },
    );
  }
  if (paths.has(e.path))
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i}: its path is indexed twice`, {
      details: { path: INDEX_FILE_NAME, problem: 'layout' },
    });
  paths.add(e.path);
}

const INDEX_FILE_NAME = 'artifacts_index.json';

function notCanonical(what: string): ArtifactsError {
  return new ArtifactsError(
    'INDEX_CORRUPT',
    `artifacts_index.json is not laid out as an ${INDEX_FORMAT} document (${what}); run \`artifacts index rebuild\``,
    {
      details: { path: INDEX_FILE_NAME, problem: 'layout' },
    },
  );
}

/** Parse and structurally check index bytes; throws INDEX_CORRUPT. Does not check the digest.
 * An `artifacts-index/2` document must be exactly the bytes this tool writes for it (each
 * entry one canonical line, sorted, each path once): anything else is INDEX_CORRUPT, so
 * that the line reader ({@link IndexLines}) and this parser agree on every byte string. */
export function parseIndex(text: string): IndexDocument {
  // Quietly: the parser's own message would quote the file.
  const parsed = parseJsonQuiet(text);
  if (!parsed.ok) throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json is not valid JSON (${parsed.error})`);
  const doc = parsed.value;
  const d = doc as Partial<IndexDocument>;
  if (d === null || typeof d !== 'object' || (d.format !== INDEX_FORMAT && d.format !== INDEX_FORMAT_V1)) {
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json is not an ${INDEX_FORMAT} (or ${INDEX_FORMAT_V1}) document`);
  }
  if (
    !DIGEST_ALGORITHMS.includes(d.digest_algorithm as DigestAlgorithm) ||
    !Array.isArray(d.artifacts) ||
    typeof d.index_digest !== 'string'
  ) {
    throw new ArtifactsError('INDEX_CORRUPT', 'artifacts_index.json lacks digest_algorithm, artifacts or index_digest');
  }
  d.artifacts.forEach((e: unknown, i) => checkEntry(e, i));
  if (d.format === INDEX_FORMAT) {
    const paths = new Set<string>();
    d.artifacts.forEach((e, i) => checkOrder(d.artifacts![i - 1], e, i, paths));
    if (Object.keys(d).length !== 4) throw notCanonical('unexpected top-level fields');
    // (canonicalEntry throws for a value with no canonical form, a lone surrogate.)
    let same: boolean;
    try {
      same = serializeIndex(d as IndexDocument) === text;
    } catch {
      same = false;
    }
    if (!same) throw notCanonical('the bytes differ from the canonical layout');
  }
  return d as IndexDocument;
}

/**
 * An `artifacts-index/2` file read as lines, without parsing it whole: each entry's
 * canonical text is located by offsets into the file's bytes, parsed only when asked for.
 * `index_digest` is computed by streaming those bytes; {@link IndexLines.validate} checks
 * every line (JSON, structure, canonical form, order) exactly as {@link parseIndex} would.
 */
export class IndexLines {
  /** Entry i is buf[starts[i], ends[i]) (its canonical text, without indent or comma). */
  private constructor(
    readonly buf: Buffer,
    readonly digest_algorithm: DigestAlgorithm,
    readonly index_digest: string,
    private readonly starts: Uint32Array | number[],
    private readonly ends: Uint32Array | number[],
  ) {}

  /** Locate the lines of an `artifacts-index/2` file; undefined when the bytes are not in
   * the exact layout (the caller then parses the whole text, which gives the verdict). */
  static scan(buf: Buffer): IndexLines | undefined {
    const head = '{\n  "artifacts": [';
    if (buf.length < head.length + 8 || buf.toString('latin1', 0, head.length) !== head) return undefined;
    const starts: number[] = [];
    const ends: number[] = [];
    let pos: number;
    if (buf[head.length] === 0x5d /* ] */) {
      if (buf.toString('latin1', head.length, head.length + 3) !== '],\n') return undefined;
      pos = head.length + 3;
    } else {
      if (buf[head.length] !== 0x0a) return undefined;
      pos = head.length + 1;
      for (;;) {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0) return undefined;
        // "  ],": the end of the array.
        if (nl - pos === 4 && buf[pos] === 0x20 && buf[pos + 1] === 0x20 && buf[pos + 2] === 0x5d && buf[pos + 3] === 0x2c) {
          if (starts.length === 0) return undefined;
          pos = nl + 1;
          break;
        }
        // "    {...}," or, for the last entry, "    {...}"
        if (buf[pos] !== 0x20 || buf[pos + 1] !== 0x20 || buf[pos + 2] !== 0x20 || buf[pos + 3] !== 0x20 || buf[pos + 4] !== 0x7b)
          return undefined;
        const comma = buf[nl - 1] === 0x2c;
        const end = comma ? nl - 1 : nl;
        if (buf[end - 1] !== 0x7d) return undefined;
        // Only the last entry has no comma.
        if (ends.length > 0 && buf[ends[ends.length - 1]!] !== 0x2c) return undefined;
        starts.push(pos + 4);
        ends.push(end);
        pos = nl + 1;
      }
      if (buf[ends[ends.length - 1]!] === 0x2c) return undefined;
    }
    // (index_digest: a string JSON.stringify writes as it is, between quotes.)
    const tail = buf.toString('utf8', pos);
    const m =
      /^ {2}"digest_algorithm": "([a-z0-9-]+)",\n {2}"format": "artifacts-index\/2",\n {2}"index_digest": "([^"\\\u0000-\u001f]*)"\n\}\n$/.exec(
        tail,
      );
    if (!m || !DIGEST_ALGORITHMS.includes(m[1] as DigestAlgorithm)) return undefined;
    return new IndexLines(buf, m[1] as DigestAlgorithm, m[2]!, Uint32Array.from(starts), Uint32Array.from(ends));
  }

  get count(): number {
    return this.starts.length;
  }

  /** Where the canonical text of entry i lies in {@link buf}. */
  range(i: number): { start: number; end: number } {
    return { start: this.starts[i]!, end: this.ends[i]! };
  }

  /** The canonical text of entry i. */
  line(i: number): string {
    return this.buf.toString('utf8', this.starts[i], this.ends[i]);
  }

  /** Entry i, parsed (a line the validation has passed, or one this tool wrote). */
  entry(i: number): IndexEntry {
    return JSON.parse(this.line(i)) as IndexEntry;
  }

  /** Every entry, parsed and checked: what {@link parseIndex} returns for the same bytes
   * (throws INDEX_CORRUPT where it would). */
  entries(): IndexEntry[] {
    const out = new Array<IndexEntry>(this.count);
    const paths = new Set<string>();
    for (let i = 0; i < this.count; i++) {
      const text = this.line(i);
      const parsed = parseJsonQuiet(text);
      if (!parsed.ok) throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json is not valid JSON (entry ${i}: ${parsed.error})`);
      checkEntry(parsed.value, i);
      const e = parsed.value;
      checkOrder(out[i - 1], e, i, paths);
      let canon: string | undefined;
      try {
        canon = canonicalEntry(e);
      } catch {
        canon = undefined;
      }
      if (canon !== text) throw notCanonical(`entry ${i} is not in its RFC 8785 form`);
      out[i] = e;
    }
    return out;
  }

  /** Check every line as {@link parseIndex} would, keeping nothing. */
  validate(): void {
    // (entries() holds the parsed entries; at 100k entries that is tens of MB, freed here.)
    this.entries();
  }

  /** The document, parsed and checked. */
  document(opts: { checked?: boolean } = {}): IndexDocument {
    return {
      artifacts: opts.checked ? this.checkedEntries() : this.entries(),
      digest_algorithm: this.digest_algorithm,
      format: INDEX_FORMAT,
      index_digest: this.index_digest,
    };
  }

  /** The entries of bytes already checked line by line (by this tool when it wrote them, or
   * by {@link validate} since: the digest memo names the file's stamp). One JSON.parse per
   * batch of lines (the bytes between two lines are JSON whitespace and a comma) is several
   * times faster than one per line, and never holds the whole text as one string. */
  private checkedEntries(): IndexEntry[] {
    const out = new Array<IndexEntry>(this.count);
    for (let i = 0; i < this.count; i += PARSE_BATCH) {
      const j = Math.min(this.count, i + PARSE_BATCH);
      const parsed = parseJsonQuiet(`[${this.buf.toString('utf8', this.starts[i], this.ends[j - 1])}]`);
      const part = parsed.ok ? parsed.value : undefined;
      if (!Array.isArray(part) || part.length !== j - i) return this.entries();
      part.forEach((e: unknown, k) => {
        checkEntry(e, i + k);
        out[i + k] = e;
      });
    }
    return out;
  }

  /** index_digest of these bytes, streamed: the lines are already canonical, so the
   * canonical document is `{"artifacts":[` + the lines joined by commas + the rest. */
  computeDigest(): string {
    const { buf, starts, ends } = this;
    return digestOfLines(this.digest_algorithm, { n: this.count, buf: () => buf, start: (i) => starts[i]!, end: (i) => ends[i]! });
  }

  /** The first line whose entry sorts at or after (id, version, path). */
  lowerBound(id: string, version: string, path: string): number {
    let lo = 0;
    let hi = this.count;
    const key = { id, version, path } as IndexEntry;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntries(this.entry(mid), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The lines of id@version (contiguous: lines are sorted by id, then version). */
  findVersion(id: string, version: string): number[] {
    const out: number[] = [];
    for (let i = this.lowerBound(id, version, ''); i < this.count; i++) {
      const e = this.entry(i);
      if (e.id !== id || e.version !== version) break;
      out.push(i);
    }
    return out;
  }

  /** The line of the entry at `path`, if any: a byte search for its `"path":` member (in a
   * canonical line a member's key is never inside a string), confirmed by parsing. */
  findPath(path: string): number | undefined {
    const needle = Buffer.from(`"path":${JSON.stringify(path)}`, 'utf8');
    for (let at = this.buf.indexOf(needle, 0); at >= 0; at = this.buf.indexOf(needle, at + 1)) {
      const i = this.lineAt(at);
      if (i !== undefined && this.entry(i).path === path) return i;
    }
    return undefined;
  }

  /** The line holding byte offset `at`. */
  private lineAt(at: number): number | undefined {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.count && this.starts[lo]! <= at ? lo : undefined;
  }

  /**
   * The lines whose path, case-folded and NFC-normalised, is one of `folded`. The bytes are
   * searched (natively) for `"path":"`; right after `{` or `,` it opens a member named path
   * (a quote inside a string is escaped). A line with exactly one such member has it at the
   * top level, and its value is read in place: an ASCII value without escapes folds to its
   * own bytes lower-cased, so it is compared byte by byte with the wanted ASCII keys without
   * making a string. A line with none or several (an extra field holding an object) is parsed.
   */
  findFolded(folded: ReadonlySet<string>): number[] {
    const out: number[] = [];
    const n = this.count;
    if (folded.size === 0 || n === 0) return out;
    const b = this.buf;
    // In a file of ASCII without a backslash (the usual index) every path is written as it
    // is, and a path that folds to an ASCII key holds the key's letter-free runs verbatim:
    // the lines holding its longest such run are the only candidates (a few native searches
    // instead of a look at every line).
    const simple = isAscii(b) && b.indexOf(0x5c) < 0;
    if (simple) {
      const candidates = this.linesHoldingRuns(folded);
      if (candidates) return candidates.filter((i) => folded.has(foldPath(this.entry(i).path)));
    }
    const { starts, ends } = this;
    // For each line: -1 no member found, -2 several, else the offset of the value.
    const value = new Int32Array(n).fill(-1);
    const needle = PATH_MEMBER;
    const last = ends[n - 1]!;
    let i = 0;
    for (let at = b.indexOf(needle, starts[0]); at >= 0 && at < last; at = b.indexOf(needle, at + 1)) {
      while (ends[i]! <= at) i++;
      if (at < starts[i]! + 1 || at >= ends[i]! - 8) continue;
      const before = b[at - 1];
      if (before !== 0x2c && before !== 0x7b) continue;
      value[i] = value[i] === -1 ? at + 8 : -2;
    }
    const asciiKeys = [...folded].filter((k) => /^[\x00-\x7f]*$/.test(k)).map((k) => Buffer.from(k, 'latin1'));
    const asciiLengths = new Set(asciiKeys.map((k) => k.length));
    const matches = (at: number, len: number) =>
      asciiLengths.has(len) && asciiKeys.some((k) => k.length === len && sameFoldedAscii(b, at, k));
    // In such a file every value is plain and ends at the next quote: found natively, and
    // compared only when its length is a wanted key's.
    for (let i = 0; i < n; i++) {
      const found = value[i]!;
      if (found < 0) {
        if (folded.has(foldPath(this.entry(i).path))) out.push(i);
        continue;
      }
      if (simple) {
        const q = b.indexOf(0x22, found);
        if (matches(found, q - found)) out.push(i);
        continue;
      }
      const end = ends[i]!;
      let plain = true;
      let j = found;
      for (; j < end; j++) {
        const c = b[j]!;
        if (c === 0x22) break;
        if (c === 0x5c || c >= 0x80) plain = false;
        if (c === 0x5c) j++;
      }
      if (plain) {
        // An ASCII path folds to ASCII of its own length: only ASCII keys of that length.
        if (matches(found, j - found)) out.push(i);
        continue;
      }
      const p = JSON.parse(b.toString('utf8', found - 1, j + 1)) as string;
      if (folded.has(foldPath(p))) out.push(i);
    }
    return out;
  }

  /** The lines (ascending) holding the longest letter-free run of each ASCII key, or
   * undefined when a key has no run long enough to be a selective search. (A non-ASCII
   * key matches no path of an ASCII file: an ASCII path folds to ASCII.) */
  private linesHoldingRuns(folded: ReadonlySet<string>): number[] | undefined {
    const picked = new Set<number>();
    const last = this.ends[this.count - 1]!;
    for (const k of folded) {
      if (!/^[\x00-\x7f]*$/.test(k)) continue;
      const run = (k.match(/[^A-Za-z]+/g) ?? []).reduce((a, r) => (r.length > a.length ? r : a), '');
      if (run.length < MIN_RUN) return undefined;
      const needle = Buffer.from(run, 'latin1');
      for (let at = this.buf.indexOf(needle, this.starts[0]); at >= 0 && at < last; at = this.buf.indexOf(needle, at + 1)) {
        const i = this.lineAt(at);
        if (i !== undefined) picked.add(i);
      }
    }
    return [...picked].sort((a, b) => a - b);
  }

  /**
   * Apply put/remove operations (keyed by path, later ones win, as {@link applyOps} in the
   * store) by splicing lines: the untouched lines are kept as bytes. Returns the new
   * document's digest and its bytes in pieces.
   */
  splice(ops: ReadonlyArray<{ op: 'put'; entry: IndexEntry } | { op: 'remove'; path: string }>): {
    index_digest: string;
    count: number;
    chunks: () => Iterable<Uint8Array>;
  } {
    const final = new Map<string, IndexEntry | null>();
    for (const op of ops) final.set(op.op === 'put' ? op.entry.path : op.path, op.op === 'put' ? op.entry : null);
    const dropped = new Set<number>();
    const inserted: Array<{ at: number; entry: IndexEntry; text: Buffer }> = [];
    for (const [path, e] of final) {
      const old = this.findPath(path);
      if (old !== undefined) dropped.add(old);
      if (e) {
        const entry = keysSorted(e) ? e : (sortKeysDeep(e) as IndexEntry);
        inserted.push({
          at: this.lowerBound(entry.id, entry.version, entry.path),
          entry,
          text: Buffer.from(canonicalEntry(entry), 'utf8'),
        });
      }
    }
    inserted.sort((a, b) => a.at - b.at || compareEntries(a.entry, b.entry));
    // The new sequence of lines: k >= 0 is source line k, k < 0 is inserted line -k-1 (numbers
    // only: at 100k lines, an object per line would be most of the cost).
    const extra = Buffer.concat(inserted.map((x) => x.text));
    const extraStart: number[] = [];
    let off = 0;
    for (const x of inserted) {
      extraStart.push(off);
      off += x.text.length;
    }
    extraStart.push(off);
    const seq = new Int32Array(this.count - dropped.size + inserted.length);
    let n = 0;
    let k = 0;
    for (let i = 0; i <= this.count; i++) {
      while (k < inserted.length && inserted[k]!.at === i) seq[n++] = -++k;
      if (i < this.count && !dropped.has(i)) seq[n++] = i;
    }
    const { buf, starts, ends } = this;
    const runs: LineRuns = {
      n,
      buf: (i) => (seq[i]! >= 0 ? buf : extra),
      start: (i) => (seq[i]! >= 0 ? starts[seq[i]!]! : extraStart[-seq[i]! - 1]!),
      end: (i) => (seq[i]! >= 0 ? ends[seq[i]!]! : extraStart[-seq[i]!]!),
    };
    const index_digest = digestOfLines(this.digest_algorithm, runs);
    const algo = this.digest_algorithm;
    const count = this.count;
    // The file's bytes: a run of consecutive kept lines is written straight from the old
    // file's bytes (indent, comma and newline included); only new lines are built.
    function* chunks(): Generator<Uint8Array> {
      if (n === 0) {
        yield Buffer.from('{\n  "artifacts": [],\n', 'utf8');
        yield Buffer.from(indexFooter(algo, INDEX_FORMAT, index_digest), 'utf8');
        return;
      }
      yield Buffer.from('{\n  "artifacts": [\n', 'utf8');
      for (let k = 0; k < n; k++) {
        const a = seq[k]!;
        if (a < 0) {
          yield Buffer.concat([
            Buffer.from('    '),
            extra.subarray(extraStart[-a - 1], extraStart[-a]),
            Buffer.from(k < n - 1 ? ',\n' : '\n'),
          ]);
          continue;
        }
        let b = a;
        while (k + 1 < n && seq[k + 1] === b + 1) {
          k++;
          b++;
        }
        // Line b ends with a comma in the old file unless it was the last; in the new one,
        // unless it is the last.
        const hadComma = b < count - 1;
        const wantComma = k < n - 1;
        if (hadComma === wantComma) yield buf.subarray(starts[a]! - 4, ends[b]! + (hadComma ? 2 : 1));
        else {
          yield buf.subarray(starts[a]! - 4, ends[b]);
          yield Buffer.from(wantComma ? ',\n' : '\n');
        }
      }
      yield Buffer.from('  ],\n', 'utf8');
      yield Buffer.from(indexFooter(algo, INDEX_FORMAT, index_digest), 'utf8');
    }
    return { index_digest, count: n, chunks };
  }
}

/** Where the lines of a document are: line i is buf(i)[start(i), end(i)). */
interface LineRuns {
  n: number;
  buf(i: number): Buffer;
  start(i: number): number;
  end(i: number): number;
}

const CHUNK = 65536;

/** The folded form of a path: two paths with the same one are one file on a
 * case-insensitive or normalizing file system. */
const PATH_MEMBER = Buffer.from('"path":"', 'latin1');
/** Lines parsed by one JSON.parse when the bytes are known good. */
const PARSE_BATCH = 2000;
/** The shortest letter-free run of a path searched for instead of reading every line. */
const MIN_RUN = 4;

/** Do the ASCII bytes b[at, at + key.length), lower-cased, equal `key`? */
function sameFoldedAscii(b: Buffer, at: number, key: Buffer): boolean {
  for (let k = 0; k < key.length; k++) {
    let c = b[at + k]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== key[k]) return false;
  }
  return true;
}

export function foldPath(p: string): string {
  // (A final sigma is a sigma: toLowerCase turns a word-final capital sigma into ς.)
  return p.normalize('NFC').toLowerCase().replace(/ς/g, 'σ');
}

/** index_digest over canonical lines: `{"artifacts":[` + the lines joined by commas + the
 * rest. The lines are copied into one scratch buffer and hashed a chunk at a time (one hash
 * call per line costs more than the hashing). */
function digestOfLines(algo: string, r: LineRuns): string {
  const h = createHash('sha256');
  h.update('{"artifacts":[');
  const sc = Buffer.allocUnsafe(CHUNK);
  let o = 0;
  for (let i = 0; i < r.n; i++) {
    const s = r.start(i);
    const e = r.end(i);
    if (o + e - s + 1 > CHUNK) {
      h.update(sc.subarray(0, o));
      o = 0;
    }
    if (i > 0) sc[o++] = 0x2c;
    if (e - s + 1 > CHUNK) {
      h.update(sc.subarray(0, o));
      o = 0;
      h.update(r.buf(i).subarray(s, e));
    } else o += r.buf(i).copy(sc, o, s, e);
  }
  h.update(sc.subarray(0, o));
  h.update(`],"digest_algorithm":${canonicalJson(algo)},"format":${canonicalJson(INDEX_FORMAT)}}`);
  return `sha256:${h.digest('hex')}`;
}

/** Does the stored digest match the content? */
export function indexDigestValid(doc: IndexDocument): boolean {
  return computeIndexDigest(doc) === doc.index_digest;
}

function valueEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => valueEqual(v, y[i]));
  return false;
}

/** Field-by-field equality of two entries, independent of key order (entries hold only
 * scalars and arrays of strings). */
export function entriesEqual(a: IndexEntry | undefined, b: IndexEntry | undefined): boolean {
  if (!a || !b) return a === b;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => valueEqual((a as unknown as Record<string, unknown>)[k], (b as unknown as Record<string, unknown>)[k]));
}
