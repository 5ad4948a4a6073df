// Packaging: `npm pack` ships what users need, and the installed binary works.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, PROJECT, gitInit, testdir } from '../helpers.js';

describe('npm pack', () => {
  test('the tarball installs, and its binary runs --version and validate', () => {
    const out = testdir();
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: PROJECT, encoding: 'utf8' })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/artifacts.js', 'dist/index.js', 'dist/cli/main.js', 'dist/generated/validators.js', 'schemas/framework-artifact.schema.json', 'README.md', 'LICENSE', 'package.json']));
    expect(files.filter((f) => /^(src|test|fixtures|bench|scripts)\//.test(f))).toEqual([]);

    const app = testdir({ 'package.json': '{ "name": "consumer", "version": "1.0.0", "private": true }\n' });
    const tarball = join(out, readdirSync(out).find((f) => f.endsWith('.tgz'))!);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app, stdio: 'pipe' });
    const bin = join(app, 'node_modules', '.bin', 'artifacts');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(execFileSync('cat', [join(PROJECT, 'package.json')], { encoding: 'utf8' })) as { version: string }).version);

    const repo = testdir();
    cpSync(join(FIXTURES, 'demo'), repo, { recursive: true });
    gitInit(repo);
    expect(spawnSync(bin, ['index', 'rebuild'], { cwd: repo, encoding: 'utf8' }).status).toBe(0);
    const v = spawnSync(bin, ['validate'], { cwd: repo, encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('5 artifacts valid');
  });
});
