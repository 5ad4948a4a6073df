// Keys and rehearsals: `rollback --dry-run` runs without the private key (CI has no secrets)
// and still predicts the real run; an untrusted key is refused before anything is written,
// by promote and by rollback.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { commitAt, fromTemplate, git, run, runJson, testdir } from '../helpers.js';
import { treeChecksum } from '../support/hostile.js';
import { buildTwoPromotions as buildTwoPromotionsIn } from '../support/two-promotions.js';

const DR = '.artifacts/snapshots/fwk-001/design-review';
const RISK = 'docs/risks/fwk-001/risk-register.md';
const NO_KEY = { ARTIFACTS_SIGNING_KEY: '' };
const ROLLBACK = ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1'];

let keyDir: string;
const key = (n: string) => join(keyDir, `${n}.key`);

beforeAll(() => {
  keyDir = testdir();
  for (const n of ['release', 'stranger']) expect(run(keyDir, ['keys', 'generate', '--out', join(keyDir, n)]).code).toBe(0);
});

/** Everything in the repository but what git rewrites while only reading, and the stat
 * cache (an accelerator any reading command may refresh; snapshots.test.ts skips it too). */
function checksum(dir: string): string {
  return treeChecksum(dir, (rel) => rel === '.git/index' || rel === '.git/index.lock' || rel === '.artifacts/cache');
}

/** The demo repository with `release` trusted and two promotions of design-review (built
 * once, copied). */
function twoPromotions(): string {
  return fromTemplate('two-promotions', buildTwoPromotions);
}

function buildTwoPromotions(): string {
  return buildTwoPromotionsIn(keyDir);
}

describe('rollback --dry-run without a key', () => {
  test('verifies everything else, changes nothing, says the real run needs --key, exits 0', () => {
    const dir = twoPromotions();
    const before = checksum(dir);
    const r = runJson(dir, [...ROLLBACK, '--dry-run'], NO_KEY);
    expect(r.code, JSON.stringify(r.doc)).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, dryRun: true, key_required: true, key_checked: false, target: { seq: 1 } });
    expect(String(r.doc.note)).toContain('--key');
    expect((r.doc.steps as Array<{ path: string; action: string }>).find((s) => s.path === RISK)).toMatchObject({ action: 'write' });
    expect(checksum(dir)).toBe(before);
    const human = run(dir, [...ROLLBACK, '--dry-run'], NO_KEY);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/note: .*the real rollback needs --key/);
    expect(human.stdout).toContain('the rollback would succeed given a trusted key');
    // The rehearsal predicted it: the real run with a trusted key succeeds.
    expect(run(dir, [...ROLLBACK, '--key', key('release')]).code).toBe(0);
    expect(existsSync(join(dir, DR, '000003.json'))).toBe(true);
  });

  test('a rehearsal that cannot succeed fails without a key too, and so does the real run', () => {
    const dir = twoPromotions();
    rmSync(join(dir, '.artifacts/objects'), { recursive: true });
    rmSync(join(dir, '.git'), { recursive: true, force: true });
    git(dir, 'init', '-q');
    const before = checksum(dir);
    const dry = runJson(dir, [...ROLLBACK, '--dry-run'], NO_KEY);
    expect(dry.code).toBe(4);
    expect((dry.doc.findings as Array<{ code: string }>).map((f) => f.code)).toContain('OBJECT_MISSING');
    expect(run(dir, [...ROLLBACK, '--key', key('release')]).code).toBe(4);
    expect(checksum(dir)).toBe(before);
  });

  test('a tampered snapshot fails the keyless rehearsal (the chain is still verified)', () => {
    const dir = twoPromotions();
    const p = join(dir, DR, '000001.json');
    writeFileSync(p, readFileSync(p, 'utf8').replace('"seq":1', '"seq":1 '));
    const r = runJson(dir, [...ROLLBACK, '--dry-run'], NO_KEY);
    expect(r.code).toBe(4);
  });

  test('given a key, the rehearsal checks that it may sign', () => {
    const dir = twoPromotions();
    const before = checksum(dir);
    const bad = runJson(dir, [...ROLLBACK, '--dry-run', '--key', key('stranger')]);
    expect(bad.code).toBe(4);
    expect((bad.doc.error as { code: string }).code).toBe('KEY_NOT_TRUSTED');
    const good = runJson(dir, [...ROLLBACK, '--dry-run', '--key', key('release')]);
    expect(good.code).toBe(0);
    expect(good.doc).toMatchObject({ key_checked: true });
    expect(good.doc.key_required).toBeUndefined();
    expect(String((good.doc.snapshot as { id: string }).id)).toMatch(/^sha256:/);
    expect(checksum(dir)).toBe(before);
  });

  test('the real rollback still needs a key, and refuses an untrusted one, changing nothing', () => {
    const dir = twoPromotions();
    const before = checksum(dir);
    const none = runJson(dir, ROLLBACK, NO_KEY);
    expect(none.code).toBe(2);
    expect((none.doc.error as { code: string }).code).toBe('KEY_MISSING');
    const stranger = runJson(dir, [...ROLLBACK, '--key', key('stranger')]);
    expect(stranger.code).toBe(4);
    expect((stranger.doc.error as { code: string }).code).toBe('KEY_NOT_TRUSTED');
    expect(existsSync(join(dir, DR, '000003.json'))).toBe(false);
    expect(checksum(dir)).toBe(before);
  });

  test('the --help examples are true as written', () => {
    const dir = twoPromotions();
    const help = run(dir, ['rollback', '--help']).stdout;
    const examples = [...help.matchAll(/^\s+\$ artifacts (rollback .*?)(?:\s+#.*)?$/gm)].map((m) => m[1]!.split(/\s+/));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const rehearsal = examples.find((a) => a.includes('--dry-run') && !a.includes('--key'))!;
    expect(run(dir, rehearsal, NO_KEY).code).toBe(0);
    const real = examples.find((a) => a.includes('--key'))!;
    const withKey = real.map((a) => (a.startsWith('~/') ? key('release') : a));
    expect(run(dir, withKey).code).toBe(0);
  });
});

describe('promote with a key the trust chain does not trust', () => {
  test('is refused before anything is written: no snapshot, no object, no journal or index change', () => {
    const dir = twoPromotions();
    const p = join(dir, RISK);
    writeFileSync(p, readFileSync(p, 'utf8').replace('version: "5"', 'version: "6"').replace('| medium |', '| high |'));
    expect(run(dir, ['index', 'update', RISK]).code).toBe(0);
    commitAt(dir, '2026-03-03T09:00:00Z', 'risk register v6');
    const before = checksum(dir);
    const r = runJson(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('stranger')]);
    expect(r.code).toBe(4);
    expect((r.doc.error as { code: string }).code).toBe('KEY_NOT_TRUSTED');
    expect(existsSync(join(dir, DR, '000003.json'))).toBe(false);
    expect(existsSync(join(dir, DR, '000003.sig'))).toBe(false);
    expect(checksum(dir)).toBe(before);
    // Also its dry run.
    expect(
      runJson(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('stranger'), '--dry-run']).code,
    ).toBe(4);
    expect(checksum(dir)).toBe(before);
    // The trusted key goes through.
    expect(run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('release')]).code).toBe(0);
  });
});
