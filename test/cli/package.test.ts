// Packaging: `npm pack` ships what users need — the binary, the library, the schemas and every
// document the README links to — and the tarball, installed under the package's npm name,
// gives a working `npx artifacts`.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES, PROJECT, git, gitInit, testdir } from '../helpers.js';

const pkg = JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

/** Relative links of a Markdown text (`[text](path)` and `[text](path#anchor)`), without
 * web addresses and in-page anchors. */
export function relativeLinks(markdown: string): string[] {
  const links = new Set<string>();
  for (const m of markdown.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1]!.split('#')[0]!;
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    links.add(target.replace(/^\.\//, ''));
  }
  return [...links].sort();
}

let tarball = '';
let files: string[] = [];

beforeAll(() => {
  const out = testdir();
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: PROJECT, encoding: 'utf8' }),
  ) as Array<{ filename: string; name: string; files: Array<{ path: string }> }>;
  expect(packed[0]!.name).toBe(pkg.name);
  files = packed[0]!.files.map((f) => f.path);
  tarball = join(
    out,
    readdirSync(out).find((f) => f.endsWith('.tgz'))!,
  );
});

/** A fresh project with the tarball installed (dependencies from npm's cache when it has them). */
function installInto(app: string, ...flags: string[]): void {
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', ...flags, tarball], {
    cwd: app,
    stdio: 'pipe',
  });
}

describe('npm pack', () => {
  test('the package is not named `artifacts` (an unrelated npm package); its binary is', () => {
    expect(pkg.name).toBe('artifacts-cli');
    expect(Object.keys(pkg.bin)).toEqual(['artifacts']);
    const lock = JSON.parse(readFileSync(join(PROJECT, 'package-lock.json'), 'utf8')) as {
      name: string;
      packages: Record<string, { name?: string }>;
    };
    expect(lock.name).toBe(pkg.name);
    expect(lock.packages['']!.name).toBe(pkg.name);
  });

  test('the tarball holds every document the README links to, and nothing of the sources or tests', () => {
    const links = relativeLinks(readFileSync(join(PROJECT, 'README.md'), 'utf8'));
    // The README links to its documents (a guard against the parser finding nothing).
    expect(links).toEqual(
      expect.arrayContaining([
        'docs/commands.md',
        'docs/errors.md',
        'docs/security.md',
        'docs/ci/github-actions.yml',
        '.pre-commit-hooks.yaml',
      ]),
    );
    for (const link of links) {
      const target = link.replace(/\/$/, '');
      expect(existsSync(join(PROJECT, target)), `README links to ${link}, which does not exist`).toBe(true);
      expect(
        files.some((f) => f === target || f.startsWith(`${target}/`)),
        `README links to ${link}, which the tarball lacks`,
      ).toBe(true);
    }
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/artifacts.js',
        'dist/bundle/main.js',
        'dist/bundle/inspect-worker.js',
        'dist/index.js',
        'dist/generated/validators.js',
        'schemas/framework-artifact.schema.json',
        'README.md',
        'LICENSE',
        'package.json',
      ]),
    );
    expect(files.filter((f) => /^(src|test|fixtures|bench|scripts)\//.test(f))).toEqual([]);
    // Every chunk of the bundle sits directly in dist/bundle/, two levels below the package
    // root, as the sources expect when they find package.json, bin/ and schemas/ from
    // import.meta.url (and the tree scan its worker next to itself).
    expect(files.filter((f) => f.startsWith('dist/bundle/') && f.split('/').length !== 3)).toEqual([]);
  });

  test('every packed document links only to files the tarball holds', () => {
    const docs = files.filter((f) => f.endsWith('.md'));
    expect(docs).toEqual(
      expect.arrayContaining(['README.md', 'docs/reference.md', 'docs/crash-safety.md', 'docs/performance.md', 'docs/dependencies.md']),
    );
    for (const doc of docs) {
      for (const link of relativeLinks(readFileSync(join(PROJECT, doc), 'utf8'))) {
        const target = posix.normalize(posix.join(posix.dirname(doc), link)).replace(/\/$/, '');
        expect(
          files.some((f) => f === target || f.startsWith(`${target}/`)),
          `${doc} links to ${link}, which the tarball lacks`,
        ).toBe(true);
      }
    }
  });

  test('the relative-link parser finds links with anchors and skips web addresses', () => {
    expect(relativeLinks('[a](docs/a.md#x) [b](https://x.org/y.md) [c](#top) [d](./LICENSE) [e](<docs/e f.md>)')).toEqual([
      'LICENSE',
      'docs/a.md',
    ]);
  });

  test('the tarball installs, and its binary runs --version and validate', () => {
    const app = testdir({ 'package.json': '{ "name": "consumer", "version": "1.0.0", "private": true }\n' });
    installInto(app);
    const bin = join(app, 'node_modules', '.bin', 'artifacts');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);

    const repo = testdir();
    cpSync(join(FIXTURES, 'demo'), repo, { recursive: true });
    gitInit(repo);
    expect(spawnSync(bin, ['index', 'rebuild'], { cwd: repo, encoding: 'utf8' }).status).toBe(0);
    const v = spawnSync(bin, ['validate'], { cwd: repo, encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('5 artifacts valid');

    // The binary runs the bundle, and the bundle's worker-thread entry (which inspects the
    // files of a large scan) works from the installed package.
    const installed = join(app, 'node_modules', pkg.name);
    expect(readFileSync(join(installed, 'bin', 'artifacts.js'), 'utf8')).toContain('../dist/bundle/main.js');
    const probe = join(app, 'worker-probe.mjs');
    writeFileSync(
      probe,
      `import { Worker } from 'node:worker_threads';
const w = new Worker(process.argv[2], { workerData: { ctx: { root: process.cwd(), algorithm: 'sha256', schemasDir: process.cwd() + '/schemas' }, explicit: false } });
w.on('message', (m) => { console.log(m.results.map((r) => r.entry?.id).join(',')); void w.terminate(); });
w.postMessage({ files: ['docs/plans/fwk-001/plan-checkout.md'] });
w.on('error', (e) => { console.error(e); process.exitCode = 1; });
`,
    );
    const worker = spawnSync(process.execPath, [probe, join(installed, 'dist', 'bundle', 'inspect-worker.js')], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(worker.stdout.trim(), worker.stderr).toBe('plan-checkout');
  });

  test('installed as a dev dependency of a fresh git repository, `npx artifacts init` works and its merge driver is that installation', () => {
    const repo = testdir({
      'package.json': '{ "name": "consumer", "version": "1.0.0", "private": true }\n',
      '.gitignore': 'node_modules/\n',
    });
    gitInit(repo);
    installInto(repo, '--save-dev');
    expect(
      Object.keys(
        (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies,
      ),
    ).toEqual([pkg.name]);
    expect((JSON.parse(readFileSync(join(repo, 'node_modules', pkg.name, 'package.json'), 'utf8')) as { name: string }).name).toBe(
      pkg.name,
    );
    expect(existsSync(join(repo, 'node_modules', 'artifacts'))).toBe(false);
    // `--no`: npx must find the installed binary, never fetch a package from the registry.
    const init = spawnSync('npx', ['--no', 'artifacts', 'init'], { cwd: repo, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(init.status, init.stdout + init.stderr).toBe(0);
    expect(existsSync(join(repo, 'artifacts.config.yaml'))).toBe(true);
    expect(git(repo, 'config', '--get', 'merge.artifacts-index.driver').trim()).toBe(
      'node_modules/.bin/artifacts index merge-driver %O %A %B',
    );
    expect(readFileSync(join(repo, '.gitattributes'), 'utf8')).toContain('artifacts_index.json merge=artifacts-index');
    // The driver line runs the installed package from the top of the work tree.
    const driver = spawnSync(join(repo, 'node_modules', '.bin', 'artifacts'), ['--version'], { cwd: repo, encoding: 'utf8' });
    expect(driver.stdout.trim()).toBe(pkg.version);
    // The library is imported under the package name, as the documentation shows.
    const lib = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { openRepo, indexRebuild } from '${pkg.name}'; console.log(typeof openRepo, typeof indexRebuild);`,
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(lib.stdout.trim(), lib.stderr).toBe('function function');
    writeFileSync(join(repo, 'README.md'), '# consumer\n');
    const v = spawnSync('npx', ['--no', 'artifacts', 'validate'], { cwd: repo, encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});
