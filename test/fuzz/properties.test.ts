// Property-based tests (fast-check): arbitrary input never crashes the parsers and
// verifiers with anything but a structured error, never hangs, and never escapes the root.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { ArtifactsError } from '../../src/core/errors.js';
import { parseIndex } from '../../src/core/index/document.js';
import { splitFrontMatter } from '../../src/core/metadata/front-matter.js';
import { inspectFile } from '../../src/core/metadata/inspect.js';
import { parseSafeYaml } from '../../src/core/metadata/safe-yaml.js';
import { isInside } from '../../src/core/paths.js';
import { expandTemplate, parseRoutingText, routeDirectory, templateProblems } from '../../src/core/routing/routes.js';
import { decodeSignature } from '../../src/core/snapshots/verify-chain.js';
import { verifyStrict } from '../../src/core/snapshots/ed25519.js';
import { encodeRecord, parseJournal, type JournalRecord } from '../../src/core/store/journal.js';
import { testdir } from '../helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const timed = async <T>(fn: () => Promise<T> | T, ms = 2000): Promise<T> => {
  const t0 = performance.now();
  const r = await fn();
  expect(performance.now() - t0).toBeLessThan(ms);
  return r;
};

/** Text that looks like front matter often enough to reach the YAML parser. */
const frontMatterish = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc
    .tuple(
      fc.constantFrom('---\n', '---js\n', '---yaml\n', '\ufeff---\n', '---\r\n'),
      fc.string({ maxLength: 300 }),
      fc.constantFrom('\n---\n', '\n', '\r\n---\r\n', ''),
      fc.string({ maxLength: 100 }),
    )
    .map((p) => p.join('')),
  fc
    .dictionary(
      fc.constantFrom('id', 'version', 'status', 'kind', 'framework', '__proto__', 'derived_from', 'checksum', 'x'),
      fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.constant('&a [1]'), fc.constant('*a')),
    )
    .map(
      (d) =>
        `---\n${Object.entries(d)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join('\n')}\n---\nbody\n`,
    ),
);

describe('metadata parser', () => {
  test('front matter splitting and safe YAML never throw on arbitrary text', async () => {
    await fc.assert(
      fc.asyncProperty(frontMatterish, async (text) => {
        const buf = Buffer.from(text, 'utf8');
        const fm = splitFrontMatter(buf);
        expect(['none', 'language', 'unterminated', 'too-large', 'ok']).toContain(fm.kind);
        const r = await timed(() => parseSafeYaml(text));
        for (const f of r.findings) expect(typeof f.code).toBe('string');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  test('inspecting arbitrary bytes as an artifact gives a result, never an exception', async () => {
    const root = testdir();
    const ctx = { root, algorithm: 'sha256' as const, schemasDir: root };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          frontMatterish.map((t) => Buffer.from(t, 'utf8')),
          fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        ),
        async (content) => {
          const r = await timed(() => inspectFile(ctx, 'docs/x.md', { explicit: true, content }));
          expect(['artifact', 'invalid', 'not-artifact']).toContain(r.type);
          if (r.type === 'artifact') expect(r.entry.path).toBe('docs/x.md');
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('routing templates', () => {
  const segment = fc.oneof(
    fc.constantFrom('{id}', '{version}', '{framework}', '{kind}', '{ext}', '..', '.', '', 'docs', 'a{b', '{owner}', 'C:', '\\'),
    fc.string({ maxLength: 6 }),
  );
  const template = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,10}$/).filter((s) => !s.endsWith('.') && !s.includes('..'));

  test('names that only begin with two dots stay inside; `..` segments climb out', () => {
    for (const inside of ['.. /a', '..a', '...', '.. ', 'a/..b', 'a/../b']) expect(isInside('/repo', `/repo/${inside}`), inside).toBe(true);
    for (const outside of ['..', '../a', 'a/../../b']) expect(isInside('/repo', `/repo/${outside}`), outside).toBe(false);
    expect(isInside('/repo', '/elsewhere')).toBe(false);
    const p = expandTemplate('.. /{id}', { id: 'A', version: '1', framework: 'f', kind: 'k', path: 'x/y.md' });
    expect(isInside('/repo', `/repo/${p}`)).toBe(true);
  });

  test('a template that passes validation always expands inside the root', () => {
    fc.assert(
      fc.property(template, name, name, name, name, (t, id, version, framework, kind) => {
        const problems = templateProblems(t);
        routeDirectory(t);
        if (problems.length > 0) return;
        const p = expandTemplate(t, { id, version, framework, kind, path: 'x/y.md' });
        expect(isInside('/repo', `/repo/${p}`)).toBe(true);
        expect(p.split('/')).not.toContain('..');
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('routing files of arbitrary text never throw', async () => {
    await fc.assert(
      fc.asyncProperty(frontMatterish, async (text) => {
        const r = await timed(() => parseRoutingText(text, 'artifact_routing.mdc'));
        expect(Array.isArray(r.routes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('journal reader', () => {
  const record: fc.Arbitrary<JournalRecord> = fc.record({
    txid: fc.stringMatching(/^[0-9a-f]{16}$/),
    before: fc.option(fc.constant(`sha256:${'a'.repeat(64)}`), { nil: null }),
    after: fc.constant(`sha256:${'b'.repeat(64)}`),
    digest_algorithm: fc.constant('sha256' as const),
    reset: fc.boolean(),
    entries: fc.array(fc.record({ op: fc.constant('remove' as const), path: fc.string({ maxLength: 30 }) }), { maxLength: 3 }),
  });

  test('arbitrary bytes: parse or JOURNAL_CORRUPT, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 500 }),
          fc.array(record, { maxLength: 4 }).map((rs) => rs.map(encodeRecord).join('')),
        ),
        fc.nat(),
        fc.nat(),
        (text, cut, flip) => {
          let mutated = text;
          if (text.length > 0 && flip % 3 === 0) {
            const i = flip % text.length;
            mutated = text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) + 1) % 128) + text.slice(i + 1);
          }
          if (cut % 2 === 0) mutated = mutated.slice(0, cut % (mutated.length + 1));
          try {
            const st = parseJournal(mutated);
            expect(st.discardedTailBytes).toBeGreaterThanOrEqual(0);
          } catch (e) {
            expect(e).toBeInstanceOf(ArtifactsError);
            expect((e as ArtifactsError).code).toBe('JOURNAL_CORRUPT');
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test('intact records always round-trip; a truncated last record is dropped, never the others', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 4 }), fc.nat(), (rs, cut) => {
        const text = rs.map(encodeRecord).join('');
        expect(parseJournal(text).records).toEqual(rs);
        const last = encodeRecord(rs[rs.length - 1]!);
        const keep = text.length - last.length + (cut % last.length);
        expect(parseJournal(text.slice(0, keep)).records).toEqual(rs.slice(0, -1));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('snapshot verifier and index parser', () => {
  test('arbitrary signatures, keys and messages never throw in strict verification', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.uint8Array({ maxLength: 64 }),
        (sig, pk, msg) => {
          expect(verifyStrict(msg, sig, pk)).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('signature files: only one base64 line of exactly 64 bytes decodes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc.uint8Array({ minLength: 60, maxLength: 68 }).map((b) => `${Buffer.from(b).toString('base64')}\n`),
        ),
        (text) => {
          const d = decodeSignature(text);
          if (d) expect(d.length).toBe(64);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('arbitrary JSON as an index: parsed or INDEX_CORRUPT', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ maxLength: 100 })), (text) => {
        try {
          parseIndex(text);
        } catch (e) {
          expect(e).toBeInstanceOf(ArtifactsError);
          expect((e as ArtifactsError).code).toBe('INDEX_CORRUPT');
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('canonical JSON is idempotent over arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const c = canonicalJson(v);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
      }),
      { numRuns: RUNS },
    );
  });
});
