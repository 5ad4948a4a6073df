// `npm run bench` (second part): hydrate over 10,000 candidates in a repository with 10,000
// commits — wall time (target <= 1 s) and the number of `git log` processes (must be 1).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateHistory, gitShim } from './history.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'artifacts.js');
const N = Number(process.env.BENCH_N ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const layout of ['nested', 'flat']) benchLayout(layout);

function benchLayout(layout) {
  const base = mkdtempSync(join(tmpdir(), 'artifacts-bench-hydrate-'));
  const repo = join(base, 'repo');
  console.log(`\ngenerating ${N} artifacts in ${N} commits (${layout} layout) ...`);
  generateHistory(repo, N, { layout });
  execFileSync(process.execPath, [BIN, 'index', 'rebuild'], { cwd: repo });
  execFileSync('git', ['add', '-A'], { cwd: repo });
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'index'], { cwd: repo });

  const log = join(base, 'git-calls.log');
  const shim = gitShim(join(base, 'shim'), log);
  const env = { ...process.env, PATH: `${shim}:${process.env.PATH}` };
  const times = [];
  let out = '';
  for (let r = 0; r < RUNS; r++) {
    writeFileSync(log, '');
    const t0 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, [BIN, '--json', 'hydrate', '--framework', 'fwk-001', '--stage', 'review', '--deterministic'], {
      cwd: repo,
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status !== 0) throw new Error(res.stderr);
    if (r > 0 && res.stdout !== out) throw new Error('hydrate output differs between runs');
    out = res.stdout;
  }
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  const doc = JSON.parse(out);
  // Reference: the same git log on its own.
  const gitTimes = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    execFileSync('git', ['log', '-z', '--format=%x01%ct', '--name-only', '--no-renames', '--relative'], { cwd: repo, maxBuffer: 1 << 30 });
    gitTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(
    `hydrate (${layout}): ${doc.inputs[0].candidates} candidates, ${N} commits, median of ${RUNS} runs: ${median(times).toFixed(0)} ms (target <= 1000 ms)`,
  );
  console.log(`  reference, the git log walk alone: ${median(gitTimes).toFixed(0)} ms`);
  console.log(`  git processes per run: ${calls.join(', ')} — git log: ${calls.filter((c) => c === 'log').length}`);
  console.log(`  raw: ${times.map((t) => t.toFixed(0)).join(' ')} ms`);
  rmSync(base, { recursive: true, force: true });
}
