// Hostile repository files in place of the files the tool reads: FIFOs, devices, directories,
// symlinks to /dev/zero or out of the repository, oversized files. Each one gets a stable
// code and a documented exit status, finishes well under its deadline in bounded memory,
// never echoes content from outside the repository, and writes nothing outside it or into
// .git/.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { indexVerify, openRepo, validateRepo } from '../../src/index.js';
import { readIndexView } from '../../src/core/index/store.js';
import { checkObject, listObjects, readObject } from '../../src/core/store/objects.js';
import { ArtifactsError } from '../../src/core/errors.js';
import { BIN, CONTRACT, git, gitInit, plan, repoWith, testdir, writeTree } from '../helpers.js';

const P = 'docs/plans/fwk-001';
const DEADLINE_MS = 20_000;
/** A run that reads a FIFO hangs until the deadline; a healthy one ends far sooner. */
const FAST_MS = 12_000;
/** Reading /dev/zero or a sparse gigabyte would take far more. */
const MAX_RSS_KB = 400 * 1024;
const SECRET = 'TOP-SECRET-OUTSIDE-THE-REPO {"not": json';

const preloadDir = testdir({
  'rss.cjs': "process.on('exit', () => { require('fs').writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)); });\n",
});

interface Bounded {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  rssKb: number;
  doc?: Record<string, unknown>;
}

/** Run the built CLI with a deadline and measure its time and peak memory. */
function runBounded(cwd: string, args: string[], env: Record<string, string> = {}): Bounded {
  const rssOut = join(preloadDir, `rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--require', join(preloadDir, 'rss.cjs'), BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', RSS_OUT: rssOut, ...env },
    encoding: 'utf8',
    timeout: DEADLINE_MS,
    killSignal: 'SIGKILL',
  });
  const ms = Date.now() - t0;
  const rssKb = existsSync(rssOut) ? Number(readFileSync(rssOut, 'utf8')) : Number.NaN;
  const out: Bounded = { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms, rssKb };
  if (args.includes('--json')) {
    try {
      out.doc = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      // asserted by the caller through `code`
    }
  }
  return out;
}

/** Every code in a --json document: the error's and every finding's. */
function codesOf(r: Bounded): string[] {
  const d = r.doc ?? {};
  const err = d.error as { code?: string } | undefined;
  const findings = (d.findings ?? []) as Array<{ code: string }>;
  return [...(err?.code ? [err.code] : []), ...findings.map((f) => f.code)];
}

function expectBounded(r: Bounded): void {
  expect(r.signal, `killed at the deadline (a hang?): ${r.stderr}`).toBeNull();
  expect(r.ms).toBeLessThan(FAST_MS);
  expect(r.rssKb).toBeLessThan(MAX_RSS_KB);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .*\(.*:\d+:\d+\)/);
}

function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${p.slice(dir.length)}\0${st.mode}\0`);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** A sentinel tree outside the repository, a planted hook, and the repository's .git/:
 * `check()` asserts none changed and the hook never ran. */
function guard(repo: string, extra: Record<string, string> = {}): { outside: string; check: () => void } {
  const outside = testdir({ 'secret.txt': SECRET, 'dir/keep.md': plan('keep'), ...extra });
  const hooks = join(repo, '.git', 'hooks');
  const ran = join(outside, 'HOOK-RAN');
  if (existsSync(join(repo, '.git'))) {
    mkdirSync(hooks, { recursive: true });
    for (const h of ['post-checkout', 'post-commit', 'pre-commit', 'post-merge', 'post-index-change']) {
      writeFileSync(join(hooks, h), `#!/bin/sh\necho ran > '${ran}'\n`);
      chmodSync(join(hooks, h), 0o755);
    }
  }
  const before = hashTree(outside);
  const gitBefore = existsSync(join(repo, '.git')) ? hashTree(join(repo, '.git')) : '';
  return {
    outside,
    check: () => {
      expect(existsSync(ran)).toBe(false);
      expect(hashTree(outside)).toBe(before);
      if (gitBefore) expect(hashTree(join(repo, '.git'))).toBe(gitBefore);
    },
  };
}

function mkfifo(p: string): void {
  mkdirSync(join(p, '..'), { recursive: true });
  execFileSync('mkfifo', [p]);
}

function sparse(p: string, size: string): void {
  mkdirSync(join(p, '..'), { recursive: true });
  execFileSync('truncate', ['-s', size, p]);
}

describe('metadata files and sidecars that are not regular files', () => {
  test('index add of a FIFO (Markdown or not) is FILE_NOT_REGULAR, exit 1, nothing written', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    mkfifo(join(dir, P, 'pipe.md'));
    mkfifo(join(dir, 'data', 'stream.bin'));
    const g = guard(dir);
    for (const target of [`${P}/pipe.md`, 'data/stream.bin']) {
      const r = runBounded(dir, ['--json', 'index', 'add', target]);
      expectBounded(r);
      expect(r.code).toBe(1);
      expect(codesOf(r)).toContain('FILE_NOT_REGULAR');
      expect(JSON.stringify(r.doc)).toContain('FIFO');
    }
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
    g.check();
  });

  test('a Markdown symlink to a FIFO inside the repository is reported by a tree scan, not skipped', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    mkfifo(join(dir, 'pipes', 'p'));
    symlinkSync('../../../pipes/p', join(dir, P, 'looks-like.md'));
    const g = guard(dir);
    for (const args of [['validate'], ['index', 'rebuild'], ['index', 'verify']]) {
      const r = runBounded(dir, ['--json', ...args]);
      expectBounded(r);
      expect(r.code).toBe(1);
      expect(codesOf(r)).toContain('FILE_NOT_REGULAR');
    }
    g.check();
  });

  test('a sidecar that describes a FIFO or a directory says so (not "does not exist")', () => {
    const sidecar = (id: string) => `id: ${id}\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: model\n`;
    const dir = repoWith({ 'models/m/1.0.0/m.bin.artifact.yaml': sidecar('m'), 'models/d/1.0.0/d.bin.artifact.yaml': sidecar('d') });
    mkfifo(join(dir, 'models/m/1.0.0/m.bin'));
    mkdirSync(join(dir, 'models/d/1.0.0/d.bin'));
    const g = guard(dir);
    const r = runBounded(dir, ['--json', 'index', 'rebuild']);
    expectBounded(r);
    expect(r.code).toBe(1);
    const findings = (r.doc!.findings ?? (r.doc!.error as { findings?: unknown }).findings) as Array<{
      code: string;
      message: string;
      path: string;
    }>;
    const m = findings.find((f) => f.path === 'models/m/1.0.0/m.bin.artifact.yaml');
    const d = findings.find((f) => f.path === 'models/d/1.0.0/d.bin.artifact.yaml');
    expect(m?.code).toBe('FILE_NOT_REGULAR');
    expect(m?.message).toContain('a FIFO');
    expect(d?.code).toBe('FILE_NOT_REGULAR');
    expect(d?.message).toContain('a directory');
    expect(codesOf(r)).not.toContain('SIDECAR_ORPHAN');
    g.check();
  });

  test('a sidecar that is itself a FIFO, or a symlink to /dev/zero, never blocks', () => {
    const dir = repoWith({ 'models/x/1.0.0/x.bin': 'bytes' });
    mkfifo(join(dir, 'models/x/1.0.0/x.bin.artifact.yaml'));
    symlinkSync('/dev/zero', join(dir, 'models/x/1.0.0/z.bin.artifact.yaml'));
    writeFileSync(join(dir, 'models/x/1.0.0/z.bin'), 'bytes');
    const g = guard(dir);
    const add = runBounded(dir, ['--json', 'index', 'add', 'models/x/1.0.0/x.bin.artifact.yaml']);
    expectBounded(add);
    expect(add.code).toBe(1);
    expect(codesOf(add)).toContain('FILE_NOT_REGULAR');
    const scan = runBounded(dir, ['--json', 'index', 'rebuild']);
    expectBounded(scan);
    expect(scan.code).toBe(1);
    expect(codesOf(scan)).toContain('SYMLINK_OUTSIDE_ROOT');
    g.check();
  });

  test('an oversized sparse sidecar is refused from its size, in bounded memory', () => {
    const dir = repoWith({ 'models/x/1.0.0/x.bin': 'bytes' });
    sparse(join(dir, 'models/x/1.0.0/x.bin.artifact.yaml'), '4G');
    const r = runBounded(dir, ['--json', 'index', 'add', 'models/x/1.0.0/x.bin.artifact.yaml']);
    expectBounded(r);
    expect(r.code).toBe(1);
    expect(codesOf(r)).toContain('METADATA_TOO_LARGE');
  });
});

describe('routing files, config, contracts and schemas', () => {
  test('a routing_matrix.json symlinked to a file outside never reaches the output', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    const g = guard(dir);
    symlinkSync(join(g.outside, 'secret.txt'), join(dir, 'routing_matrix.json'));
    for (const args of [['route', 'check'], ['validate'], ['validate', '--format', 'github']]) {
      const r = runBounded(dir, args[1] === '--format' ? args : ['--json', ...args]);
      expectBounded(r);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).toContain('ROUTING_INVALID');
      expect(r.stdout + r.stderr).not.toContain('TOP-SECRET');
      expect(r.stdout + r.stderr).not.toContain('"not"');
    }
    g.check();
  });

  test('routing files that are not JSON, a directory, a FIFO or /dev/zero: ROUTING_INVALID, exit 2', () => {
    const variants: Array<[string, (p: string) => void]> = [
      ['not JSON', (p) => writeFileSync(p, 'this is { not json')],
      ['a directory', (p) => mkdirSync(p)],
      ['a FIFO', (p) => mkfifo(p)],
      ['/dev/zero', (p) => symlinkSync('/dev/zero', p)],
    ];
    for (const [name, make] of variants) {
      for (const file of ['routing_matrix.json', 'artifact_routing.mdc']) {
        const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
        const p = join(dir, file);
        if (existsSync(p)) execFileSync('rm', [p]);
        make(p);
        const r = runBounded(dir, ['--json', 'route', 'check']);
        expectBounded(r);
        expect(r.code, `${file} as ${name}`).toBe(2);
        expect(codesOf(r), `${file} as ${name}`).toContain('ROUTING_INVALID');
        expect(r.stdout).not.toContain('this is {');
      }
    }
  });

  test('a config that is a FIFO or /dev/zero is CONFIG_INVALID (exit 2), never a hang', () => {
    for (const make of [(p: string) => mkfifo(p), (p: string) => symlinkSync('/dev/zero', p)]) {
      const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
      execFileSync('rm', [join(dir, 'artifacts.config.yaml')]);
      make(join(dir, 'artifacts.config.yaml'));
      const r = runBounded(dir, ['--json', 'validate']);
      expectBounded(r);
      expect(r.code).toBe(2);
      expect(codesOf(r)).toContain('CONFIG_INVALID');
    }
  });

  test('a framework contract that is a FIFO or a directory is CONTRACT_INVALID (exit 2)', () => {
    for (const make of [(p: string) => mkfifo(p), (p: string) => mkdirSync(p, { recursive: true })]) {
      const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
      make(join(dir, 'frameworks', 'fwk-001.yaml'));
      for (const args of [['hydrate', '--framework', 'fwk-001', '--stage', 'design-review'], ['validate']]) {
        const r = runBounded(dir, ['--json', ...args]);
        expectBounded(r);
        expect(r.code).toBe(2);
        expect(codesOf(r)).toContain('CONTRACT_INVALID');
      }
    }
  });

  test('a per-kind schema that is a FIFO, or a symlink to a secret outside, is KIND_SCHEMA_INVALID and never echoed', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok'), 'frameworks/fwk-001.yaml': CONTRACT });
    const g = guard(dir);
    mkfifo(join(dir, 'schemas/kinds/plan.schema.json'));
    const fifo = runBounded(dir, ['--json', 'index', 'add', `${P}/ok.md`]);
    expectBounded(fifo);
    expect(codesOf(fifo)).toContain('KIND_SCHEMA_INVALID');
    execFileSync('rm', [join(dir, 'schemas/kinds/plan.schema.json')]);
    symlinkSync(join(g.outside, 'secret.txt'), join(dir, 'schemas/kinds/plan.schema.json'));
    const link = runBounded(dir, ['--json', 'index', 'add', `${P}/ok.md`]);
    expectBounded(link);
    expect(codesOf(link)).toContain('KIND_SCHEMA_INVALID');
    expect(link.stdout + link.stderr).not.toContain('TOP-SECRET');
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
    g.check();
  });

  test('init refuses a .gitignore that is a FIFO before writing anything', () => {
    const dir = testdir({});
    gitInit(dir);
    mkfifo(join(dir, '.gitignore'));
    const g = guard(dir);
    const r = runBounded(dir, ['--json', 'init']);
    expectBounded(r);
    expect(r.code).toBe(1);
    expect(codesOf(r)).toContain('FILE_NOT_REGULAR');
    expect(existsSync(join(dir, 'artifacts.config.yaml'))).toBe(false);
    g.check();
  });
});

describe('the index and the journal', () => {
  function indexed(): string {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    expect(runBounded(dir, ['index', 'rebuild']).code).toBe(0);
    return dir;
  }

  test('an index that is a FIFO, /dev/zero, a device or oversized: INDEX_CORRUPT (exit 4); rebuild repairs it', () => {
    const variants: Array<[string, (p: string) => void]> = [
      ['a FIFO', (p) => mkfifo(p)],
      ['/dev/zero (a symlink)', (p) => symlinkSync('/dev/zero', p)],
      ['oversized', (p) => sparse(p, '1100M')],
      ['not JSON', (p) => writeFileSync(p, '{"artifacts": [')],
    ];
    for (const [name, make] of variants) {
      const dir = indexed();
      const g = guard(dir);
      execFileSync('rm', [join(dir, 'artifacts_index.json')]);
      make(join(dir, 'artifacts_index.json'));
      const verify = runBounded(dir, ['--json', 'index', 'verify']);
      expectBounded(verify);
      expect(verify.code, name).toBe(4);
      expect(codesOf(verify), name).toContain(name.startsWith('/dev/zero') ? 'SYMLINK_REFUSED' : 'INDEX_CORRUPT');
      if (name.startsWith('/dev/zero')) continue; // never written through: asserted in hostile.test.ts
      const rebuild = runBounded(dir, ['--json', 'index', 'rebuild']);
      expectBounded(rebuild);
      expect(rebuild.code, `${name}: ${rebuild.stdout}`).toBe(0);
      expect(statSync(join(dir, 'artifacts_index.json')).isFile()).toBe(true);
      expect(runBounded(dir, ['index', 'verify']).code).toBe(0);
      g.check();
    }
  });

  test('a directory in place of the index is refused with a clear hint and never deleted', () => {
    const dir = indexed();
    execFileSync('rm', [join(dir, 'artifacts_index.json')]);
    writeTree(dir, { 'artifacts_index.json/precious.txt': 'keep me' });
    const g = guard(dir);
    for (const args of [
      ['index', 'verify'],
      ['index', 'rebuild'],
      ['index', 'add', `${P}/ok.md`],
      ['lineage', 'ok'],
    ]) {
      const r = runBounded(dir, ['--json', ...args]);
      expectBounded(r);
      expect(r.code, args.join(' ')).toBe(4);
      expect(codesOf(r)).toContain('INDEX_CORRUPT');
      expect((r.doc!.error as { hint: string }).hint).toMatch(/directory/);
    }
    expect(readFileSync(join(dir, 'artifacts_index.json/precious.txt'), 'utf8')).toBe('keep me');
    g.check();
  });

  test('a journal that is a FIFO or a directory is JOURNAL_CORRUPT (exit 4), also for recover --discard', () => {
    for (const make of [(p: string) => mkfifo(p), (p: string) => mkdirSync(p, { recursive: true })]) {
      const dir = indexed();
      execFileSync('rm', ['-f', join(dir, '.artifacts', 'journal')]);
      make(join(dir, '.artifacts', 'journal'));
      const g = guard(dir);
      for (const args of [
        ['index', 'verify'],
        ['index', 'add', `${P}/ok.md`],
        ['index', 'recover'],
        ['index', 'recover', '--discard'],
      ]) {
        const r = runBounded(dir, ['--json', ...args]);
        expectBounded(r);
        expect(r.code, args.join(' ')).toBe(4);
        expect(codesOf(r)).toContain('JOURNAL_CORRUPT');
      }
      g.check();
    }
  });

  test('a journal record of the wrong shape (with a valid checksum) is damage, not a crash', async () => {
    const dir = indexed();
    const json = JSON.stringify({ txid: 'x', before: null, after: 'sha256:00', digest_algorithm: 'sha256', reset: false, entries: [null] });
    writeFileSync(join(dir, '.artifacts', 'journal'), `${json}\t${createHash('sha256').update(json).digest('hex')}\n`);
    const repo = await openRepo({ cwd: dir });
    const view = await readIndexView(repo);
    expect(view.pendingRecords).toBe(0);
  });

  test('the merge driver refuses a side that is a FIFO (INDEX_CORRUPT), never blocks', () => {
    const dir = indexed();
    mkfifo(join(dir, 'theirs.json'));
    const r = runBounded(dir, ['--json', 'index', 'merge-driver', 'artifacts_index.json', 'artifacts_index.json', 'theirs.json']);
    expectBounded(r);
    expect(r.code).toBe(4);
    expect(codesOf(r)).toContain('INDEX_CORRUPT');
  });
});

describe('snapshots, signatures, holds, objects', () => {
  const S = '.artifacts/snapshots/fwk-001/design-review';

  function withSnapshotDir(): string {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok'), 'frameworks/fwk-001.yaml': CONTRACT });
    mkdirSync(join(dir, S), { recursive: true });
    return dir;
  }

  test('a snapshot .json that is a FIFO, a directory, /dev/zero or oversized: SNAPSHOT_INVALID, exit 4', () => {
    const variants: Array<(p: string) => void> = [
      (p) => mkfifo(p),
      (p) => mkdirSync(p),
      (p) => symlinkSync('/dev/zero', p),
      (p) => sparse(p, '3G'),
    ];
    for (const make of variants) {
      const dir = withSnapshotDir();
      make(join(dir, S, '000001.json'));
      const g = guard(dir);
      for (const args of [
        ['snapshot', 'verify'],
        ['snapshot', 'list'],
        ['snapshot', 'show', 'fwk-001/design-review/1'],
      ]) {
        const r = runBounded(dir, ['--json', ...args]);
        expectBounded(r);
        expect(r.code, args.join(' ')).toBe(4);
        expect(codesOf(r)).toContain('SNAPSHOT_INVALID');
      }
      g.check();
    }
  });

  test('a {} snapshot is SNAPSHOT_INVALID for verify (exit 4) and lists without crashing', () => {
    const dir = withSnapshotDir();
    writeFileSync(join(dir, S, '000001.json'), '{}');
    const verify = runBounded(dir, ['--json', 'snapshot', 'verify']);
    expectBounded(verify);
    expect(verify.code).toBe(4);
    expect(codesOf(verify)).toContain('SNAPSHOT_INVALID');
    const list = runBounded(dir, ['--json', 'snapshot', 'list']);
    expectBounded(list);
    expect(list.code).toBe(0);
    for (const args of [
      ['snapshot', 'prune', '--dry-run'],
      ['gc', '--dry-run'],
      ['history', 'ok'],
      ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review'],
    ]) {
      const r = runBounded(dir, ['--json', ...args]);
      expectBounded(r);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(70);
    }
  });

  test('a signature that is a FIFO is SIGNATURE_INVALID, a malformed hold HOLD_INVALID (exit 4)', () => {
    const dir = withSnapshotDir();
    writeFileSync(join(dir, S, '000001.json'), '{}');
    mkfifo(join(dir, S, '000001.sig'));
    const sig = runBounded(dir, ['--json', 'snapshot', 'verify']);
    expectBounded(sig);
    expect(sig.code).toBe(4);
    expect(codesOf(sig)).toContain('SIGNATURE_INVALID');
    execFileSync('rm', [join(dir, S, '000001.sig')]);
    for (const hold of ['not json', '{"reason": 5}', '[]', 'null']) {
      writeFileSync(join(dir, S, '000001.hold'), hold);
      for (const args of [
        ['snapshot', 'list'],
        ['snapshot', 'verify'],
        ['gc', '--dry-run'],
      ]) {
        const r = runBounded(dir, ['--json', ...args]);
        expectBounded(r);
        expect(r.code, `${hold}: ${args.join(' ')}`).toBe(4);
        expect(codesOf(r)).toContain('HOLD_INVALID');
      }
    }
  });

  test('a snapshot directory symlinked out of the repository is never listed', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    const g = guard(dir, { 'stage/000001.json': SECRET });
    mkdirSync(join(dir, '.artifacts/snapshots/fwk-001'), { recursive: true });
    symlinkSync(join(g.outside, 'stage'), join(dir, '.artifacts/snapshots/fwk-001/design-review'));
    const r = runBounded(dir, ['--json', 'snapshot', 'verify']);
    expectBounded(r);
    expect(r.code).toBe(4);
    expect(codesOf(r)).toContain('SYMLINK_OUTSIDE_ROOT');
    expect(r.stdout + r.stderr).not.toContain('TOP-SECRET');
    g.check();
  });

  test('objects: a FIFO or a directory at an object path is OBJECT_CORRUPT; a symlinked store is never listed', async () => {
    const dir = repoWith({});
    const repo = await openRepo({ cwd: dir });
    const hex = 'ab'.repeat(32);
    const address = `sha256:${hex}`;
    mkfifo(join(dir, '.artifacts/objects/sha256', hex.slice(0, 2), hex.slice(2)));
    const t0 = Date.now();
    await expect(checkObject(repo, address)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await expect(readObject(repo, address)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    expect(Date.now() - t0).toBeLessThan(FAST_MS);
    const other = repoWith({});
    const outside = testdir({ 'sha256/ab/cdef': 'x' });
    mkdirSync(join(other, '.artifacts'), { recursive: true });
    symlinkSync(outside, join(other, '.artifacts/objects'));
    const e = await listObjects(await openRepo({ cwd: other })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArtifactsError);
    expect((e as ArtifactsError).code).toBe('SYMLINK_OUTSIDE_ROOT');
    expect((e as ArtifactsError).exitCode).toBe(4);
  });
});

describe('the index lock', () => {
  test('a stale lock that is a symlink is LOCK_INVALID (exit 4), never followed or removed', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    const g = guard(dir, { 'lockdir/owner.json': '{}' });
    for (const target of [join(g.outside, 'lockdir'), '/dev/zero', join(g.outside, 'missing')]) {
      symlinkSync(target, join(dir, 'artifacts_index.json.lock'));
      const r = runBounded(dir, ['--json', '--lock-timeout', '60000', 'index', 'rebuild']);
      expectBounded(r);
      expect(r.code).toBe(4);
      expect(codesOf(r)).toContain('LOCK_INVALID');
      expect(lstatSync(join(dir, 'artifacts_index.json.lock')).isSymbolicLink()).toBe(true);
      execFileSync('rm', [join(dir, 'artifacts_index.json.lock')]);
    }
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
    g.check();
  });

  test('a lock directory tracked by git is never a live lock: LOCK_INVALID at once, its content kept', () => {
    const owner = JSON.stringify({ pid: 999_999_999, host: 'elsewhere', token: 't', since: '2020-01-01T00:00:00Z' });
    const dir = testdir({
      'artifacts.config.yaml': 'digest_algorithm: sha256\n',
      [`${P}/ok.md`]: plan('ok'),
      'artifacts_index.json.lock/owner.json': owner,
    });
    gitInit(dir);
    expect(git(dir, 'ls-files', 'artifacts_index.json.lock')).toContain('owner.json');
    const r = runBounded(dir, ['--json', '--lock-timeout', '60000', 'index', 'rebuild']);
    expectBounded(r);
    expect(r.code).toBe(4);
    expect(codesOf(r)).toContain('LOCK_INVALID');
    expect(readFileSync(join(dir, 'artifacts_index.json.lock/owner.json'), 'utf8')).toBe(owner);
  });
});

describe('module-level caches are per repository', () => {
  test('two repositories in one process with the same schema path and nested $id get their own schemas', async () => {
    const schema = (max: number) =>
      JSON.stringify({
        $defs: { t: { $id: 'urn:shared:title', type: 'string', maxLength: max } },
        properties: { title: { $ref: 'urn:shared:title' } },
      });
    const art = plan('ok', { title: 'a title of twenty chars' });
    const strict = repoWith({ [`${P}/ok.md`]: art, 'schemas/kinds/plan.schema.json': schema(5) }, { git: false });
    const lax = repoWith({ [`${P}/ok.md`]: art, 'schemas/kinds/plan.schema.json': schema(100) }, { git: false });
    const a = await validateRepo(await openRepo({ cwd: strict }));
    const b = await validateRepo(await openRepo({ cwd: lax }));
    expect(a.findings.map((f) => f.code)).toContain('SCHEMA_VIOLATION');
    expect(b.findings.map((f) => f.code).filter((c) => c === 'SCHEMA_VIOLATION' || c === 'KIND_SCHEMA_INVALID')).toEqual([]);
    // And again in the other order, in the same process.
    const b2 = await indexVerify(await openRepo({ cwd: lax }));
    expect(b2.findings.map((f) => f.code)).not.toContain('KIND_SCHEMA_INVALID');
    const a2 = await indexVerify(await openRepo({ cwd: strict }));
    expect(a2.findings.map((f) => f.code)).toContain('SCHEMA_VIOLATION');
  });

  test("one repository's schema never resolves another repository's $ref", async () => {
    const defines = JSON.stringify({
      $defs: { t: { $id: 'urn:other-repo:title', type: 'string', maxLength: 5 } },
      properties: { title: { $ref: 'urn:other-repo:title' } },
    });
    const borrows = JSON.stringify({ properties: { title: { $ref: 'urn:other-repo:title' } } });
    const art = plan('ok', { title: 'a title of twenty chars' });
    const first = repoWith({ [`${P}/ok.md`]: art, 'schemas/kinds/plan.schema.json': defines }, { git: false });
    const second = repoWith({ [`${P}/ok.md`]: art, 'schemas/kinds/plan.schema.json': borrows }, { git: false });
    expect((await validateRepo(await openRepo({ cwd: first }))).findings.map((f) => f.code)).toContain('SCHEMA_VIOLATION');
    // Alone, the second repository's schema has an unresolvable $ref; it must not borrow
    // the definition the first repository's schema registered in this process.
    const codes = (await validateRepo(await openRepo({ cwd: second }))).findings.map((f) => f.code);
    expect(codes).toContain('KIND_SCHEMA_INVALID');
    expect(codes).not.toContain('SCHEMA_VIOLATION');
  });

  test('damaged caches (config memo, stat cache, clean record, digest memo) are ignored, never an error', () => {
    const dir = repoWith({ [`${P}/ok.md`]: plan('ok') });
    expect(runBounded(dir, ['index', 'rebuild']).code).toBe(0);
    const cache = join(dir, '.artifacts/cache');
    mkdirSync(cache, { recursive: true });
    for (const f of ['config.json', 'stat-cache', 'clean-verify.json', 'index-digest.json']) {
      execFileSync('rm', ['-rf', join(cache, f)]);
      mkfifo(join(cache, f));
    }
    const r = runBounded(dir, ['--json', 'index', 'verify']);
    expectBounded(r);
    expect(r.code).toBe(0);
    for (const [f, text] of [
      ['config.json', '{"stamp": 1, "config": 5}'],
      ['stat-cache', '[1,2'],
      ['clean-verify.json', 'null'],
      ['index-digest.json', '"x"'],
    ] as const) {
      execFileSync('rm', ['-rf', join(cache, f)]);
      writeFileSync(join(cache, f), text);
    }
    const again = runBounded(dir, ['--json', 'index', 'verify']);
    expectBounded(again);
    expect(again.code).toBe(0);
  });
});
