// Hydration and gates (SPEC §6) on real git repositories with controlled commit times.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareCandidates, type Candidate } from '../../src/core/hydrate/rank-candidates.js';
import { commitAt, CONTRACT, git, plan, repoWith, run, runJson, testdir, writeTree } from '../helpers.js';

const P = 'docs/plans/fwk-001';

interface HydrationDoc {
  inputs: Array<{
    slot: string;
    selected: { id: string; version: string; status: string; commit_time: number } | null;
    candidates: number;
  }>;
  decisions: Array<{ slot: string; rank: number; candidate: string; outcome: string; reason: string }>;
  selection_digest: string;
}

/** A git repository whose files are committed in steps at the given times. */
function history(steps: Array<[string, Record<string, string>]>): string {
  const dir = repoWith({ 'frameworks/fwk-001.yaml': CONTRACT }, { git: false });
  git(dir, 'init', '-q', '-b', 'main');
  for (const [date, files] of steps) {
    writeTree(dir, files);
    commitAt(dir, date);
  }
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  return dir;
}

function hydrate(dir: string, stage = 'design-review', extra: string[] = []): { code: number | null; doc: HydrationDoc; stdout: string } {
  const r = run(dir, ['--json', 'hydrate', '--framework', 'fwk-001', '--stage', stage, ...extra]);
  return { code: r.code, doc: r.code === 0 ? (JSON.parse(r.stdout) as HydrationDoc) : ({} as HydrationDoc), stdout: r.stdout };
}

describe('ranking rules, each in isolation', () => {
  test('approved beats a newer review', () => {
    const dir = history([
      ['2026-01-01T00:00:00Z', { [`${P}/old.md`]: plan('old', { status: 'approved' }) }],
      ['2026-02-01T00:00:00Z', { [`${P}/new.md`]: plan('new', { status: 'review' }) }],
    ]);
    const { doc } = hydrate(dir);
    expect(doc.inputs[0]!.selected!.id).toBe('old');
    expect(doc.decisions.map((d) => [d.candidate, d.outcome])).toEqual([
      ['old@1.0.0', 'selected'],
      ['new@1.0.0', 'rejected'],
    ]);
    expect(doc.decisions[1]!.reason).toContain('status review ranks below approved');
  });

  test('newer beats older at equal status', () => {
    const dir = history([
      ['2026-01-01T00:00:00Z', { [`${P}/a-old.md`]: plan('a-old', { status: 'review' }) }],
      ['2026-02-01T00:00:00Z', { [`${P}/z-new.md`]: plan('z-new', { status: 'review' }) }],
    ]);
    const { doc } = hydrate(dir);
    expect(doc.inputs[0]!.selected).toMatchObject({ id: 'z-new', commit_time: Date.parse('2026-02-01T00:00:00Z') / 1000 });
    expect(doc.decisions[1]!.reason).toContain('older');
  });

  test('equal status and commit time: path order decides (even against id order)', () => {
    // Route by version first, so that path order and id order disagree.
    const routing = '---\nroutes:\n  - kind: plan\n    path: docs/plans/{framework}/{version}/{id}.md\n---\n';
    const dir = history([
      [
        '2026-01-01T00:00:00Z',
        {
          'artifact_routing.mdc': routing,
          [`${P}/2.0.0/aa.md`]: plan('aa', { status: 'review', version: '2.0.0' }),
          [`${P}/1.0.0/zz.md`]: plan('zz', { status: 'review', version: '1.0.0' }),
        },
      ],
    ]);
    const { doc, code } = hydrate(dir);
    expect(code).toBe(0);
    expect(doc.inputs[0]!.selected!.id).toBe('zz'); // docs/plans/fwk-001/1.0.0/zz.md sorts first
    expect(doc.decisions[1]!.reason).toContain('path');
  });

  test('a lone draft is selected, and then fails a min_status: review gate', () => {
    const dir = history([['2026-01-01T00:00:00Z', { [`${P}/solo.md`]: plan('solo', { status: 'draft' }) }]]);
    const { doc } = hydrate(dir);
    expect(doc.inputs[0]).toMatchObject({ selected: { id: 'solo', status: 'draft' }, candidates: 1 });
    expect(doc.decisions[0]!.reason).toContain('the only candidate');
    const g = runJson(dir, ['gate', '--framework', 'fwk-001', '--stage', 'design-review']);
    expect(g.code).toBe(1);
    expect((g.doc.findings as Array<{ code: string }>).map((f) => f.code)).toEqual(['GATE_STATUS']);
  });

  test('id, then version, break the remaining ties (pure ranking)', () => {
    const mk = (id: string, version: string): Candidate => ({
      entry: { id, version, status: 'review', framework: 'f', kind: 'plan', path: 'same.md', content_address: 'sha256:x', size: 1 },
      commit_time: 100,
      time_source: 'git',
    });
    expect(compareCandidates(mk('a', '2'), mk('b', '1'))).toBeLessThan(0);
    expect(compareCandidates(mk('a', '1'), mk('a', '2'))).toBeLessThan(0);
    expect(compareCandidates(mk('a', '10'), mk('a', '9'))).toBeLessThan(0); // byte order
  });
});

describe('determinism', () => {
  test('hydrate --deterministic --json is byte-identical over 3 runs and in a clone elsewhere', () => {
    const dir = history([
      ['2026-01-01T00:00:00Z', { [`${P}/one.md`]: plan('one', { status: 'review' }), 'docs/risks/x.md': '# not an artifact\n' }],
      ['2026-01-05T00:00:00Z', { [`${P}/two.md`]: plan('two', { status: 'review' }) }],
    ]);
    commitAt(dir, '2026-01-06T00:00:00Z', 'index'); // the index itself is committed, as users do
    const runs = [1, 2, 3].map(() => hydrate(dir, 'design-review', ['--deterministic']));
    for (const r of runs) expect(r.code).toBe(0);
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1);
    const parent = testdir();
    git(parent, 'clone', '-q', dir, 'a-clone-at-another-path');
    const clone = join(parent, 'a-clone-at-another-path');
    const other = hydrate(clone, 'design-review', ['--deterministic']);
    expect(other.stdout).toBe(runs[0]!.stdout);
    expect(runs[0]!.stdout).not.toContain(dir);
    expect(runs[0]!.stdout).not.toMatch(/"(created|generated)_at"|hostname|\/tmp\//);
  });
});

describe('--out', () => {
  test('writes the same JSON document that --json prints', async () => {
    const { readFileSync } = await import('node:fs');
    const dir = history([['2026-01-01T00:00:00Z', { [`${P}/one.md`]: plan('one', { status: 'review' }) }]]);
    const printed = hydrate(dir).stdout;
    const human = run(dir, ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review', '--out', 'selection.json']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('decisions:');
    expect(readFileSync(join(dir, 'selection.json'), 'utf8')).toBe(printed);
  });
});

describe('nondeterministic input is refused under --deterministic', () => {
  test('a dirty candidate: exit 2 NONDETERMINISTIC_INPUT, unless --allow-dirty', () => {
    const dir = history([
      ['2026-01-01T00:00:00Z', { [`${P}/one.md`]: plan('one', { status: 'review', updated_at: '2026-03-03T00:00:00Z' }) }],
    ]);
    writeFileSync(join(dir, P, 'one.md'), plan('one', { status: 'review', updated_at: '2026-03-03T00:00:00Z' }, 'edited\n'));
    expect(run(dir, ['index', 'update', `${P}/one.md`]).code).toBe(0);
    const r = runJson(dir, ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review', '--deterministic']);
    expect(r.code).toBe(2);
    expect((r.doc.error as { code: string }).code).toBe('NONDETERMINISTIC_INPUT');
    const ok = hydrate(dir, 'design-review', ['--deterministic', '--allow-dirty']);
    expect(ok.code).toBe(0);
    // An uncommitted file is ranked by its updated_at.
    expect(ok.doc.inputs[0]!.selected!.commit_time).toBe(Date.parse('2026-03-03T00:00:00Z') / 1000);
    // Without --deterministic it is allowed.
    expect(hydrate(dir).code).toBe(0);
  });

  test('a shallow clone: exit 2 NONDETERMINISTIC_INPUT', () => {
    const dir = history([
      ['2026-01-01T00:00:00Z', { [`${P}/one.md`]: plan('one', { status: 'review' }) }],
      ['2026-01-02T00:00:00Z', { 'other.txt': 'x' }],
    ]);
    commitAt(dir, '2026-01-03T00:00:00Z', 'index');
    const parent = testdir();
    git(parent, 'clone', '-q', '--depth', '1', `file://${dir}`, 'shallow');
    const r = runJson(join(parent, 'shallow'), ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review', '--deterministic']);
    expect(r.code).toBe(2);
    expect((r.doc.error as { code: string; message: string }).message).toContain('shallow');
  });
});

describe('gate codes', () => {
  test('GATE_MISSING_INPUT, KIND_NOT_ALLOWED and GATE_STAGE_ORDER, each from its fixture', () => {
    const dir = history([
      [
        '2026-01-01T00:00:00Z',
        {
          [`${P}/p.md`]: plan('p', { status: 'approved' }),
          'docs/memos/m.md': plan('m', { kind: 'memo' }),
          'artifact_routing.mdc':
            '---\nroutes:\n  - kind: plan\n    path: docs/plans/{framework}/{id}.md\n  - kind: memo\n    path: docs/memos/{id}.md\n---\n',
        },
      ],
    ]);
    const g = runJson(dir, ['gate', '--framework', 'fwk-001', '--stage', 'release']);
    expect(g.code).toBe(1);
    const codes = (g.doc.findings as Array<{ code: string }>).map((f) => f.code).sort();
    expect(codes).toEqual(['GATE_MISSING_INPUT', 'GATE_STAGE_ORDER', 'KIND_NOT_ALLOWED']);
    // validate checks the contract against the index too.
    const v = runJson(dir, ['validate']);
    expect((v.doc.findings as Array<{ code: string }>).map((f) => f.code)).toContain('KIND_NOT_ALLOWED');
    expect(v.code).toBe(1);
  });

  test('a passing gate exits 0; unknown framework or stage exit 2; an invalid contract is reported', () => {
    const dir = history([['2026-01-01T00:00:00Z', { [`${P}/p.md`]: plan('p', { status: 'review' }) }]]);
    expect(run(dir, ['gate', '--framework', 'fwk-001', '--stage', 'design-review']).code).toBe(0);
    const nf = runJson(dir, ['gate', '--framework', 'fwk-01', '--stage', 'design-review']);
    expect(nf.code).toBe(2);
    expect((nf.doc.error as { message: string }).message).toContain('did you mean "fwk-001"');
    expect(runJson(dir, ['hydrate', '--framework', 'fwk-001', '--stage', 'nope']).code).toBe(2);
    writeFileSync(
      join(dir, 'frameworks/fwk-001.yaml'),
      'framework: fwk-001\nstages:\n  s:\n    after: t\n    inputs:\n      - slot: a\n        kind: plan\n        min_status: done\n',
    );
    const v = runJson(dir, ['validate']);
    expect(v.code).toBe(2);
    const msgs = (v.doc.findings as Array<{ code: string; message: string }>).filter((f) => f.code === 'CONTRACT_INVALID');
    expect(msgs.length).toBeGreaterThan(0);
  });
});

describe('git processes', () => {
  test('commit times for every candidate come from exactly one git log process', async () => {
    const { generateHistory, gitShim } = await import('../../bench/history.js');
    const base = testdir();
    const repo = join(base, 'repo');
    generateHistory(repo, 300, { layout: 'nested' });
    expect(run(repo, ['index', 'rebuild']).code).toBe(0);
    commitAt(repo, '2027-01-01T00:00:00Z', 'index');
    const log = join(base, 'calls.log');
    writeFileSync(log, '');
    const shim = gitShim(join(base, 'shim'), log);
    const r = run(repo, ['--json', 'hydrate', '--framework', 'fwk-001', '--stage', 'review', '--deterministic'], {
      PATH: `${shim}:${process.env.PATH}`,
    });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as HydrationDoc;
    expect(doc.inputs[0]!.candidates).toBe(300);
    const calls = (await import('node:fs')).readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.filter((c) => c === 'log')).toHaveLength(1);
    expect(calls.length).toBeLessThanOrEqual(3);
    // Artifact i is approved when i % 3 === 2 and was committed at t0 + i minutes: the
    // newest approved one is i = 299.
    const winner = doc.inputs[0]!.selected!;
    expect(winner).toMatchObject({ status: 'approved', commit_time: 1767225600 + 299 * 60 });
  });
});
