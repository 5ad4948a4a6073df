// What the command line says: summary lines count problems per code, --json holds for usage
// errors too (one JSON document, exit 2), and `--format github` always says something.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { countByCode, summaryLine } from '../../src/cli/render.js';
import type { Finding } from '../../src/core/errors.js';
import { plan, repoWith, run, runJson, testdir } from '../helpers.js';

const P = 'docs/plans/fwk-001';
const O = { json: false, quiet: false, verbose: false, color: false };

function f(code: Finding['code'], severity: Finding['severity'] = 'error'): Finding {
  return { code, severity, message: 'm' };
}

describe('summary lines', () => {
  test('count the problems of each code, most frequent first, then by code', () => {
    const fs = [
      f('ROUTE_MISMATCH'),
      f('SCHEMA_VIOLATION'),
      f('SCHEMA_VIOLATION'),
      f('TRUST_ROOT_UNPINNED', 'warning'),
      f('INDEX_UNINDEXED'),
    ];
    expect(summaryLine(O, fs, 'ok', 'validate')).toBe(
      'validate: 4 errors (2 SCHEMA_VIOLATION, 1 INDEX_UNINDEXED, 1 ROUTE_MISMATCH), 1 warning (1 TRUST_ROOT_UNPINNED)\n',
    );
    // The order does not depend on the order the findings came in.
    expect(countByCode([...fs].reverse())).toBe(countByCode(fs));
    expect(summaryLine(O, [f('INDEX_CORRUPT')], 'ok', 'index verify')).toBe('index verify: 1 error (1 INDEX_CORRUPT), 0 warnings\n');
    expect(summaryLine(O, [], 'all good', 'validate')).toBe('✓ all good\n');
  });

  test('validate prints the per-code counts on a real repository', () => {
    const dir = repoWith({
      [`${P}/a.md`]: plan('a', { status: 'aproved' }),
      [`${P}/b.md`]: plan('b', { status: 'done' }),
      'docs/other/c.md': plan('c'),
    });
    const r = run(dir, ['validate']);
    expect(r.code).toBe(1);
    const last = r.stdout.trim().split('\n').pop()!;
    expect(last).toMatch(/^validate: \d+ errors \(2 SCHEMA_VIOLATION, /);
    expect(last).toContain('1 ROUTE_MISMATCH');
  });
});

describe('--json holds for usage errors', () => {
  const cases: Array<{ name: string; args: string[]; command: string; message: RegExp }> = [
    { name: 'an unknown command', args: ['--json', 'no-such-command'], command: 'artifacts', message: /unknown command 'no-such-command'/ },
    { name: 'an unknown flag', args: ['validate', '--json', '--bogus'], command: 'validate', message: /unknown option '--bogus'/ },
    { name: 'a missing argument', args: ['index', 'add', '--json'], command: 'index add', message: /missing required argument 'paths'/ },
    {
      name: 'a bad option value',
      args: ['--json', 'validate', '--format', 'xml'],
      command: 'validate',
      message: /argument 'xml' is invalid/,
    },
    {
      name: 'a missing required option',
      args: ['--root', '.', '--json', 'promote', '--stage', 's'],
      command: 'promote',
      message: /--framework/,
    },
    { name: 'no subcommand', args: ['--json', 'index'], command: 'index', message: /no command given/ },
    {
      name: 'a bad --lock-timeout',
      args: ['--json', '--lock-timeout', 'soon', 'index', 'rebuild'],
      command: 'index rebuild',
      message: /--lock-timeout/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const dir = repoWith({});
      const r = run(dir, c.args);
      expect(r.code).toBe(2);
      const doc = JSON.parse(r.stdout) as {
        command: string;
        ok: boolean;
        error: { code: string; message: string; hint: string; exit: number };
      };
      expect(doc).toMatchObject({ command: c.command, ok: false, error: { code: 'USAGE', exit: 2 } });
      expect(doc.error.message).toMatch(c.message);
      expect(doc.error.hint).toBe('See `artifacts <command> --help`.');
      // Commander's own words went to stderr, not into the document.
      expect(r.stdout).not.toContain('error:');
    });
  }

  test('the usage error document has the shape of every other error document', () => {
    const dir = repoWith({});
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algoritm: sha256\n');
    const config = runJson(dir, ['validate']);
    const usage = runJson(dir, ['validate', '--bogus']);
    expect(Object.keys(usage.doc).sort()).toEqual(
      Object.keys(config.doc)
        .filter((k) => k !== 'findings')
        .sort(),
    );
    expect(Object.keys(usage.doc.error as object).sort()).toEqual(Object.keys(config.doc.error as object).sort());
  });

  test('without --json a usage error stays text on stderr; --help and --version still print', () => {
    const r = run(repoWith({}), ['validate', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(run(repoWith({}), ['--json', 'validate', '--help']).stdout).toContain('Examples:');
    expect(run(repoWith({}), ['--json', '--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // `--json` after `--` is an argument, not the flag.
    const after = run(repoWith({}), ['no-such-command', '--', '--json']);
    expect(after.code).toBe(2);
    expect(after.stdout).toBe('');
  });
});

describe('validate --format github', () => {
  test('no findings: one notice line, not nothing', () => {
    const dir = repoWith({ [`${P}/a.md`]: plan('a') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const r = run(dir, ['validate', '--format', 'github']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('::notice title=artifacts::artifacts validate: no problems in 1 artifacts\n');
  });
});

describe('keys generate says what to run next, and that command works', () => {
  test('a first key signs itself as the root; later keys need a signer the chain trusts', () => {
    const dir = repoWith({});
    const keys = testdir();
    const first = run(dir, ['keys', 'generate', '--out', join(keys, 'root')]);
    expect(first.code).toBe(0);
    const next = /next: (artifacts keys trust \S+ --key \S+)/.exec(first.stdout)![1]!;
    expect(next).toBe(`artifacts keys trust ${join(keys, 'root.pub')} --key ${join(keys, 'root.key')}`);
    expect(run(dir, next.split(' ').slice(1)).code).toBe(0);
    const second = run(dir, ['keys', 'generate', '--out', join(keys, 'release')]);
    expect(second.stdout).toContain('--key SIGNER.key');
    expect(second.stdout).not.toContain(`--key ${join(keys, 'release.key')}`);
    expect(run(dir, ['keys', 'trust', join(keys, 'release.pub'), '--key', join(keys, 'root.key')]).code).toBe(0);
  });
});

describe('help', () => {
  test('`artifacts help` prints the help and exits 0; bare `artifacts` is a usage error', () => {
    const dir = testdir();
    const help = run(dir, ['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: artifacts');
    expect(run(dir, []).code).toBe(2);
    expect(run(dir, ['help', 'validate']).code).toBe(0);
  });
});
