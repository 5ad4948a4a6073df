// No exit 70 from malformed repository content: every malformed file the tool reads gets
// its own code and documented exit status, and a reader that closes the pipe early ends
// the command quietly.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CATALOGUE } from '../../src/core/errors.js';
import { computeIndexDigest, parseIndex, serializeIndex } from '../../src/core/index/document.js';
import { BIN, CONTRACT, fromTemplate, plan, repoWith, testdir } from '../helpers.js';

const P = 'docs/plans/fwk-001';
const S = '.artifacts/snapshots/fwk-001/design-review';

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(cwd: string, args: string[]): Outcome {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** The codes of a --json document: its error's and its error findings'. */
function codesOf(o: Outcome): string[] {
  const doc = JSON.parse(o.stdout) as { error?: { code: string }; findings?: Array<{ code: string; severity: string }> };
  return [...(doc.error ? [doc.error.code] : []), ...(doc.findings ?? []).filter((f) => f.severity === 'error').map((f) => f.code)];
}

const STACK = /\n\s+at .+:\d+:\d+\)?\n|internal error/;

interface Case {
  name: string;
  setup: (dir: string) => void;
  args: string[];
  code: keyof typeof CATALOGUE;
  exit: number;
}

function indexWith(dir: string, edit: (e: Record<string, unknown>) => void): void {
  expect(cli(dir, ['index', 'rebuild']).code).toBe(0);
  const doc = parseIndex(readFileSync(join(dir, 'artifacts_index.json'), 'utf8'));
  edit(doc.artifacts[0] as unknown as Record<string, unknown>);
  // A digest that verifies: the attacker can compute it as well as the tool.
  doc.index_digest = computeIndexDigest(doc);
  writeFileSync(join(dir, 'artifacts_index.json'), serializeIndex(doc));
}

const cases: Case[] = [
  {
    name: 'a malformed .hold',
    setup: (d) => writeTree(d, { [`${S}/000001.json`]: '{}', [`${S}/000001.hold`]: '{"reason": ' }),
    args: ['snapshot', 'list'],
    code: 'HOLD_INVALID',
    exit: 4,
  },
  {
    name: 'a .hold without a reason',
    setup: (d) => writeTree(d, { [`${S}/000001.json`]: '{}', [`${S}/000001.hold`]: '{}' }),
    args: ['snapshot', 'show', 'fwk-001/design-review/1'],
    code: 'HOLD_INVALID',
    exit: 4,
  },
  {
    name: 'a {} snapshot',
    setup: (d) => writeTree(d, { [`${S}/000001.json`]: '{}' }),
    args: ['snapshot', 'verify'],
    code: 'SNAPSHOT_INVALID',
    exit: 4,
  },
  {
    name: 'a snapshot whose artifacts are not objects',
    setup: (d) => writeTree(d, { [`${S}/000001.json`]: JSON.stringify({ format: 'artifacts-snapshot/1', artifacts: [null] }) }),
    args: ['snapshot', 'verify'],
    code: 'SNAPSHOT_INVALID',
    exit: 4,
  },
  {
    name: 'a snapshot .json that is a directory',
    setup: (d) => mkdirSync(join(d, S, '000001.json'), { recursive: true }),
    args: ['snapshot', 'verify'],
    code: 'SNAPSHOT_INVALID',
    exit: 4,
  },
  {
    name: 'a snapshot .json that is a directory (gate)',
    setup: (d) => mkdirSync(join(d, S, '000001.json'), { recursive: true }),
    args: ['gate', '--framework', 'fwk-001', '--stage', 'release'],
    code: 'SNAPSHOT_INVALID',
    exit: 4,
  },
  {
    name: 'an index that is a directory',
    setup: (d) => (rm(d, 'artifacts_index.json'), mkdirSync(join(d, 'artifacts_index.json'))),
    args: ['index', 'verify'],
    code: 'INDEX_CORRUPT',
    exit: 4,
  },
  {
    name: 'an index over the size cap',
    setup: (d) => execFileSync('truncate', ['-s', '1100M', join(d, 'artifacts_index.json')]),
    args: ['index', 'verify'],
    code: 'INDEX_CORRUPT',
    exit: 4,
  },
  {
    name: 'an index entry whose derived_from is a number',
    setup: (d) => indexWith(d, (e) => (e.derived_from = 5)),
    args: ['lineage', 'ok'],
    code: 'INDEX_CORRUPT',
    exit: 4,
  },
  {
    name: 'an index entry whose updated_at is an object',
    setup: (d) => indexWith(d, (e) => (e.updated_at = { t: 1 })),
    args: ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review'],
    code: 'INDEX_CORRUPT',
    exit: 4,
  },
  {
    name: 'a stale lock that is a symlink',
    setup: (d) => symlinkSync('/nonexistent/lock', join(d, 'artifacts_index.json.lock')),
    args: ['index', 'add', `${P}/ok.md`],
    code: 'LOCK_INVALID',
    exit: 4,
  },
  {
    name: 'a lock that is a regular file',
    setup: (d) => writeFileSync(join(d, 'artifacts_index.json.lock'), 'x'),
    args: ['index', 'rebuild'],
    code: 'LOCK_INVALID',
    exit: 4,
  },
  {
    name: 'routing_matrix.json that is not JSON',
    setup: (d) => writeFileSync(join(d, 'routing_matrix.json'), '{"commands": ['),
    args: ['route', 'check'],
    code: 'ROUTING_INVALID',
    exit: 2,
  },
  {
    name: 'routing_matrix.json that is null',
    setup: (d) => writeFileSync(join(d, 'routing_matrix.json'), 'null'),
    args: ['validate'],
    code: 'ROUTING_INVALID',
    exit: 2,
  },
  {
    name: 'routing_matrix.json with a null command',
    setup: (d) => writeFileSync(join(d, 'routing_matrix.json'), '{"version": 1, "commands": [null]}'),
    args: ['route', 'check'],
    code: 'ROUTING_INVALID',
    exit: 2,
  },
  {
    name: 'routing_matrix.json that is a directory',
    setup: (d) => mkdirSync(join(d, 'routing_matrix.json')),
    args: ['route', 'table'],
    code: 'ROUTING_INVALID',
    exit: 2,
  },
  {
    name: 'a journal record of the wrong shape',
    setup: (d) =>
      writeTree(d, {
        '.artifacts/journal':
          journalLine({ txid: 1, entries: 'x' }) +
          journalLine({ txid: 'b', before: null, after: 'x', digest_algorithm: 'sha256', reset: false, entries: [] }),
      }),
    args: ['index', 'verify'],
    code: 'JOURNAL_CORRUPT',
    exit: 4,
  },
];

function rm(dir: string, p: string): void {
  execFileSync('rm', ['-rf', join(dir, p)]);
}

function journalLine(r: unknown): string {
  const json = JSON.stringify(r);
  return `${json}\t${execFileSync('sha256sum', { input: json }).toString().slice(0, 64)}\n`;
}

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
}

describe('malformed repository content: a code and a documented exit status, never 70', () => {
  /** One approved plan and a contract, indexed (built once, copied). */
  const indexed = () =>
    fromTemplate('indexed', () => {
      const dir = repoWith({ [`${P}/ok.md`]: plan('ok', { status: 'approved' }), 'frameworks/fwk-001.yaml': CONTRACT });
      expect(cli(dir, ['index', 'rebuild']).code).toBe(0);
      return dir;
    });
  for (const c of cases) {
    test(`${c.name} → ${c.code} (exit ${c.exit})`, () => {
      const dir = indexed();
      c.setup(dir);
      const r = cli(dir, ['--json', ...c.args]);
      expect(r.signal).toBeNull();
      expect(r.ms).toBeLessThan(15_000);
      expect(r.stderr).not.toMatch(STACK);
      expect(codesOf(r), r.stdout).toContain(c.code);
      expect(r.code).toBe(c.exit);
      expect(CATALOGUE[c.code].exit).toBe(c.exit);
      // The same without --json: the code on stderr, no stack.
      const human = cli(dir, c.args);
      expect(human.code).toBe(c.exit);
      expect(human.stdout + human.stderr).toContain(c.code);
      expect(human.stderr).not.toMatch(STACK);
    });
  }
});

describe('a closed stdout', () => {
  test('`artifacts … | head -1` ends quietly with status 0 or 141, no stack trace', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2500; i++) files[`${P}/bad-${i}.md`] = '---\nid: [\n---\n';
    const dir = repoWith(files);
    const work = testdir();
    for (const args of ['validate', '--json validate', 'validate --format github']) {
      const err = join(work, 'stderr.txt');
      const r = spawnSync(
        'bash',
        ['-c', `"${process.execPath}" "${BIN}" ${args} 2>"${err}" | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`],
        { cwd: dir, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status).toBe(0);
      expect(['0', '141']).toContain(r.stdout.trim());
      const stderr = readFileSync(err, 'utf8');
      expect(stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
      expect(stderr).toBe('');
    }
  });
});
