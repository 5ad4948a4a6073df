import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { canonicalEntry, computeIndexDigest, makeIndexDocument } from '../../src/core/index/document.js';
import type { IndexEntry } from '../../src/core/metadata/inspect.js';
import { compareBytes } from '../../src/core/paths.js';
import { FIXTURES } from '../helpers.js';

const JCS = join(FIXTURES, 'vectors/jcs-rfc8785');

describe('RFC 8785 canonical JSON', () => {
  for (const name of readdirSync(join(JCS, 'input'))) {
    test(`vector ${name} canonicalizes byte-for-byte`, () => {
      const input = JSON.parse(readFileSync(join(JCS, 'input', name), 'utf8')) as unknown;
      const expected = readFileSync(join(JCS, 'output', name), 'utf8').replace(/\n$/, '');
      expect(canonicalJson(input)).toBe(expected);
    });
  }
  test('NaN, Infinity and lone surrogates are rejected', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow();
    expect(() => canonicalJson({ a: 'x\ud800' })).toThrow(/surrogate/);
    expect(() => canonicalJson({ ['\udc00']: 1 })).toThrow(/surrogate/);
    // A literal backslash followed by "ud800" is ordinary text.
    expect(canonicalJson({ a: '\\ud800' })).toBe('{"a":"\\\\ud800"}');
    expect(canonicalJson({ a: '😀' })).toBe('{"a":"😀"}');
  });
});

function randomEntry(i: number, rand: () => number): IndexEntry {
  const pick = (s: string) =>
    Array.from(s)
      .slice(0, 1 + Math.floor(rand() * Array.from(s).length))
      .join('');
  const e: IndexEntry = {
    id: `id-${pick('abcdefé😀ﬀ')}-${i}`,
    version: `${i % 7}.${Math.floor(rand() * 10)}`,
    status: (['draft', 'review', 'approved'] as const)[i % 3]!,
    framework: 'fwk',
    kind: pick('kinds'),
    path: `p/${pick('x/y/z\u00e9\t"\\')}-${i}.md`,
    content_address: `sha256:${'a'.repeat(64)}`,
    size: Math.floor(rand() * 1e9),
  };
  if (rand() < 0.5) e.derived_from = [`a@${i}`, `b@${i}"`];
  if (rand() < 0.5) e.checksum = `sha256:${'b'.repeat(64)}`;
  return e;
}

describe('index digest fast path', () => {
  test('canonicalEntry equals the canonicalize package on sorted and unsorted entries', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) {
      const e = randomEntry(i, rand);
      const reference = (canonicalize as unknown as (v: unknown) => string)(e);
      expect(canonicalEntry(e)).toBe(reference);
      const sorted = Object.fromEntries(Object.entries(e).sort(([a], [b]) => compareBytes(a, b))) as unknown as IndexEntry;
      expect(canonicalEntry(sorted)).toBe(reference);
    }
  });
  test('computeIndexDigest equals SHA-256 of the canonical document', async () => {
    const { createHash } = await import('node:crypto');
    let seed = 3;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const doc = makeIndexDocument(
      'sha256',
      Array.from({ length: 50 }, (_, i) => randomEntry(i, rand)),
    );
    const { index_digest, ...rest } = doc;
    expect(index_digest).toBe(`sha256:${createHash('sha256').update(canonicalJson(rest)).digest('hex')}`);
    expect(computeIndexDigest(rest)).toBe(index_digest);
  });
});
