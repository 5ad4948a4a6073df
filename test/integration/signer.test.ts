// Signing goes through the Signer interface: promote, rollback and trust records accept any
// signer (a KMS, an agent, a test double), never a raw key. A signer whose key id the trust
// chain does not trust is refused before anything is written, and so is one whose
// signatures do not verify with the key it names.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadSigner, listTrust, openRepo, promote, rollback, trustKey, type Repo, type Signer } from '../../src/index.js';
import { BIN, commitAt, copyFixture, git, run, testdir } from '../helpers.js';
import { treeChecksum } from '../support/hostile.js';

const DR = '.artifacts/snapshots/fwk-001/design-review';
const NOW = new Date('2026-03-05T00:00:00Z');

let keyDir: string;
const key = (n: string) => join(keyDir, `${n}.key`);

beforeAll(() => {
  keyDir = testdir();
  for (const n of ['release', 'stranger']) expect(run(keyDir, ['keys', 'generate', '--out', join(keyDir, n)]).code).toBe(0);
});

/** A signer that counts its calls, signing with `inner`. */
function counting(inner: Signer): Signer & { calls: number } {
  const s = {
    keyid: inner.keyid,
    calls: 0,
    async sign(bytes: Uint8Array) {
      s.calls++;
      return inner.sign(bytes);
    },
  };
  return s;
}

/** A signer that must never be asked: the test fails if it is. */
function refusing(keyid: string): Signer & { calls: number } {
  const s = {
    keyid,
    calls: 0,
    sign(): Promise<Uint8Array> {
      s.calls++;
      return Promise.reject(new Error('this signer must not be asked to sign'));
    },
  };
  return s;
}

/** The demo repository, with `release` trusted, committed. */
function demo(): string {
  const dir = copyFixture('demo');
  git(dir, 'init', '-q', '-b', 'main');
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  expect(run(dir, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key('release')]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  return dir;
}

function checksum(dir: string): string {
  return treeChecksum(dir, (rel) => rel === '.git/index' || rel === '.git/index.lock' || rel === '.artifacts/cache');
}

const stage = { framework: 'fwk-001', stage: 'design-review' };

describe('a pluggable signer', () => {
  test('promote and rollback each ask the signer twice (the snapshot, its attestation), a trust record once, and the results verify', async () => {
    const dir = demo();
    const repo: Repo = await openRepo({ cwd: dir });
    const signer = counting(await loadSigner(key('release')));
    const p = await promote(repo, { ...stage, signer, now: NOW, at: '2026-03-01T10:00:00Z' });
    expect(signer.calls).toBe(2);
    expect(p.snapshot.signer.keyid).toBe(signer.keyid);
    const r = await rollback(repo, { ...stage, to: '1', signer, now: NOW, at: '2026-03-01T11:00:00Z' });
    expect(signer.calls).toBe(4);
    expect(r.snapshot?.seq).toBe(2);
    const t = await trustKey(repo, join(keyDir, 'stranger.pub'), signer, NOW);
    expect(signer.calls).toBe(5);
    expect(t.seq).toBe(2);
    expect((await listTrust(repo)).trusted).toHaveLength(2);
    // What the signer signed verifies as any key file's signature does.
    const v = run(dir, ['snapshot', 'verify']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});

describe('a signer the trust chain does not trust', () => {
  test('is refused by promote, rollback and keys trust before it is asked or anything is written', async () => {
    const dir = demo();
    const repo = await openRepo({ cwd: dir });
    expect(
      (await promote(repo, { ...stage, signer: await loadSigner(key('release')), now: NOW, at: '2026-03-01T10:00:00Z' })).snapshot.seq,
    ).toBe(1);
    const stranger = refusing((await loadSigner(key('stranger'))).keyid);
    const before = checksum(dir);
    await expect(promote(repo, { ...stage, signer: stranger, now: NOW })).rejects.toMatchObject({ code: 'KEY_NOT_TRUSTED' });
    await expect(rollback(repo, { ...stage, to: '1', signer: stranger, now: NOW })).rejects.toMatchObject({ code: 'KEY_NOT_TRUSTED' });
    await expect(rollback(repo, { ...stage, to: '1', signer: stranger, now: NOW, dryRun: true })).rejects.toMatchObject({
      code: 'KEY_NOT_TRUSTED',
    });
    await expect(trustKey(repo, join(keyDir, 'stranger.pub'), stranger, NOW)).rejects.toMatchObject({ code: 'KEY_NOT_TRUSTED' });
    expect(stranger.calls).toBe(0);
    expect(checksum(dir)).toBe(before);
  });

  test('a signer that names a trusted key but signs with another is refused before the snapshot is written', async () => {
    const dir = demo();
    const repo = await openRepo({ cwd: dir });
    const release = await loadSigner(key('release'));
    const other = await loadSigner(key('stranger'));
    const liar: Signer = { keyid: release.keyid, sign: (bytes) => other.sign(bytes) };
    await expect(promote(repo, { ...stage, signer: liar, now: NOW })).rejects.toMatchObject({ code: 'KEY_INVALID' });
    expect(existsSync(join(dir, DR, '000001.json'))).toBe(false);
    expect(existsSync(join(dir, DR, '000001.sig'))).toBe(false);
    const garbage: Signer = { keyid: release.keyid, sign: () => Promise.resolve(new Uint8Array(64)) };
    await expect(trustKey(repo, join(keyDir, 'stranger.pub'), garbage, NOW)).rejects.toMatchObject({ code: 'KEY_INVALID' });
    expect(existsSync(join(dir, '.artifacts/keys/trust/000002.json'))).toBe(false);
  });
});

describe('rollback judges collisions by the paths a finding names', () => {
  test('restoring a file whose path differs only by case from an indexed one is refused (PATH_COLLISION)', async () => {
    // The plans get upper-case ids, so a restored plan's path sorts before the lower-case
    // file that replaced it: the collision finding's `path` is the other file, and only
    // its `paths` name the restored one.
    const dir = copyFixture('demo');
    for (const name of ['plan-checkout', 'plan-search']) {
      const from = join(dir, 'docs/plans/fwk-001', `${name}.md`);
      const upper = `P${name.slice(1)}`;
      writeFileSync(join(dir, 'docs/plans/fwk-001', `${upper}.md`), readFileSync(from, 'utf8').replace(`id: ${name}`, `id: ${upper}`));
      rmSync(from);
    }
    git(dir, 'init', '-q', '-b', 'main');
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    expect(run(dir, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', key('release')]).code).toBe(0);
    commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
    const repo = await openRepo({ cwd: dir });
    const signer = await loadSigner(key('release'));
    const p = await promote(repo, { ...stage, signer, now: NOW, at: '2026-03-01T10:00:00Z' });
    const promoted = p.snapshot.artifacts.find((a) => a.slot === 'plan')!;
    expect(promoted.path).toMatch(/\/Plan-[a-z]+\.md$/);
    // The promoted plan is replaced by a lower-case twin (another id, another file).
    const lower = promoted.path.replace('/Plan-', '/plan-');
    renameSync(join(dir, promoted.path), join(dir, lower));
    writeFileSync(
      join(dir, lower),
      readFileSync(join(dir, lower), 'utf8').replace(`id: ${promoted.id}`, `id: ${promoted.id.toLowerCase()}`),
    );
    expect(run(dir, ['index', 'remove', promoted.path]).code).toBe(0);
    expect(run(dir, ['index', 'add', lower]).code).toBe(0);
    const plan = await rollback(repo, { ...stage, to: '1', signer, now: NOW, dryRun: true });
    const collisions = plan.findings.filter((f) => f.code === 'PATH_COLLISION');
    expect(collisions).toHaveLength(1);
    expect(collisions[0]!.paths).toEqual([promoted.path, lower]);
    await expect(rollback(repo, { ...stage, to: '1', signer, now: NOW })).rejects.toMatchObject({ code: 'PATH_COLLISION' });
    expect(existsSync(join(dir, promoted.path))).toBe(false);
  });
});

describe('key files are read like every other file: checked, never waited on', () => {
  test('a FIFO, a directory or a missing file given as --key is KEY_INVALID (exit 2), at once', () => {
    const dir = demo();
    const odd = testdir();
    execFileSync('mkfifo', [join(odd, 'fifo.key')]);
    mkdirSync(join(odd, 'dir.key'));
    for (const [name, says] of [
      ['fifo.key', /not a regular file \(a FIFO\)/],
      ['dir.key', /not a regular file/],
      ['missing.key', /does not exist/],
    ] as const) {
      const args = ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', join(odd, name)];
      const r = spawnSync(process.execPath, [BIN, ...args], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 20_000,
        killSignal: 'SIGKILL',
        env: { ...process.env, NO_COLOR: '1' },
      });
      expect(r.signal, `${name}: the command hung`).toBeNull();
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('KEY_INVALID');
      expect(r.stderr).toMatch(says);
    }
    // The public key of keys trust too.
    const t = spawnSync(process.execPath, [BIN, 'keys', 'trust', join(odd, 'fifo.key'), '--key', key('release')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
    });
    expect(t.signal).toBeNull();
    expect(t.status, t.stderr).toBe(2);
    expect(t.stderr).toContain('KEY_INVALID');
  });
});
