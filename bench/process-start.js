// Process start: what a command costs before its first byte of work, against `node -e 0`
// in the same run. `artifacts --version` loads only the command line; `validate` on the
// small demo repository loads what validation needs and does very little work. Run alone
// (`node bench/process-start.js`) or from `npm run bench`; ARTIFACTS_BIN measures another
// installation's bin/artifacts.js.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_BIN = join(PROJECT, 'bin', 'artifacts.js');

/** CPU time (user + system, ms) of the children this process has waited for, where Linux
 * tells (/proc/self/stat, in clock ticks of 10 ms); undefined elsewhere. On a busy machine
 * it is the steadier measure: wall-clock time also counts the waits for a core. */
function childrenCpuMs() {
  if (!existsSync('/proc/self/stat')) return undefined;
  const fields = readFileSync('/proc/self/stat', 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  // Fields 16 and 17 of the file (cutime, cstime); the slice starts at field 3.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Wall-clock and CPU time (ms) of `fn`, which runs one child process to its end. */
function time(fn) {
  const c0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c1 = childrenCpuMs();
  return { wall, cpu: c0 === undefined || c1 === undefined ? undefined : c1 - c0 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Medians (ms) of `runs` runs each, interleaved so that machine noise hits all three alike. */
export function measureProcessStart({ bin = DEFAULT_BIN, runs = 5 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'artifacts-start-'));
  try {
    cpSync(join(PROJECT, 'fixtures', 'demo'), dir, { recursive: true });
    const git = (...args) =>
      execFileSync('git', args, {
        cwd: dir,
        stdio: 'ignore',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 'b',
          GIT_AUTHOR_EMAIL: 'b@example.com',
          GIT_COMMITTER_NAME: 'b',
          GIT_COMMITTER_EMAIL: 'b@example.com',
        },
      });
    git('init', '-q', '-b', 'main');
    const cli = (args) => {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`artifacts ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    };
    cli(['index', 'rebuild']);
    git('add', '-A');
    git('commit', '-q', '-m', 'demo');
    cli(['validate']);
    const node = [];
    const version = [];
    const validate = [];
    for (let r = 0; r < runs; r++) {
      node.push(time(() => execFileSync(process.execPath, ['-e', '0'])));
      version.push(time(() => cli(['--version'])));
      validate.push(time(() => cli(['validate'])));
    }
    const wall = (xs) => xs.map((x) => x.wall);
    const cpu = (xs) => (xs.every((x) => x.cpu !== undefined) ? median(xs.map((x) => x.cpu)) : undefined);
    return {
      node: median(wall(node)),
      version: median(wall(version)),
      validate: median(wall(validate)),
      cpu: { node: cpu(node), version: cpu(version), validate: cpu(validate) },
      raw: { node: wall(node), version: wall(version), validate: wall(validate) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const m = measureProcessStart({ bin: process.env.ARTIFACTS_BIN ?? DEFAULT_BIN, runs });
  console.log(`process start, median of ${runs} runs each (ms):`);
  console.log(`  node -e 0 (reference)              ${m.node.toFixed(0).padStart(5)}`);
  console.log(`  artifacts --version                ${m.version.toFixed(0).padStart(5)}  (+${(m.version - m.node).toFixed(0)} over node)`);
  console.log(
    `  artifacts validate (demo repository)${m.validate.toFixed(0).padStart(5)}  (+${(m.validate - m.node).toFixed(0)} over node)`,
  );
  if (m.cpu.node !== undefined)
    console.log(`  CPU time (user + system): node ${m.cpu.node}, --version ${m.cpu.version}, validate ${m.cpu.validate}`);
  console.log(
    `  raw: node ${m.raw.node.map((x) => x.toFixed(0)).join(' ')} | --version ${m.raw.version.map((x) => x.toFixed(0)).join(' ')} | validate ${m.raw.validate.map((x) => x.toFixed(0)).join(' ')}`,
  );
}
