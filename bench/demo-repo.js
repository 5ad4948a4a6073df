// The demo repository as the benches use it: copied to `base/repo`, a git repository with a
// generated release key trusted, indexed, committed and promoted once (fwk-001/design-review).
// `prepare(repo)` runs first, on the copied files (a bench makes an artifact large there).
import { execFileSync } from 'node:child_process';
import { cpSync as copyTree } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(root, 'bin', 'artifacts.js');

export function promotedDemo(base, prepare = () => undefined) {
  const repo = join(base, 'repo');
  copyTree(join(root, 'fixtures', 'demo'), repo, { recursive: true });
  const env = {
    ...process.env,
    ARTIFACTS_SIGNING_KEY: join(base, 'release.key'),
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@b',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@b',
  };
  const cli = (...args) => execFileSync(process.execPath, [BIN, ...args], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  prepare(repo);
  cli('keys', 'generate', '--out', join(base, 'release'));
  cli('index', 'rebuild');
  cli('keys', 'trust', join(base, 'release.pub'));
  execFileSync('git', ['add', '-A'], { cwd: repo, env });
  execFileSync('git', ['commit', '-qm', 'demo'], { cwd: repo, env });
  cli('promote', '--framework', 'fwk-001', '--stage', 'design-review');
  return { repo, env, cli };
}
