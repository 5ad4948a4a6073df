// A shared set-up: the demo repository with the key `<keyDir>/release` trusted and two
// promotions of fwk-001/design-review (the second after the risk register went to v5).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { commitAt, copyFixture, git, run } from '../helpers.js';

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
