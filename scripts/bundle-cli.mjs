// Build step: bundle the command line into dist/bundle/ with esbuild, so that a command
// starts without resolving and loading a hundred separate modules. Code splitting keeps
// every command's module (src/cli/commands/*) a chunk of its own, loaded only when that
// command runs. The library (dist/index.js and its .d.ts) is tsc's output, not this bundle.
//
// Layout constraints the sources rely on:
// - every chunk sits directly in dist/bundle/, two levels below the package root, as the
//   compiled modules in dist/cli/ and dist/core/*.js do for `../../package.json`,
//   `../../bin/artifacts.js` and `../../schemas/` (resolved from import.meta.url);
// - the tree scan starts `new Worker(new URL('./inspect-worker.js', import.meta.url))`,
//   so the worker is an entry point of its own, named inspect-worker.js, next to the chunks.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', 'inspect-worker': 'src/core/index/inspect-worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  // Not minified, without source maps: a stack trace names readable lines of the bundle.
  sourcemap: false,
  // A package's ES module build where it has one (hash-wasm): a dynamic import of a
  // CommonJS build would have only a default export.
  mainFields: ['module', 'main'],
  // The CommonJS dependencies call require() for Node's own modules: give the ES module
  // chunks one (the generated validators create their own, for ajv's runtime helpers).
  banner: {
    js: "import { createRequire as __artifactsCreateRequire } from 'node:module';\nconst require = __artifactsCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
