// artifacts-index/2 read as lines: the line reader (lookups, streamed digest, splice) must
// agree with the whole-document parser on every byte string, including an attacker's.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { ArtifactsError } from '../../src/core/errors.js';
import { foldPath, IndexLines, indexDigestValid, makeIndexDocument, parseIndex, serializeIndex } from '../../src/core/index/document.js';
import { applyOps } from '../../src/core/index/store.js';
import type { IndexEntry } from '../../src/core/metadata/inspect.js';
import type { JournalOp } from '../../src/core/store/journal.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const entryArb: fc.Arbitrary<IndexEntry> = fc
  .record({
    id: fc.constantFrom('a', 'b', 'plan-x', 'é', 'a@b', 'r/2026-01/'),
    version: fc.constantFrom('1.0.0', '10.0.0', '9.0.0', '2'),
    status: fc.constantFrom('draft', 'approved'),
    path: fc.constantFrom(
      'docs/a.md',
      'docs/A.md',
      'docs/b.md',
      'docs/\u00e9.md',
      'docs/e\u0301.md',
      'docs/\u212a.md',
      'docs/k.md',
      'docs/"q".md',
      'docs/x\\y.md',
      'd/\u2028.md',
      // Letter-free runs long enough to be searched for instead of reading every line.
      'docs/2026-01/a.md',
      'docs/2026-01/A.md',
      'x/2026-01/\u212a.md',
      'x/2026-01/k.md',
    ),
    size: fc.integer({ min: 0, max: 1e9 }),
    derived: fc.option(
      fc.array(fc.constantFrom('a@1.0.0', 'x"@2', '\u00e9@1'), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
    // Fields no version of the tool writes, placed to mislead a byte search for "path".
    extra: fc.option(
      fc.constantFrom<Record<string, unknown>>(
        { a: { path: 'docs/A.md' } },
        { 'a"path': 'docs/a.md' },
        { zz: { path: 'docs/k.md' } },
        { b: ['"path":"docs/a.md"'] },
      ),
      { nil: undefined },
    ),
  })
  .map(({ id, version, status, path, size, derived, extra }) => ({
    ...extra,
    id,
    version,
    status: status,
    framework: 'fwk-001',
    kind: 'plan',
    path,
    content_address: `sha256:${createHash('sha256').update(`${path}${size}`).digest('hex')}`,
    size,
    ...(derived ? { derived_from: derived } : {}),
  }));

/** Unique paths (the index keys entries by path). */
const entriesArb = fc.uniqueArray(entryArb, {
  selector: (e) => e.path,
  maxLength: 8,
});

type Verdict = { kind: 'corrupt' } | { kind: 'ok'; digestValid: boolean; entries: string[] };

function fullVerdict(buf: Buffer): Verdict {
  try {
    const doc = parseIndex(buf.toString('utf8'));
    if (doc.format !== 'artifacts-index/2') return { kind: 'corrupt' };
    return {
      kind: 'ok',
      digestValid: indexDigestValid(doc),
      entries: doc.artifacts.map((e) => canonicalJson(e)),
    };
  } catch (e) {
    if (e instanceof ArtifactsError && e.code === 'INDEX_CORRUPT') return { kind: 'corrupt' };
    throw e;
  }
}

/** undefined: not in the line layout (the reader then parses the whole text). */
function lineVerdict(buf: Buffer): Verdict | undefined {
  const lines = IndexLines.scan(buf);
  if (!lines) return undefined;
  try {
    const entries = lines.entries();
    return {
      kind: 'ok',
      digestValid: lines.computeDigest() === lines.index_digest,
      entries: entries.map((e) => canonicalJson(e)),
    };
  } catch (e) {
    if (e instanceof ArtifactsError && e.code === 'INDEX_CORRUPT') return { kind: 'corrupt' };
    throw e;
  }
}

/** Replace the stored digest with the digest an attacker would compute over the lines as
 * they are (without canonicalizing them): what a streamed check alone would accept. */
function reDigest(text: string): string {
  const m = /^\{\n {2}"artifacts": \[\n([\s\S]*)\n {2}\],\n/.exec(text);
  const body = m ? m[1]!.split('\n').map((l) => l.replace(/^ {4}/, '').replace(/,$/, '')) : [];
  const h = createHash('sha256').update(`{"artifacts":[${body.join(',')}],"digest_algorithm":"sha256","format":"artifacts-index/2"}`);
  return text.replace(/"index_digest": "[^"]*"/, `"index_digest": "sha256:${h.digest('hex')}"`);
}

const mutation = fc.oneof(
  // A byte inserted anywhere.
  fc.record({
    t: fc.constant('insert' as const),
    at: fc.nat(),
    s: fc.constantFrom(' ', ',', '\n', '\\', 'u', '0', '{', '}', '"', 'a', '.0', '\t', '\u00e9'),
  }),
  // A range removed.
  fc.record({
    t: fc.constant('delete' as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 8 }),
  }),
  // Two entry lines swapped, or one repeated.
  fc.record({
    t: fc.constantFrom('swap' as const, 'dup' as const),
    a: fc.nat(),
    b: fc.nat(),
  }),
  // One line rewritten in a form equal as JSON but not canonical.
  fc.record({
    t: fc.constantFrom('reorder' as const, 'escape' as const, 'spaced' as const, 'number' as const, 'pretty' as const),
    a: fc.nat(),
  }),
);

function entryLineIndexes(lines: string[]): number[] {
  return lines.flatMap((l, i) => (/^ {4}\{/.test(l) ? [i] : []));
}

function mutate(text: string, m: { t: string; at?: number; s?: string; n?: number; a?: number; b?: number }): string {
  if (m.t === 'insert') {
    const at = m.at! % (text.length + 1);
    return text.slice(0, at) + m.s! + text.slice(at);
  }
  if (m.t === 'delete') {
    const at = m.at! % (text.length + 1);
    return text.slice(0, at) + text.slice(at + m.n!);
  }
  const lines = text.split('\n');
  const idx = entryLineIndexes(lines);
  if (idx.length === 0) return text;
  const i = idx[m.a! % idx.length]!;
  const line = lines[i]!;
  const comma = line.endsWith(',') ? ',' : '';
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line.slice(4, line.length - comma.length)) as Record<string, unknown>;
  } catch {
    obj = {}; // damaged by an earlier mutation
  }
  const put = (s: string) => {
    lines[i] = `    ${s}${comma}`;
  };
  switch (m.t) {
    case 'swap': {
      const j = idx[m.b! % idx.length]!;
      const [x, y] = [lines[i]!, lines[j]!];
      const cx = x.endsWith(',');
      const cy = y.endsWith(',');
      lines[i] = (cy ? y.slice(0, -1) : y) + (cx ? ',' : '');
      lines[j] = (cx ? x.slice(0, -1) : x) + (cy ? ',' : '');
      break;
    }
    case 'dup':
      lines.splice(i, 0, line.endsWith(',') ? line : `${line},`);
      break;
    case 'reorder':
      put(JSON.stringify(Object.fromEntries(Object.entries(obj).reverse())));
      break;
    case 'escape':
      put(canonicalJson(obj).replace(/"id":"(.)/, (_, c: string) => `"id":"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
      break;
    case 'spaced':
      put(canonicalJson(obj).replace(/,/, ', '));
      break;
    case 'number':
      put(canonicalJson(obj).replace(/"size":(\d+)/, '"size":$1.0'));
      break;
    case 'pretty':
      put(JSON.stringify(obj, null, 1).replace(/\n/g, ''));
      break;
  }
  return lines.join('\n');
}

describe('artifacts-index/2 line reader', () => {
  test('a document it writes is read back as lines, with the same entries and a good digest', () => {
    fc.assert(
      fc.property(entriesArb, (es) => {
        const doc = makeIndexDocument('sha256', es);
        const buf = Buffer.from(serializeIndex(doc), 'utf8');
        const v = lineVerdict(buf);
        expect(v).toEqual({
          kind: 'ok',
          digestValid: true,
          entries: doc.artifacts.map((e) => canonicalJson(e)),
        });
        expect(IndexLines.scan(buf)!.computeDigest()).toBe(doc.index_digest);
        expect(fullVerdict(buf)).toEqual(v);
      }),
      { numRuns: RUNS },
    );
  });

  test('on any mutation (digest recomputed over the mutated lines or not), the line reader and the full parse agree', () => {
    fc.assert(
      fc.property(entriesArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (es, ms, redigest) => {
        let text = serializeIndex(makeIndexDocument('sha256', es));
        for (const m of ms) text = mutate(text, m);
        if (redigest) text = reDigest(text);
        const buf = Buffer.from(text, 'utf8');
        const full = fullVerdict(buf);
        const lines = lineVerdict(buf);
        // The reader's answer: the lines when they are laid out as lines, else the full parse.
        expect(lines ?? full).toEqual(full);
        // A good index is read as lines (unless its index_digest holds a JSON escape, a
        // string no digest is: the whole text is parsed then).
        if (full.kind === 'ok' && !/"index_digest": "[^"\n]*\\/.test(text)) expect(lines).toBeDefined();
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('a non-canonical line with a digest computed over its bytes is INDEX_CORRUPT, never a good index', () => {
    const es = [
      {
        id: 'a',
        version: '1',
        status: 'draft' as const,
        framework: 'f',
        kind: 'k',
        path: 'p/a.md',
        content_address: 'sha256:x',
        size: 1,
      },
      {
        id: 'b',
        version: '1',
        status: 'draft' as const,
        framework: 'f',
        kind: 'k',
        path: 'p/b.md',
        content_address: 'sha256:y',
        size: 2,
      },
    ];
    const good = serializeIndex(makeIndexDocument('sha256', es));
    for (const bad of [
      good.replace('{"content_address":"sha256:x",', '{"content_address": "sha256:x",'),
      good.replace('"id":"a"', '"id":"\\u0061"'),
      good.replace('"size":1,', '"size":1.0,'),
      good.replace(/( {4}\{.*"p\/a.md".*),\n( {4}\{.*"p\/b.md".*)\n/, '$2,\n$1\n'),
      good.replace(/( {4}\{.*"p\/a.md".*,\n)/, '$1$1'),
    ]) {
      expect(bad).not.toBe(good);
      const text = reDigest(bad);
      expect(lineVerdict(Buffer.from(text))?.kind ?? 'corrupt').toBe('corrupt');
      expect(fullVerdict(Buffer.from(text)).kind).toBe('corrupt');
    }
  });

  test('lookups by path, by id@version and by folded path find what a scan of every entry finds', () => {
    fc.assert(
      fc.property(entriesArb, entryArb, (es, probe) => {
        const doc = makeIndexDocument('sha256', es);
        const lines = IndexLines.scan(Buffer.from(serializeIndex(doc), 'utf8'))!;
        const at = doc.artifacts.findIndex((e) => e.path === probe.path);
        expect(lines.findPath(probe.path)).toBe(at < 0 ? undefined : at);
        expect(lines.findVersion(probe.id, probe.version)).toEqual(
          doc.artifacts.flatMap((e, i) => (e.id === probe.id && e.version === probe.version ? [i] : [])),
        );
        for (const keys of [new Set([foldPath(probe.path)]), new Set([foldPath(probe.path), foldPath('docs/A.md')])])
          expect(lines.findFolded(keys)).toEqual(doc.artifacts.flatMap((e, i) => (keys.has(foldPath(e.path)) ? [i] : [])));
      }),
      { numRuns: RUNS },
    );
  });

  test('in an ASCII index without escapes, the folded-path search by letter-free runs finds what a scan finds', () => {
    // Every path ASCII, no backslash anywhere: the search takes the run-based way.
    const asciiPath = fc.constantFrom(
      'docs/2026-01/a.md',
      'docs/2026-01/A.md',
      'DOCS/2026-01/A.MD',
      'x/2026-01/k.md',
      'x/2026-01/K.md',
      'docs/a.md',
      'docs/A.md',
      'q/0042-adr.md',
    );
    const asciiEntry = fc
      .record({
        id: fc.constantFrom('a', 'b', 'r-2026-01/a.md'),
        path: asciiPath,
        extra: fc.option(fc.constantFrom<Record<string, unknown>>({ a: { path: 'docs/2026-01/a.md' } }, { note: 'x/2026-01/K.md' }), {
          nil: undefined,
        }),
      })
      .map(({ id, path, extra }) => ({
        ...extra,
        id,
        version: '1',
        status: 'draft' as const,
        framework: 'f',
        kind: 'k',
        path,
        content_address: `sha256:${createHash('sha256').update(path).digest('hex')}`,
        size: 1,
      }));
    fc.assert(
      fc.property(fc.uniqueArray(asciiEntry, { selector: (e) => e.path, minLength: 1, maxLength: 8 }), asciiPath, (es, probe) => {
        const doc = makeIndexDocument('sha256', es);
        const buf = Buffer.from(serializeIndex(doc), 'utf8');
        expect(buf.includes(0x5c)).toBe(false);
        const lines = IndexLines.scan(buf)!;
        for (const keys of [
          new Set([foldPath(probe)]),
          new Set([foldPath(probe), foldPath('x/2026-01/k.md')]),
          new Set([foldPath('docs/a.md')]),
        ])
          expect(lines.findFolded(keys)).toEqual(doc.artifacts.flatMap((e, i) => (keys.has(foldPath(e.path)) ? [i] : [])));
      }),
      { numRuns: RUNS },
    );
  });

  test('a splice gives the bytes and digest of the document rebuilt whole', () => {
    const op = fc.oneof(
      entryArb.map((entry): JournalOp => ({ op: 'put', entry })),
      entryArb.map((e): JournalOp => ({ op: 'remove', path: e.path })),
    );
    fc.assert(
      fc.property(entriesArb, fc.array(op, { maxLength: 5 }), (es, ops) => {
        const doc = makeIndexDocument('sha256', es);
        const lines = IndexLines.scan(Buffer.from(serializeIndex(doc), 'utf8'))!;
        const s = lines.splice(ops);
        const whole = makeIndexDocument('sha256', applyOps(doc.artifacts, ops));
        expect(s.index_digest).toBe(whole.index_digest);
        expect(Buffer.concat([...s.chunks()]).toString('utf8')).toBe(serializeIndex(whole));
      }),
      { numRuns: RUNS },
    );
  });

  test('lines longer than the copy buffer are digested and written whole', () => {
    const big = (id: string, n: number): IndexEntry => ({
      id,
      version: '1',
      status: 'draft',
      framework: 'f',
      kind: 'k',
      path: `p/${id}.md`,
      content_address: 'sha256:x',
      size: 1,
      derived_from: Array.from({ length: n }, (_, i) => `dep-${i}@1.0.0`),
    });
    const doc = makeIndexDocument('sha256', [big('a', 10), big('b', 9000), big('c', 3)]);
    const lines = IndexLines.scan(Buffer.from(serializeIndex(doc), 'utf8'))!;
    expect(lines.computeDigest()).toBe(doc.index_digest);
    const ops: JournalOp[] = [
      { op: 'put', entry: big('d', 12000) },
      { op: 'remove', path: 'p/a.md' },
    ];
    const s = lines.splice(ops);
    const whole = makeIndexDocument('sha256', applyOps(doc.artifacts, ops));
    expect(s.index_digest).toBe(whole.index_digest);
    expect(Buffer.concat([...s.chunks()]).toString('utf8')).toBe(serializeIndex(whole));
  });
});
