// `npm run demo`: the main job on the bundled demo repository (fixtures/demo), copied to a
// temporary directory and made a git repository, printing what each step did.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
/** The stage most steps below work on. */
const DR = ['--framework', 'fwk-001', '--stage', 'design-review'];
artifacts('Select the inputs of the design-review stage, deterministically, with the audit log', ['hydrate', ...DR, '--deterministic']);
artifacts('Gate design-review: every input present and at its minimum status', ['gate', ...DR]);
artifacts(
  'Gate release: the scorecard is still a draft, and design-review was never promoted (exit 1)',
  ['gate', '--framework', 'fwk-001', '--stage', 'release'],
  1,
);

// Promotion: keys generated outside the repository. A root key starts the signed trust
// chain (record 1 signs itself) and vouches for the release key; verification pins the
// root's key id from outside the repository (in CI: a secret or protected variable).
const keyDir = mkdtempSync(join(tmpdir(), 'artifacts-demo-keys-'));
const key = join(keyDir, 'release.key');
const rootKeyid = /keyid ([0-9a-f]{64})/.exec(
  artifacts('Generate a root key (outside the repository)', ['keys', 'generate', '--out', join(keyDir, 'root')]).stdout,
)?.[1];
artifacts('Start the trust chain: record 1, self-signed by the root', [
  'keys',
  'trust',
  join(keyDir, 'root.pub'),
  '--key',
  join(keyDir, 'root.key'),
]);
artifacts('Generate an Ed25519 release signing key', ['keys', 'generate', '--out', join(keyDir, 'release')]);
artifacts('The root trusts the release key: record 2 of the chain', [
  'keys',
  'trust',
  join(keyDir, 'release.pub'),
  '--key',
  join(keyDir, 'root.key'),
]);
env.ARTIFACTS_TRUST_ROOT = rootKeyid ?? '';
artifacts('Pin the root (ARTIFACTS_TRUST_ROOT) and list the trusted keys', ['keys', 'list']);
artifacts('Promote design-review: gate, store the artifacts, write a signed snapshot', ['promote', ...DR, '--key', key]);
artifacts('Verify every snapshot: signatures, chain, objects, attestations', ['snapshot', 'verify', '--all']);
artifacts('Check its in-toto attestation (SLSA provenance): signed by a trusted key, and the plan is an attested subject', [
  'attest',
  'verify',
  '.artifacts/snapshots/fwk-001/design-review/000001.intoto.json',
  '--subject',
  'docs/plans/fwk-001/plan-checkout.md',
]);
const risk = join(dir, 'docs/risks/fwk-001/risk-register.md');
writeFileSync(risk, readFileSync(risk, 'utf8').replace('version: "4"', 'version: "5"').replace('| low |', '| medium |'));
artifacts('Raise a risk as version 5 of the register and index it', ['index', 'update', 'docs/risks/fwk-001/risk-register.md']);
execFileSync('git', ['commit', '-q', '-am', 'risk register v5'], {
  cwd: dir,
  env: { ...env, GIT_COMMITTER_DATE: '2026-03-02T09:00:00Z', GIT_AUTHOR_DATE: '2026-03-02T09:00:00Z' },
});
artifacts('Promote again: snapshot 2 chains to snapshot 1', ['promote', ...DR, '--key', key]);
artifacts('What changed between the two promotions', ['snapshot', 'diff', 'fwk-001/design-review/1', 'fwk-001/design-review/2']);
// A rollout channel: prod runs snapshot 1, then a canary of snapshot 2 to 25 % of units.
const CH = ['--channel', 'prod', '--key', key];
artifacts('Create a rollout channel that follows design-review (a signed record)', ['channel', 'create', 'prod', ...DR, '--key', key]);
artifacts('Put every unit of prod on snapshot 1', ['rollout', 'start', ...CH, '--to', 'fwk-001/design-review/1']);
artifacts('Start a canary of the latest snapshot: 25 %, then 50 %, then 100 %', [
  'rollout',
  'start',
  ...CH,
  '--to',
  'latest',
  '--strategy',
  'canary',
  '--steps',
  '25,50,100',
]);
for (const unit of ['tenant-1', 'tenant-2', 'tenant-3', 'tenant-4'])
  artifacts(`Which snapshot ${unit} runs (the same answer on every machine)`, ['resolve', '--channel', 'prod', '--unit', unit]);
artifacts('Advance the canary to 50 %', ['rollout', 'advance', ...CH]);
artifacts('Abort: every unit back on snapshot 1', ['rollout', 'abort', ...CH]);
artifacts('The channel: stable snapshot and history', ['rollout', 'status', '--channel', 'prod']);
const rollbackToPrevious = ['rollback', ...DR, '--to', 'previous', '--key', key];
artifacts('Rehearse a rollback to the previous snapshot: verify and plan, change nothing', [...rollbackToPrevious, '--dry-run']);
artifacts('Roll back for real: restore the bytes, re-index, append a signed rollback snapshot', rollbackToPrevious);
artifacts('Verify the chain of three snapshots', ['snapshot', 'verify', '--all']);
artifacts('The index matches the restored tree', ['index', 'verify']);
artifacts('The audit trail of the risk register', ['history', 'risk-register']);
rmSync(keyDir, { recursive: true, force: true });

rmSync(dir, { recursive: true, force: true });
console.log(failed ? '\ndemo: a step did not behave as expected' : '\ndemo: every step behaved as expected');
process.exitCode = failed ? 1 : 0;
