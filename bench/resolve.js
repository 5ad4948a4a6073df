// `artifacts resolve --units FILE` with 1,000,000 units (SPEC §13; bar: <= 3 s and <= 150 MB
// on a 2-core machine): the demo repository, one promotion, a channel with a canary rollout
// at 25 %, answers streamed as one JSON document. Medians of RESOLVE_RUNS (5) runs, with
// `node -e 0` measured in the same run. RESOLVE_UNITS changes the number of units.
import { promotedDemo } from './demo-repo.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'artifacts.js');
const N = Number(process.env.RESOLVE_UNITS ?? 1_000_000);
const RUNS = Number(process.env.RESOLVE_RUNS ?? 5);
const base = mkdtempSync(join(tmpdir(), 'artifacts-resolve-'));
const { repo, env, cli } = promotedDemo(base);
cli('channel', 'create', 'prod', '--framework', 'fwk-001', '--stage', 'design-review');
cli('rollout', 'start', '--channel', 'prod', '--to', 'fwk-001/design-review/1');
cli('rollout', 'start', '--channel', 'prod', '--to', 'latest', '--strategy', 'canary', '--steps', '25,100');
const units = join(base, 'units.txt');
const out = createWriteStream(units);
for (let i = 0; i < N; i++) out.write(`tenant-${i}\n`);
await new Promise((r) => out.end(r));

const measure = (args) => {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...args], {
    cwd: repo,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const [secs, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { secs, mb: kb / 1024 };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const runs = [];
const node = [];
for (let r = 0; r < RUNS; r++) {
  runs.push(measure([BIN, '--json', 'resolve', '--channel', 'prod', '--units', units]));
  node.push(measure(['-e', '0']).secs);
}
const t = median(runs.map((x) => x.secs));
const m = median(runs.map((x) => x.mb));
console.log(
  `resolve --units, ${N} units, median of ${RUNS}: ${t.toFixed(2)} s, ${m.toFixed(0)} MB peak RSS (bars: <= 3 s ${t <= 3 ? 'met' : 'NOT met'}, <= 150 MB ${m <= 150 ? 'met' : 'NOT met'}); node -e 0: ${median(node).toFixed(2)} s`,
);
console.log(`  raw: ${runs.map((x) => `${x.secs.toFixed(2)} s ${x.mb.toFixed(0)} MB`).join(' | ')}`);
writeFileSync(join(base, 'done'), '');
