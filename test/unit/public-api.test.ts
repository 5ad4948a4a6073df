// The public API is a decision, recorded in api/exports.txt: what src/index.ts exports must
// be exactly that list, so a name cannot join (or leave) the API without the change showing
// in review. Regenerate the file with `node scripts/gen-api-report.js`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROJECT } from '../helpers.js';
// @ts-expect-error: a JavaScript build script without type declarations
import { apiReport } from '../../scripts/gen-api-report.js';

const recorded = readFileSync(join(PROJECT, 'api', 'exports.txt'), 'utf8');
const rows = recorded
  .trimEnd()
  .split('\n')
  .map((l) => l.split(' ') as [string, string]);

describe('public API', () => {
  test('src/index.ts exports exactly the names and kinds api/exports.txt records', () => {
    expect((apiReport as () => string)()).toBe(recorded);
  });

  test('the runtime exports are the recorded values (functions, classes, constants)', async () => {
    const lib = (await import('../../src/index.js')) as Record<string, unknown>;
    const values = rows.filter(([, kind]) => kind === 'function' || kind === 'class' || kind === 'const').map(([name]) => name);
    expect(Object.keys(lib).sort()).toEqual(values.sort());
  });

  test('no internals: no Ed25519 primitives, raw keys, index codecs or write-protocol hooks', () => {
    const names = new Set(rows.map(([name]) => name));
    for (const internal of [
      'signDetached',
      'verifyStrict',
      'loadSigningKey',
      'SigningKey',
      'parseIndex',
      'serializeIndex',
      'writeFileDurable',
      'FaultHook',
      'parseJournal',
      'canonicalJson',
    ]) {
      expect(names.has(internal), internal).toBe(false);
    }
  });
});

describe('the documentation uses the public API only', () => {
  test('every name README.md and docs/ import from artifacts-cli is exported', () => {
    const names = new Set(rows.map(([name]) => name));
    const pages = [
      'README.md',
      ...readdirSync(join(PROJECT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    let imports = 0;
    for (const page of pages) {
      const text = readFileSync(join(PROJECT, page), 'utf8');
      for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'artifacts-cli'/g)) {
        for (const raw of m[1]!.split(',')) {
          const name = raw
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0]!;
          if (name === '') continue;
          imports++;
          expect(names.has(name), `${page} imports ${name}`).toBe(true);
        }
      }
    }
    expect(imports).toBeGreaterThan(0);
  });
});
