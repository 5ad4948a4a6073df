import { expect, test } from 'vitest';
import { makeIndexDocument, serializeIndex } from '../../src/core/index/document.js';
import { encodeRecord, encodeRecordChunks } from '../../src/core/store/journal.js';
test('streamed index and journal bytes equal the one-piece serialisations', () => {
  const es = Array.from({ length: 2500 }, (_, i) => ({ id: `a${i}`, version: '1', status: 'draft' as const, framework: 'f', kind: 'k', path: `p/${i}.md`, content_address: 'sha256:x', size: i, ...(i % 2 ? { derived_from: ['x@1', 'y"@2'] } : {}) }));
  for (const list of [[], es.slice(0, 1), es]) {
    const doc = makeIndexDocument('sha256', list);
    const { artifacts, digest_algorithm, format, index_digest } = doc;
    expect(serializeIndex(doc)).toBe(`${JSON.stringify({ artifacts, digest_algorithm, format, index_digest }, null, 2)}\n`);
    const r = { txid: 't', before: null, after: 'a', digest_algorithm: 'sha256' as const, reset: true, entries: list.map((entry) => ({ op: 'put' as const, entry })) };
    expect([...encodeRecordChunks(r)].join('')).toBe(encodeRecord(r));
  }
});
