// Shared test helpers: real temp directories from inline file trees, real git, and the
// built CLI run as a real process.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(PROJECT, 'bin', 'artifacts.js');
export const FIXTURES = join(PROJECT, 'fixtures');

const made: string[] = [];
afterAll(() => {
  if (process.env.KEEP_TMP) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp directory holding `files` (path -> content). */
export function testdir(files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'artifacts-test-'));
  made.push(dir);
  writeTree(dir, files);
  return dir;
}

export function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
}

const templates = new Map<string, string>();

/**
 * A fresh copy of a set-up built once per test file: `build` runs the first time `name` is
 * asked for (spawning the CLI, committing, signing ...), every call gets its own copy of
 * the result, `.git` included. For set-ups that many tests start from.
 */
export function fromTemplate(name: string, build: () => string): string {
  let template = templates.get(name);
  if (template === undefined) {
    template = build();
    templates.set(name, template);
  }
  const dir = testdir();
  cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** Copy a fixture repository into a temp directory. */
export function copyFixture(name: string): string {
  const dir = testdir();
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
}

export function gitInit(dir: string, commit = true): void {
  git(dir, 'init', '-q', '-b', 'main');
  if (commit) {
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'init', '--allow-empty');
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI synchronously. */
export function run(cwd: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Run the built CLI asynchronously (for parallel writers and kills). */
export function runAsync(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): { promise: Promise<RunResult>; kill: (sig?: NodeJS.Signals) => void; pid: number | undefined } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const promise = new Promise<RunResult>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { promise, kill: (sig = 'SIGKILL') => child.kill(sig), pid: child.pid };
}

export function runJson(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; doc: Record<string, unknown>; stderr: string } {
  const r = run(cwd, ['--json', ...args], env);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

export function read(dir: string, p: string): string {
  return readFileSync(join(dir, p), 'utf8');
}

/** A Markdown artifact with front matter. */
export function md(meta: Record<string, string | string[]>, body = 'Body text.\n'): string {
  const lines = Object.entries(meta).map(([k, v]) =>
    Array.isArray(v) ? `${k}: [${v.map((x) => JSON.stringify(x)).join(', ')}]` : `${k}: ${JSON.stringify(v)}`,
  );
  return `---\n${lines.join('\n')}\n---\n${body}`;
}

export function plan(id: string, extra: Record<string, string | string[]> = {}, body?: string): string {
  return md({ id, version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'plan', ...extra }, body);
}

export const ROUTING = `---
routes:
  - kind: plan
    path: docs/plans/{framework}/{id}.md
  - kind: model
    path: models/{id}/{version}/{id}{ext}
---
`;

/** A minimal repository: config + routing, no artifacts. */
export function repoWith(files: Record<string, string | Buffer>, opts: { git?: boolean } = {}): string {
  const dir = testdir({ 'artifacts.config.yaml': 'digest_algorithm: sha256\n', 'artifact_routing.mdc': ROUTING, ...files });
  if (opts.git !== false) gitInit(dir);
  return dir;
}

/** Stage everything and commit with a fixed committer (and author) time. */
export function commitAt(dir: string, isoDate: string, message = 'commit'): void {
  const env = { ...process.env, ...GIT_ENV, GIT_COMMITTER_DATE: isoDate, GIT_AUTHOR_DATE: isoDate };
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-q', '-m', message], { cwd: dir, env });
}

export const CONTRACT = `framework: fwk-001
allowed_kinds: [plan, risk-register]
stages:
  design-review:
    inputs:
      - slot: plan
        kind: plan
        min_status: review
  release:
    after: design-review
    inputs:
      - slot: plan
        kind: plan
        min_status: approved
      - slot: risks
        kind: risk-register
        id: risk-register
`;
