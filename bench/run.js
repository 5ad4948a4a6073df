// `npm run bench`: the performance targets, each printed with references measured in the
// same run (medians of several runs, to ride out machine noise).
//   cold `index rebuild`        <= 0.5x cold `git add -A` on the same tree, and
//                               <= 5x warm `git add -A` (git re-hashing the same files
//                                  with its objects already present: read and hash everything)
//   no-change `index verify`    <= 250 ms
//   `index add` of one file     <= 150 ms into the 10k index (goal 120 ms)
// and process start: `artifacts --version` and `validate` on a small repository against
// `node -e 0` (bench/process-start.js).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactText, generateCorpus } from './corpus.js';
import { measureProcessStart } from './process-start.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'artifacts.js');
const N = Number(process.env.BENCH_N ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function cli(cwd, args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`artifacts ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
}
// Cold means "no tool state". The page cache cannot be dropped without root on every
// machine, so both sides run with a warm page cache; `sync` first flushes the write-back of
// the copy just made, so that neither side pays for the other's dirty pages.
const settle = () => execFileSync('sync');

const base = mkdtempSync(join(tmpdir(), 'artifacts-bench-'));
const corpus = join(base, 'corpus');
console.log(`generating ${N} artifacts of ~4 KB in ${corpus} ...`);
generateCorpus(corpus, N);

const gitTimes = [];
const gitWarmTimes = [];
const rebuildTimes = [];
for (let r = 0; r < RUNS; r++) {
  // Reference: git add -A on a fresh copy of the same tree (hashes and stores every file).
  const g = join(base, `git-${r}`);
  cpSync(corpus, g, { recursive: true });
  settle();
  gitTimes.push(time(() => execFileSync('git', ['add', '-A'], { cwd: g })));
  // Warm reference: git re-hashes every file (its index removed, so no stat shortcut) with
  // the objects already in its store — the floor for "read and hash everything".
  rmSync(join(g, '.git', 'index'), { force: true });
  settle();
  gitWarmTimes.push(time(() => execFileSync('git', ['add', '-A'], { cwd: g })));
  rmSync(g, { recursive: true, force: true });
  // Cold rebuild: no index, no stat cache.
  const a = join(base, `rb-${r}`);
  cpSync(corpus, a, { recursive: true });
  settle();
  rebuildTimes.push(time(() => cli(a, ['index', 'rebuild'])));
  if (r < RUNS - 1) rmSync(a, { recursive: true, force: true });
}
const work = join(base, `rb-${RUNS - 1}`);
// The stat cache trusts only entries older than the racy window: let it settle once.
await new Promise((r) => setTimeout(r, 2500));
cli(work, ['index', 'verify']);
// Each timed command below starts with no write-back of the benchmark's own earlier steps
// pending (copies of the tree, git's objects): an add's fsyncs would otherwise wait for it.
const verifyTimes = [];
for (let r = 0; r < RUNS; r++) {
  settle();
  verifyTimes.push(time(() => cli(work, ['index', 'verify'])));
}

const addTimes = [];
for (let r = 0; r < RUNS; r++) {
  const a = artifactText(N + r, () => 0.5);
  writeFileSync(join(work, a.path), a.text);
  settle();
  addTimes.push(time(() => cli(work, ['index', 'add', a.path])));
}
// Reference: the same add into an index of 100 artifacts. An add costs what the change
// costs, so the difference between the two is the part that grows with the index.
const small = join(base, 'small');
generateCorpus(small, 100);
cli(small, ['index', 'rebuild']);
const smallAddTimes = [];
for (let r = 0; r < RUNS; r++) {
  const a = artifactText(N + r, () => 0.5);
  writeFileSync(join(small, a.path), a.text);
  settle();
  smallAddTimes.push(time(() => cli(small, ['index', 'add', a.path])));
}
const nodeStart = [];
for (let r = 0; r < RUNS; r++) nodeStart.push(time(() => execFileSync(process.execPath, ['-e', '0'])));

const start = measureProcessStart({ runs: RUNS });

const g = median(gitTimes);
const gw = median(gitWarmTimes);
const rb = median(rebuildTimes);
const v = median(verifyTimes);
const ad = median(addTimes);
const met = (ok) => (ok ? 'met' : 'NOT met');
const rows = [
  ['git add -A, cold (reference)', g, ''],
  ['git add -A, warm (reference)', gw, ''],
  [
    'index rebuild (cold)',
    rb,
    `${(rb / g).toFixed(2)}x cold git (bar <= 0.50: ${met(rb / g <= 0.5)}); ${(rb / gw).toFixed(2)}x warm git (bar <= 5.00: ${met(rb / gw <= 5)})`,
  ],
  ['index verify (no change)', v, `bar <= 250 ms: ${met(v <= 250)}`],
  ['index add (1 file into the index)', ad, `bar <= 150 ms: ${met(ad <= 150)}; goal <= 120 ms: ${met(ad <= 120)}`],
  ['index add (1 file into 100, reference)', median(smallAddTimes), `the ${N} index adds ${(ad - median(smallAddTimes)).toFixed(0)} ms`],
  ['node -e 0 (process start, reference)', median(nodeStart), ''],
  [
    'process start: artifacts --version',
    start.version,
    `node -e 0 in the same runs: ${start.node.toFixed(0)} ms (+${(start.version - start.node).toFixed(0)})`,
  ],
  ['process start: validate (demo repository)', start.validate, `+${(start.validate - start.node).toFixed(0)} ms over node -e 0`],
  ...(start.cpu.node !== undefined
    ? [['process start, CPU time: --version', start.cpu.version, `validate ${start.cpu.validate} ms; node -e 0 ${start.cpu.node} ms`]]
    : []),
];
console.log(`\n${N} artifacts, median of ${RUNS} runs each (ms):`);
for (const [name, ms, note] of rows) console.log(`  ${name.padEnd(40)} ${ms.toFixed(0).padStart(7)}  ${note}`);
console.log(
  `  raw: git ${gitTimes.map((x) => x.toFixed(0)).join(' ')} | git warm ${gitWarmTimes.map((x) => x.toFixed(0)).join(' ')} | rebuild ${rebuildTimes.map((x) => x.toFixed(0)).join(' ')} | verify ${verifyTimes.map((x) => x.toFixed(0)).join(' ')} | add ${addTimes.map((x) => x.toFixed(0)).join(' ')} | add into 100 ${smallAddTimes.map((x) => x.toFixed(0)).join(' ')} | --version ${start.raw.version.map((x) => x.toFixed(0)).join(' ')} | validate ${start.raw.validate.map((x) => x.toFixed(0)).join(' ')} | node ${start.raw.node.map((x) => x.toFixed(0)).join(' ')}`,
);
rmSync(base, { recursive: true, force: true });
