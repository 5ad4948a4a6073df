// Build once before the suite. Most tests run the built CLI (dist/), so a suite started
// right after an edit of src/ would otherwise test the previous build. The build runs only
// when some input is newer than the last outputs of the build (`npm test` builds first, and
// then nothing is rebuilt here).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT = join(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Newest mtime of the files under `dir` whose name passes `keep`. */
function mtimes(dir: string, keep: (name: string) => boolean, pick: (a: number, b: number) => number, start: number): number {
  let acc = start;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return acc;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) acc = mtimes(p, keep, pick, acc);
    else if (e.isFile() && keep(e.name)) acc = pick(acc, statSync(p).mtimeMs);
  }
  return acc;
}

export function buildIsStale(): boolean {
  // The last outputs of a build (the library entry, then the command-line bundle): files a
  // build no longer writes (of a module since removed) may linger in dist/ and must not count.
  let built: number;
  try {
    built = Math.min(statSync(join(PROJECT, 'dist/index.js')).mtimeMs, statSync(join(PROJECT, 'dist/bundle/main.js')).mtimeMs);
  } catch {
    return true;
  }
  const inputs = Math.max(
    mtimes(join(PROJECT, 'src'), (n) => n.endsWith('.ts'), Math.max, 0),
    mtimes(join(PROJECT, 'schemas'), () => true, Math.max, 0),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/gen-validators.mjs'].map(
      (f) => statSync(join(PROJECT, f)).mtimeMs,
    ),
  );
  return inputs > built;
}

export default function setup(): void {
  if (process.env.ARTIFACTS_TEST_NO_BUILD || !buildIsStale()) return;
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], {
    cwd: PROJECT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
