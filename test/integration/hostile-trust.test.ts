// The root of trust is not whatever the repository says (SPEC §12): a pull request can add
// any file, so the keys that may sign are a signed trust chain pinned out of band. Each test
// plays the attacker and checks the exact code and exit status, that nothing was written
// outside the repository or into .git/, that no planted hook ran, and a deadline.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { BIN, commitAt, copyFixture, fromTemplate, git, testdir } from '../helpers.js';
import { treeChecksum as treeDigest } from '../support/hostile.js';

const DR = '.artifacts/snapshots/fwk-001/design-review';
const TRUST = '.artifacts/keys/trust';
const LEGACY = '.artifacts/keys/trusted';
const DEADLINE_MS = 30_000;

let keyDir: string;
const ids: Record<string, string> = {};
const keyFile = (name: string) => join(keyDir, `${name}.key`);
const pubFile = (name: string) => join(keyDir, `${name}.pub`);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  doc: Record<string, unknown>;
  ms: number;
}

/** Run the built CLI with a deadline; with --json, parse the one document. */
function cli(dir: string, args: string[], env: Record<string, string> = {}): Run {
  const t0 = Date.now();
  const base: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...env };
  if (!('ARTIFACTS_TRUST_ROOT' in env)) delete base.ARTIFACTS_TRUST_ROOT;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: base, encoding: 'utf8', timeout: DEADLINE_MS });
  const ms = Date.now() - t0;
  expect(r.signal, `${args.join(' ')} did not finish within ${DEADLINE_MS} ms`).toBeNull();
  let doc: Record<string, unknown> = {};
  if (args.includes('--json')) {
    try {
      doc = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`stdout is not one JSON document (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, doc, ms };
}

const codesOf = (r: Run) => [...new Set(((r.doc.findings as Array<{ code: string }> | undefined) ?? []).map((f) => f.code))];
/** The code a command failed with: its error, or (for verify, which reports every problem
 * as a finding) its first error finding. */
const errorCode = (r: Run) =>
  (r.doc.error as { code?: string } | undefined)?.code ??
  ((r.doc.findings as Array<{ code: string; severity: string }> | undefined) ?? []).find((f) => f.severity === 'error')?.code;

function verify(dir: string, env: Record<string, string> = {}, extra: string[] = []): Run {
  return cli(dir, ['--json', ...extra, 'snapshot', 'verify', '--all'], env);
}

beforeAll(() => {
  keyDir = testdir();
  for (const name of ['root', 'release', 'attacker', 'spare']) {
    const r = spawnSync(process.execPath, [BIN, 'keys', 'generate', '--out', join(keyDir, name)], { cwd: keyDir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const der = createPublicKey(readFileSync(pubFile(name), 'utf8')).export({ format: 'der', type: 'spki' });
    ids[name] = createHash('sha256')
      .update(der.subarray(der.length - 32))
      .digest('hex');
  }
});

/** The demo repository with a trust chain: root (record 1), root trusts release (record 2).
 * Built once, copied. */
function demo(): string {
  return fromTemplate('demo', buildDemo);
}

function buildDemo(): string {
  const dir = copyFixture('demo');
  git(dir, 'init', '-q', '-b', 'main');
  expect(cli(dir, ['index', 'rebuild']).code).toBe(0);
  expect(cli(dir, ['keys', 'trust', pubFile('root'), '--key', keyFile('root')]).code).toBe(0);
  expect(cli(dir, ['keys', 'trust', pubFile('release'), '--key', keyFile('root')]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  return dir;
}

function promote(dir: string, key: string, at: string, extra: string[] = [], env: Record<string, string> = {}): Run {
  return cli(
    dir,
    ['--json', ...extra, 'promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', keyFile(key), '--at', at],
    env,
  );
}

/** demo() plus one promotion signed by the release key (built once, copied). */
function promoted(): string {
  return fromTemplate('promoted', buildPromoted);
}

function buildPromoted(): string {
  const dir = demo();
  const r = promote(dir, 'release', '2026-03-01T10:00:00Z');
  expect(r.code, JSON.stringify(r.doc)).toBe(0);
  return dir;
}

function signLine(bytes: Buffer, key: string): string {
  return `${sign(null, bytes, createPrivateKey(readFileSync(keyFile(key), 'utf8'))).toString('base64')}\n`;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Append a snapshot by hand (what an attacker with a key, but not the tool, can do). */
function forgeSnapshot(dir: string, key: string, claimedKeyid = ids[key]!): void {
  const names = readdirSync(join(dir, DR))
    .filter((n) => /^\d{6}\.json$/.test(n))
    .sort();
  const lastBytes = readFileSync(join(dir, DR, names[names.length - 1]!));
  const last = JSON.parse(lastBytes.toString('utf8')) as Record<string, unknown>;
  const seq = names.length + 1;
  const next = { ...last, seq, parent: sha(lastBytes), created_at: '2026-04-01T00:00:00Z', signer: { keyid: claimedKeyid } };
  const bytes = Buffer.from(canonicalJson(next), 'utf8');
  const base = String(seq).padStart(6, '0');
  writeFileSync(join(dir, DR, `${base}.sig`), signLine(bytes, key));
  writeFileSync(join(dir, DR, `${base}.json`), bytes);
}

const trustBytes = (dir: string, seq: number) => readFileSync(join(dir, TRUST, `${String(seq).padStart(6, '0')}.json`));
const trustRecord = (dir: string, seq: number) =>
  JSON.parse(trustBytes(dir, seq).toString('utf8')) as Record<string, unknown> & {
    keys: Array<Record<string, string>>;
    revoked: unknown[];
  };

function keyEntry(name: string, addedBy: string): Record<string, string> {
  return { keyid: ids[name]!, public_key: readFileSync(pubFile(name), 'utf8'), added_by: ids[addedBy]! };
}

/** Write a trust record by hand, signed by `key`. */
function forgeTrustRecord(dir: string, record: Record<string, unknown>, key: string): void {
  const bytes = Buffer.from(canonicalJson(record), 'utf8');
  const base = String(record.seq).padStart(6, '0');
  mkdirSync(join(dir, TRUST), { recursive: true });
  writeFileSync(join(dir, TRUST, `${base}.sig`), signLine(bytes, key));
  writeFileSync(join(dir, TRUST, `${base}.json`), bytes);
}

/** The repository's files, without .git/ (guarded separately) and the tool's rebuildable
 * cache (which any command may refresh). */
const repoDigest = (dir: string) => treeDigest(dir, (p) => p === '.git' || p === '.artifacts/cache');

/** A sentinel tree outside the repository and planted hooks; check() asserts both untouched,
 * and that nothing in .git/ changed. */
function guard(dir: string): { check: () => void; outside: string } {
  const outside = testdir({ 'secret.txt': 'TOPSECRET-outside-the-repository\n', 'sub/file': 'x' });
  const pwned = join(outside, 'PWNED');
  for (const hook of ['post-checkout', 'post-commit', 'pre-commit', 'post-merge', 'reference-transaction', 'post-index-change']) {
    writeFileSync(join(dir, '.git/hooks', hook), `#!/bin/sh\ntouch '${pwned}'\n`, { mode: 0o755 });
  }
  const before = treeDigest(outside);
  const gitBefore = treeDigest(join(dir, '.git'));
  return {
    outside,
    check: () => {
      expect(existsSync(pwned), 'a planted hook ran').toBe(false);
      expect(treeDigest(outside), 'something was written outside the repository').toBe(before);
      expect(treeDigest(join(dir, '.git')), 'something was written into .git/').toBe(gitBefore);
    },
  };
}

/** `rollback` of design-review to snapshot 1, signed with `key` (options follow). */
function rollbackToFirst(key: string): string[] {
  return ['--json', 'rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '1', '--key', keyFile(key)];
}

/** A first trust record, self-signed by the attacker's key, trusting only that key. */
function forgeAttackerRoot(dir: string): void {
  forgeTrustRecord(
    dir,
    {
      format: 'artifacts-trust/1',
      seq: 1,
      parent: null,
      created_at: '2026-04-01T00:00:00Z',
      keys: [keyEntry('attacker', 'attacker')],
      revoked: [],
      signer: { keyid: ids.attacker },
    },
    'attacker',
  );
}

describe('the legacy key directory is no longer a root of trust', () => {
  test('a pull request adding its own .pub to .artifacts/keys/trusted/ cannot sign: verify and promote → KEY_NOT_TRUSTED (exit 4)', () => {
    const dir = promoted();
    const g = guard(dir);
    mkdirSync(join(dir, LEGACY), { recursive: true });
    writeFileSync(join(dir, LEGACY, `${ids.attacker}.pub`), readFileSync(pubFile('attacker')));
    forgeSnapshot(dir, 'attacker');
    for (const env of [{}, { ARTIFACTS_TRUST_ROOT: ids.root! }] as Array<Record<string, string>>) {
      const r = verify(dir, env);
      expect(r.code).toBe(4);
      expect(codesOf(r)).toContain('KEY_NOT_TRUSTED');
      expect(r.ms).toBeLessThan(DEADLINE_MS);
    }
    rmSync(join(dir, DR, '000002.json'));
    rmSync(join(dir, DR, '000002.sig'));
    const before = repoDigest(dir);
    const p = promote(dir, 'attacker', '2026-03-02T10:00:00Z');
    expect(p.code).toBe(4);
    expect(errorCode(p)).toBe('KEY_NOT_TRUSTED');
    expect(repoDigest(dir)).toBe(before);
    g.check();
  });

  test('snapshots with only a legacy trusted/ directory → TRUST_NOT_INITIALIZED (exit 2) with a keys migrate hint, also for promote', () => {
    const dir = promoted();
    rmSync(join(dir, TRUST), { recursive: true });
    mkdirSync(join(dir, LEGACY), { recursive: true });
    writeFileSync(join(dir, LEGACY, `${ids.release}.pub`), readFileSync(pubFile('release')));
    const g = guard(dir);
    const r = verify(dir);
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('TRUST_NOT_INITIALIZED');
    expect((r.doc.findings as Array<{ code: string; hint: string }>).find((f) => f.code === 'TRUST_NOT_INITIALIZED')!.hint).toContain(
      'keys migrate',
    );
    const p = promote(dir, 'release', '2026-03-02T10:00:00Z');
    expect(p.code).toBe(2);
    expect(errorCode(p)).toBe('TRUST_NOT_INITIALIZED');
    expect(existsSync(join(dir, DR, '000002.json'))).toBe(false);
    g.check();
  });
});

describe('forged trust records → TRUST_CHAIN_BROKEN (exit 4)', () => {
  /** Record 3, appended to the demo chain: root trusts the attacker key too. */
  function nextRecord(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const r2 = trustRecord(dir, 2);
    return {
      ...r2,
      seq: 3,
      parent: sha(trustBytes(dir, 2)),
      created_at: '2026-04-01T00:00:00Z',
      keys: [...r2.keys, keyEntry('attacker', 'attacker')].sort((a, b) => (a.keyid! < b.keyid! ? -1 : 1)),
      signer: { keyid: ids.attacker },
      ...extra,
    };
  }

  const cases: Array<[string, (dir: string) => void]> = [
    ['a record appended and signed by an untrusted key', (d) => forgeTrustRecord(d, nextRecord(d), 'attacker')],
    [
      'a record that names the root as signer but is signed by another key',
      (d) => forgeTrustRecord(d, nextRecord(d, { signer: { keyid: ids.root } }), 'attacker'),
    ],
    [
      'a record whose parent is not the previous record',
      (d) => {
        const rec = nextRecord(d, { signer: { keyid: ids.root }, parent: sha(Buffer.from('other')) });
        forgeTrustRecord(d, rec, 'root');
      },
    ],
    [
      'record 2 edited after signing (whitespace: not canonical)',
      (d) => writeFileSync(join(d, TRUST, '000002.json'), `${trustBytes(d, 2).toString('utf8')} `),
    ],
    [
      'record 2 edited to add the attacker key, old signature kept',
      (d) => {
        const r2 = trustRecord(d, 2);
        writeFileSync(join(d, TRUST, '000002.json'), canonicalJson({ ...r2, keys: [...r2.keys, keyEntry('attacker', 'root')] }));
      },
    ],
    [
      'record 1 deleted',
      (d) => {
        rmSync(join(d, TRUST, '000001.json'));
        rmSync(join(d, TRUST, '000001.sig'));
      },
    ],
    ['a signature file removed', (d) => rmSync(join(d, TRUST, '000002.sig'))],
    [
      'a key whose keyid is not its public key',
      (d) => {
        const rec = nextRecord(d, { signer: { keyid: ids.release } });
        const entry = (rec.keys as Array<Record<string, string>>).find((k) => k.keyid === ids.attacker)!;
        entry.public_key = readFileSync(pubFile('spare'), 'utf8');
        entry.added_by = ids.release!;
        forgeTrustRecord(d, rec, 'release');
      },
    ],
    ['an unknown field in a record', (d) => forgeTrustRecord(d, nextRecord(d, { signer: { keyid: ids.root }, threshold: 0 }), 'root')],
    [
      'an earlier revocation dropped',
      (d) => {
        expect(cli(d, ['keys', 'trust', pubFile('spare'), '--key', keyFile('root')]).code).toBe(0);
        expect(cli(d, ['keys', 'revoke', ids.spare!, '--key', keyFile('root')]).code).toBe(0);
        const r4 = trustRecord(d, 4);
        forgeTrustRecord(
          d,
          {
            ...r4,
            seq: 5,
            parent: sha(trustBytes(d, 4)),
            revoked: [],
            keys: [...r4.keys, keyEntry('spare', 'release')].sort((a, b) => (a.keyid! < b.keyid! ? -1 : 1)),
            signer: { keyid: ids.release },
          },
          'release',
        );
      },
    ],
    ['a record that is a directory', (d) => mkdirSync(join(d, TRUST, '000003.json'))],
    [
      'a record that is a FIFO (must not hang)',
      (d) => {
        expect(spawnSync('mkfifo', [join(d, TRUST, '000003.json')]).status).toBe(0);
      },
    ],
  ];
  /** promoted() once `snapshot verify --all` has passed in it (built once, copied): each
   * forgery starts from a chain that verifies. */
  const verified = () =>
    fromTemplate('promoted-verified', () => {
      const dir = promoted();
      expect(verify(dir).code).toBe(0);
      return dir;
    });
  for (const [name, tamper] of cases) {
    test(name, () => {
      const dir = verified();
      const g = guard(dir);
      tamper(dir);
      for (const env of [{}, { ARTIFACTS_TRUST_ROOT: ids.root! }] as Array<Record<string, string>>) {
        const r = verify(dir, env);
        expect(r.code, JSON.stringify(r.doc)).toBe(4);
        expect(errorCode(r)).toBe('TRUST_CHAIN_BROKEN');
        expect(codesOf(r)).toContain('TRUST_CHAIN_BROKEN');
      }
      // What CI runs on the pull request catches it too.
      const v = cli(dir, ['--json', 'validate'], { ARTIFACTS_TRUST_ROOT: ids.root! });
      expect(v.code).toBe(4);
      expect(codesOf(v)).toContain('TRUST_CHAIN_BROKEN');
      // Every command that relies on the chain refuses the same way, before writing.
      const before = repoDigest(dir);
      const p = promote(dir, 'release', '2026-03-02T10:00:00Z');
      expect([p.code, errorCode(p)]).toEqual([4, 'TRUST_CHAIN_BROKEN']);
      const rb = cli(dir, [...rollbackToFirst('release'), '--dry-run']);
      expect([rb.code, errorCode(rb)]).toEqual([4, 'TRUST_CHAIN_BROKEN']);
      const k = cli(dir, ['--json', 'keys', 'trust', pubFile('spare'), '--key', keyFile('root')]);
      expect(k.code).toBe(4);
      expect(cli(dir, ['--json', 'keys', 'list']).code).toBe(4);
      expect(repoDigest(dir)).toBe(before);
      g.check();
    });
  }

  test('a record that is a symlink to a file outside the repository: refused, its content never printed', () => {
    const dir = promoted();
    const g = guard(dir);
    forgeTrustRecord(dir, nextRecord(dir), 'attacker');
    rmSync(join(dir, TRUST, '000003.json'));
    symlinkSync(join(g.outside, 'secret.txt'), join(dir, TRUST, '000003.json'));
    const r = verify(dir);
    expect([r.code, errorCode(r)]).toEqual([4, 'TRUST_CHAIN_BROKEN']);
    expect(r.stdout + r.stderr).not.toContain('TOPSECRET');
    g.check();
  });

  test('a trust directory that is a symlink leading outside the repository: refused', () => {
    const dir = promoted();
    const g = guard(dir);
    const elsewhere = join(g.outside, 'trust');
    spawnSync('cp', ['-r', join(dir, TRUST), elsewhere]);
    rmSync(join(dir, TRUST), { recursive: true });
    symlinkSync(elsewhere, join(dir, TRUST));
    const before = treeDigest(g.outside);
    const r = verify(dir);
    expect([r.code, errorCode(r)]).toEqual([4, 'SYMLINK_OUTSIDE_ROOT']);
    const k = cli(dir, ['--json', 'keys', 'trust', pubFile('spare'), '--key', keyFile('root')]);
    expect([k.code, errorCode(k)]).toEqual([1, 'SYMLINK_OUTSIDE_ROOT']);
    expect(treeDigest(g.outside)).toBe(before);
  });
});

describe('starting a chain through a hostile trust directory', () => {
  test('an empty .artifacts/keys/trust that is a symlink leading outside: keys trust writes nothing there', () => {
    const dir = copyFixture('demo');
    git(dir, 'init', '-q', '-b', 'main');
    const g = guard(dir);
    const elsewhere = join(g.outside, 'trust');
    mkdirSync(elsewhere);
    mkdirSync(join(dir, '.artifacts/keys'), { recursive: true });
    symlinkSync(elsewhere, join(dir, TRUST));
    const before = treeDigest(g.outside);
    const r = cli(dir, ['--json', 'keys', 'trust', pubFile('root'), '--key', keyFile('root')]);
    expect(r.code).not.toBe(0);
    expect(errorCode(r)).toBe('SYMLINK_OUTSIDE_ROOT');
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(treeDigest(g.outside)).toBe(before);
  });
});

describe('pinning the root', () => {
  /** The attacker replaces the whole chain with a self-signed root of their own. */
  function hijacked(): string {
    const dir = promoted();
    rmSync(join(dir, TRUST), { recursive: true });
    forgeAttackerRoot(dir);
    forgeSnapshot(dir, 'attacker');
    return dir;
  }

  test('a rewritten record 1 with its own self-signed root: with a pin → TRUST_ROOT_MISMATCH (exit 4) from the flag, the environment and the config', () => {
    const dir = hijacked();
    const g = guard(dir);
    const viaFlag = verify(dir, {}, ['--trust-root', ids.root!]);
    const viaEnv = verify(dir, { ARTIFACTS_TRUST_ROOT: ids.root! });
    const viaUpper = verify(dir, { ARTIFACTS_TRUST_ROOT: ids.root!.toUpperCase() });
    writeFileSync(
      join(dir, 'artifacts.config.yaml'),
      `${readFileSync(join(dir, 'artifacts.config.yaml'), 'utf8')}trust_root: ${ids.root}\n`,
    );
    const viaConfig = verify(dir);
    for (const r of [viaFlag, viaEnv, viaUpper, viaConfig]) {
      expect(r.code, JSON.stringify(r.doc)).toBe(4);
      expect(errorCode(r)).toBe('TRUST_ROOT_MISMATCH');
    }
    const p = promote(dir, 'attacker', '2026-03-05T10:00:00Z', ['--trust-root', ids.root!]);
    expect([p.code, errorCode(p)]).toEqual([4, 'TRUST_ROOT_MISMATCH']);
    const v = cli(dir, ['--json', '--trust-root', ids.root!, 'validate']);
    expect(v.code).toBe(4);
    expect(codesOf(v)).toContain('TRUST_ROOT_MISMATCH');
    g.check();
  });

  test('only record 1 rewritten: the later records no longer link → TRUST_CHAIN_BROKEN without a pin, TRUST_ROOT_MISMATCH with one', () => {
    const dir = promoted();
    forgeAttackerRoot(dir);
    const unpinned = verify(dir);
    expect([unpinned.code, errorCode(unpinned)]).toEqual([4, 'TRUST_CHAIN_BROKEN']);
    const pinned = verify(dir, { ARTIFACTS_TRUST_ROOT: ids.root! });
    expect([pinned.code, errorCode(pinned)]).toEqual([4, 'TRUST_ROOT_MISMATCH']);
  });

  test('without a pin a hijacked chain is only as strong as the repository: the old snapshots fail, and the run warns TRUST_ROOT_UNPINNED', () => {
    const dir = hijacked();
    const r = verify(dir);
    expect(r.code).toBe(4);
    const findings = r.doc.findings as Array<{ code: string; severity: string; path?: string }>;
    expect(findings.filter((f) => f.code === 'KEY_NOT_TRUSTED').map((f) => f.path)).toEqual([`${DR}/000001.json`]);
    expect(findings.filter((f) => f.code === 'TRUST_ROOT_UNPINNED')).toEqual([expect.objectContaining({ severity: 'warning' })]);
  });

  test('precedence: --trust-root over ARTIFACTS_TRUST_ROOT over trust_root in the config; a malformed pin is a usage error', () => {
    const dir = promoted();
    writeFileSync(
      join(dir, 'artifacts.config.yaml'),
      `${readFileSync(join(dir, 'artifacts.config.yaml'), 'utf8')}trust_root: ${ids.attacker}\n`,
    );
    expect(errorCode(verify(dir))).toBe('TRUST_ROOT_MISMATCH');
    expect(verify(dir, { ARTIFACTS_TRUST_ROOT: ids.root! }).code).toBe(0);
    expect(errorCode(verify(dir, { ARTIFACTS_TRUST_ROOT: ids.attacker! }, ['--trust-root', ids.root!]))).toBeUndefined();
    expect(verify(dir, { ARTIFACTS_TRUST_ROOT: ids.attacker! }, ['--trust-root', ids.root!]).code).toBe(0);
    expect(errorCode(verify(dir, { ARTIFACTS_TRUST_ROOT: ids.root! }, ['--trust-root', ids.attacker!]))).toBe('TRUST_ROOT_MISMATCH');
    const bad = verify(dir, {}, ['--trust-root', 'not-a-keyid']);
    expect([bad.code, errorCode(bad)]).toEqual([2, 'USAGE']);
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\ntrust_root: nope\n');
    const badConfig = verify(dir);
    expect([badConfig.code, errorCode(badConfig)]).toEqual([2, 'CONFIG_INVALID']);
  });

  test('TRUST_ROOT_UNPINNED is reported once per run: one warning finding in --json, one stderr line in human mode, none with a pin', () => {
    const dir = promoted();
    const r = verify(dir);
    expect(r.code).toBe(0);
    expect((r.doc.findings as Array<{ code: string; severity: string }>).filter((f) => f.code === 'TRUST_ROOT_UNPINNED')).toEqual([
      expect.objectContaining({ severity: 'warning' }),
    ]);
    const human = cli(dir, ['snapshot', 'verify', '--all']);
    expect(human.code).toBe(0);
    expect(human.stderr.match(/TRUST_ROOT_UNPINNED/g)).toHaveLength(1);
    expect(human.stdout).not.toContain('TRUST_ROOT_UNPINNED');
    const pinned = verify(dir, { ARTIFACTS_TRUST_ROOT: ids.root! });
    expect(pinned.code).toBe(0);
    expect(codesOf(pinned)).toEqual([]);
    const v = cli(dir, ['--json', 'validate'], { ARTIFACTS_TRUST_ROOT: ids.root! });
    expect([v.code, codesOf(v)]).toEqual([0, []]);
    expect(cli(dir, ['snapshot', 'verify', '--all'], { ARTIFACTS_TRUST_ROOT: ids.root! }).stderr).toBe('');
  });
});

describe('revocation keeps history valid and nothing after it', () => {
  test('snapshots up to last_valid verify; one signed after the revocation → KEY_NOT_TRUSTED; promote with the revoked key is refused', () => {
    const dir = promoted();
    const risk = join(dir, 'docs/risks/fwk-001/risk-register.md');
    writeFileSync(risk, readFileSync(risk, 'utf8').replace('version: "4"', 'version: "5"'));
    expect(cli(dir, ['index', 'update', 'docs/risks/fwk-001/risk-register.md']).code).toBe(0);
    commitAt(dir, '2026-03-02T09:00:00Z', 'risk v5');
    expect(promote(dir, 'release', '2026-03-02T10:00:00Z').code).toBe(0);
    const s2 = sha(readFileSync(join(dir, DR, '000002.json')));

    const rv = cli(dir, ['--json', 'keys', 'revoke', ids.release!, '--key', keyFile('root')]);
    expect(rv.code, JSON.stringify(rv.doc)).toBe(0);
    expect(rv.doc.last_valid).toEqual({ 'fwk-001/design-review': s2 });
    expect(trustRecord(dir, 3).revoked).toEqual([{ keyid: ids.release, last_valid: { 'fwk-001/design-review': s2 } }]);
    const pin = { ARTIFACTS_TRUST_ROOT: ids.root! };
    expect(verify(dir, pin).code).toBe(0);

    const g = guard(dir);
    const before = repoDigest(dir);
    const p = promote(dir, 'release', '2026-03-03T10:00:00Z', [], pin);
    expect([p.code, errorCode(p)]).toEqual([4, 'KEY_NOT_TRUSTED']);
    expect(repoDigest(dir)).toBe(before);
    g.check();

    // A new key takes over; a snapshot the revoked key signs afterwards is not valid.
    expect(cli(dir, ['keys', 'trust', pubFile('spare'), '--key', keyFile('root')], pin).code).toBe(0);
    expect(promote(dir, 'spare', '2026-03-04T10:00:00Z', [], pin).code).toBe(0);
    expect(verify(dir, pin).code).toBe(0);
    forgeSnapshot(dir, 'release');
    const g2 = guard(dir);
    const r = verify(dir, pin);
    expect(r.code).toBe(4);
    const bad = (r.doc.findings as Array<{ code: string; path: string }>).filter((f) => f.code === 'KEY_NOT_TRUSTED');
    expect(bad.map((f) => f.path)).toEqual([`${DR}/000004.json`]);
    g2.check();
  });

  test('a revoked key cannot be trusted again, and the last trusted key cannot be revoked', () => {
    const dir = demo();
    expect(cli(dir, ['keys', 'revoke', ids.release!, '--key', keyFile('root')]).code).toBe(0);
    const again = cli(dir, ['--json', 'keys', 'trust', pubFile('release'), '--key', keyFile('root')]);
    expect(again.code).toBe(2);
    const last = cli(dir, ['--json', 'keys', 'revoke', ids.root!, '--key', keyFile('root')]);
    expect(last.code).toBe(2);
    expect(readdirSync(join(dir, TRUST)).sort()).toEqual([
      '000001.json',
      '000001.sig',
      '000002.json',
      '000002.sig',
      '000003.json',
      '000003.sig',
    ]);
    const list = cli(dir, ['--json', 'keys', 'list']);
    expect((list.doc.trusted as Array<{ keyid: string }>).map((k) => k.keyid)).toEqual([ids.root]);
    expect((list.doc.revoked as Array<{ keyid: string }>).map((k) => k.keyid)).toEqual([ids.release]);
  });
});

describe('promote and rollback refuse a key the chain does not trust, before writing anything', () => {
  test('promote (and its dry run) with an untrusted key → KEY_NOT_TRUSTED, exit 4, nothing written', () => {
    const dir = demo();
    const g = guard(dir);
    const before = repoDigest(dir);
    for (const extra of [[], ['--dry-run']]) {
      const r = cli(dir, [
        '--json',
        'promote',
        '--framework',
        'fwk-001',
        '--stage',
        'design-review',
        '--key',
        keyFile('attacker'),
        ...extra,
      ]);
      expect([r.code, errorCode(r)]).toEqual([4, 'KEY_NOT_TRUSTED']);
    }
    expect(existsSync(join(dir, '.artifacts/snapshots'))).toBe(false);
    expect(existsSync(join(dir, '.artifacts/objects'))).toBe(false);
    expect(repoDigest(dir)).toBe(before);
    g.check();
  });

  test('rollback (and its rehearsal) with an untrusted key → KEY_NOT_TRUSTED, exit 4, nothing written', () => {
    const dir = promoted();
    const g = guard(dir);
    const before = repoDigest(dir);
    for (const extra of [[], ['--dry-run']]) {
      const r = cli(dir, [...rollbackToFirst('attacker'), ...extra]);
      expect([r.code, errorCode(r)]).toEqual([4, 'KEY_NOT_TRUSTED']);
    }
    expect(repoDigest(dir)).toBe(before);
    g.check();
  });

  test('a repository without a trust chain: promote → TRUST_NOT_INITIALIZED (exit 2), nothing written', () => {
    const dir = copyFixture('demo');
    git(dir, 'init', '-q', '-b', 'main');
    expect(cli(dir, ['index', 'rebuild']).code).toBe(0);
    commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
    const r = promote(dir, 'release', '2026-03-01T10:00:00Z');
    expect([r.code, errorCode(r)]).toEqual([2, 'TRUST_NOT_INITIALIZED']);
    expect(existsSync(join(dir, '.artifacts/snapshots'))).toBe(false);
    // The first record must be self-signed: another key cannot start the chain.
    const k = cli(dir, ['--json', 'keys', 'trust', pubFile('release'), '--key', keyFile('root')]);
    expect([k.code, errorCode(k)]).toEqual([2, 'TRUST_NOT_INITIALIZED']);
    expect(existsSync(join(dir, TRUST))).toBe(false);
    // Starting a chain whose root is not the pinned one is refused too.
    const pinned = cli(dir, ['--json', 'keys', 'trust', pubFile('release'), '--key', keyFile('release')], {
      ARTIFACTS_TRUST_ROOT: ids.root!,
    });
    expect([pinned.code, errorCode(pinned)]).toEqual([4, 'TRUST_ROOT_MISMATCH']);
    expect(existsSync(join(dir, TRUST))).toBe(false);
  });
});

describe('keys migrate', () => {
  /** A repository as the old code left it: snapshots and a plain trusted/ directory. */
  function legacy(): string {
    const dir = promoted();
    rmSync(join(dir, TRUST), { recursive: true });
    mkdirSync(join(dir, LEGACY), { recursive: true });
    writeFileSync(join(dir, LEGACY, `${ids.release}.pub`), readFileSync(pubFile('release')));
    writeFileSync(join(dir, LEGACY, `${ids.root}.pub`), readFileSync(pubFile('root')));
    // A file whose content is not the key its name says was never trusted; it stays out.
    writeFileSync(join(dir, LEGACY, `${ids.spare}.pub`), readFileSync(pubFile('attacker')));
    return dir;
  }

  test('turns the legacy directory into record 1, self-signed by the signer; the snapshots verify again', () => {
    const dir = legacy();
    const r = cli(dir, ['--json', 'keys', 'migrate', '--key', keyFile('release')]);
    expect(r.code, JSON.stringify(r.doc)).toBe(0);
    expect(r.doc.migrated).toEqual([ids.release, ids.root].sort());
    expect((r.doc.skipped as Array<{ file: string }>).map((s) => s.file)).toEqual([`${LEGACY}/${ids.spare}.pub`]);
    const rec = trustRecord(dir, 1);
    expect(rec).toMatchObject({ format: 'artifacts-trust/1', seq: 1, parent: null, revoked: [], signer: { keyid: ids.release } });
    expect(rec.keys.map((k) => [k.keyid, k.added_by])).toEqual([ids.release, ids.root].sort().map((k) => [k, ids.release]));
    expect(trustBytes(dir, 1).toString('utf8')).toBe(canonicalJson(rec));
    expect(verify(dir, { ARTIFACTS_TRUST_ROOT: ids.release! }).code).toBe(0);
    const again = cli(dir, ['--json', 'keys', 'migrate', '--key', keyFile('release')]);
    expect(again.code).toBe(2);
  });

  test('a signer that is not among the legacy keys is refused (KEY_NOT_TRUSTED, exit 4) and nothing is written', () => {
    const dir = legacy();
    const r = cli(dir, ['--json', 'keys', 'migrate', '--key', keyFile('attacker')]);
    expect([r.code, errorCode(r)]).toEqual([4, 'KEY_NOT_TRUSTED']);
    expect(existsSync(join(dir, TRUST))).toBe(false);
  });
});

describe('interop and concurrency', () => {
  test('a trust record signature verifies with openssl pkeyutl -rawin', () => {
    const openssl = spawnSync('openssl', ['version']);
    if (openssl.status !== 0) {
      console.warn('openssl is not installed: skipping the openssl pkeyutl interop check');
      return;
    }
    const dir = demo();
    for (const [seq, signer] of [
      [1, 'root'],
      [2, 'root'],
    ] as const) {
      const base = String(seq).padStart(6, '0');
      const sig = join(keyDir, `trust-${base}.bin`);
      const sigText = readFileSync(join(dir, TRUST, `${base}.sig`), 'utf8');
      expect(sigText).toMatch(/^[A-Za-z0-9+/]{86}==\n$/);
      writeFileSync(sig, Buffer.from(sigText, 'base64'));
      const v = spawnSync(
        'openssl',
        ['pkeyutl', '-verify', '-pubin', '-inkey', pubFile(signer), '-rawin', '-in', join(dir, TRUST, `${base}.json`), '-sigfile', sig],
        { encoding: 'utf8' },
      );
      expect(v.stdout + v.stderr).toContain('Signature Verified Successfully');
      expect(v.status).toBe(0);
    }
  });

  test('two concurrent appends never take the same seq: both land, in order, and the chain verifies', async () => {
    const dir = demo();
    const runOne = (name: string) =>
      new Promise<number | null>((res) => {
        const c = spawn(process.execPath, [BIN, 'keys', 'trust', pubFile(name), '--key', keyFile('root')], {
          cwd: dir,
          env: { ...process.env, NO_COLOR: '1' },
        });
        c.on('close', (code) => res(code));
      });
    const codes = await Promise.all([runOne('spare'), runOne('attacker')]);
    expect(codes).toEqual([0, 0]);
    expect(
      readdirSync(join(dir, TRUST))
        .filter((n) => n.endsWith('.json'))
        .sort(),
    ).toEqual(['000001.json', '000002.json', '000003.json', '000004.json']);
    expect(trustRecord(dir, 4).keys).toHaveLength(4);
    const list = cli(dir, ['--json', 'keys', 'list'], { ARTIFACTS_TRUST_ROOT: ids.root! });
    expect(list.code).toBe(0);
    expect(list.doc.records).toBe(4);
    expect(statSync(join(dir, TRUST, '000004.sig')).size).toBe(89);
  });
});
