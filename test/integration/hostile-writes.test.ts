// Every write stays inside the repository's real path (issue 10, item 2): a `.artifacts`
// (or any directory below it, or any directory on the way to a target) that is a symlink
// leading outside refuses the command with SYMLINK_OUTSIDE_ROOT and nothing is written
// there; exclusive writes are really exclusive; temp files of killed writers are swept;
// `init` keeps the permission bits of the files it extends.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { BIN, commitAt, copyFixture, git, gitInit, read, run, testdir, writeTree } from '../helpers.js';
import { writeFileExclusiveDurable } from '../../src/core/store/durable-write.js';
import { treeChecksum as treeSum } from '../support/hostile.js';

const DR = '.artifacts/snapshots/fwk-001/design-review';
const DEADLINE_MS = 30_000;
let keyDir: string;
let key: string;
let base: string;

/** Run the CLI with --json under a deadline; the command must finish in time. */
function cli(cwd: string, args: string[]): { code: number | null; doc: Record<string, unknown>; stderr: string } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [BIN, '--json', ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: DEADLINE_MS,
  });
  expect(r.signal, `${args.join(' ')} did not finish within ${DEADLINE_MS} ms`).toBeNull();
  expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.status, doc, stderr: r.stderr };
}

function errorCode(r: { doc: Record<string, unknown> }): string | undefined {
  return (r.doc.error as { code?: string } | undefined)?.code;
}

/** A copy of the promoted demo repository (git history included). */
function fresh(): string {
  const dir = testdir();
  cpSync(base, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** Move `rel` out of the repository and leave a symlink to it: the sentinel directory. */
function linkOutside(dir: string, rel: string): string {
  const outside = join(testdir(), 'sentinel');
  if (existsSync(join(dir, rel))) renameSync(join(dir, rel), outside);
  else writeTree(outside, { 'marker.txt': 'outside\n' });
  writeTree(outside, { 'marker.txt': 'outside\n' });
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  symlinkSync(outside, join(dir, rel));
  return outside;
}

beforeAll(() => {
  keyDir = testdir();
  const k = run(keyDir, ['keys', 'generate', '--out', join(keyDir, 'release')]);
  expect(k.code, k.stderr).toBe(0);
  key = join(keyDir, 'release.key');
  base = copyFixture('demo');
  git(base, 'init', '-q', '-b', 'main');
  expect(run(base, ['index', 'rebuild']).code).toBe(0);
  expect(run(base, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key]).code).toBe(0);
  commitAt(base, '2026-03-01T09:00:00Z', 'demo');
  const p = run(base, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, '--at', '2026-03-01T10:00:00Z']);
  expect(p.code, p.stderr).toBe(0);
  // Stat and config caches exist, so every state directory is there to be replaced.
  expect(run(base, ['index', 'verify']).code).toBe(0);
}, 120_000);

const COMMANDS: Record<string, (dir: string) => string[]> = {
  'index rebuild': () => ['index', 'rebuild'],
  'index add': (dir) => {
    writeTree(dir, {
      'docs/plans/fwk-001/extra.md': '---\nid: extra\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: plan\n---\nExtra.\n',
    });
    return ['index', 'add', 'docs/plans/fwk-001/extra.md'];
  },
  promote: () => ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, '--at', '2026-03-03T10:00:00Z'],
  'snapshot hold': () => ['snapshot', 'hold', 'fwk-001/design-review/1', '--reason', 'audit'],
  gc: () => ['gc'],
  init: () => ['init'],
  'route fix': (dir) => {
    // A misrouted plan: route fix has a move to make.
    renameSync(join(dir, 'docs/plans/fwk-001'), join(dir, 'docs/plans/elsewhere'));
    return ['route', 'fix'];
  },
};

const LINKS = ['.artifacts', '.artifacts/objects', DR, '.artifacts/cache'];

describe('a state directory that is a symlink leading outside refuses every writing command', () => {
  for (const link of LINKS) {
    for (const [name, args] of Object.entries(COMMANDS)) {
      test(`${link} -> outside; ${name}: SYMLINK_OUTSIDE_ROOT, the outside directory unchanged`, () => {
        const dir = fresh();
        const argv = args(dir);
        const outside = linkOutside(dir, link);
        const before = treeSum(outside);
        const gitBefore = treeSum(join(dir, '.git'));
        const r = cli(dir, argv);
        expect(errorCode(r), `${name}: ${JSON.stringify(r.doc)}`).toBe('SYMLINK_OUTSIDE_ROOT');
        // Exit 1 when the write is refused; 4 when reading a snapshot directory that leads
        // outside refused the command first (a store file out of place is an integrity failure).
        expect(r.code).toBe(name === 'snapshot hold' && (link === '.artifacts' || link === DR) ? 4 : 1);
        expect(treeSum(outside)).toBe(before);
        expect(treeSum(join(dir, '.git'))).toBe(gitBefore);
        expect(lstatSync(join(dir, link)).isSymbolicLink()).toBe(true);
      });
    }
  }
});

describe('directories on the way to a target', () => {
  test('route fix never moves a file through a symlinked destination directory that leads outside', () => {
    const dir = fresh();
    renameSync(join(dir, 'docs/plans/fwk-001'), join(dir, 'docs/plans/elsewhere'));
    const outside = linkOutside(dir, 'docs/plans/fwk-001');
    const before = treeSum(outside);
    const r = cli(dir, ['route', 'fix']);
    expect(errorCode(r)).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(treeSum(outside)).toBe(before);
    expect(readdirSync(join(dir, 'docs/plans/elsewhere')).length).toBeGreaterThan(0);
  });

  test('a missing directory below a symlink is never created outside (no mkdir -p through links)', () => {
    const dir = fresh();
    // The snapshots of a new stage would go to .artifacts/snapshots/fwk-001/<stage>/.
    const outside = linkOutside(dir, '.artifacts/snapshots/fwk-001');
    const before = treeSum(outside);
    const r = cli(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key]);
    expect(errorCode(r)).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(treeSum(outside)).toBe(before);
  });

  test('a state directory that is a symlink into .git is refused too (PATH_UNSAFE), .git unchanged', () => {
    const dir = fresh();
    renameSync(join(dir, '.artifacts/cache'), join(dir, '.artifacts/cache-old'));
    symlinkSync('../.git/hooks', join(dir, '.artifacts/cache'));
    const gitBefore = treeSum(join(dir, '.git'));
    const r = cli(dir, ['index', 'rebuild']);
    expect(errorCode(r)).toBe('PATH_UNSAFE');
    expect(treeSum(join(dir, '.git'))).toBe(gitBefore);
    // A link that stays inside the repository (and out of .git) is an ordinary directory.
    rmSync(join(dir, '.artifacts/cache'));
    symlinkSync('cache-old', join(dir, '.artifacts/cache'));
    const ok = cli(dir, ['index', 'rebuild']);
    expect(ok.code, JSON.stringify(ok.doc)).toBe(0);
  });
});

describe('writeFileExclusiveDurable is exclusive', () => {
  test('of many concurrent writers of one name exactly one wins, and the file holds its bytes', async () => {
    const dir = testdir();
    const file = join(dir, 'objects/ab/cdef');
    const payloads = Array.from({ length: 16 }, (_, i) => Buffer.from(`writer ${i}\n`.repeat(1000)));
    const results = await Promise.all(payloads.map((p) => writeFileExclusiveDurable(file, p, { root: dir })));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(readFileSync(file).equals(payloads[winner]!)).toBe(true);
    // Losers leave no temp files behind.
    expect(readdirSync(dirname(file))).toEqual(['cdef']);
    // Whatever is at the name wins, even a dangling symlink, and nothing is written through it.
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    expect(await writeFileExclusiveDurable(join(dir, 'dangling'), Buffer.from('theirs\n'), { root: dir })).toBe(false);
    expect(await writeFileExclusiveDurable(file, Buffer.from('theirs\n'), { root: dir })).toBe(false);
    expect(readFileSync(file).equals(payloads[winner]!)).toBe(true);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('recovery sweeps the temp files of killed writers', () => {
  test("dead writers' and stale temps go; a live writer's temp, other files and symlinks stay", () => {
    const dir = fresh();
    const dead = deadPid();
    const outside = testdir({ 'victim.txt': 'do not touch\n' });
    const gone = [
      `.artifacts_index.json.${dead}.0123456789ab.tmp`,
      `.artifacts/cache/.stat-cache.${dead}.0123456789ab.tmp`,
      `${DR}/.000002.json.${dead}.00000000beef.tmp`,
      `.artifacts/objects/sha256/.deadbeef.${dead}.abcdefabcdef.tmp`,
    ];
    const stale = `.artifacts/.journal.${process.pid}.aaaaaaaaaaaa.tmp`;
    const kept = [
      `.artifacts/cache/.stat-cache.${process.pid}.0123456789ab.tmp`,
      '.artifacts/cache/.notes.tmp',
      `.artifacts/cache/.x.${dead}.tmp`,
    ];
    writeTree(dir, Object.fromEntries([...gone, stale, ...kept].map((p) => [p, 'partial'])));
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, stale), old, old);
    const link = `.artifacts/cache/.link.${dead}.0123456789ab.tmp`;
    symlinkSync(join(outside, 'victim.txt'), join(dir, link));
    const r = cli(dir, ['index', 'rebuild']);
    expect(r.code, JSON.stringify(r.doc)).toBe(0);
    for (const p of [...gone, stale]) expect(existsSync(join(dir, p)), p).toBe(false);
    for (const p of kept) expect(existsSync(join(dir, p)), p).toBe(true);
    expect(lstatSync(join(dir, link)).isSymbolicLink()).toBe(true);
    expect(read(outside, 'victim.txt')).toBe('do not touch\n');
  });
});

describe('init keeps the permission bits of the files it extends', () => {
  test('a 0600 .gitignore and a 0755 .gitattributes keep their modes', () => {
    const dir = testdir({ '.gitignore': 'node_modules/\n', '.gitattributes': '*.md text\n' });
    gitInit(dir);
    chmodSync(join(dir, '.gitignore'), 0o600);
    chmodSync(join(dir, '.gitattributes'), 0o755);
    const r = cli(dir, ['init']);
    expect(r.code, JSON.stringify(r.doc)).toBe(0);
    expect(read(dir, '.gitignore')).toContain('.artifacts/objects/');
    expect(read(dir, '.gitattributes')).toContain('merge=artifacts-index');
    expect(statSync(join(dir, '.gitignore')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.gitattributes')).mode & 0o777).toBe(0o755);
  });
});
