// Attestations against forgery and carelessness: each case was found by an outside review
// and fails on the build before its fix.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { encodeAttestation } from '../../src/core/attest/attestations.js';
import { channelCreate, rolloutStart } from '../../src/core/channels/operations.js';
import { openRepo } from '../../src/core/repo.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { commitAt, git, run, testdir } from '../helpers.js';
import { blake3Promoted, generateSigners, twoPromotionsCopy } from '../support/two-promotions.js';

let keyDir = '';
let signers: Map<string, Signer>;
beforeAll(async () => {
  const k = await generateSigners(['release', 'second']);
  keyDir = k.keyDir;
  signers = k.signers;
}, 60_000);

const SNAPS = '.artifacts/snapshots/fwk-001/design-review';
const key = (n: string) => join(keyDir, `${n}.key`);

interface Envelope {
  payload: string;
  signatures: Array<{ keyid: string }>;
}
type Stmt = {
  subject: Array<{ name: string; digest: Record<string, string> }>;
  predicate: { buildDefinition: { externalParameters: Record<string, string> } };
};
const statementOf = (file: string) =>
  JSON.parse(Buffer.from((JSON.parse(readFileSync(file, 'utf8')) as Envelope).payload, 'base64').toString('utf8')) as Stmt;

/** Re-sign a changed statement with `signer` in place of the attestation at `file`. */
async function forge(file: string, signer: Signer, change: (s: Stmt) => void): Promise<void> {
  const st = statementOf(file);
  change(st);
  const raw = execFileSync('openssl', [
    'pkey',
    '-pubin',
    '-in',
    join(keyDir, `${[...signers].find(([, s]) => s === signer)![0]}.pub`),
    '-outform',
    'DER',
  ]).subarray(-32);
  writeFileSync(file, await encodeAttestation(st as never, signer, Uint8Array.from(raw)));
}

describe('forged statements', () => {
  test('a statement re-signed with a key revoked since, whatever it changes, fails attest verify and snapshot verify', async () => {
    const dir = twoPromotionsCopy(keyDir);
    expect(run(dir, ['keys', 'trust', join(keyDir, 'second.pub'), '--key', key('release')]).code).toBe(0);
    const plan = join(dir, 'docs/plans/fwk-001/plan-checkout.md');
    writeFileSync(plan, readFileSync(plan, 'utf8').replace('version: "1.2.0"', 'version: "1.3.0"'));
    expect(run(dir, ['index', 'update', 'docs/plans/fwk-001/plan-checkout.md']).code).toBe(0);
    commitAt(dir, '2026-03-03T09:00:00Z', 'plan 1.3.0');
    expect(
      run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('second'), '--at', '2026-03-03T10:00:00Z'])
        .code,
    ).toBe(0);
    const keyid = (JSON.parse(readFileSync(join(dir, SNAPS, '000003.json'), 'utf8')) as { signer: { keyid: string } }).signer.keyid;
    expect(run(dir, ['keys', 'revoke', keyid, '--key', key('release')]).code).toBe(0);
    const att = join(dir, SNAPS, '000003.intoto.json');
    // Untouched, it still verifies (the key was valid when it signed).
    expect(run(dir, ['attest', 'verify', att]).code).toBe(0);
    const malware = join(testdir(), 'plan-checkout.md');
    writeFileSync(malware, 'MALWARE\n');
    const evil = execFileSync('sha256sum', [malware], { encoding: 'utf8' }).split(' ')[0]!;
    for (const [what, change] of [
      ['a subject digest', (s: Stmt) => (s.subject.find((x) => x.name.endsWith('plan-checkout.md'))!.digest.sha256 = evil)],
      ['a parameter', (s: Stmt) => (s.predicate.buildDefinition.externalParameters.stage = 'production')],
      ['an extra subject', (s: Stmt) => s.subject.push({ name: 'bin/backdoor.sh', digest: { sha256: evil } })],
    ] as const) {
      const saved = readFileSync(att);
      await forge(att, signers.get('second')!, change);
      const v = run(dir, ['--json', 'attest', 'verify', att]);
      expect([what, v.code]).toEqual([what, 4]);
      const sv = run(dir, ['--json', 'snapshot', 'verify', '--all']);
      expect([what, sv.code]).toEqual([what, 4]);
      writeFileSync(att, saved);
    }
  });

  test('a statement re-signed by a trusted key with other parameters, another builder or another commit fails snapshot verify', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const att = join(dir, SNAPS, '000002.intoto.json');
    for (const [what, change] of [
      ['stage', (s: Stmt) => (s.predicate.buildDefinition.externalParameters.stage = 'production')],
      [
        'builder',
        (s: Stmt) =>
          ((s.predicate as unknown as { runDetails: { builder: { id: string } } }).runDetails.builder.id = 'https://evil.example/'),
      ],
      [
        'commit',
        (s: Stmt) => {
          const deps = (
            s.predicate.buildDefinition as unknown as { resolvedDependencies: Array<{ name?: string; digest: Record<string, string> }> }
          ).resolvedDependencies;
          deps.find((d) => d.name === 'source')!.digest.gitCommit = '0'.repeat(40);
        },
      ],
    ] as const) {
      const saved = readFileSync(att);
      await forge(att, signers.get('release')!, change);
      const sv = run(dir, ['--json', 'snapshot', 'verify', '--all']);
      expect([what, sv.code]).toEqual([what, 4]);
      expect(sv.stdout).toContain('ATTESTATION_INVALID');
      writeFileSync(att, saved);
    }
  });

  test('under BLAKE3 a forged SHA-256 is caught too, and a fresh clone (no object store) can start a rollout and backfill', async () => {
    const dir = blake3Promoted(keyDir);
    const att = join(dir, SNAPS, '000001.intoto.json');
    const saved = readFileSync(att);
    await forge(att, signers.get('release')!, (s) => (s.subject[0]!.digest.sha256 = 'a'.repeat(64)));
    expect(run(dir, ['snapshot', 'verify', '--all']).code).toBe(4);
    writeFileSync(att, saved);
    commitAt(dir, '2026-03-01T11:00:00Z', 'snapshot');
    const clone = join(testdir(), 'clone');
    git(testdir(), 'clone', '-q', dir, clone);
    const repo = await openRepo({ cwd: clone });
    const now = new Date('2026-03-02T10:00:00Z');
    await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer: signers.get('release')!, now });
    await rolloutStart(repo, { channel: 'prod', to: 'latest', signer: signers.get('release')!, now });
    rmSync(join(clone, SNAPS, '000001.intoto.json'));
    git(clone, 'rm', '-q', '--cached', `${SNAPS}/000001.intoto.json`);
    const b = run(clone, ['--json', 'attest', 'backfill', '--key', key('release')]);
    expect(b.code, b.stdout).toBe(0);
  });
});

describe('backfill and verify on a careless or hostile repository', () => {
  test('a shallow clone refuses to backfill (it would name the wrong commits)', () => {
    const dir = twoPromotionsCopy(keyDir);
    commitAt(dir, '2026-03-02T11:00:00Z', 'snapshots');
    const shallow = join(testdir(), 'shallow');
    git(testdir(), 'clone', '-q', '--depth', '1', `file://${dir}`, shallow);
    const r = run(shallow, ['--json', 'attest', 'backfill', '--key', key('release')]);
    expect(r.code).toBe(2);
  });

  test('something that is not a regular file at an attestation path, or a chain that does not verify: backfill exits 4', () => {
    const dir = twoPromotionsCopy(keyDir);
    rmSync(join(dir, SNAPS, '000002.intoto.json'));
    mkdirSync(join(dir, SNAPS, '000002.intoto.json'));
    const r = run(dir, ['--json', 'attest', 'backfill', '--key', key('release')]);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('ATTESTATION_INVALID');
  });

  test('a --subject inside the repository that is a symlink out of it is refused, never followed', () => {
    const dir = twoPromotionsCopy(keyDir);
    const outside = join(testdir(), 'outside.md');
    writeFileSync(outside, 'outside\n');
    const plan = join(dir, 'docs/plans/fwk-001/plan-checkout.md');
    rmSync(plan);
    symlinkSync(outside, plan);
    const r = run(dir, [
      '--json',
      'attest',
      'verify',
      join(dir, SNAPS, '000002.intoto.json'),
      '--subject',
      'docs/plans/fwk-001/plan-checkout.md',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain(execFileSync('sha256sum', [outside], { encoding: 'utf8' }).split(' ')[0]);
  });

  test('attest verify of a directory or a FIFO is ATTESTATION_INVALID (exit 4); of a missing file, a usage error', () => {
    const dir = twoPromotionsCopy(keyDir);
    const d = testdir();
    execFileSync('mkfifo', [join(d, 'fifo')]);
    for (const f of [d, join(d, 'fifo')]) expect([f, run(dir, ['attest', 'verify', f]).code]).toEqual([f, 4]);
    expect(run(dir, ['attest', 'verify', join(d, 'missing.json')]).code).toBe(2);
  });
});
