// Crash campaign: mixed operations (add, update, remove, promote, rollback), each killed with
// SIGKILL at a random moment or left to finish. After every operation: recovery runs, the
// index digest is valid, every acknowledged (exit 0) operation is durable, the snapshot
// chain verifies, and once the interrupted operation is re-run the index equals a rebuild
// of the tree. `node bench/crash-campaign.js [ops]` (default 1000); tests run a short one.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'artifacts.js');
const GIT_ENV = { GIT_AUTHOR_NAME: 'C', GIT_AUTHOR_EMAIL: 'c@example.com', GIT_COMMITTER_NAME: 'C', GIT_COMMITTER_EMAIL: 'c@example.com' };

function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function cli(dir, args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runKilled(dir, args, killAfterMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...GIT_ENV }, stdio: 'ignore' });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, killed: signal === 'SIGKILL' });
    });
  });
}

const doc = (i) => `---\nid: c${i}\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: plan\n---\nbody ${i}\n`;

export async function runCampaign({ ops = 1000, seed = 1, log = () => undefined } = {}) {
  const rand = rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'artifacts-campaign-'));
  const keys = mkdtempSync(join(tmpdir(), 'artifacts-campaign-keys-'));
  cpSync(join(ROOT, 'fixtures', 'demo'), dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const must = (r, what) => {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stdout}${r.stderr}`);
    return r;
  };
  must(cli(dir, ['index', 'rebuild']), 'initial rebuild');
  must(cli(dir, ['keys', 'generate', '--out', join(keys, 'k')]), 'keys generate');
  must(cli(dir, ['keys', 'trust', join(keys, 'k.pub'), '--key', join(keys, 'k.key')]), 'keys trust');
  execFileSync('git', ['add', '-A'], { cwd: dir, env: { ...process.env, ...GIT_ENV } });
  execFileSync('git', ['commit', '-q', '-m', 'start'], { cwd: dir, env: { ...process.env, ...GIT_ENV } });
  const key = join(keys, 'k.key');
  const live = new Set(); // artifact numbers whose file exists
  const acknowledged = new Map(); // path -> 'present' | 'absent'
  let next = 0;
  let kills = 0;
  const stats = { add: 0, update: 0, remove: 0, promote: 0, rollback: 0 };
  for (let i = 0; i < ops; i++) {
    const roll = rand();
    const pick = () => [...live][Math.floor(rand() * live.size)];
    let op;
    let args;
    let path;
    if (roll < 0.35 || live.size === 0) {
      op = 'add';
      const n = next++;
      path = `docs/plans/fwk-001/c${n}.md`;
      writeFileSync(join(dir, path), doc(n));
      live.add(n);
      args = ['index', 'add', path];
    } else if (roll < 0.55) {
      op = 'update';
      const n = pick();
      path = `docs/plans/fwk-001/c${n}.md`;
      writeFileSync(join(dir, path), `${doc(n)}edit ${i}\n`);
      args = ['index', 'update', path];
    } else if (roll < 0.7) {
      op = 'remove';
      const n = pick();
      path = `docs/plans/fwk-001/c${n}.md`;
      if (existsSync(join(dir, path))) unlinkSync(join(dir, path));
      live.delete(n);
      args = ['index', 'remove', path];
    } else if (roll < 0.88) {
      op = 'promote';
      args = ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, '--allow-dirty'];
    } else {
      op = 'rollback';
      args = ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', 'previous', '--key', key];
    }
    stats[op]++;
    const killAt = rand() < 0.6 ? Math.floor(rand() * 500) : undefined;
    const r = await runKilled(dir, args, killAt);
    if (r.killed) kills++;
    // Recovery, then the invariants.
    must(cli(dir, ['index', 'recover']), `recover after ${op}`);
    const verify = cli(dir, ['--json', 'index', 'verify']);
    if (verify.code === 4) throw new Error(`index integrity failure after ${op}: ${verify.stdout}`);
    const chain = cli(dir, ['snapshot', 'verify', '--all']);
    if (chain.code !== 0) throw new Error(`snapshot chain broken after ${op} (killed: ${r.killed}): ${chain.stdout}${chain.stderr}`);
    if (!r.killed && r.code === 0 && path) acknowledged.set(path, op === 'remove' ? 'absent' : 'present');
    // Finish an interrupted index operation the way a user would: run it again.
    if (r.killed && path) {
      const again = cli(dir, args);
      if (again.code === 0) acknowledged.set(path, op === 'remove' ? 'absent' : 'present');
      // The killed remove had committed before the kill: the path is already gone.
      else if (op === 'remove' && `${again.stdout}${again.stderr}`.includes('INDEX_NOT_INDEXED')) acknowledged.set(path, 'absent');
      else throw new Error(`re-running ${op} ${path} failed: ${again.stdout}${again.stderr}`);
    }
    const index = JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8'));
    const paths = new Set(index.artifacts.map((e) => e.path));
    for (const [p, state] of acknowledged) {
      if ((state === 'present') !== paths.has(p)) throw new Error(`acknowledged ${state} for ${p} is not durable after op ${i} (${op})`);
    }
    // A rollback restores files and re-indexes them; otherwise the index equals a rebuild.
    const rebuild = JSON.parse(cli(dir, ['--json', 'index', 'rebuild']).stdout);
    if (rebuild.changed && op !== 'rollback') throw new Error(`after op ${i} (${op}) the index differs from a rebuild of the tree`);
    log(`${i + 1}/${ops} ${op}${r.killed ? ' (killed)' : ''}`);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(keys, { recursive: true, force: true });
  return { ops, kills, stats };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ops = Number(process.argv[2] ?? 1000);
  const t0 = Date.now();
  const r = await runCampaign({ ops, seed: Number(process.env.SEED ?? 1), log: (s) => process.stderr.write(`\r${s}   `) });
  console.log(
    `\n${r.ops} operations, ${r.kills} killed, ${JSON.stringify(r.stats)}: every invariant held (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
}
