// `npm run bench:scale`: the scale targets, each against a reference measured in the same run.
//   100,000 artifacts: cold `index rebuild` peak RSS <= 300 MB;
//                      `index add` of one file <= 400 ms and <= 120 MB peak RSS;
//                      first `index verify` after a rebuild <= 2 s and <= 300 MB;
//                      no-change `index verify` well under a second more than at 10,000
//   a 1 GiB artifact:  `index add` peak RSS <= 100 MB, time <= 1.2x `sha256sum` on the file
// Peak RSS is the process's own high-water mark (worker threads included), reported by a
// probe preloaded with --import. SCALE_N, SCALE_REF_N, SCALE_RUNS (runs of each timed
// command, median reported), SCALE_REBUILD_RUNS (cold rebuilds) and SCALE_BIG_MB (0: skip
// the large artifact) change the sizes (CI runs a small size through
// test/integration/scale-bench.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { artifactText, generateCorpus } from './corpus.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, '..', 'bin', 'artifacts.js');
const PROBE = pathToFileURL(join(HERE, 'rss-probe.js')).href;
const N = Number(process.env.SCALE_N ?? 100_000);
const REF_N = Number(process.env.SCALE_REF_N ?? 10_000);
const RUNS = Number(process.env.SCALE_RUNS ?? 5);
const REBUILD_RUNS = Number(process.env.SCALE_REBUILD_RUNS ?? 3);
const BIG_MB = Number(process.env.SCALE_BIG_MB ?? 1024);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs, unit) =>
  `${median(xs).toFixed(unit === 'MB' ? 0 : 2)} ${unit} (runs: ${xs.map((x) => x.toFixed(unit === 'MB' ? 0 : 2)).join(' / ')})`;

/** Run the CLI; returns seconds and peak RSS in MB. */
function measure(cwd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', PROBE, BIN, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`artifacts ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const m = /@@maxrss (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no RSS report from the probe:\n${r.stderr}`);
  return { secs, rssMb: Number(m[1]) / 1024 };
}

function timeCmd(cmd, args) {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const settleStamps = () => new Promise((r) => setTimeout(r, 2500));
const base = mkdtempSync(join(tmpdir(), 'artifacts-scale-'));
const results = [];

async function treeRuns(n) {
  const dir = join(base, `corpus-${n}`);
  console.log(`generating ${n} artifacts in ${dir} ...`);
  generateCorpus(dir, n);
  execFileSync('sync');
  const rebuild = [];
  for (let r = 0; r < REBUILD_RUNS; r++) {
    // Cold: no index, no cache, no journal.
    rmSync(join(dir, '.artifacts'), { recursive: true, force: true });
    rmSync(join(dir, 'artifacts_index.json'), { force: true });
    rebuild.push(measure(dir, ['index', 'rebuild']));
  }
  await settleStamps();
  // The first verification after a rebuild compares everything and, finding the tree clean,
  // records its stamps; the following ones are the no-change case. Removing that record
  // puts the repository back in the state the rebuild left, so the first one repeats.
  const first = [];
  for (let r = 0; r < RUNS; r++) {
    rmSync(join(dir, '.artifacts', 'cache', 'clean-verify.json'), { force: true });
    first.push(measure(dir, ['index', 'verify']));
  }
  const verify = [];
  for (let r = 0; r < RUNS; r++) verify.push(measure(dir, ['index', 'verify']));
  // One new artifact added to the index (each run a different file).
  const add = [];
  for (let r = 0; r < RUNS; r++) {
    const a = artifactText(n + r, () => 0.5);
    writeFileSync(join(dir, a.path), a.text);
    add.push(measure(dir, ['index', 'add', a.path]));
  }
  rmSync(dir, { recursive: true, force: true });
  return { rebuild, first, verify, add };
}

const ref = await treeRuns(REF_N);
const big = await treeRuns(N);
const verifyDelta = median(big.verify.map((v) => v.secs)) - median(ref.verify.map((v) => v.secs));
const met = (ok) => (ok ? 'met' : 'NOT met');
const secs = (xs) => xs.map((x) => x.secs);
const rss = (xs) => xs.map((x) => x.rssMb);
results.push(
  [
    `index add (1 file into ${N}): time`,
    fmt(secs(big.add), 's'),
    `${REF_N}: ${fmt(secs(ref.add), 's')}; bar <= 0.40 s: ${met(median(secs(big.add)) <= 0.4)}`,
  ],
  [
    `index add (1 file into ${N}): peak RSS`,
    fmt(rss(big.add), 'MB'),
    `${REF_N}: ${fmt(rss(ref.add), 'MB')}; bar <= 120 MB: ${met(median(rss(big.add)) <= 120)}`,
  ],
  [
    `index verify, ${N}, first after a rebuild: time`,
    fmt(secs(big.first), 's'),
    `${REF_N}: ${fmt(secs(ref.first), 's')}; bar <= 2 s: ${met(median(secs(big.first)) <= 2)}`,
  ],
  [
    `index verify, ${N}, first after a rebuild: peak RSS`,
    fmt(rss(big.first), 'MB'),
    `${REF_N}: ${fmt(rss(ref.first), 'MB')}; bar <= 300 MB: ${met(median(rss(big.first)) <= 300)}`,
  ],
);
results.push(
  [
    `index rebuild, ${N} cold: peak RSS`,
    fmt(
      big.rebuild.map((x) => x.rssMb),
      'MB',
    ),
    `target <= 300 MB: ${median(big.rebuild.map((x) => x.rssMb)) <= 300 ? 'met' : 'NOT met'}`,
  ],
  [
    `index rebuild, ${N} cold: time`,
    fmt(
      big.rebuild.map((x) => x.secs),
      's',
    ),
    `${REF_N}: ${fmt(
      ref.rebuild.map((x) => x.secs),
      's',
    )}`,
  ],
  [
    `index verify, ${N} no change`,
    fmt(
      big.verify.map((x) => x.secs),
      's',
    ),
    `${REF_N}: ${fmt(
      ref.verify.map((x) => x.secs),
      's',
    )}; difference ${verifyDelta.toFixed(2)} s (target well under 1 s)`,
  ],
  [
    `index verify, ${N} no change: peak RSS`,
    fmt(
      big.verify.map((x) => x.rssMb),
      'MB',
    ),
    '',
  ],
);

// One large artifact, described by a sidecar, in a small repository.
if (BIG_MB > 0) {
  const dir = join(base, 'big');
  generateCorpus(dir, 1);
  const rel = 'models/big/1.0.0/big.bin';
  execFileSync('mkdir', ['-p', join(dir, 'models/big/1.0.0')]);
  console.log(`writing a ${BIG_MB} MiB artifact ...`);
  const fd = openSync(join(dir, rel), 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < BIG_MB; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
  writeFileSync(join(dir, `${rel}.artifact.yaml`), 'id: big\nversion: "1.0.0"\nstatus: draft\nframework: fwk-000\nkind: model\n');
  writeFileSync(
    join(dir, 'artifact_routing.mdc'),
    '---\nroutes:\n  - kind: model\n    path: models/{id}/{version}/{id}{ext}\n  - kind: plan\n    path: docs/plan/{framework}/{id}.md\n---\n',
  );
  execFileSync('sync');
  const sums = [];
  const adds = [];
  for (let r = 0; r < RUNS; r++) {
    // Alternate the two so that neither always runs with the warmer page cache.
    sums.push(timeCmd('sha256sum', [join(dir, rel)]));
    adds.push(measure(dir, ['index', 'add', rel]));
  }
  const ratio = median(adds.map((a) => a.secs)) / median(sums);
  results.push(
    [
      `index add, ${BIG_MB} MiB artifact: time`,
      fmt(
        adds.map((a) => a.secs),
        's',
      ),
      `sha256sum: ${fmt(sums, 's')}; ratio ${ratio.toFixed(2)} (target <= 1.2)`,
    ],
    [
      `index add, ${BIG_MB} MiB artifact: peak RSS`,
      fmt(
        adds.map((a) => a.rssMb),
        'MB',
      ),
      'target <= 100 MB',
    ],
  );
}

console.log(`\nmedians of ${RUNS} runs (cold rebuilds: ${REBUILD_RUNS}):`);
for (const [name, value, note] of results) console.log(`  ${name.padEnd(58)} ${value}${note ? `\n  ${''.padEnd(58)} ${note}` : ''}`);
rmSync(base, { recursive: true, force: true });
