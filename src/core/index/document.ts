// The index document (SPEC §5): deterministic bytes — keys sorted, entries sorted by id,
// version, path, two-space indentation, final newline — and its `index_digest`.
import { parseJsonQuiet } from '../store/checked-read.js';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError } from '../errors.js';
import { createHash } from 'node:crypto';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from '../hash/digest.js';
import type { IndexEntry } from '../metadata/inspect.js';
import { compareBytes } from '../paths.js';

export const INDEX_FORMAT = 'artifacts-index/1';

export interface IndexDocument {
  format: typeof INDEX_FORMAT;
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
    const simple = typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
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

/** Build a complete document from entries (sorted here; callers need not sort). */
export function makeIndexDocument(algo: DigestAlgorithm, entries: readonly IndexEntry[]): IndexDocument {
  // Entries read from an index already have sorted keys; only new ones need sorting.
  const artifacts = [...entries].sort(compareEntries).map((e) => (keysSorted(e) ? e : (sortKeysDeep(e) as IndexEntry)));
  // Keys in sorted order, so that serializeIndex needs no second pass.
  const base = { artifacts, digest_algorithm: algo, format: INDEX_FORMAT } as const;
  return { ...base, index_digest: computeIndexDigest(base) };
}

/** The exact bytes written to artifacts_index.json (documents from makeIndexDocument,
 * whose keys are already sorted at every level). */
export function serializeIndex(doc: IndexDocument): string {
  return [...serializeIndexChunks(doc)].join('');
}

/**
 * The same bytes in pieces of about `batch` entries, so that a large index is written
 * without ever holding its whole text. An entry inside the array is exactly
 * `JSON.stringify(entry, null, 2)` with every following line indented by four more spaces —
 * what `JSON.stringify(document, null, 2)` produces at that depth.
 */
export function* serializeIndexChunks(doc: IndexDocument, batch = 1000): Generator<string> {
  const { artifacts } = doc;
  if (artifacts.length === 0) yield '{\n  "artifacts": [],\n';
  else {
    yield '{\n  "artifacts": [\n';
    for (let i = 0; i < artifacts.length; i += batch) {
      const part = artifacts.slice(i, i + batch).map((e, k) => `    ${JSON.stringify(e, null, 2).replace(/\n/g, '\n    ')}${i + k < artifacts.length - 1 ? ',' : ''}\n`);
      yield part.join('');
    }
    yield '  ],\n';
  }
  yield `  "digest_algorithm": ${JSON.stringify(doc.digest_algorithm)},\n  "format": ${JSON.stringify(doc.format)},\n  "index_digest": ${JSON.stringify(doc.index_digest)}\n}\n`;
}

const ENTRY_STRING_FIELDS = ['id', 'version', 'status', 'framework', 'kind', 'path', 'content_address'] as const;
const ENTRY_OPTIONAL_STRINGS = ['checksum', 'created_at', 'updated_at', 'metadata_address'] as const;

/** Parse and structurally check index bytes; throws INDEX_CORRUPT. Does not check the digest. */
export function parseIndex(text: string): IndexDocument {
  // Quietly: the parser's own message would quote the file.
  const parsed = parseJsonQuiet(text);
  if (!parsed.ok) throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json is not valid JSON (${parsed.error})`);
  const doc = parsed.value;
  const d = doc as Partial<IndexDocument>;
  if (d === null || typeof d !== 'object' || d.format !== INDEX_FORMAT) {
    throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json is not an ${INDEX_FORMAT} document`);
  }
  if (!DIGEST_ALGORITHMS.includes(d.digest_algorithm as DigestAlgorithm) || !Array.isArray(d.artifacts) || typeof d.index_digest !== 'string') {
    throw new ArtifactsError('INDEX_CORRUPT', 'artifacts_index.json lacks digest_algorithm, artifacts or index_digest');
  }
  d.artifacts.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || ENTRY_STRING_FIELDS.some((f) => typeof e[f] !== 'string') || typeof e.size !== 'number') {
      throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i} is malformed`);
    }
    // Optional fields are used as what they claim to be (times, references): a value of
    // another type is damage, not something for a later command to trip over.
    const optional = e as unknown as Record<string, unknown>;
    if (ENTRY_OPTIONAL_STRINGS.some((f) => optional[f] !== undefined && typeof optional[f] !== 'string')) {
      throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i} has a malformed optional field`);
    }
    if (optional.derived_from !== undefined && !(Array.isArray(optional.derived_from) && optional.derived_from.every((r) => typeof r === 'string'))) {
      throw new ArtifactsError('INDEX_CORRUPT', `artifacts_index.json entry ${i}: derived_from is not a list of id@version strings`);
    }
  });
  return d as IndexDocument;
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
