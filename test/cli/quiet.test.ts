// --quiet is the same in every command: no human output on success, while problems (error
// and warning findings, errors) are still printed. One repository walks through every
// command, in an order in which each succeeds.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registryMissing, startRegistry, type Registry } from '../support/registry.js';
import { buildProgram } from '../../src/cli/main.js';
import { commitAt, copyFixture, git, run, testdir, type RunResult } from '../helpers.js';

const RISK = 'docs/risks/fwk-001/risk-register.md';
const STAGE = ['--framework', 'fwk-001', '--stage', 'design-review'];

let dir = '';
let keys = '';
const key = () => join(keys, 'root.key');
let env: Record<string, string> = {};
let rootId = '';

/** The key id of the trust chain's root: the signer of record 1. */
function rootKeyId(repo: string): string {
  return (JSON.parse(readFileSync(join(repo, '.artifacts', 'keys', 'trust', '000001.json'), 'utf8')) as { signer: { keyid: string } })
    .signer.keyid;
}

function quiet(args: string[], cwd = dir): RunResult {
  return run(cwd, ['--quiet', ...args], env);
}

interface Row {
  /** The command line, after `artifacts --quiet`. */
  args: () => string[];
  /** Set-up the command needs first (outside --quiet). */
  before?: () => void;
  after?: () => void;
}

/** Commands that need a registry. */
const registryRows: Array<[string, Row]> = [
  ['push', { args: () => ['push', ...STAGE, `${registry!.host}/quiet/app:x`] }],
  ['pull', { args: () => ['pull', `${registry!.host}/quiet/app:x`, '--out', join(scratch(), 'pulled')] }],
];
const noRegistry = registryMissing();
if (noRegistry) console.log(`--quiet push/pull skipped: ${noRegistry}`);

const rows: Array<[string, Row]> = [
  ['init', { args: () => ['init'] }],
  ['index rebuild', { args: () => ['index', 'rebuild'] }],
  ['validate', { args: () => ['validate'] }],
  ['index verify', { args: () => ['index', 'verify'] }],
  ['keys generate', { args: () => ['keys', 'generate', '--out', join(keys, 'root')] }],
  [
    'keys trust',
    {
      args: () => ['keys', 'trust', join(keys, 'root.pub'), '--key', key()],
      after: () => {
        rootId = rootKeyId(dir);
        env = { ...env, ARTIFACTS_TRUST_ROOT: rootId };
        commitAt(dir, '2026-03-01T09:00:00Z', 'trust');
      },
    },
  ],
  ['keys list', { args: () => ['keys', 'list'] }],
  [
    'keys revoke',
    {
      before: () => {
        expect(run(dir, ['keys', 'generate', '--out', join(keys, 'spare')], env).code).toBe(0);
        expect(run(dir, ['keys', 'trust', join(keys, 'spare.pub'), '--key', key()], env).code).toBe(0);
      },
      args: () => [
        'keys',
        'revoke',
        (JSON.parse(run(dir, ['--json', 'keys', 'list'], env).stdout) as { trusted: Array<{ keyid: string }> }).trusted.find(
          (k) => k.keyid !== rootKeyId(dir),
        )!.keyid,
        '--key',
        key(),
      ],
      after: () => commitAt(dir, '2026-03-01T09:10:00Z', 'spare key'),
    },
  ],
  ['route', { args: () => ['route', 'docs/plans/fwk-001/plan-checkout.md'] }],
  ['route check', { args: () => ['route', 'check'] }],
  ['route table', { args: () => ['route', 'table'] }],
  ['route fix', { args: () => ['route', 'fix', '--dry-run'] }],
  ['hydrate', { args: () => ['hydrate', ...STAGE] }],
  ['gate', { args: () => ['gate', ...STAGE] }],
  ['promote', { args: () => ['promote', ...STAGE, '--key', key(), '--at', '2026-03-01T10:00:00Z'] }],
  [
    'index update',
    {
      before: () => {
        commitAt(dir, '2026-03-01T10:10:00Z', 'promotion 1');
        const p = join(dir, RISK);
        writeFileSync(p, readFileSync(p, 'utf8').replace('version: "4"', 'version: "5"').replace('| low |', '| medium |'));
      },
      args: () => ['index', 'update', RISK],
      after: () => {
        commitAt(dir, '2026-03-02T09:00:00Z', 'risk register v5');
        expect(run(dir, ['promote', ...STAGE, '--key', key(), '--at', '2026-03-02T10:00:00Z'], env).code).toBe(0);
        commitAt(dir, '2026-03-02T10:10:00Z', 'promotion 2');
      },
    },
  ],
  ['snapshot list', { args: () => ['snapshot', 'list'] }],
  ['snapshot show', { args: () => ['snapshot', 'show', 'fwk-001/design-review/1'] }],
  ['snapshot verify', { args: () => ['snapshot', 'verify', '--all'] }],
  ['snapshot status', { args: () => ['snapshot', 'status', ...STAGE] }],
  ['snapshot diff', { args: () => ['snapshot', 'diff', 'fwk-001/design-review/1', 'fwk-001/design-review/2'] }],
  ['snapshot hold', { args: () => ['snapshot', 'hold', 'fwk-001/design-review/1', '--reason', 'audit'] }],
  ['snapshot unhold', { args: () => ['snapshot', 'unhold', 'fwk-001/design-review/1'] }],
  ['snapshot prune', { args: () => ['snapshot', 'prune', '--dry-run'] }],
  ['history', { args: () => ['history', 'plan-checkout'] }],
  // (plan-search has no dangling derived_from reference: that would be a warning)
  ['lineage', { args: () => ['lineage', 'plan-search'] }],
  ['rollback', { args: () => ['rollback', ...STAGE, '--to', 'previous', '--dry-run'] }],
  ['gc', { args: () => ['gc', '--dry-run'] }],
  ['channel create', { args: () => ['channel', 'create', 'prod', ...STAGE, '--key', key()] }],
  ['channel list', { args: () => ['channel', 'list'] }],
  ['channel verify', { args: () => ['channel', 'verify'] }],
  [
    'rollout start',
    {
      args: () => ['rollout', 'start', '--channel', 'prod', '--to', 'latest', '--strategy', 'canary', '--steps', '50,100', '--key', key()],
    },
  ],
  ['resolve', { args: () => ['resolve', '--channel', 'prod', '--unit', 'tenant-1'] }],
  ['rollout status', { args: () => ['rollout', 'status', '--channel', 'prod'] }],
  ['rollout pause', { args: () => ['rollout', 'pause', '--channel', 'prod', '--key', key()] }],
  ['rollout resume', { args: () => ['rollout', 'resume', '--channel', 'prod', '--key', key()] }],
  ['rollout advance', { args: () => ['rollout', 'advance', '--channel', 'prod', '--key', key()] }],
  ['rollout complete', { args: () => ['rollout', 'complete', '--channel', 'prod', '--key', key()] }],
  [
    'rollout switch',
    {
      before: () =>
        expect(
          run(
            dir,
            ['rollout', 'start', '--channel', 'prod', '--to', 'fwk-001/design-review/1', '--strategy', 'blue-green', '--key', key()],
            env,
          ).code,
        ).toBe(0),
      args: () => ['rollout', 'switch', '--channel', 'prod', '--key', key()],
    },
  ],
  ['rollout abort', { args: () => ['rollout', 'abort', '--channel', 'prod', '--key', key()] }],
  ['attest verify', { args: () => ['attest', 'verify', '.artifacts/snapshots/fwk-001/design-review/000001.intoto.json'] }],
  ['attest backfill', { args: () => ['attest', 'backfill', '--key', key()] }],
  ['export', { args: () => ['export', ...STAGE, '--oci-layout', join(scratch(), 'layout')] }],
  ['import', { args: () => ['import', '--oci-layout', join(scratch(), 'layout'), '--out', join(scratch(), 'imported')] }],
  // (Against a real registry; where docker-registry is not installed these two are skipped,
  // with the reason logged.)
  ...(noRegistry ? [] : registryRows),

  [
    'rollout promote',
    {
      before: () =>
        expect(
          run(
            dir,
            ['rollout', 'start', '--channel', 'prod', '--to', 'latest', '--strategy', 'canary', '--steps', '50,100', '--key', key()],
            env,
          ).code,
        ).toBe(0),
      args: () => ['rollout', 'promote', '--channel', 'prod', '--full', '--reason', 'incident', '--key', key()],
    },
  ],
  [
    'index add',
    {
      before: () =>
        writeFileSync(
          join(dir, 'docs/plans/fwk-001/plan-extra.md'),
          '---\nid: plan-extra\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: plan\ncreated_at: "2026-03-03T08:00:00Z"\nupdated_at: "2026-03-03T08:00:00Z"\n---\nExtra.\n',
        ),
      args: () => ['index', 'add', 'docs/plans/fwk-001/plan-extra.md'],
    },
  ],
  ['index remove', { args: () => ['index', 'remove', 'plan-extra@1.0.0'] }],
  ['index recover', { args: () => ['index', 'recover'] }],
  ['index migrate', { args: () => ['index', 'migrate'] }],
  [
    'index merge-driver',
    {
      before: () => {
        for (const side of ['base', 'ours', 'theirs']) copyFileSync(join(dir, 'artifacts_index.json'), join(keys, `${side}.json`));
      },
      args: () => ['index', 'merge-driver', join(keys, 'base.json'), join(keys, 'ours.json'), join(keys, 'theirs.json')],
    },
  ],
  [
    'keys migrate',
    {
      // A repository with only the legacy trusted/ directory of earlier versions.
      before: () => {
        dir = copyFixture('demo');
        git(dir, 'init', '-q', '-b', 'main');
        mkdirSync(join(dir, '.artifacts', 'keys', 'trusted'), { recursive: true });
        copyFileSync(join(keys, 'root.pub'), join(dir, '.artifacts', 'keys', 'trusted', `${rootId}.pub`));
        env = { NO_COLOR: '1' };
      },
      args: () => ['keys', 'migrate', '--key', key()],
    },
  ],
];

let registry: Registry | undefined;
let scratchDir = '';
const scratch = () => (scratchDir ||= testdir());

beforeAll(async () => {
  if (!registryMissing()) registry = await startRegistry();
  keys = testdir();
  dir = copyFixture('demo');
  git(dir, 'init', '-q', '-b', 'main');
  env = { NO_COLOR: '1' };
  delete process.env.ARTIFACTS_TRUST_ROOT;
  delete process.env.ARTIFACTS_SIGNING_KEY;
});

afterAll(async () => {
  await registry?.stop();
});

describe('--quiet prints nothing when a command succeeds', () => {
  test('the table covers every command', () => {
    const names: string[] = [];
    const walk = (c: ReturnType<typeof buildProgram>, path: string[]): void => {
      for (const sub of c.commands) {
        const name = [...path, sub.name()];
        // A group (index, keys, snapshot) is a command only when it has an action of its own.
        if (sub.commands.length === 0 || name.join(' ') === 'route') names.push(name.join(' '));
        walk(sub, name);
      }
    };
    walk(buildProgram(), []);
    expect([...new Set([...rows, ...registryRows].map(([name]) => name))].sort()).toEqual(names.sort());
  });

  test.each(rows)('%s', (_name, row) => {
    row.before?.();
    const r = quiet(row.args());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    row.after?.();
  });
});

describe('--quiet still prints problems', () => {
  test('findings of a failing check, an error, and a warning', () => {
    const repo = copyFixture('demo');
    git(repo, 'init', '-q', '-b', 'main');
    expect(run(repo, ['index', 'rebuild']).code).toBe(0);
    // A second copy of an artifact, away from its route: validate reports it (exit 1).
    writeFileSync(join(repo, 'plan-search.md'), readFileSync(join(repo, 'docs/plans/fwk-001/plan-search.md')));
    const v = run(repo, ['--quiet', 'validate']);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('DUPLICATE_VERSION');
    expect(v.stdout).toContain('validate: 3 errors (1 DUPLICATE_VERSION, 1 INDEX_UNINDEXED, 1 ROUTE_MISMATCH), 0 warnings\n');
    // An error: its code and message on stderr, nothing on stdout.
    const e = run(repo, ['--quiet', 'snapshot', 'show', 'fwk-001/design-review/9']);
    expect(e.code).not.toBe(0);
    expect(e.stdout).toBe('');
    expect(e.stderr).toMatch(/^error [A-Z_]+: /m);
    // A warning is a problem too: the graph is not printed, the warning is.
    const w = run(repo, ['--quiet', 'lineage', 'plan-checkout']);
    expect(w.code).toBe(0);
    expect(w.stdout).toBe('');
    expect(w.stderr).toContain('warning LINEAGE_UNKNOWN_REF');
  });
});
