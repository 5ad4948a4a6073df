// The built binary as users and CI run it: global flags, JSON output, exit codes, help.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { PROJECT, plan, repoWith, run, runJson } from '../helpers.js';
import type { Command } from 'commander';

function walk(cmd: Command, path: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return [{ path, cmd }, ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

describe('command line', () => {
  test('--version prints the package version', () => {
    const r = run(PROJECT, ['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('every command has --help with an example', () => {
    const all = walk(buildProgram());
    expect(all.length).toBeGreaterThan(10);
    for (const { path } of all) {
      const r = run(PROJECT, [...path, '--help']);
      expect(r.code, path.join(' ')).toBe(0);
      expect(r.stdout, path.join(' ')).toContain('Examples:');
      expect(r.stdout, path.join(' ')).toContain('$ artifacts');
    }
  });

  test('usage errors exit 2', () => {
    expect(run(PROJECT, ['no-such-command']).code).toBe(2);
    expect(run(PROJECT, ['index', 'add']).code).toBe(2);
    expect(run(PROJECT, ['validate', '--format', 'xml']).code).toBe(2);
    const dir = repoWith({});
    expect(run(dir, ['index', 'rebuild', '--lock-timeout', 'soon']).code).toBe(2);
  });

  test('--json prints exactly one document on stdout, for success and failure', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    const ok = runJson(dir, ['index', 'rebuild']);
    expect(ok.code).toBe(0);
    expect(ok.doc).toMatchObject({ command: 'index rebuild', ok: true, count: 1 });
    writeFileSync(join(dir, 'docs/plans/fwk-001/b.md'), '---\nid: b\n---\n');
    const bad = runJson(dir, ['validate']);
    expect(bad.code).toBe(1);
    const f = (bad.doc.findings as Array<Record<string, unknown>>)[0]!;
    expect(Object.keys(f)).toEqual(expect.arrayContaining(['code', 'severity', 'message', 'path', 'hint']));
  });

  test('an unknown config key is a configuration error with the nearest key suggested', () => {
    const dir = repoWith({});
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algoritm: sha256\n');
    const r = runJson(dir, ['validate']);
    expect(r.code).toBe(2);
    const err = r.doc.error as { code: string; message: string };
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('did you mean "digest_algorithm"');
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: md5\n');
    expect(runJson(dir, ['validate']).code).toBe(2);
  });

  test('index remove by id@version and by path; unknown refs are findings', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a'), 'docs/plans/fwk-001/b.md': plan('b') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    expect(runJson(dir, ['index', 'remove', 'a@1.0.0']).doc.removed).toEqual(['docs/plans/fwk-001/a.md']);
    expect(runJson(dir, ['index', 'remove', 'docs/plans/fwk-001/b.md']).doc.removed).toEqual(['docs/plans/fwk-001/b.md']);
    expect(runJson(dir, ['index', 'remove', 'zzz@1']).code).toBe(1);
  });

  test('adding identical content again is a no-op; update requires an indexed path', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    expect(runJson(dir, ['index', 'add', 'docs']).doc.added).toEqual(['docs/plans/fwk-001/a.md']);
    const again = runJson(dir, ['index', 'add', 'docs/plans/fwk-001/a.md']);
    expect(again.doc).toMatchObject({ changed: false, added: [], unchanged: ['docs/plans/fwk-001/a.md'] });
    writeFileSync(join(dir, 'docs/plans/fwk-001/n.md'), plan('n'));
    const upd = runJson(dir, ['index', 'update', 'docs/plans/fwk-001/n.md']);
    expect(upd.code).toBe(1);
    expect((upd.doc.findings as Array<{ code: string }>)[0]?.code).toBe('INDEX_NOT_INDEXED');
  });

  test('DUPLICATE_VERSION across two files', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a'), 'docs/plans/fwk-002/a.md': plan('a', { framework: 'fwk-002' }) });
    const r = runJson(dir, ['index', 'rebuild']);
    expect(r.code).toBe(1);
    expect((r.doc.findings as Array<{ code: string }>).map((f) => f.code)).toContain('DUPLICATE_VERSION');
  });

  test('validate --format github prints workflow annotations', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': '---\nid: a\nversion: 1.10\nstatus: draft\nframework: f\nkind: plan\n---\n' });
    const r = run(dir, ['validate', '--format', 'github']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error file=docs/plans/fwk-001/a.md,line=3,col=10,title=VERSION_NOT_STRING::');
  });

  test('the project itself passes `artifacts validate`', () => {
    const r = run(PROJECT, ['validate']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('documentation', () => {
  test('docs/errors.md is generated from the current catalogue', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [join(PROJECT, 'scripts/gen-errors-doc.js'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('init', () => {
  test('creates config, routing stub and .gitignore entries; idempotent; never overwrites', async () => {
    const { readFileSync } = await import('node:fs');
    const dir = repoWith({ '.gitignore': 'node_modules/\n' });
    writeFileSync(join(dir, 'artifact_routing.mdc'), 'MINE\n');
    const first = runJson(dir, ['init']);
    expect(first.code).toBe(0);
    expect(first.doc.kept).toEqual(['artifacts.config.yaml', 'artifact_routing.mdc']);
    expect(readFileSync(join(dir, 'artifact_routing.mdc'), 'utf8')).toBe('MINE\n');
    const gi = readFileSync(join(dir, '.gitignore'), 'utf8');
    expect(gi).toContain('node_modules/\n');
    for (const e of ['.artifacts/objects/', '.artifacts/journal', '.artifacts/cache/']) expect(gi).toContain(e);
    const second = runJson(dir, ['init']);
    expect(second.doc.gitignore).toEqual([]);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe(gi);

    const fresh = repoWith({});
    const { rmSync } = await import('node:fs');
    rmSync(join(fresh, 'artifacts.config.yaml'));
    rmSync(join(fresh, 'artifact_routing.mdc'));
    expect(runJson(fresh, ['init']).doc.created).toEqual(['artifacts.config.yaml', 'artifact_routing.mdc']);
    expect(run(fresh, ['validate']).code).toBe(0);
  });
});

describe('stat cache', () => {
  test('a damaged cache is ignored and rebuilt', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    writeFileSync(join(dir, '.artifacts/cache/stat-cache'), '{not json');
    expect(run(dir, ['index', 'verify']).code).toBe(0);
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  });
});

describe('command reference', () => {
  test('docs/commands.md is generated from the current command tree', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [join(PROJECT, 'scripts/gen-commands-doc.js'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
