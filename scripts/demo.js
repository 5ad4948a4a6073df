// `npm run demo`: the main job on the bundled demo repository (fixtures/demo), copied to a
// temporary directory and made a git repository, printing what each step did.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(project, 'bin', 'artifacts.js');
const dir = mkdtempSync(join(tmpdir(), 'artifacts-demo-'));
// Fixed identities and dates: the demo prints the same commit times on every run.
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Demo',
  GIT_AUTHOR_EMAIL: 'demo@example.com',
  GIT_COMMITTER_NAME: 'Demo',
  GIT_COMMITTER_EMAIL: 'demo@example.com',
  GIT_AUTHOR_DATE: '2026-03-01T09:00:00Z',
  GIT_COMMITTER_DATE: '2026-03-01T09:00:00Z',
};

cpSync(join(project, 'fixtures', 'demo'), dir, { recursive: true });
execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
execFileSync('git', ['add', '-A'], { cwd: dir, env });
execFileSync('git', ['commit', '-q', '-m', 'demo artifacts'], { cwd: dir, env });

let step = 0;
let failed = false;
function artifacts(title, args, expectCode = 0) {
  step++;
  process.stdout.write(`\n── ${step}. ${title}\n$ artifacts ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8' });
  const indent = (t) => (t.trim() ? `${t.trimEnd().replace(/^/gm, '  ')}\n` : '');
  process.stdout.write(indent(r.stdout) + indent(r.stderr));
  const ok = r.status === expectCode;
  process.stdout.write(`  → exit ${r.status}${ok ? '' : ` (expected ${expectCode})`}\n`);
  if (!ok) failed = true;
  return r;
}

console.log(`demo repository: a copy of fixtures/demo in a temporary directory`);
artifacts('Check the routing table against the command matrix and every artifact', ['route', 'check']);
artifacts('Print the routes as a Markdown table', ['route', 'table']);
artifacts('Build the index: validate, route-check and hash every artifact', ['index', 'rebuild']);
artifacts('Rebuild again: deterministic, nothing changes', ['index', 'rebuild']);
artifacts('Run every pre-merge check (what CI runs)', ['validate']);
appendFileSync(join(dir, 'docs/plans/fwk-001/plan-search.md'), '\nAdded a ranking experiment.\n');
artifacts('Edit a review-status plan: verify notices the drift (exit 1)', ['index', 'verify'], 1);
artifacts('Record the new content', ['index', 'update', 'docs/plans/fwk-001/plan-search.md']);
appendFileSync(join(dir, 'docs/plans/fwk-001/plan-checkout.md'), '\nA silent edit.\n');
artifacts('Edit an approved plan: refused, it needs a new version (exit 1)', ['index', 'update', 'docs/plans/fwk-001/plan-checkout.md'], 1);
execFileSync('git', ['checkout', '--', 'docs/plans/fwk-001/plan-checkout.md'], { cwd: dir, env });
artifacts('Restore it; the index verifies again', ['index', 'verify']);
execFileSync('git', ['add', '-A'], { cwd: dir, env });
execFileSync('git', ['commit', '-q', '-m', 'index the demo artifacts'], { cwd: dir, env });
artifacts('Select the inputs of the design-review stage, deterministically, with the audit log', ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review', '--deterministic']);
artifacts('Gate design-review: every input present and at its minimum status', ['gate', '--framework', 'fwk-001', '--stage', 'design-review']);
artifacts('Gate release: the scorecard is still a draft, and design-review was never promoted (exit 1)', ['gate', '--framework', 'fwk-001', '--stage', 'release'], 1);

rmSync(dir, { recursive: true, force: true });
console.log(failed ? '\ndemo: a step did not behave as expected' : '\ndemo: every step behaved as expected');
process.exitCode = failed ? 1 : 0;
