// Hostile history (issue 10, items 5, 6 and 8): forged or replayed promotion records, an
// index that lies about what the files say, deleted snapshots, and retention markers must
// never turn into a signature, a passing gate, or deleted data that the policy keeps.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { makeIndexDocument, serializeIndex } from '../../src/core/index/document.js';
import { BIN, commitAt, copyFixture, fromTemplate, git, testdir } from '../helpers.js';

const DR = '.artifacts/snapshots/fwk-001/design-review';
const REL = '.artifacts/snapshots/fwk-001/release';
const RISK = 'docs/risks/fwk-001/risk-register.md';
const SCORECARD = 'docs/scorecards/fwk-001/scorecard-q1.md';
const DEADLINE_MS = 60_000;

let keyDir: string;
let key: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  doc: Record<string, unknown>;
  ms: number;
}

/** Run the built CLI with --json under a deadline; a hang is a failure, never a stuck test. */
function cli(dir: string, args: string[], env: Record<string, string> = {}): Result {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, '--json', ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: DEADLINE_MS,
  });
  const ms = Date.now() - t0;
  expect(r.signal, `${args.join(' ')} did not finish within ${DEADLINE_MS} ms`).toBeNull();
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    doc = {};
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, doc, ms };
}

function codes(r: Result): string[] {
  const fs = [...((r.doc.findings as Array<{ code: string }> | undefined) ?? [])];
  const err = r.doc.error as { code: string } | undefined;
  return [...new Set([...(err ? [err.code] : []), ...fs.map((f) => f.code)])].sort();
}

function messages(r: Result): string {
  return JSON.stringify(r.doc);
}

/** Checksums of a directory tree (path -> sha256), skipping the given relative paths. */
function treeSums(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (n.isDirectory()) walk(p);
      else if (n.isFile()) out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
      else out[rel] = n.isSymbolicLink() ? 'symlink' : 'special';
    }
  };
  walk(dir);
  return out;
}

/** What an attack must never touch: a sentinel tree outside the repository, `.git/` (git's
 * own index and logs aside, which plain git reads may refresh) and a hook that would leave
 * a trace if anything ran it. */
function guard(dir: string): () => void {
  const outside = testdir({ 'sentinel/a.txt': 'keep\n', 'sentinel/b/c.txt': 'keep too\n' });
  const hookTrace = join(outside, 'HOOK_RAN');
  mkdirSync(join(dir, '.git', 'hooks'), { recursive: true });
  for (const h of ['post-checkout', 'post-merge', 'pre-commit', 'post-commit', 'reference-transaction']) {
    writeFileSync(join(dir, '.git', 'hooks', h), `#!/bin/sh\necho ran >> '${hookTrace}'\n`, { mode: 0o755 });
  }
  const skipGit = (rel: string) => rel === 'index' || rel.startsWith('logs') || rel === 'ORIG_HEAD' || rel === 'FETCH_HEAD';
  const before = { outside: treeSums(outside), git: treeSums(join(dir, '.git'), skipGit) };
  return () => {
    expect(existsSync(hookTrace), 'a planted hook ran').toBe(false);
    expect(treeSums(outside)).toEqual(before.outside);
    expect(treeSums(join(dir, '.git'), skipGit)).toEqual(before.git);
  };
}

beforeAll(() => {
  keyDir = testdir();
  const r = spawnSync(process.execPath, [BIN, 'keys', 'generate', '--out', join(keyDir, 'release')], { cwd: keyDir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  key = join(keyDir, 'release.key');
});

/** The demo repository, committed, indexed, with the test key trusted (built once per
 * configuration, copied). */
function demo(config?: string): string {
  return fromTemplate(`demo:${config ?? ''}`, () => buildDemo(config));
}

function buildDemo(config?: string): string {
  const dir = copyFixture('demo');
  if (config !== undefined) writeFileSync(join(dir, 'artifacts.config.yaml'), config);
  // What `artifacts init` ignores: the object store, journal and cache are per clone.
  writeFileSync(join(dir, '.gitignore'), '.artifacts/objects/\n.artifacts/journal\n.artifacts/cache/\nartifacts_index.json.lock/\n');
  git(dir, 'init', '-q', '-b', 'main');
  expect(cli(dir, ['index', 'rebuild']).code).toBe(0);
  expect(cli(dir, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', join(keyDir, 'release.key')]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  return dir;
}

function promote(dir: string, stage: string, extra: string[] = []): Result {
  return cli(dir, ['promote', '--framework', 'fwk-001', '--stage', stage, '--key', key, ...extra]);
}

function gate(dir: string, stage: string): Result {
  return cli(dir, ['gate', '--framework', 'fwk-001', '--stage', stage]);
}

/** Make the release gate depend only on the stage order (the scorecard reviewable). */
function releaseReady(dir: string): void {
  const p = join(dir, SCORECARD);
  writeFileSync(p, readFileSync(p, 'utf8').replace('status: draft', 'status: review'));
  expect(cli(dir, ['index', 'update', SCORECARD]).code).toBe(0);
  commitAt(dir, '2026-03-01T11:00:00Z', 'scorecard in review');
}

interface IndexDoc {
  artifacts: Array<Record<string, unknown> & { path: string; content_address: string; status: string }>;
  digest_algorithm: string;
  format: string;
  index_digest: string;
}

function readIndex(dir: string): IndexDoc {
  return JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')) as IndexDoc;
}

/** Write an index with a digest that verifies (anyone can compute it: it is no signature). */
function writeIndexWithValidDigest(dir: string, doc: IndexDoc): void {
  // Sorted and in the layout the tool writes (one canonical entry per line): a forger can
  // produce both as easily as the digest.
  writeFileSync(join(dir, 'artifacts_index.json'), serializeIndex(makeIndexDocument('sha256', doc.artifacts as never)));
}

function addressOf(dir: string, path: string): string {
  return readIndex(dir).artifacts.find((e) => e.path === path)!.content_address;
}

/** Edit the risk register as a new version (optionally without committing it). */
function newRiskVersion(dir: string, version: string, likelihood: string): void {
  const p = join(dir, RISK);
  writeFileSync(
    p,
    readFileSync(p, 'utf8')
      .replace(/version: "\d+"/, `version: "${version}"`)
      .replace(/\| (low|medium|high|v\d+) \|/, `| ${likelihood} |`),
  );
  expect(cli(dir, ['index', 'update', RISK]).code).toBe(0);
}

describe('item 5: signing and gating use verified facts only', () => {
  test('an unsigned 000004.json in design-review does not let promote --stage release sign', () => {
    const dir = demo();
    releaseReady(dir);
    const forged = {
      format: 'artifacts-snapshot/1',
      framework: 'fwk-001',
      stage: 'design-review',
      seq: 4,
      parent: null,
      action: 'promote',
      created_at: '2026-03-01T12:00:00Z',
      artifacts: [
        {
          slot: 'plan',
          id: 'plan-checkout',
          version: '1.2.0',
          kind: 'plan',
          status: 'approved',
          path: 'docs/plans/fwk-001/plan-checkout.md',
          content_address: addressOf(dir, 'docs/plans/fwk-001/plan-checkout.md'),
          size: 1,
        },
      ],
      selection_digest: 'sha256:0',
      index_digest: 'sha256:0',
      signer: { keyid: '0'.repeat(64) },
    };
    mkdirSync(join(dir, DR), { recursive: true });
    writeFileSync(join(dir, DR, '000004.json'), canonicalJson(forged));
    commitAt(dir, '2026-03-01T12:00:00Z', 'forged promotion');
    const check = guard(dir);

    const g = gate(dir, 'release');
    expect(g.code).not.toBe(0);
    expect(codes(g)).toContain('GATE_STAGE_ORDER');
    expect(messages(g)).toMatch(/does not verify|SIGNATURE_INVALID|SNAPSHOT_CHAIN_BROKEN/);

    const p = promote(dir, 'release');
    expect(p.code).not.toBe(0);
    expect(codes(p)).toContain('GATE_STAGE_ORDER');
    expect(existsSync(join(dir, REL))).toBe(false);
    check();
  });

  test('a forged record appended to a genuine chain is not a promotion either', () => {
    const dir = demo();
    releaseReady(dir);
    // A genuine design-review promotion of the plan as it was, then the plan changes.
    const plan = join(dir, 'docs/plans/fwk-001/plan-checkout.md');
    expect(promote(dir, 'design-review', ['--at', '2026-03-01T12:00:00Z']).code).toBe(0);
    writeFileSync(
      plan,
      readFileSync(plan, 'utf8')
        .replace('version: "1.2.0"', 'version: "1.3.0"')
        .replace('# Checkout redesign plan', '# Checkout redesign plan, revised'),
    );
    expect(cli(dir, ['index', 'update', 'docs/plans/fwk-001/plan-checkout.md']).code).toBe(0);
    commitAt(dir, '2026-03-02T09:00:00Z', 'plan 1.3.0');
    // The forger copies snapshot 1, points it at the new plan, links it to 1, and signs nothing.
    const first = readFileSync(join(dir, DR, '000001.json'));
    const s = JSON.parse(first.toString('utf8')) as {
      seq: number;
      parent: string | null;
      artifacts: Array<{ slot: string; content_address: string; version: string }>;
    };
    s.seq = 2;
    s.parent = `sha256:${createHash('sha256').update(first).digest('hex')}`;
    for (const a of s.artifacts)
      if (a.slot === 'plan') Object.assign(a, { content_address: addressOf(dir, 'docs/plans/fwk-001/plan-checkout.md'), version: '1.3.0' });
    writeFileSync(join(dir, DR, '000002.json'), canonicalJson(s));
    writeFileSync(join(dir, DR, '000002.sig'), `${Buffer.alloc(64, 7).toString('base64')}\n`);
    commitAt(dir, '2026-03-02T10:00:00Z', 'forged second promotion');

    const p = promote(dir, 'release');
    expect(p.code).not.toBe(0);
    expect(codes(p)).toContain('GATE_STAGE_ORDER');
    expect(existsSync(join(dir, REL))).toBe(false);
  });

  test('a status forged in the index (digest recomputed) neither passes the gate nor gets signed', () => {
    const dir = demo();
    const p = join(dir, RISK);
    // A new version that is only a draft (an approved version is immutable).
    writeFileSync(p, readFileSync(p, 'utf8').replace('status: approved', 'status: draft').replace('version: "4"', 'version: "5"'));
    expect(cli(dir, ['index', 'update', RISK]).code).toBe(0);
    const doc = readIndex(dir);
    doc.artifacts.find((e) => e.path === RISK)!.status = 'approved';
    writeIndexWithValidDigest(dir, doc);
    commitAt(dir, '2026-03-02T09:00:00Z', 'risk register is a draft, the index says approved');
    const check = guard(dir);

    const g = gate(dir, 'design-review');
    expect(g.code).toBe(1);
    expect(codes(g)).toEqual(expect.arrayContaining(['GATE_STATUS', 'INDEX_STALE_ENTRY']));
    // The selection reports what the bytes say.
    const risks = (g.doc.hydration as { inputs: Array<{ slot: string; selected: { status: string } | null }> }).inputs.find(
      (i) => i.slot === 'risks',
    )!;
    expect(risks.selected?.status).toBe('draft');

    const pr = promote(dir, 'design-review');
    expect(pr.code).toBe(1);
    expect((pr.doc.error as { code: string }).code).toBe('GATE_FAILED');
    expect(existsSync(join(dir, DR))).toBe(false);
    check();
  });

  test('kind and id forged in the index are judged by the bytes too', () => {
    const dir = demo();
    // The scorecard claims, in the index only, to be the risk register.
    const doc = readIndex(dir);
    const risk = doc.artifacts.find((e) => e.path === RISK)!;
    doc.artifacts = doc.artifacts.filter((e) => e.path !== RISK);
    const sc = doc.artifacts.find((e) => e.path === SCORECARD)!;
    Object.assign(sc, { id: 'risk-register', kind: 'risk-register', status: 'approved', version: risk.version });
    writeIndexWithValidDigest(dir, doc);
    commitAt(dir, '2026-03-02T09:00:00Z', 'index lies about the scorecard');
    const g = gate(dir, 'design-review');
    expect(g.code).toBe(1);
    expect(codes(g)).toEqual(expect.arrayContaining(['GATE_MISSING_INPUT', 'INDEX_STALE_ENTRY']));
    expect(promote(dir, 'design-review').code).not.toBe(0);
    expect(existsSync(join(dir, DR))).toBe(false);
  });

  test('an index whose index_digest does not verify is refused (exit 4) by hydrate, gate, promote, rollback, lineage and history', () => {
    const dir = demo();
    expect(promote(dir, 'design-review', ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
    commitAt(dir, '2026-03-01T10:30:00Z', 'promoted');
    const text = readFileSync(join(dir, 'artifacts_index.json'), 'utf8');
    writeFileSync(
      join(dir, 'artifacts_index.json'),
      text.replace(/"status": ?"review"/, (m) => m.replace('review', 'approved')),
    );
    expect(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).not.toBe(text);
    const check = guard(dir);
    const stage = ['--framework', 'fwk-001', '--stage', 'design-review'];
    for (const args of [
      ['hydrate', ...stage],
      ['gate', ...stage],
      ['promote', ...stage, '--key', key],
      ['rollback', ...stage, '--to', '1', '--key', key],
      ['rollback', ...stage, '--to', '1', '--key', key, '--dry-run'],
      ['lineage', 'plan-checkout'],
      ['history', 'plan-checkout'],
    ]) {
      const r = cli(dir, args);
      expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(4);
      expect(codes(r), args[0]).toContain('INDEX_DIGEST_MISMATCH');
    }
    expect(readdirSync(join(dir, DR)).sort()).toEqual(['000001.intoto.json', '000001.json', '000001.sig']);
    check();
  });

  test('index entries with unsafe paths or non-regular files are never opened: verify names them, gate and promote refuse', () => {
    const dir = demo();
    const doc = readIndex(dir);
    const plan = doc.artifacts.find((e) => e.path === 'docs/plans/fwk-001/plan-checkout.md')!;
    spawnSync('mkfifo', [join(dir, 'docs/plans/fwk-001/pipe.md')]);
    doc.artifacts.push({ ...plan, id: 'plan-pipe', path: 'docs/plans/fwk-001/pipe.md', status: 'approved' });
    doc.artifacts.push({ ...plan, id: 'plan-git', path: '.git/config' });
    doc.artifacts.push({ ...plan, id: 'plan-git2', path: '.GIT./config' });
    doc.artifacts.push({ ...plan, id: 'plan-up', path: '../outside.md' });
    writeIndexWithValidDigest(dir, doc);
    const check = guard(dir);

    const v = cli(dir, ['index', 'verify']);
    expect(v.code).not.toBe(0);
    const found = (v.doc.findings as Array<{ code: string; path?: string }>).map((f) => `${f.code} ${f.path}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'PATH_UNSAFE .git/config',
        'PATH_UNSAFE .GIT./config',
        'PATH_UNSAFE ../outside.md',
        'FILE_NOT_REGULAR docs/plans/fwk-001/pipe.md',
      ]),
    );

    for (const r of [gate(dir, 'design-review'), promote(dir, 'design-review', ['--allow-dirty'])]) {
      expect(r.code).not.toBe(0);
      expect(codes(r)).toContain('PATH_UNSAFE');
    }
    expect(existsSync(join(dir, DR))).toBe(false);
    check();
  });

  test('snapshot status measures drift against a verified chain only: a forged latest snapshot cannot hide drift', () => {
    const dir = demo();
    expect(promote(dir, 'design-review', ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
    const p = join(dir, RISK);
    writeFileSync(p, readFileSync(p, 'utf8').replace('| low |', '| high |'));
    const first = readFileSync(join(dir, DR, '000001.json'));
    const s = JSON.parse(first.toString('utf8')) as {
      seq: number;
      parent: string | null;
      artifacts: Array<{ path: string; content_address: string }>;
    };
    s.seq = 2;
    s.parent = `sha256:${createHash('sha256').update(first).digest('hex')}`;
    const now = `sha256:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    for (const a of s.artifacts) if (a.path === RISK) a.content_address = now;
    writeFileSync(join(dir, DR, '000002.json'), canonicalJson(s));
    const r = cli(dir, ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review']);
    expect(r.code).toBe(4);
    expect(codes(r)).toContain('SIGNATURE_INVALID');
  });

  test('the merge driver refuses a side whose index_digest does not verify, and leaves the conflict explained', () => {
    const dir = demo();
    expect(cli(dir, ['init']).code).toBe(0);
    commitAt(dir, '2026-03-01T10:00:00Z', 'init');
    const add = (branch: string, file: string, id: string, tamper: boolean) => {
      git(dir, 'checkout', '-q', '-b', branch, 'main');
      writeFileSync(join(dir, file), `---\nid: ${id}\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: plan\n---\nbody\n`);
      expect(cli(dir, ['index', 'add', file]).code).toBe(0);
      if (tamper) {
        const idx = join(dir, 'artifacts_index.json');
        writeFileSync(
          idx,
          readFileSync(idx, 'utf8').replace(/"status": ?"draft"/, (m) => m.replace('draft', 'approved')),
        );
      }
      commitAt(dir, '2026-03-02T00:00:00Z', `add ${id}`);
      git(dir, 'checkout', '-q', 'main');
    };
    add('a', 'docs/plans/fwk-001/from-a.md', 'from-a', false);
    add('b', 'docs/plans/fwk-001/from-b.md', 'from-b', true);
    const env = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e' };
    expect(spawnSync('git', ['merge', '--no-edit', '-q', 'a'], { cwd: dir, env }).status).toBe(0);
    const m = spawnSync('git', ['merge', '--no-edit', '-q', 'b'], { cwd: dir, env, encoding: 'utf8', timeout: DEADLINE_MS });
    expect(m.status).not.toBe(0);
    expect(git(dir, 'diff', '--name-only', '--diff-filter=U')).toContain('artifacts_index.json');
    expect(m.stdout + m.stderr).toContain('INDEX_DIGEST_MISMATCH');
    expect(m.stdout + m.stderr).toContain('theirs');
  });
});

/** Two promotions of design-review: the risk register at v4, then at v5 (built once per
 * variant, copied). */
function twoPromotions(commit = true): string {
  return fromTemplate(`two-promotions:${commit}`, () => buildTwoPromotions(commit));
}

function buildTwoPromotions(commit: boolean): string {
  const dir = demo();
  expect(promote(dir, 'design-review', ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
  newRiskVersion(dir, '5', 'medium');
  commitAt(dir, '2026-03-02T09:00:00Z', 'risk register v5');
  expect(promote(dir, 'design-review', ['--at', '2026-03-02T10:00:00Z']).code).toBe(0);
  if (commit) commitAt(dir, '2026-03-02T11:00:00Z', 'promoted twice');
  return dir;
}

describe('item 6: deleting or replaying history is detected', () => {
  test('a deleted newest snapshot (committed deletion) → SNAPSHOT_DELETED, exit 4', () => {
    const dir = twoPromotions();
    expect(cli(dir, ['snapshot', 'verify', '--all']).code).toBe(0);
    git(dir, 'rm', '-q', `${DR}/000002.json`, `${DR}/000002.sig`);
    commitAt(dir, '2026-03-03T09:00:00Z', 'quietly drop the newest promotion');
    // A fresh clone has no high-water mark: history is what catches it.
    const parent = testdir();
    git(parent, 'clone', '-q', dir, 'clone');
    const clone = join(parent, 'clone');
    const check = guard(clone);
    const v = cli(clone, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    expect(codes(v)).toContain('SNAPSHOT_DELETED');
    expect(messages(v)).toContain(`${DR}/000002.json`);
    // The same with a deletion that is not committed yet, and for one stage only.
    const w = cli(clone, ['snapshot', 'verify', '--framework', 'fwk-001', '--stage', 'design-review']);
    expect(codes(w)).toContain('SNAPSHOT_DELETED');
    check();
  });

  test('a deletion made while resolving a merge is seen too', () => {
    const dir = twoPromotions();
    git(dir, 'checkout', '-q', '-b', 'side', 'HEAD~1');
    writeFileSync(join(dir, 'side.txt'), 'side\n');
    commitAt(dir, '2026-03-03T09:00:00Z', 'side work');
    git(dir, 'checkout', '-q', 'main');
    git(dir, 'merge', '-q', '--no-commit', '--no-ff', 'side');
    git(dir, 'rm', '-q', `${DR}/000002.json`, `${DR}/000002.sig`);
    commitAt(dir, '2026-03-03T10:00:00Z', 'merge side');
    rmSync(join(dir, '.artifacts/cache'), { recursive: true, force: true });
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    expect(codes(v)).toContain('SNAPSHOT_DELETED');
  });

  test('an uncommitted deletion of every snapshot of a stage is caught too', () => {
    const dir = twoPromotions();
    rmSync(join(dir, '.artifacts/snapshots'), { recursive: true });
    rmSync(join(dir, '.artifacts/cache'), { recursive: true, force: true });
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    expect(codes(v)).toContain('SNAPSHOT_DELETED');
  });

  test('in a shallow clone, verify says deletion detection was limited (HISTORY_SHALLOW, not an error)', () => {
    const dir = demo();
    expect(promote(dir, 'design-review', ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
    commitAt(dir, '2026-03-01T11:00:00Z', 'promoted');
    const parent = testdir();
    git(parent, 'clone', '-q', '--depth', '1', `file://${dir}`, 'shallow');
    const v = cli(join(parent, 'shallow'), ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(0);
    const f = (v.doc.findings as Array<{ code: string; severity: string }>).find((x) => x.code === 'HISTORY_SHALLOW');
    expect(f, 'a HISTORY_SHALLOW finding').toBeDefined();
    expect(f!.severity).not.toBe('error');
  });

  test('in a shallow clone, a kept object whose blob is in history it lacks is a warning (not checked), not OBJECT_MISSING as an error', () => {
    const dir = twoPromotions();
    const parent = testdir();
    git(parent, 'clone', '-q', '--depth', '1', `file://${dir}`, 'shallow');
    const v = cli(join(parent, 'shallow'), ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(0);
    const missing = (v.doc.findings as Array<{ code: string; severity: string }>).filter((x) => x.code === 'OBJECT_MISSING');
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((f) => f.severity === 'warning')).toBe(true);
    // The same clone with its history: every object is found, nothing to warn about.
    git(join(parent, 'shallow'), 'fetch', '-q', '--unshallow');
    const full = cli(join(parent, 'shallow'), ['snapshot', 'verify', '--all']);
    expect(full.code).toBe(0);
    expect(codes(full)).not.toContain('OBJECT_MISSING');
  });

  test('a chain shorter than this clone has seen → SNAPSHOT_ROLLBACK (exit 4), also for gate, promote and rollback', () => {
    const dir = twoPromotions(false);
    // Snapshot 2 was never committed: git knows nothing of it; only this clone's mark does.
    unlinkSync(join(dir, DR, '000002.json'));
    unlinkSync(join(dir, DR, '000002.sig'));
    const check = guard(dir);
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    expect(codes(v)).toContain('SNAPSHOT_ROLLBACK');
    const p = promote(dir, 'design-review');
    expect(p.code).toBe(4);
    expect(codes(p)).toContain('SNAPSHOT_ROLLBACK');
    expect(existsSync(join(dir, DR, '000002.json'))).toBe(false);
    const r = cli(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key, '--dry-run']);
    expect(r.code).toBe(4);
    expect(codes(r)).toContain('SNAPSHOT_ROLLBACK');
    check();
    releaseReady(dir); // commits (running git's hooks): guard again afterwards
    const check2 = guard(dir);
    const g = gate(dir, 'release');
    expect(g.code).not.toBe(0);
    expect(messages(g)).toContain('SNAPSHOT_ROLLBACK');
    // A damaged mark file fails closed with a store code (never an exit 70), and is left
    // for the user to inspect rather than silently replaced by lower marks.
    writeFileSync(join(dir, '.artifacts/cache/high-water.json'), '{not json');
    const d = cli(dir, ['snapshot', 'verify', '--all']);
    expect(d.code).toBe(4);
    expect(codes(d)).toContain('STORE_FILE_INVALID');
    expect(readFileSync(join(dir, '.artifacts/cache/high-water.json'), 'utf8')).toBe('{not json');
    check2();
  });

  test("a high-water file committed to the repository is not this clone's mark: neither read nor written", () => {
    const dir = twoPromotions();
    const marks = join(dir, '.artifacts/cache/high-water.json');
    for (const content of [
      `{"format":"artifacts-high-water/1","chains":{"fwk-001/design-review":{"seq":99,"id":"sha256:${'0'.repeat(64)}"}}}\n`,
      '{not json',
    ]) {
      writeFileSync(marks, content);
      git(dir, 'add', '-f', '.artifacts/cache/high-water.json');
      git(dir, 'commit', '-q', '-m', 'a pull request commits a mark');
      const v = cli(dir, ['snapshot', 'verify', '--all']);
      expect(v.code, content).toBe(0);
      expect(codes(v), content).not.toContain('SNAPSHOT_ROLLBACK');
      expect(readFileSync(marks, 'utf8'), content).toBe(content);
    }
  });

  test('an expired promotion is SNAPSHOT_EXPIRED for the gate of the next stage and as a rollback target', () => {
    const dir = demo();
    releaseReady(dir);
    expect(promote(dir, 'design-review', ['--at', '2026-01-01T00:00:00Z', '--expires-at', '2026-01-02T00:00:00Z']).code).toBe(0);
    commitAt(dir, '2026-03-02T09:00:00Z', 'promoted, expired since');
    const g = gate(dir, 'release');
    expect(g.code).toBe(4);
    expect(codes(g)).toContain('SNAPSHOT_EXPIRED');
    const p = promote(dir, 'release');
    expect(p.code).toBe(4);
    expect(existsSync(join(dir, REL))).toBe(false);
    newRiskVersion(dir, '5', 'medium');
    commitAt(dir, '2026-03-02T10:00:00Z', 'risk v5');
    expect(promote(dir, 'design-review').code).toBe(0);
    const r = cli(dir, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', key]);
    expect(r.code).toBe(4);
    expect(codes(r)).toContain('SNAPSHOT_EXPIRED');
  });

  describe('validate --base: snapshot, channel and trust records are append-only at merge time', () => {
    /** twoPromotions(), validated, on a new branch `change` (built once, copied). */
    function branch(): string {
      return fromTemplate('branch', () => {
        const dir = twoPromotions();
        expect(cli(dir, ['validate']).code).toBe(0);
        git(dir, 'checkout', '-q', '-b', 'change');
        return dir;
      });
    }

    /** twoPromotions() with a trust and a channel record committed on main, on a new branch
     * `change` (built once, copied). */
    function withRecords(): string {
      return fromTemplate('records', () => {
        const dir = twoPromotions();
        mkdirSync(join(dir, '.artifacts/keys/trust'), { recursive: true });
        mkdirSync(join(dir, '.artifacts/channels/prod'), { recursive: true });
        writeFileSync(join(dir, '.artifacts/keys/trust/000001.json'), '{"format":"artifacts-trust/1"}');
        writeFileSync(join(dir, '.artifacts/channels/prod/000001.json'), '{"format":"artifacts-channel/1"}');
        commitAt(dir, '2026-03-03T00:00:00Z', 'records');
        git(dir, 'checkout', '-q', '-b', 'change');
        return dir;
      });
    }
    const attacks: Array<[string, (dir: string) => void]> = [
      [
        'a modified snapshot',
        (d) =>
          writeFileSync(
            join(d, DR, '000002.json'),
            readFileSync(join(d, DR, '000002.json'), 'utf8').replace('2026-03-02T10:00:00Z', '2026-03-02T10:00:01Z'),
          ),
      ],
      ['a deleted snapshot and signature', (d) => git(d, 'rm', '-q', `${DR}/000002.json`, `${DR}/000002.sig`)],
      ['a replaced .sig', (d) => writeFileSync(join(d, DR, '000001.sig'), `${Buffer.alloc(64, 1).toString('base64')}\n`)],
      ['a deleted .sig, staged', (d) => git(d, 'rm', '-q', `${DR}/000001.sig`)],
      ['a trust record rewritten', (d) => writeFileSync(join(d, '.artifacts/keys/trust/000001.json'), '{}')],
      ['a channel record deleted', (d) => unlinkSync(join(d, '.artifacts/channels/prod/000001.json'))],
    ];
    for (const [name, attack] of attacks) {
      test(`${name} → RECORD_NOT_APPEND_ONLY, exit 4`, () => {
        const dir = withRecords();
        attack(dir);
        const check = guard(dir);
        const v = cli(dir, ['validate', '--base', 'main']);
        expect(v.code, messages(v)).toBe(4);
        expect(codes(v)).toContain('RECORD_NOT_APPEND_ONLY');
        check();
      });
    }

    test('appending a snapshot and adding or removing a hold are allowed', () => {
      const dir = branch();
      expect(cli(dir, ['snapshot', 'hold', 'fwk-001/design-review/1', '--reason', 'audit']).code).toBe(0);
      newRiskVersion(dir, '6', 'high');
      commitAt(dir, '2026-03-04T09:00:00Z', 'risk v6');
      expect(promote(dir, 'design-review').code).toBe(0);
      const v = cli(dir, ['validate', '--base', 'main']);
      expect(v.code, messages(v)).toBe(0);
      expect(codes(v)).not.toContain('RECORD_NOT_APPEND_ONLY');
      commitAt(dir, '2026-03-04T10:00:00Z', 'held and promoted');
      git(dir, 'checkout', '-q', '-b', 'unhold');
      expect(cli(dir, ['snapshot', 'unhold', 'fwk-001/design-review/1']).code).toBe(0);
      expect(cli(dir, ['validate', '--base', 'change']).code).toBe(0);
    });

    test('a base that is not present locally → BASE_REF_MISSING, exit 2, with the fetch command', () => {
      const dir = branch();
      const v = cli(dir, ['validate', '--base', 'origin/main']);
      expect(v.code).toBe(2);
      expect((v.doc.error as { code: string }).code).toBe('BASE_REF_MISSING');
      expect((v.doc.error as { hint: string }).hint).toContain('git fetch origin main');
      const opt = cli(dir, ['validate', '--base', '--upload-pack=touch PWNED']);
      expect(opt.code).toBe(2);
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    });
  });
});

describe('item 8: retention never deletes what it keeps', () => {
  const OBJECTS = '.artifacts/objects';
  function objectCount(dir: string): number {
    let n = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else n++;
      }
    };
    if (existsSync(join(dir, OBJECTS))) walk(join(dir, OBJECTS));
    return n;
  }
  const narrow =
    'digest_algorithm: sha256\nrouting: artifact_routing.mdc\ncommand_routing: routing_matrix.json\nretention:\n  "*": { keep_last: 1 }\n';
  const wide = narrow.replace('keep_last: 1', 'keep_last: 10');

  /** Three promotions under the narrow policy, then a prune (built once, copied). */
  function pruned(): string {
    return fromTemplate('pruned', () => {
      const dir = demo(narrow);
      expect(promote(dir, 'design-review', ['--at', '2026-03-01T10:00:00Z']).code).toBe(0);
      // Versions 5 and 6 are never committed: their bytes live only in the object store.
      newRiskVersion(dir, '5', 'medium');
      expect(promote(dir, 'design-review', ['--at', '2026-03-02T10:00:00Z', '--allow-dirty']).code).toBe(0);
      newRiskVersion(dir, '6', 'high');
      expect(promote(dir, 'design-review', ['--at', '2026-03-03T10:00:00Z', '--allow-dirty']).code).toBe(0);
      expect(cli(dir, ['snapshot', 'prune']).code).toBe(0);
      return dir;
    });
  }

  test('stale .released markers do not let gc delete objects a widened policy keeps; verify checks kept objects', () => {
    const dir = pruned();
    expect(existsSync(join(dir, DR, '000002.released'))).toBe(true);
    const before = objectCount(dir);

    // The policy is widened after the markers were written: they are stale now.
    writeFileSync(join(dir, 'artifacts.config.yaml'), wide);
    const gc = cli(dir, ['gc']);
    expect(gc.code).toBe(0);
    expect(gc.doc.deleted).toEqual([]);
    expect(objectCount(dir)).toBe(before);
    expect(cli(dir, ['snapshot', 'verify', '--all']).code).toBe(0);

    // Under the narrow policy gc may delete them; widened again, verify reports the loss.
    writeFileSync(join(dir, 'artifacts.config.yaml'), narrow);
    const gc2 = cli(dir, ['gc']);
    expect((gc2.doc.deleted as string[]).length).toBeGreaterThan(0);
    writeFileSync(join(dir, 'artifacts.config.yaml'), wide);
    const v = cli(dir, ['snapshot', 'verify', '--all']);
    expect(v.code).toBe(4);
    expect(codes(v)).toContain('OBJECT_MISSING');
  });

  test('a hold keeps objects even with a .released marker and a narrow policy', () => {
    const dir = pruned();
    expect(cli(dir, ['snapshot', 'hold', 'fwk-001/design-review/2', '--reason', 'audit']).code).toBe(0);
    const gc = cli(dir, ['gc']);
    expect(gc.code).toBe(0);
    expect(cli(dir, ['snapshot', 'verify', '--all']).code).toBe(0);
    expect(statSync(join(dir, DR, '000002.json')).isFile()).toBe(true);
  });
});
