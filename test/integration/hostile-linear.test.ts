// Hostile repositories, matching and nesting: include/exclude globs and per-kind schema
// patterns come from the repository and must match in linear time; a deeply nested front
// matter gets the same verdict in every command (worker thread or not); collection
// findings are selected by their structured subjects, never by message text.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { matchesAny } from '../../src/core/glob.js';
import { inspectFile } from '../../src/core/metadata/inspect.js';
import { BIN, gitInit, md, plan, repoWith, testdir } from '../helpers.js';
import { treeChecksum as treeDigest } from '../support/hostile.js';

const DEADLINE_MS = 20_000;
const P = 'docs/plans/fwk-001';

interface Outcome {
  code: number | null;
  doc: Record<string, unknown>;
  ms: number;
}

/** Run the built CLI with --json under a deadline. */
function cli(cwd: string, args: string[]): Outcome {
  const started = Date.now();
  const r = spawnSync(process.execPath, [BIN, '--json', ...args], {
    cwd,
    encoding: 'utf8',
    timeout: DEADLINE_MS,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = Date.now() - started;
  expect(r.signal, `${args.join(' ')} was killed at the ${DEADLINE_MS} ms deadline`).toBeNull();
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.status, doc, ms };
}

type F = { code: string; path?: string; paths?: string[]; refs?: string[]; message: string; pointer?: string };
const findingsOf = (o: Outcome) => (o.doc.findings ?? []) as F[];
const errorCode = (o: Outcome) => (o.doc.error as { code?: string } | undefined)?.code;
const indexedPaths = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')) as { artifacts: Array<{ path: string }> }).artifacts.map(
    (e) => e.path,
  );

/** Run `fn`, asserting that neither a sentinel tree outside the repository nor `.git/` changed. */
function guarded<T>(dir: string, fn: () => T): T {
  const outside = testdir({ 'sentinel/a.txt': 'keep\n', 'sentinel/b/c.txt': 'keep too\n' });
  const before = [treeDigest(outside), treeDigest(join(dir, '.git'))];
  const out = fn();
  expect([treeDigest(outside), treeDigest(join(dir, '.git'))]).toEqual(before);
  return out;
}

describe('include/exclude globs match in linear time', () => {
  const catastrophic = '*a*a*a*a*a*a*a*a*b.md';

  test(`${catastrophic} against a 50-character name finishes fast and gives the right verdict`, () => {
    const long = 'a'.repeat(47);
    const dir = repoWith({
      'artifacts.config.yaml': `digest_algorithm: sha256\nexclude: ["node_modules/**", "${catastrophic}"]\n`,
      [`${P}/${long}.md`]: plan(long),
      // Excluded by the pattern: its broken metadata must never be looked at.
      [`${P}/aaaaaaaab.md`]: '---\nid: [broken\n---\n',
    });
    const r = guarded(dir, () => cli(dir, ['index', 'rebuild', '--no-cache']));
    expect(r.code, JSON.stringify(r.doc)).toBe(0);
    expect(indexedPaths(dir)).toEqual([`${P}/${long}.md`]);
    expect(r.ms).toBeLessThan(10_000);
  });

  test('the matcher itself: catastrophic patterns cost milliseconds', () => {
    // Sized so that a backtracking matcher needs seconds (not hours) for them: in this
    // process, a hang would stall the test run instead of failing it.
    const started = Date.now();
    expect(matchesAny(`docs/${'a'.repeat(46)}.md`, ['*a*a*a*a*a*a*a*a*b'])).toBe(false);
    expect(matchesAny(`${'a/'.repeat(60)}x.md`, ['**/a/**/a/**/a/**/a/**/a/**/a/**/b/**'])).toBe(false);
    expect(matchesAny(`${'a'.repeat(200)}b`, ['*a*a*a*a*a*a*a*a*a*a*a*a*b'])).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('the documented semantics hold', () => {
    const yes: Array<[string, string]> = [
      ['docs/a.md', '*.md'],
      ['docs/x/y/a.md', '*.md'],
      ['a.md', '*.md'],
      ['docs/a.md', 'docs/**/*.md'],
      ['docs/x/y/a.md', 'docs/**/*.md'],
      ['README.md', '/README.md'],
      ['docs/a.md', './docs/*'],
      ['node_modules/x/y.md', 'node_modules/**'],
      ['src/k/a.mdc', '{docs,src}/**/*.{md,mdc}'],
      ['xbdy', 'x{a,{b,c}d}y'],
      ['docs/a.md', 'd?cs/**'],
      ['anything/at/all.md', '**'],
      ['a/b', '{a,b}/{a,b}'],
    ];
    const no: Array<[string, string]> = [
      ['docs/README.md', '/README.md'],
      ['docs/x/a.md', './docs/*'],
      ['node_modules', 'node_modules/**'],
      ['docs/a.md', 'd?/**'],
      ['d/cs/a.md', 'd?cs/**'],
      ['docs/a.txt', '*.md'],
      ['xy', 'x{a,b}y'],
      ['docs/x.md', 'docs/*/x.md'],
    ];
    for (const [path, glob] of yes) expect(matchesAny(path, [glob]), `${glob} ~ ${path}`).toBe(true);
    for (const [path, glob] of no) expect(matchesAny(path, [glob]), `${glob} !~ ${path}`).toBe(false);
  });

  test.each([
    ['braces that explode', `["${'{a,b}'.repeat(9)}/**"]`],
    ['nested braces that explode', `["{${'{a,b}'.repeat(9)},x}"]`],
    ['many alternatives', `["{${Array.from({ length: 300 }, (_, i) => `d${i}`).join(',')}}"]`],
    ['an over-long pattern', `["${'x'.repeat(2000)}"]`],
    ['an unclosed brace', '["docs/{a,b"]'],
    ['too many alternatives together', `[${Array.from({ length: 5 }, (_, i) => `"d${i}/${'{a,b}'.repeat(8)}"`).join(', ')}]`],
  ])('a pattern with %s is CONFIG_INVALID (exit 2) before any file is read', (_name, list) => {
    const dir = repoWith({ 'artifacts.config.yaml': `digest_algorithm: sha256\ninclude: ${list}\n`, [`${P}/p.md`]: plan('p') });
    const r = guarded(dir, () => cli(dir, ['index', 'rebuild']));
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('CONFIG_INVALID');
    expect(r.ms).toBeLessThan(10_000);
  });
});

describe('per-kind schema patterns run on a linear-time engine', () => {
  const evil = 'a'.repeat(40) + 'b';
  const schema = JSON.stringify({
    type: 'object',
    properties: { code: { type: 'string', pattern: '^(a+)+$' } },
    patternProperties: { '^x_(a+)+$': { type: 'integer' } },
  });

  function repo(files: Record<string, string>): string {
    return repoWith({ 'schemas/kinds/plan.schema.json': schema, ...files });
  }

  test('^(a+)+$ against a*40+b: the right verdicts for pattern and patternProperties, under a deadline', () => {
    const dir = repo({
      [`${P}/slow.md`]: plan('slow', { code: evil }),
      [`${P}/keys.md`]: md({
        id: 'keys',
        version: '1.0.0',
        status: 'draft',
        framework: 'fwk-001',
        kind: 'plan',
        [`x_${evil}`]: 'not matched: any value',
        x_aaaa: 'matched: must be an integer',
      }),
      [`${P}/good.md`]: plan('good', { code: 'aaaa' }),
    });
    const r = guarded(dir, () => cli(dir, ['index', 'rebuild', '--no-cache']));
    expect(r.code).toBe(1);
    const found = findingsOf(r)
      .map((f) => `${f.code} ${f.path} ${f.pointer}`)
      .sort();
    expect(found).toEqual([`SCHEMA_VIOLATION ${P}/keys.md /x_aaaa`, `SCHEMA_VIOLATION ${P}/slow.md /code`]);
    expect(r.ms).toBeLessThan(10_000);
  });

  test('the validation itself takes well under a second', async () => {
    // In this process, so a shorter subject: a backtracking engine still needs seconds for it
    // (2^30 steps), but it ends, where a*40+b would hang the test run.
    const dir = repo({ [`${P}/slow.md`]: plan('slow', { code: `${'a'.repeat(30)}b` }), [`${P}/good.md`]: plan('good', { code: 'aaaa' }) });
    const ctx = { root: dir, algorithm: 'sha256' as const, schemasDir: join(dir, 'schemas') };
    expect((await inspectFile(ctx, `${P}/good.md`)).type).toBe('artifact'); // compiles the schema
    const started = Date.now();
    const slow = await inspectFile(ctx, `${P}/slow.md`);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(slow.type).toBe('invalid');
  });

  test.each([
    ['a backreference', '^(a)\\\\1$', /backreferences/],
    ['a lookahead', '^(?=a)a$', /lookaround/],
    ['a lookbehind', '(?<=a)b', /lookaround/],
    ['a pattern too complex for the budget', `[a-z]{1000}[a-z]{1000}[a-z]{1000}`, /too complex/],
  ])('%s is KIND_SCHEMA_INVALID with a clear message', (_name, pattern, why) => {
    const dir = repoWith({
      'schemas/kinds/plan.schema.json': `{"type":"object","properties":{"code":{"type":"string","pattern":"${pattern}"}}}`,
      [`${P}/p.md`]: plan('p', { code: 'aa' }),
    });
    const r = guarded(dir, () => cli(dir, ['index', 'add', `${P}/p.md`]));
    const f = findingsOf(r).find((x) => x.code === 'KIND_SCHEMA_INVALID');
    expect(f, JSON.stringify(r.doc)).toBeDefined();
    expect(f!.message).toMatch(why);
    expect(r.code).toBe(2);
  });
});

describe('nesting depth is judged on the bytes, the same in every command', () => {
  const META = 'id: deep\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: plan\n';
  const flowDeep = (n: number) => `---\n${META}x: ${'['.repeat(n)}${']'.repeat(n)}\n---\nbody\n`;
  const blockDeep = (n: number) =>
    `---\n${META}${Array.from({ length: n }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n')} 1\n---\nbody\n`;

  /** Enough other artifacts that a tree scan runs in worker threads (the threshold is 400). */
  function manyPlans(): Record<string, string> {
    const files: Record<string, string> = {};
    for (let i = 0; i < 450; i++) files[`${P}/p${i}.md`] = plan(`p${i}`);
    return files;
  }

  test('a 1,000-level front matter is METADATA_TOO_DEEP from index rebuild (workers) and from index add', () => {
    const dir = repoWith({ ...manyPlans(), [`${P}/deep.md`]: flowDeep(1000) });
    const rebuild = guarded(dir, () => cli(dir, ['index', 'rebuild', '--no-cache']));
    expect(rebuild.code).toBe(1);
    expect(findingsOf(rebuild).map((f) => `${f.code} ${f.path}`)).toEqual([`METADATA_TOO_DEEP ${P}/deep.md`]);
    const add = guarded(dir, () => cli(dir, ['index', 'add', `${P}/deep.md`]));
    expect(add.code).toBe(1);
    expect(findingsOf(add).map((f) => `${f.code} ${f.path}`)).toEqual([`METADATA_TOO_DEEP ${P}/deep.md`]);
  });

  test('block-style nesting and JSON sidecars are capped too; 64 levels are accepted, 65 are not', () => {
    const sidecar = (n: number) =>
      JSON.stringify({
        id: 'm',
        version: '1.0.0',
        status: 'draft',
        framework: 'fwk-001',
        kind: 'model',
        x: JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`) as unknown,
      });
    const dir = repoWith({
      [`${P}/edge.md`]: flowDeep(63).replace('id: deep', 'id: edge'),
      [`${P}/over.md`]: flowDeep(64).replace('id: deep', 'id: over'),
      [`${P}/block.md`]: blockDeep(65).replace('id: deep', 'id: block'),
      'models/m/1.0.0/m.bin': 'weights',
      'models/m/1.0.0/m.bin.artifact.json': sidecar(2000),
    });
    const edge = cli(dir, ['index', 'add', `${P}/edge.md`]);
    expect(edge.code, JSON.stringify(edge.doc)).toBe(0);
    // (The model is named by its file; its sidecar describes it.)
    for (const file of [`${P}/over.md`, `${P}/block.md`, 'models/m/1.0.0/m.bin']) {
      const r = guarded(dir, () => cli(dir, ['index', 'add', file]));
      expect(
        findingsOf(r).map((f) => f.code),
        file,
      ).toEqual(['METADATA_TOO_DEEP']);
      expect(r.code).toBe(1);
    }
  });
});

describe('index add keeps collection findings (selected by subject, not by message text)', () => {
  function bare(files: Record<string, string>): string {
    // No routing file: file names need not follow a route template.
    const dir = testdir({ 'artifacts.config.yaml': 'digest_algorithm: sha256\n', ...files });
    gitInit(dir);
    return dir;
  }
  const note = (id: string) => md({ id, version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'note' });

  test.each([
    ['letter case', 'notes/Read-Me.md', 'notes/read-me.md'],
    ['Unicode normalization (NFC and NFD)', 'notes/caf\u00e9.md', 'notes/cafe\u0301.md'],
    // toLowerCase makes a word-final capital sigma a final sigma: still the same letter.
    ['a word-final capital sigma', 'notes/\u0391\u03a3-0042.md', 'notes/\u03b1\u03c3-0042.md'],
    ['letter case, with a letter-free run searched for', 'notes/ADR/0042-x.md', 'notes/adr/0042-X.md'],
  ])('two files differing only by %s are PATH_COLLISION, added together or one after the other', (_name, a, b) => {
    const dir = bare({ [a]: note('one'), [b]: note('two') });
    const both = guarded(dir, () => cli(dir, ['index', 'add', a, b]));
    expect(both.code).toBe(1);
    const f = findingsOf(both).filter((x) => x.code === 'PATH_COLLISION');
    expect(f).toHaveLength(1);
    expect([...f[0]!.paths!].sort()).toEqual([a, b].sort());
    expect([...f[0]!.refs!].sort()).toEqual(['one@1.0.0', 'two@1.0.0']);

    expect(cli(dir, ['index', 'add', a]).code).toBe(0);
    const second = guarded(dir, () => cli(dir, ['index', 'add', b]));
    expect(second.code).toBe(1);
    expect(findingsOf(second).map((x) => x.code)).toEqual(['PATH_COLLISION']);
    expect(indexedPaths(dir)).toEqual([a]);
  });

  test('DUPLICATE_VERSION names both files and the version', () => {
    const dir = bare({ 'notes/a.md': note('same'), 'notes/b.md': note('same') });
    expect(cli(dir, ['index', 'add', 'notes/a.md']).code).toBe(0);
    const r = cli(dir, ['index', 'add', 'notes/b.md']);
    expect(r.code).toBe(1);
    const f = findingsOf(r);
    expect(f.map((x) => x.code)).toEqual(['DUPLICATE_VERSION']);
    expect(f[0]!.paths).toEqual(['notes/a.md', 'notes/b.md']);
    expect(f[0]!.refs).toEqual(['same@1.0.0']);
  });
});
