// YAML and schema problems in user terms (issue 11): no parser-library advice, the
// duplicated key named with its first line, indentation named as the cause, tags shown as
// written, the missing field's example in the hint, "did you mean" for enum typos, and
// never more than a short excerpt of the file in a message.
import { describe, expect, test } from 'vitest';
import { parseSafeYaml } from '../../src/core/metadata/safe-yaml.js';
import { closestValue, schemaFindings } from '../../src/core/metadata/schema.js';
import { namesIdOrKind, validateMetadata } from '../../src/core/metadata/inspect.js';

async function problems(text: string) {
  // Front matter starts on line 2 of a Markdown file.
  return (await parseSafeYaml(text, { path: 'a.md', lineOffset: 1 })).findings;
}

describe('YAML problems', () => {
  test('a "..." line: says what it does, no parseAllDocuments() advice', async () => {
    const [f, ...rest] = await problems('title: a\n...\nmore: b\n');
    expect(rest).toEqual([]);
    expect(f!.code).toBe('METADATA_PARSE');
    expect(f!.message).toContain('"..."');
    expect(f!.message).not.toMatch(/parseAllDocuments|YAML\./);
    expect(f!.line).toBe(3);
  });

  test('a second --- inside the metadata: a second document, in user words', async () => {
    const [f] = await problems('title: a\n---\nmore: b\n');
    expect(f!.message).toContain('second "---"');
    expect(f!.message).not.toMatch(/parseAllDocuments|YAML\./);
    expect(f!.line).toBe(3);
  });

  test('a duplicate key is named, with the line of its first occurrence', async () => {
    const [f] = await problems('title: one\ndate: x\ntitle: two\n');
    expect(f!.code).toBe('METADATA_DUPLICATE_KEY');
    expect(f!.message).toBe('duplicate key "title" (first at line 2)');
    expect(f!.line).toBe(4);
  });

  test('a long duplicated key is quoted as a short excerpt only', async () => {
    const key = 'k'.repeat(500);
    const [f] = await problems(`${key}: 1\n${key}: 2\n`);
    expect(f!.message.length).toBeLessThan(100);
    expect(f!.message).toContain('…');
  });

  test('an unindented continuation line: "wrongly indented continuation line", once per line', async () => {
    const fs = await problems('title: a long title\nthat goes on\ndate: x\n');
    expect(fs).toHaveLength(1);
    expect(fs[0]!.message).toContain('wrongly indented continuation line');
    expect(fs[0]!.line).toBe(3);
  });

  test('an over-indented line under a plain value', async () => {
    const fs = await problems('title: a\n  b: c\n');
    expect(fs).toHaveLength(1);
    expect(fs[0]!.message).toMatch(/wrongly indented/);
  });

  test('tabs, unclosed quotes and unclosed brackets in plain words', async () => {
    expect((await problems('title:\n\t- a\n'))[0]!.message).toContain('tab');
    expect((await problems('title: "abc\nx: 1\n'))[0]!.message).toContain('never closed');
    const flow = await problems('tags: [a, b\n');
    expect(flow.length).toBeGreaterThan(0);
    for (const f of flow) expect(f.message).not.toMatch(/YAML\.\w+\(/);
  });

  test('tags are shown as written (!!str, !foo), never as tag:yaml.org,2002:…', async () => {
    const fs = await problems('a: !!str 5\nb: !foo bar\nc: !!python/object:os.system ls\n');
    expect(fs.map((f) => f.message)).toEqual([
      'tag !!str is not allowed',
      'tag !foo is not allowed',
      'tag !!python/object:os.system is not allowed',
    ]);
    for (const f of fs) expect(f.message).not.toContain('tag:yaml.org');
  });

  test('a complex key is refused in plain words', async () => {
    const [f] = await problems('? [a]\n: b\n');
    expect(f!.message).toMatch(/key that is a list or a mapping/);
  });
});

describe('messages quote only a short excerpt of the file', () => {
  test('a long anchor and alias name', async () => {
    const name = 'a'.repeat(3000);
    const fs = await problems(`x: &${name} 1\ny: *${name}\n`);
    expect(fs.length).toBeGreaterThan(0);
    for (const f of fs) expect(f.message.length).toBeLessThan(120);
  });

  test('a version written as a number with thousands of digits', async () => {
    const ctx = { root: '/nonexistent', algorithm: 'sha256' as const, schemasDir: '/nonexistent/schemas' };
    const text = `id: x\nversion: 1.${'1'.repeat(5000)}\nstatus: draft\nframework: f\nkind: plan\n`;
    const parsed = await parseSafeYaml(text, { path: 'a.md', lineOffset: 1 });
    const fs = await validateMetadata(ctx, parsed.value, parsed, 'a.md');
    const f = fs.find((x) => x.code === 'VERSION_NOT_STRING')!;
    expect(f.message.length).toBeLessThan(120);
    expect(f.hint!.length).toBeLessThan(200);
  });
});

describe('schema problems', () => {
  const ctx = { root: '/nonexistent', algorithm: 'sha256' as const, schemasDir: '/nonexistent/schemas' };
  const noLoc = { locate: () => undefined, sourceOf: () => undefined };

  test('a missing required field: the hint shows the line to add', async () => {
    const fs = await validateMetadata(ctx, { id: 'x', status: 'draft', framework: 'f', kind: 'plan' }, noLoc, 'a.md');
    const f = fs.find((x) => x.pointer === '/version')!;
    expect(f.message).toContain('required field "version" is missing');
    expect(f.hint).toBe('Add `version: "1.0.0"` to the metadata.');
  });

  test('an enum typo offers the closest allowed value', async () => {
    const fs = await validateMetadata(ctx, { id: 'x', version: '1', status: 'aproved', framework: 'f', kind: 'plan' }, noLoc, 'a.md');
    const f = fs.find((x) => x.pointer === '/status')!;
    expect(f.message).toContain('did you mean "approved"?');
    expect(f.hint).toContain('`approved`');
  });

  test('a value far from every allowed one gets no guess; a long value is an excerpt', async () => {
    const long = 'z'.repeat(300);
    const fs = await validateMetadata(ctx, { id: 'x', version: '1', status: long, framework: 'f', kind: 'plan' }, noLoc, 'a.md');
    const f = fs.find((x) => x.pointer === '/status')!;
    expect(f.message).not.toContain('did you mean');
    expect(f.message.length).toBeLessThan(200);
  });

  test('kind schemas: enum typos at any depth', () => {
    const fs = schemaFindings([{ instancePath: '/risk/level', keyword: 'enum', params: { allowedValues: ['low', 'medium', 'high'] } }], {
      schemaName: 'risk schema',
      data: { risk: { level: 'meduim' } },
    });
    expect(fs[0]!.message).toContain('did you mean "medium"?');
  });

  test('a missing field whose misspelling is present names the misspelt key', async () => {
    const fs = await validateMetadata(ctx, { id: 'x', version: '1', statsu: 'draft', framework: 'f', kind: 'plan' }, noLoc, 'a.md');
    const f = fs.find((x) => x.pointer === '/status')!;
    expect(f.message).toContain('"statsu" a misspelling of "status"');
    expect(f.hint).toContain('Rename "statsu" to `status`');
    // No near key: the plain hint.
    const plain = await validateMetadata(ctx, { id: 'x', version: '1', framework: 'f', kind: 'plan', title: 't' }, noLoc, 'a.md');
    expect(plain.find((x) => x.pointer === '/status')!.hint).toBe('Add `status: draft` to the metadata.');
  });

  test('closestValue', () => {
    expect(closestValue('aproved', ['draft', 'review', 'approved'])).toBe('approved');
    expect(closestValue('Draft', ['draft', 'review', 'approved'])).toBe('draft');
    expect(closestValue('revew', ['draft', 'review', 'approved'])).toBe('review');
    expect(closestValue('published', ['draft', 'review', 'approved'])).toBeUndefined();
  });
});

describe('does front matter name id or kind (judged on the text)', () => {
  test.each([
    ['id: x\n  : broken', true],
    ['title: a\nkind: plan\n', true],
    ['"id": x\n', true],
    ["'kind' : x\n", true],
    ['id : x\n', true],
    ['meta:\n  id: x\n', false],
    ['identity: x\n', false],
    ['kinds: [a]\n', false],
    ['- id: x\n', false],
    ['', false],
  ])('%j -> %s', (text, expected) => expect(namesIdOrKind(text)).toBe(expected));
});

describe('the YAML merge key', () => {
  test('is refused, and front matter made only of it is judged as an artifact', async () => {
    const r = await parseSafeYaml('<<: {id: h1, kind: doc}\n');
    expect(r.findings.map((f) => f.code)).toContain('METADATA_FORBIDDEN_KEY');
    expect(namesIdOrKind('<<: {id: h1, kind: doc}\n')).toBe(true);
  });
});
