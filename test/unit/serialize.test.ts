import { expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { INDEX_FORMAT_V1, makeIndexDocument, serializeIndex } from '../../src/core/index/document.js';
import { encodeRecord, encodeRecordChunks } from '../../src/core/store/journal.js';
test('streamed index and journal bytes equal the one-piece serialisations', () => {
  const es = Array.from({ length: 2500 }, (_, i) => ({
    id: `a${i}`,
    version: '1',
    status: 'draft' as const,
    framework: 'f',
    kind: 'k',
    path: `p/${i}.md`,
    content_address: 'sha256:x',
    size: i,
    ...(i % 2 ? { derived_from: ['x@1', 'y"@2'] } : {}),
  }));
  for (const list of [[], es.slice(0, 1), es]) {
    const doc = makeIndexDocument('sha256', list);
    const { artifacts, digest_algorithm, format, index_digest } = doc;
    // artifacts-index/2: the pretty document, each entry on one line in its RFC 8785 form.
    const pretty = `${JSON.stringify({ artifacts: artifacts.map((_, i) => i), digest_algorithm, format, index_digest }, null, 2)}\n`;
    expect(serializeIndex(doc)).toBe(
      pretty.replace(/^ {4}(\d+)(,?)$/gm, (_, i: string, comma: string) => `    ${canonicalJson(artifacts[Number(i)])}${comma}`),
    );
    // artifacts-index/1 (still written back when an older file is restored): JSON.stringify(document, null, 2).
    const v1 = makeIndexDocument('sha256', list, INDEX_FORMAT_V1);
    expect(serializeIndex(v1)).toBe(
      `${JSON.stringify({ artifacts: v1.artifacts, digest_algorithm, format: v1.format, index_digest: v1.index_digest }, null, 2)}\n`,
    );
    const r = {
      txid: 't',
      before: null,
      after: 'a',
      digest_algorithm: 'sha256' as const,
      reset: true,
      entries: list.map((entry) => ({ op: 'put' as const, entry })),
    };
    expect([...encodeRecordChunks(r)].join('')).toBe(encodeRecord(r));
  }
});
