// Nothing the repository says can make the tool write into `.git/` or its own control
// files (issue 10, item 1): route templates and their expansions, `route fix` targets,
// snapshot artifact paths (even under a valid signature) and `hydrate --out`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { BIN, commitAt, copyFixture, git, gitInit, read, run, testdir, writeTree } from '../helpers.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { signDetached } from '../../src/core/snapshots/ed25519.js';
import { loadSigningKey } from '../../src/core/snapshots/keys.js';
import { treeChecksum } from '../support/hostile.js';

/** A checksum of a directory tree, never following links (`skip`: rebuildable caches). */
const treeSum = (dir: string, skip: readonly string[] = []): string => treeChecksum(dir, (rel) => skip.includes(rel));

const DEADLINE_MS = 30_000;
/** Rebuildable caches that read-only commands refresh (git refreshes its own index's stat data). */
const CACHES = ['.artifacts/cache', '.git/index'];
let keyDir: string;
let key: string;
let demoBase: string;

function cli(cwd: string, args: string[], env: Record<string, string> = {}): { code: number | null; doc: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [BIN, '--json', ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: DEADLINE_MS,
  });
  expect(r.signal, `${args.join(' ')} did not finish within ${DEADLINE_MS} ms`).toBeNull();
  try {
    return { code: r.status, doc: JSON.parse(r.stdout) as Record<string, unknown> };
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

function codes(r: { doc: Record<string, unknown> }): string[] {
  const err = r.doc.error as { code?: string } | undefined;
  const fs = (r.doc.findings as Array<{ code: string }> | undefined) ?? [];
  return [...(err?.code ? [err.code] : []), ...fs.map((f) => f.code)];
}

/** Run a git command that would run a planted hook or fsmonitor command. */
function gitRuns(cwd: string, ...args: string[]): void {
  const env = {
    GIT_AUTHOR_NAME: 'T',
    GIT_AUTHOR_EMAIL: 't@example.com',
    GIT_COMMITTER_NAME: 'T',
    GIT_COMMITTER_EMAIL: 't@example.com',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: tmpdir(),
  };
  spawnSync('git', args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: DEADLINE_MS });
}

beforeAll(() => {
  keyDir = testdir();
  const k = run(keyDir, ['keys', 'generate', '--out', join(keyDir, 'release')]);
  expect(k.code, k.stderr).toBe(0);
  key = join(keyDir, 'release.key');
  demoBase = copyFixture('demo');
  git(demoBase, 'init', '-q', '-b', 'main');
  expect(run(demoBase, ['index', 'rebuild']).code).toBe(0);
  expect(run(demoBase, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key]).code).toBe(0);
  commitAt(demoBase, '2026-03-01T09:00:00Z', 'demo');
}, 60_000);

function demo(): string {
  const dir = testdir();
  cpSync(demoBase, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

const UNSAFE_TEMPLATES = [
  '.git/hooks/{id}',
  '.GIT/hooks/{id}',
  '.git./x/{id}.md',
  '.git /x/{id}.md',
  '.g\u200cit/hooks/{id}',
  '\uff0egit/hooks/{id}',
  'git~1/hooks/{id}',
  'x/.git/{id}',
  'docs/.Git/{id}.md',
  '.git{ext}/hooks/{id}',
  '.artifacts/{id}.md',
  '.ARTIFACTS/objects/{id}',
  '.artifacts./snapshots/{id}.json',
  'artifacts_index.json',
  'artifacts_index.json.lock/{id}',
  'artifacts.config.yaml',
  'artifact_routing.mdc',
  'routing_matrix.json',
];

function routingFile(routes: Array<{ kind: string; path: string }>): string {
  return `---\nroutes:\n${routes.map((r) => `  - kind: ${r.kind}\n    path: ${JSON.stringify(r.path)}\n`).join('')}---\n`;
}

describe("route templates that reach .git/ or the tool's own files are ROUTE_INVALID_PATH", () => {
  test('route check and validate report every unsafe template (literal part)', () => {
    const routes = UNSAFE_TEMPLATES.map((path, i) => ({ kind: `k${i}`, path }));
    const dir = testdir({ 'artifact_routing.mdc': routingFile(routes) });
    gitInit(dir);
    for (const cmd of [['route', 'check'], ['validate']]) {
      const r = cli(dir, cmd);
      expect(r.code, cmd.join(' ')).toBe(1);
      const invalid = (r.doc.findings as Array<{ code: string; message: string }>).filter((f) => f.code === 'ROUTE_INVALID_PATH');
      for (const t of UNSAFE_TEMPLATES) {
        expect(
          invalid.some((f) => f.message.includes(`: ${t} `)),
          `${cmd.join(' ')}: ${t}`,
        ).toBe(true);
      }
    }
  });

  test('a template whose expansion names a control file ({id} = artifacts_index.json) is reported for the artifact', () => {
    const dir = testdir({
      'artifact_routing.mdc': routingFile([{ kind: 'note', path: '{id}' }]),
      'notes/a.md': '---\nid: artifacts_index.json\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: note\n---\nA note.\n',
    });
    gitInit(dir);
    for (const cmd of [['route', 'check'], ['validate']]) {
      const r = cli(dir, cmd);
      expect(r.code, cmd.join(' ')).toBe(1);
      const f = (r.doc.findings as Array<{ code: string; path?: string }>).filter((x) => x.code === 'ROUTE_INVALID_PATH');
      expect(
        f.map((x) => x.path),
        cmd.join(' '),
      ).toEqual(['notes/a.md']);
    }
  });
});

/** An executable sidecar-described artifact whose id is a git hook name. */
function hookRepo(template: string, file = 'scripts/post-commit-hook'): { dir: string; sentinel: string } {
  const sentinel = join(testdir(), 'hook-ran');
  const dir = testdir({
    'artifact_routing.mdc': routingFile([{ kind: 'hook', path: template }]),
    [file]: `#!/bin/sh\ntouch '${sentinel}'\n`,
    [`${file}.artifact.yaml`]: 'id: post-commit\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: hook\n',
  });
  chmodSync(join(dir, file), 0o755);
  gitInit(dir);
  return { dir, sentinel };
}

describe('route fix never plants a file in .git/ or on a control file', () => {
  for (const template of ['.git/hooks/{id}', '.GIT/hooks/{id}', '.git./hooks/{id}', '\uff0egit/hooks/{id}']) {
    test(`route ${template} + executable sidecar artifact id post-commit: route fix and --dry-run refuse, no hook, nothing ran`, () => {
      const { dir, sentinel } = hookRepo(template);
      const gitBefore = treeSum(join(dir, '.git'));
      const treeBefore = treeSum(join(dir, 'scripts'));
      for (const args of [
        ['route', 'fix', '--dry-run'],
        ['route', 'fix'],
      ]) {
        const r = cli(dir, args);
        expect(r.code, args.join(' ')).not.toBe(0);
        expect(codes(r), args.join(' ')).toContain('ROUTE_INVALID_PATH');
        expect(treeSum(join(dir, '.git')), args.join(' ')).toBe(gitBefore);
        expect(treeSum(join(dir, 'scripts'))).toBe(treeBefore);
      }
      expect(existsSync(join(dir, '.git/hooks/post-commit'))).toBe(false);
      gitRuns(dir, 'commit', '-q', '--allow-empty', '-m', 'after route fix');
      expect(existsSync(sentinel), 'a planted hook ran').toBe(false);
    });
  }

  test('a target that only the expansion makes unsafe is PATH_UNSAFE; route fix and --dry-run refuse before moving anything; route <file> too', () => {
    const dir = testdir({
      'artifact_routing.mdc': routingFile([{ kind: 'note', path: '{id}' }]),
      'notes/a.md': '---\nid: artifacts_index.json\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: note\n---\nA note.\n',
    });
    gitInit(dir);
    const before = treeSum(dir);
    for (const args of [
      ['route', 'fix', '--dry-run'],
      ['route', 'fix'],
      ['route', 'notes/a.md'],
    ]) {
      const r = cli(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(codes(r), args.join(' ')).toContain('PATH_UNSAFE');
      expect(treeSum(dir), args.join(' ')).toBe(before);
    }
    expect(existsSync(join(dir, 'artifacts_index.json'))).toBe(false);
  });
});

describe('route fix never moves a file through a symbolic link (git refuses paths beyond one too)', () => {
  // A committed link inside the repository: the textual target is ordinary, the link makes it
  // a forged snapshot record or the tool's own routing file.
  for (const [name, link, id] of [
    ['into .artifacts/snapshots (a forged record)', '.artifacts/snapshots/fwk-001/design-review', '000002.json'],
    ['to the root (the routing matrix)', '.', 'routing_matrix.json'],
    ['to a plain directory', 'docs', 'x.json'],
  ] as const) {
    test(`a route through a link ${name}: route fix and --dry-run refuse with PATH_UNSAFE, nothing moves`, () => {
      const dir = testdir({
        'artifact_routing.mdc': routingFile([{ kind: 'note', path: 'out/{id}' }]),
        'x.json': '{"forged":true}',
        'x.json.artifact.yaml': `id: ${id}\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: note\n`,
        '.artifacts/snapshots/fwk-001/design-review/.keep': '',
        'docs/.keep': '',
      });
      symlinkSync(link, join(dir, 'out'));
      gitInit(dir);
      const before = treeSum(dir, CACHES);
      for (const args of [
        ['route', 'fix', '--dry-run'],
        ['route', 'fix'],
      ]) {
        const r = cli(dir, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(codes(r), args.join(' ')).toContain('PATH_UNSAFE');
        expect(treeSum(dir, CACHES), args.join(' ')).toBe(before);
      }
    });
  }
});

/** Store `bytes` in the object store the way promote does; returns the address. */
function putObject(dir: string, bytes: Buffer): string {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeTree(dir, { [`.artifacts/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`]: bytes });
  return `sha256:${hex}`;
}

/** A snapshot signed by the trusted key, appended to framework/stage, naming `path`. */
async function forgeSnapshot(dir: string, stage: string, path: string, bytes: Buffer, gitBlob?: string): Promise<void> {
  const signing = await loadSigningKey(key);
  const snapshot = {
    format: 'artifacts-snapshot/1',
    framework: 'fwk-001',
    stage,
    seq: 1,
    parent: null,
    action: 'promote',
    created_at: '2026-03-01T10:00:00Z',
    artifacts: [
      {
        slot: 'plan',
        id: 'evil',
        version: '1',
        kind: 'plan',
        status: 'approved',
        path,
        content_address: putObject(dir, bytes),
        size: bytes.length,
        ...(gitBlob ? { git_blob: gitBlob } : {}),
      },
    ],
    selection_digest: `sha256:${'0'.repeat(64)}`,
    index_digest: `sha256:${'0'.repeat(64)}`,
    signer: { keyid: signing.keyid },
  };
  const json = Buffer.from(canonicalJson(snapshot), 'utf8');
  const sig = Buffer.from(signDetached(json, signing.seed)).toString('base64');
  writeTree(dir, {
    [`.artifacts/snapshots/fwk-001/${stage}/000001.json`]: json,
    [`.artifacts/snapshots/fwk-001/${stage}/000001.sig`]: `${sig}\n`,
  });
}

describe('a signed snapshot whose git blob holds other bytes', () => {
  test('snapshot verify reports OBJECT_CORRUPT when the object is only in git and the blob does not match', async () => {
    const dir = demo();
    writeTree(dir, { 'docs/decoy.md': 'decoy bytes\n' });
    git(dir, 'add', 'docs/decoy.md');
    commitAt(dir, '2026-03-01T09:30:00Z', 'decoy');
    const decoyBlob = git(dir, 'rev-parse', 'HEAD:docs/decoy.md').trim();
    const bytes = Buffer.from('the promoted bytes\n');
    await forgeSnapshot(dir, 'design-review', 'docs/plans/fwk-001/evil.md', bytes, decoyBlob);
    // A clone of this repository has no object store: the blob is where the bytes come from.
    const hex = createHash('sha256').update(bytes).digest('hex');
    rmSync(join(dir, `.artifacts/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`));
    const r = cli(dir, ['snapshot', 'verify', '--all']);
    expect(r.code).toBe(4);
    expect(codes(r)).toContain('OBJECT_CORRUPT');
  });
});

describe('a snapshot signed by a trusted key still may not name .git/ or a control path', () => {
  test('.git/config with core.fsmonitor: verify exits 4 with PATH_UNSAFE; rollback and --dry-run refuse; git status runs nothing', async () => {
    const dir = demo();
    const sentinel = join(testdir(), 'fsmonitor-ran');
    const config = `${read(dir, '.git/config')}\tfsmonitor = "touch '${sentinel}'; false"\n`;
    await forgeSnapshot(dir, 'design-review', '.git/config', Buffer.from(config));
    const gitBefore = treeSum(join(dir, '.git'));
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    expect(codes(v)).toContain('PATH_UNSAFE');
    for (const extra of [['--dry-run'], []]) {
      const r = cli(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key, ...extra]);
      expect(r.code, extra.join(' ')).toBe(4);
      expect(codes(r), extra.join(' ')).toContain('PATH_UNSAFE');
      expect(treeSum(join(dir, '.git')), extra.join(' ')).toBe(gitBefore);
    }
    expect(readdirSync(join(dir, '.artifacts/snapshots/fwk-001/design-review')).sort()).toEqual(['000001.json', '000001.sig']);
    gitRuns(dir, 'status');
    expect(existsSync(sentinel), 'the fsmonitor command ran').toBe(false);
  });

  test('every control-path variant in a validly signed snapshot fails verify (exit 4) and rollback --dry-run', async () => {
    const dir = demo();
    const variants = [
      '.GIT/hooks/post-commit',
      '.git./config',
      '.gi\u200ct/config',
      'docs/.git/x',
      '.artifacts/keys/trusted/evil.pub',
      '.Artifacts/journal',
      'artifacts_index.json',
      'artifacts.config.yaml',
      'artifact_routing.mdc',
      'routing_matrix.json',
    ];
    for (const [i, p] of variants.entries()) await forgeSnapshot(dir, `s${i}`, p, Buffer.from(`payload ${i}\n`));
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    const unsafe = (v.doc.findings as Array<{ code: string; path: string }>).filter((f) => f.code === 'PATH_UNSAFE').map((f) => f.path);
    expect(unsafe.sort()).toEqual(variants.map((_p, i) => `.artifacts/snapshots/fwk-001/s${i}/000001.json`).sort());
    const before = treeSum(dir, CACHES);
    for (const i of [0, 4, 6]) {
      const r = cli(dir, ['rollback', '--framework', 'fwk-001', '--stage', `s${i}`, '--to', '1', '--key', key, '--dry-run']);
      expect(r.code).toBe(4);
      expect(codes(r)).toContain('PATH_UNSAFE');
    }
    expect(treeSum(dir, CACHES)).toBe(before);
  });
});

describe('a signed snapshot path that the work tree sends elsewhere through a symbolic link', () => {
  test('lnk/config with a committed lnk -> .git: verify exits 4 with PATH_UNSAFE; rollback --dry-run refuses; .git untouched', async () => {
    const dir = demo();
    symlinkSync('.git', join(dir, 'lnk'));
    await forgeSnapshot(dir, 'design-review', 'lnk/config', Buffer.from('[core]\n\tfsmonitor = "touch pwned"\n'));
    const gitBefore = treeSum(join(dir, '.git'));
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    const unsafe = (v.doc.findings as Array<{ code: string; message: string }>).filter((f) => f.code === 'PATH_UNSAFE');
    expect(unsafe.map((f) => f.message).join('\n')).toContain('symbolic link "lnk"');
    const r = cli(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key, '--dry-run']);
    expect(r.code).toBe(4);
    expect(codes(r)).toContain('PATH_UNSAFE');
    expect(treeSum(join(dir, '.git'))).toBe(gitBefore);
  });
});

describe('hydrate --out', () => {
  const HYDRATE = ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review'];

  test('inside the repository it may not name .git/ or a control path (also through a symlink); outside it may', () => {
    const dir = demo();
    mkdirSync(join(dir, 'out'));
    symlinkSync('.git/hooks', join(dir, 'hooks-link'));
    const before = treeSum(dir, CACHES);
    for (const out of [
      '.git/hooks/post-commit',
      '.GIT/hooks/post-commit',
      '.git./config',
      'docs/.git/x.json',
      '.artifacts/x.json',
      'artifacts_index.json',
      'artifacts.config.yaml',
      'hooks-link/post-commit',
    ]) {
      const r = cli(dir, [...HYDRATE, '--out', out]);
      expect(r.code, out).toBe(2);
      expect(codes(r), out).toEqual(['PATH_UNSAFE']);
      expect(treeSum(dir, CACHES), out).toBe(before);
    }
    const elsewhere = join(testdir(), 'hydration.json');
    const ok = spawnSync(process.execPath, [BIN, ...HYDRATE, '--out', elsewhere], { cwd: dir, encoding: 'utf8', timeout: DEADLINE_MS });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(elsewhere, 'utf8'))).toMatchObject({ framework: 'fwk-001', stage: 'design-review' });
    const inside = spawnSync(process.execPath, [BIN, ...HYDRATE, '--out', 'out/h.json'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: DEADLINE_MS,
    });
    expect(inside.status, inside.stderr).toBe(0);
    expect(existsSync(join(dir, 'out/h.json'))).toBe(true);
  });
});
