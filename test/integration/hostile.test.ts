// Hostile input (SPEC §3, §11): each gets a finding with a stable code and changes nothing.
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseSafeYaml } from '../../src/core/metadata/safe-yaml.js';
import { fromTemplate, plan, read, repoWith, runJson, testdir, writeTree } from '../helpers.js';

const META = 'version: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: plan\n';
const P = 'docs/plans/fwk-001';

function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n');
}

interface Case {
  name: string;
  file: string;
  content: string | Buffer;
  code: string;
  check?: (f: Record<string, unknown>) => void;
}

const cases: Case[] = [
  { name: 'YAML alias bomb', file: `${P}/bomb.md`, content: `---\nid: bomb\n${META}${aliasBomb()}\n---\n`, code: 'METADATA_ALIAS' },
  {
    name: '---js front matter',
    file: `${P}/js.md`,
    content: `---js\n{ id: (require('fs').writeFileSync('PWNED', 'x'), 'js') }\n---\nbody\n`,
    code: 'FRONT_MATTER_LANGUAGE',
  },
  {
    name: '---javascript front matter',
    file: `${P}/js2.md`,
    content: `---javascript\nmodule.exports = (require('fs').writeFileSync('PWNED', 'x'), {})\n---\n`,
    code: 'FRONT_MATTER_LANGUAGE',
  },
  {
    name: '__proto__ key',
    file: `${P}/proto.md`,
    content: `---\nid: proto\n${META}__proto__:\n  polluted: yes\n---\n`,
    code: 'METADATA_FORBIDDEN_KEY',
    check: (f) => expect(f.line).toBe(7),
  },
  {
    name: 'constructor key',
    file: `${P}/ctor.md`,
    content: `---\nid: ctor\n${META}constructor:\n  prototype:\n    polluted: yes\n---\n`,
    code: 'METADATA_FORBIDDEN_KEY',
  },
  {
    name: 'duplicate keys',
    file: `${P}/dup.md`,
    content: `---\nid: dup\n${META}id: dup2\n---\n`,
    code: 'METADATA_DUPLICATE_KEY',
    check: (f) => expect(f.line).toBe(7),
  },
  {
    name: 'version: 1.10 (hint: quote it)',
    file: `${P}/num.md`,
    content: '---\nid: num\nversion: 1.10\nstatus: draft\nframework: fwk-001\nkind: plan\n---\n',
    code: 'VERSION_NOT_STRING',
    check: (f) => {
      expect(f.hint).toContain('"1.10"');
      expect(f.line).toBe(3);
      expect(f.pointer).toBe('/version');
    },
  },
  {
    name: 'invalid UTF-8',
    file: `${P}/utf.md`,
    content: Buffer.concat([Buffer.from(`---\nid: utf\n${META}title: "`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"\n---\n')]),
    code: 'INVALID_UTF8',
  },
  {
    name: 'metadata over 64 KiB',
    file: `${P}/big.md`,
    content: `---\nid: big\n${META}pad: "${'x'.repeat(70 * 1024)}"\n---\n`,
    code: 'METADATA_TOO_LARGE',
  },
  { name: 'custom tag', file: `${P}/tag.md`, content: `---\nid: tag\n${META}x: !!js/function "function(){}"\n---\n`, code: 'METADATA_TAG' },
  { name: 'id ../x', file: `${P}/dotdot.md`, content: `---\nid: ../x\n${META}---\n`, code: 'INVALID_ID' },
  { name: 'id a/b', file: `${P}/slash.md`, content: `---\nid: a/b\n${META}---\n`, code: 'INVALID_ID' },
  { name: 'id CON', file: `${P}/con.md`, content: `---\nid: CON\n${META}---\n`, code: 'INVALID_ID' },
  { name: 'id nul.txt', file: `${P}/nul.md`, content: `---\nid: nul.txt\n${META}---\n`, code: 'INVALID_ID' },
  { name: 'id .git', file: `${P}/git.md`, content: `---\nid: .git\n${META}---\n`, code: 'INVALID_ID' },
  { name: 'id over 128 chars', file: `${P}/long.md`, content: `---\nid: ${'a'.repeat(129)}\n${META}---\n`, code: 'INVALID_ID' },
  { name: 'unterminated front matter', file: `${P}/open.md`, content: `---\nid: open\n${META}`, code: 'FRONT_MATTER_UNTERMINATED' },
  {
    name: 'bad status',
    file: `${P}/st.md`,
    content: `---\nid: st\nversion: "1"\nstatus: done\nframework: fwk-001\nkind: plan\n---\n`,
    code: 'SCHEMA_VIOLATION',
    check: (f) => expect(f.pointer).toBe('/status'),
  },
  {
    name: 'checksum mismatch',
    file: `${P}/sum.md`,
    content: `---\nid: sum\n${META}checksum: sha256:${'0'.repeat(64)}\n---\nbody\n`,
    code: 'CHECKSUM_MISMATCH',
  },
];

/** One plan, indexed (built once, copied). */
function indexed(): string {
  return fromTemplate('indexed', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    expect(runJson(dir, ['index', 'rebuild']).code).toBe(0);
    return dir;
  });
}

describe('hostile metadata', () => {
  for (const c of cases) {
    test(`${c.name} → ${c.code}, index unchanged`, () => {
      const dir = indexed();
      const before = read(dir, 'artifacts_index.json');
      writeTree(dir, { [c.file]: c.content });
      const t0 = Date.now();
      const add = runJson(dir, ['index', 'add', c.file]);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(add.code).toBe(1);
      const findings = add.doc.findings as Array<Record<string, unknown>>;
      const f = findings.find((x) => x.code === c.code);
      expect(f, JSON.stringify(findings)).toBeDefined();
      expect(f!.path).toBe(c.file);
      expect(typeof f!.hint).toBe('string');
      c.check?.(f!);
      expect(read(dir, 'artifacts_index.json')).toBe(before);
      // The tree-wide commands report it too, and rebuild refuses to write.
      const val = runJson(dir, ['validate']);
      expect(val.code).toBe(1);
      expect((val.doc.findings as Array<{ code: string }>).some((x) => x.code === c.code)).toBe(true);
      expect(runJson(dir, ['index', 'rebuild']).code).toBe(1);
      expect(read(dir, 'artifacts_index.json')).toBe(before);
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  test('an alias bomb is rejected quickly without expanding it', async () => {
    await parseSafeYaml('warm: up\n'); // load the yaml module outside the timed part
    const t0 = performance.now();
    const r = await parseSafeYaml(`id: x\n${aliasBomb()}\n`);
    // Expanded, this document holds 9^10 strings: any expansion takes minutes, so a bound this
    // loose only fails when the parser expands aliases, never on a busy machine.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.value).toBeUndefined();
    expect(r.findings.some((f) => f.code === 'METADATA_ALIAS')).toBe(true);
  });

  test('YAML timestamps stay strings; JSON sidecars get duplicate-key checks', async () => {
    const r = await parseSafeYaml('created_at: 2026-01-01T00:00:00Z\n');
    expect(r.value).toEqual({ created_at: '2026-01-01T00:00:00Z' });
    const j = await parseSafeYaml('{"id": "a", "id": "b"}');
    expect(j.findings[0]?.code).toBe('METADATA_DUPLICATE_KEY');
  });
});

describe('hostile paths', () => {
  test('an artifact symlink pointing outside the repository is reported and not read', () => {
    const outside = testdir({ 'secret.md': plan('secret') });
    const dir = indexed();
    const before = read(dir, 'artifacts_index.json');
    symlinkSync(join(outside, 'secret.md'), join(dir, P, 'secret.md'));
    const add = runJson(dir, ['index', 'add', `${P}/secret.md`]);
    expect(add.code).toBe(1);
    expect((add.doc.findings as Array<{ code: string }>)[0]?.code).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(runJson(dir, ['index', 'rebuild']).code).toBe(1);
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('a symlinked index is refused (exit 4) and its target untouched', () => {
    const elsewhere = testdir({ 'victim.json': 'do not touch\n' });
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    symlinkSync(join(elsewhere, 'victim.json'), join(dir, 'artifacts_index.json'));
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(4);
    expect((r.doc.error as { code: string }).code).toBe('SYMLINK_REFUSED');
    expect(readFileSync(join(elsewhere, 'victim.json'), 'utf8')).toBe('do not touch\n');
  });

  test('a symlinked journal is refused (exit 4) and its target untouched', () => {
    const elsewhere = testdir({ 'victim.log': 'do not touch\n' });
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    mkdirSync(join(dir, '.artifacts'), { recursive: true });
    symlinkSync(join(elsewhere, 'victim.log'), join(dir, '.artifacts/journal'));
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(4);
    expect((r.doc.error as { code: string }).code).toBe('SYMLINK_REFUSED');
    expect(readFileSync(join(elsewhere, 'victim.log'), 'utf8')).toBe('do not touch\n');
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
  });

  test('a symlinked directory on the way to an artifact is refused when it leads outside', () => {
    const outside = testdir({ 'x.md': plan('x') });
    const dir = repoWith({});
    symlinkSync(outside, join(dir, 'docs-link'));
    const r = runJson(dir, ['index', 'add', 'docs-link/x.md']);
    expect(r.code).toBe(2);
    expect((r.doc.error as { code: string }).code).toBe('PATH_UNSAFE');
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
  });

  test('a tracked directory replaced by a symlink that leads outside: rebuild and verify report it, even with a warm cache', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok'), [`${P}/two.md`]: plan('two') });
    expect(runJson(dir, ['index', 'rebuild']).code).toBe(0);
    expect(runJson(dir, ['index', 'verify']).code).toBe(0);
    const before = read(dir, 'artifacts_index.json');
    // Same files, same inodes, same git listing: only the directory now leads elsewhere.
    renameSync(join(dir, 'docs/plans'), `${dir}-moved`);
    symlinkSync(`${dir}-moved`, join(dir, 'docs/plans'));
    for (const cmd of [['index', 'verify'], ['index', 'rebuild'], ['validate']]) {
      const r = runJson(dir, cmd);
      expect(r.code, cmd.join(' ')).toBe(1);
      const codes = (r.doc.findings as Array<{ code: string; path: string }>)
        .filter((f) => f.code === 'SYMLINK_OUTSIDE_ROOT')
        .map((f) => f.path);
      expect(codes.sort(), cmd.join(' ')).toEqual([`${P}/ok.md`, `${P}/two.md`]);
    }
    expect(read(dir, 'artifacts_index.json')).toBe(before);
  });

  test('paths that differ only by case or by Unicode normalization (NFC/NFD) are reported', () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const dir = repoWith({
      [`docs/plans/fwk-001/Notes/${nfc}.md`]: plan('one', { kind: 'note' }),
      [`docs/plans/fwk-001/Notes/${nfd}.md`]: plan('two', { kind: 'note' }),
      'docs/plans/fwk-001/Plan-A.md': plan('pa', { kind: 'note' }),
      'docs/plans/fwk-001/plan-a.md': plan('pb', { kind: 'note' }),
      'artifact_routing.mdc': '---\nroutes: []\n---\n',
    });
    const r = runJson(dir, ['validate']);
    const collisions = (r.doc.findings as Array<{ code: string; message: string }>).filter((f) => f.code === 'PATH_COLLISION');
    expect(collisions).toHaveLength(2);
    expect(r.code).toBe(1);
  });

  test('paths outside the root are refused', () => {
    const dir = repoWith({});
    const r = runJson(dir, ['index', 'add', '../elsewhere.md']);
    expect(r.code).toBe(2);
    expect((r.doc.error as { code: string }).code).toBe('PATH_UNSAFE');
  });

  test('route templates escaping the root are ROUTE_INVALID_PATH', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    writeFileSync(
      join(dir, 'artifact_routing.mdc'),
      '---\nroutes:\n  - kind: plan\n    path: ../outside/{id}.md\n  - kind: model\n    path: /etc/{id}\n---\n',
    );
    const r = runJson(dir, ['route', 'check']);
    expect(r.code).toBe(1);
    const codes = (r.doc.findings as Array<{ code: string; message: string }>).filter((f) => f.code === 'ROUTE_INVALID_PATH');
    expect(codes).toHaveLength(2);
  });
});
