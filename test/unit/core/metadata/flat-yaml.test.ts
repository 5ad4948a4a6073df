import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseFlatYaml } from '../../../../src/core/metadata/flat-yaml.js';
import { parseSafeYaml, parseYamlDocument } from '../../../../src/core/metadata/safe-yaml.js';

// The flat reader must agree with the YAML library on every text it accepts: the value,
// and the position and source excerpt of every node a finding could point at.
const keys = [
  'id',
  'version',
  'kind',
  'a',
  'Title',
  'x-y',
  'k_1',
  'true',
  'Null',
  'constructor',
  'on',
  'y',
  'e1',
  'a b',
  ' id',
  'id ',
  'ü',
];
const scalars = [
  'x',
  'plan-1',
  'draft',
  '"1.0.0"',
  "'1.0.0'",
  '""',
  "''",
  '"a # b"',
  '"a, b"',
  '"x]"',
  '"[x"',
  "'it''s'",
  '"a\\"b"',
  '"tab\\t"',
  '1',
  '0',
  '007',
  '123456789012345',
  '1234567890123456',
  '-1',
  '+1',
  '1.0',
  '1e3',
  '0x1F',
  '0o17',
  '.inf',
  '.NaN',
  'true',
  'True',
  'FALSE',
  'null',
  '~',
  'yes',
  'off',
  'a.b/c@d+e',
  '_x',
  '2026-01-01',
  '2026-01-01T00:00:00Z',
  'a: b',
  'a #c',
  'a #',
  '#c',
  '&a x',
  '*a',
  '!!str x',
  '|',
  '>',
  '@x',
  '`x',
  '%x',
  '{}',
  '{a: 1}',
  '- x',
  '"ünï"',
  'x ',
  '\u0085',
  '"a\u007f"',
];
const seqs = fc
  .tuple(fc.array(fc.constantFrom(...scalars), { maxLength: 3 }), fc.constantFrom(', ', ',', ' , ', ',  '), fc.constantFrom('', ' '))
  .map(([items, sep, pad]) => `[${pad}${items.join(sep)}${pad}]`);
const value = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...scalars) },
  { weight: 1, arbitrary: seqs },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 8 }),
  },
);
const line = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.constantFrom(...keys), fc.constantFrom(': ', ':  ', ':', ' : '), value).map(([k, s, v]) => `${k}${s}${v}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '  nested: x', '- item', '---', '...', 'id:', '%YAML 1.1', 'a:\r', 'a:\tb') },
);
// Mostly well-formed documents (so that the flat reader accepts a good share), some with
// one hostile line or value mixed in.
const goodScalar = fc.constantFrom('x', 'plan-1', '"1.0.0"', "'1.0.0'", '""', '"a # b"', '"x]"', '1', '0', 'a.b/c@d+e', '_x', 'yes');
const goodValue = fc.oneof(
  { weight: 4, arbitrary: goodScalar },
  { weight: 1, arbitrary: fc.array(goodScalar, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`) },
);
const goodLine = fc
  .tuple(fc.constantFrom('id', 'version', 'kind', 'a', 'Title', 'x-y', 'k_1', 'on', 'e1'), fc.constantFrom(': ', ':  '), goodValue)
  .map(([k, s, v]) => `${k}${s}${v}`);
const doc = fc.tuple(
  fc.oneof(
    fc.array(line, { maxLength: 8 }),
    fc.array(fc.oneof({ weight: 20, arbitrary: goodLine }, { weight: 1, arbitrary: line }), { maxLength: 8 }),
  ),
  fc.constantFrom('\n', '', '\n\n', '\r\n'),
);

function pointers(v: unknown): string[] {
  const out = ['', '/', '/missing', '/0', '/a/0/x'];
  if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      const p = `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      out.push(p, `${p}/0`, `${p}/1`, `${p}/01`, `${p}/`, `${p}/-1`, `${p}/x`, `${p}/0/y`);
      if (Array.isArray(x)) x.forEach((_, i) => out.push(`${p}/${i}`));
    }
  return out;
}

describe('flat front matter', () => {
  test('on every text it reads, it agrees with the YAML library (value, positions, excerpts)', async () => {
    let accepted = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(doc, fc.integer({ min: 0, max: 3 }), async ([lines, end], lineOffset) => {
        const text = lines.join(end === '\r\n' ? '\r\n' : '\n') + end;
        total++;
        const flat = parseFlatYaml(text, lineOffset);
        if (!flat) return;
        accepted++;
        const full = await parseYamlDocument(text, { path: 'a.md', lineOffset });
        expect(full.findings).toEqual([]);
        expect(flat.value).toStrictEqual(full.value);
        for (const p of pointers(full.value)) {
          expect([p, flat.locate(p)]).toEqual([p, full.locate(p)]);
          expect([p, flat.sourceOf(p)]).toEqual([p, full.sourceOf(p)]);
        }
      }),
      { numRuns: 3000 },
    );
    // The generator must exercise the flat reader, not only its refusals.
    expect(accepted).toBeGreaterThan(total / 10);
  });

  test('typical artifact front matter is read flat; nesting, comments and escapes are not', () => {
    const typical = 'id: plan-1\nversion: "1.2.0"\nstatus: draft\nkind: plan\nderived_from: ["req-1@1", "req-2@1"]\nsize: 3\n';
    expect(parseFlatYaml(typical)?.value).toEqual({
      id: 'plan-1',
      version: '1.2.0',
      status: 'draft',
      kind: 'plan',
      derived_from: ['req-1@1', 'req-2@1'],
      size: 3,
    });
    for (const t of [
      'id: a\nmeta:\n  x: 1\n',
      'id: a # c\n',
      'id: "a\\u0041"\n',
      'id: a\nid: b\n',
      'version: 1.10\n',
      'id: é\n',
      '<<: x\n',
    ])
      expect(parseFlatYaml(t)).toBeUndefined();
  });

  test('parseSafeYaml still reports what the flat reader leaves to the library', async () => {
    expect((await parseSafeYaml('id: a\nid: b\n')).findings.map((f) => f.code)).toEqual(['METADATA_DUPLICATE_KEY']);
    expect((await parseSafeYaml('constructor: x\n')).findings.map((f) => f.code)).toEqual(['METADATA_FORBIDDEN_KEY']);
    expect((await parseSafeYaml('version: 1\n')).value).toEqual({ version: 1 });
  });
});
