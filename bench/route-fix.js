// `route fix` at scale (run by hand: `npm run build && node bench/route-fix.js`): a git
// repository with N misrouted, committed and indexed plans (default 1,000; MOVES=5000 for
// more), half of them Markdown and half a data file with a sidecar, then one `route fix`.
// Prints the wall time of the fix and checks that every file moved, stayed tracked, and
// that the index points at the new paths. Target (issue 11): 1,000 moves in under 5 s.
// Measured (shared 2026 CI-class machine): 1,000 artifacts / 1,500 files in 1.7-1.9 s;
// 5,000 / 7,500 in 3.3 s. The per-file `git mv` it replaces: 18.2 s for the same 1,000.
// Templates only, so that ARTIFACTS_BIN can point at a build from before `dirs:` routes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ARTIFACTS_BIN: another build's bin/artifacts.js, to compare.
const BIN = process.env.ARTIFACTS_BIN ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'artifacts.js');
const N = Number(process.env.MOVES ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'artifacts-route-fix-'));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
  GIT_CONFIG_NOSYSTEM: '1',
};
const git = (...args) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 28 });
const cli = (...args) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(`artifacts ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(0, 2000)}\n${r.stderr.slice(0, 2000)}`);
  return { ms, stdout: r.stdout };
};

try {
  writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\n');
  writeFileSync(join(dir, '.gitignore'), '.artifacts/\n');
  for (let i = 0; i < N; i++) {
    const sub = `inbox/${i % 20}`;
    mkdirSync(join(dir, sub), { recursive: true });
    if (i % 2 === 0) {
      writeFileSync(
        join(dir, sub, `p${i}.md`),
        `---\nid: p${i}\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: plan\n---\nbody ${i}\n`,
      );
    } else {
      writeFileSync(join(dir, sub, `d${i}.csv`), `a,b\n${i},${i}\n`);
      writeFileSync(join(dir, sub, `d${i}.csv.artifact.yaml`), `id: d${i}\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: data\n`);
    }
  }
  git('init', '-q', '-b', 'main');
  // Indexed before the routes exist (a misrouted file is refused by the index).
  cli('index', 'rebuild');
  writeFileSync(
    join(dir, 'artifact_routing.mdc'),
    '---\nroutes:\n  - kind: plan\n    path: docs/plans/{framework}/{id}.md\n  - kind: data\n    path: data/{id}{ext}\n---\n',
  );
  git('add', '-A');
  git('commit', '-q', '-m', 'misrouted');
  const dry = cli('route', 'fix', '--dry-run');
  const planned = dry.stdout.split('\n').filter((l) => l.startsWith('would move')).length;
  const fix = cli('route', 'fix');
  const status = git('status', '--porcelain');
  const renamed = status.split('\n').filter((l) => l.startsWith('R ')).length;
  const untracked = status.split('\n').filter((l) => l.startsWith('??') && !l.startsWith('?? .artifacts/')).length;
  const files = N + Math.floor(N / 2); // the sidecars move too
  if (!existsSync(join(dir, 'docs/plans/fwk-001/p0.md'))) throw new Error('p0.md did not move');
  cli('index', 'verify');
  console.log(
    `route fix: ${planned} artifacts (${files} files, ${renamed} staged renames, ${untracked} untracked) moved in ${(fix.ms / 1000).toFixed(2)} s (dry run ${(dry.ms / 1000).toFixed(2)} s)`,
  );
  if (renamed !== files || untracked !== 0)
    throw new Error(`expected ${files} staged renames and nothing untracked:\n${status.slice(0, 2000)}`);
} finally {
  if (!process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true });
}
