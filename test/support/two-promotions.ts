// A shared set-up: the demo repository with the key `<keyDir>/release` trusted and two
// promotions of fwk-001/design-review (the second after the risk register went to v5).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadSigner } from '../../src/core/snapshots/keys.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { commitAt, copyFixture, fromTemplate, git, run, testdir } from '../helpers.js';

export const RISK = 'docs/risks/fwk-001/risk-register.md';

export function buildTwoPromotions(keyDir: string): string {
  const key = join(keyDir, 'release.key');
  const dir = copyFixture('demo');
  git(dir, 'init', '-q', '-b', 'main');
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  expect(run(dir, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  const promote = (at: string) => run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, '--at', at]);
  expect(promote('2026-03-01T10:00:00Z').code).toBe(0);
  const p = join(dir, RISK);
  writeFileSync(p, readFileSync(p, 'utf8').replace('version: "4"', 'version: "5"').replace('| low |', '| medium |'));
  expect(run(dir, ['index', 'update', RISK]).code).toBe(0);
  commitAt(dir, '2026-03-02T09:00:00Z', 'risk register v5');
  expect(promote('2026-03-02T10:00:00Z').code).toBe(0);
  return dir;
}

/** A fresh copy of the two-promotions repository (its template is built once per run). */
export function twoPromotionsCopy(keyDir: string): string {
  const dir = testdir();
  cpSync(
    fromTemplate('channels-two-promotions', () => buildTwoPromotions(keyDir)),
    dir,
    { recursive: true },
  );
  return dir;
}

/** Generate the named key pairs in a fresh directory and load their signers. */
export async function generateSigners(names: readonly string[]): Promise<{ keyDir: string; signers: Map<string, Signer> }> {
  const keyDir = testdir();
  const signers = new Map<string, Signer>();
  for (const n of names) {
    expect(run(keyDir, ['keys', 'generate', '--out', join(keyDir, n)]).code).toBe(0);
    signers.set(n, await loadSigner(join(keyDir, `${n}.key`)));
  }
  return { keyDir, signers };
}

/** The demo repository indexed under BLAKE3, `release` trusted, committed, and promoted
 * once (design-review, not committed). */
export function blake3Promoted(keyDir: string): string {
  const dir = copyFixture('demo');
  const config = join(dir, 'artifacts.config.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace('digest_algorithm: sha256', 'digest_algorithm: blake3'));
  git(dir, 'init', '-q', '-b', 'main');
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  const key = join(keyDir, 'release.key');
  expect(run(dir, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  const p = run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key, '--at', '2026-03-01T10:00:00Z']);
  expect(p.code, p.stderr).toBe(0);
  return dir;
}
