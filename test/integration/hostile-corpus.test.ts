// The hostile-repository corpus: one fixture per class of attack, each run through the
// built CLI with the same checks — the exact code and exit status, nothing written outside
// the repository or into .git/, no planted program ran afterwards, and the command
// finished under a deadline with bounded memory. The per-area test files hold the
// variants; this file is the one place that shows every class side by side.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { serializeIndex } from '../../src/core/index/document.js';
import { signDetached } from '../../src/core/snapshots/ed25519.js';
import { loadSigningKey } from '../../src/core/snapshots/keys.js';
import { commitAt, copyFixture, git, run, testdir } from '../helpers.js';
import { guarded, makeSentinel, runHostile, type HostileRun, type Sentinel } from '../support/hostile.js';

const DEADLINE_MS = 15_000;
const MAX_RSS_KB = 350 * 1024;
const DR = '.artifacts/snapshots/fwk-001/design-review';

let keyDir: string;
let base: string;
const key = (name: string) => join(keyDir, `${name}.key`);
const pub = (name: string) => join(keyDir, `${name}.pub`);

function ok(dir: string, args: string[]): void {
  const r = run(dir, args);
  expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
}

beforeAll(() => {
  keyDir = testdir();
  for (const k of ['root', 'attacker']) ok(keyDir, ['keys', 'generate', '--out', join(keyDir, k)]);
  base = copyFixture('demo');
  writeFileSync(join(base, '.gitignore'), '.artifacts/objects/\n.artifacts/journal\n.artifacts/cache/\nartifacts_index.json.lock/\n');
  git(base, 'init', '-q', '-b', 'main');
  ok(base, ['index', 'rebuild']);
  ok(base, ['keys', 'trust', pub('root'), '--key', key('root')]);
  commitAt(base, '2026-03-01T09:00:00Z', 'demo');
  ok(base, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('root'), '--at', '2026-03-01T10:00:00Z']);
  commitAt(base, '2026-03-01T11:00:00Z', 'promotion 1');
}, 120_000);

/** A fresh copy of the promoted demo repository (symlinks copied as links). */
function repo(): string {
  const dir = testdir();
  cpSync(base, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

interface Expect {
  exit: number;
  /** A code the JSON output must hold (none for a clean run). */
  code?: string;
}

/** Run `args` against `dir` under every guard, and check the code and exit status. */
function attack(dir: string, sentinel: Sentinel, args: string[], want: Expect, env: Record<string, string> = {}): HostileRun {
  const { result: r, problems } = guarded(dir, sentinel, () => runHostile(dir, args, { timeoutMs: DEADLINE_MS * 2, env }));
  const what = `${args.join(' ')} → ${r.stdout.slice(0, 4000)}${r.stderr.slice(0, 300)}`;
  expect(problems, what).toEqual([]);
  expect(r.signal, `${what}: did not finish`).toBeNull();
  expect(r.ms, what).toBeLessThan(DEADLINE_MS);
  expect(r.maxRssKb, what).toBeLessThan(MAX_RSS_KB);
  if (want.code !== undefined) expect(r.codes, what).toContain(want.code);
  expect(r.code, what).toBe(want.exit);
  expect(r.stdout + r.stderr, what).not.toContain('SENTINEL-SECRET-CONTENT');
  return r;
}

/** A snapshot signed by `signer`, appended to fwk-001/<stage> as seq `seq`. */
async function forgeSnapshot(
  dir: string,
  opts: { stage?: string; seq: number; path: string; bytes: Buffer; signer: string; parent?: string | null },
): Promise<void> {
  const signing = await loadSigningKey(key(opts.signer));
  const stage = opts.stage ?? 'design-review';
  const stageDir = join(dir, '.artifacts/snapshots/fwk-001', stage);
  mkdirSync(stageDir, { recursive: true });
  const address = `sha256:${createSha256(opts.bytes)}`;
  const objDir = join(dir, '.artifacts/objects/sha256', address.slice(7, 9));
  mkdirSync(objDir, { recursive: true });
  writeFileSync(join(objDir, address.slice(9)), opts.bytes);
  let parent = opts.parent;
  if (parent === undefined) {
    const prev = join(stageDir, `${String(opts.seq - 1).padStart(6, '0')}.json`);
    parent = existsSync(prev) ? `sha256:${createSha256(readFileSync(prev))}` : null;
  }
  const snapshot = {
    format: 'artifacts-snapshot/1',
    framework: 'fwk-001',
    stage,
    seq: opts.seq,
    parent,
    action: 'promote',
    created_at: '2026-03-02T10:00:00Z',
    artifacts: [
      {
        slot: 'plan',
        id: 'x',
        version: '1',
        kind: 'plan',
        status: 'approved',
        path: opts.path,
        content_address: address,
        size: opts.bytes.length,
      },
    ],
    selection_digest: `sha256:${'0'.repeat(64)}`,
    index_digest: `sha256:${'0'.repeat(64)}`,
    signer: { keyid: signing.keyid },
  };
  const json = Buffer.from(canonicalJson(snapshot), 'utf8');
  const name = String(opts.seq).padStart(6, '0');
  writeFileSync(join(stageDir, `${name}.json`), json);
  writeFileSync(join(stageDir, `${name}.sig`), `${Buffer.from(signDetached(json, signing.seed)).toString('base64')}\n`);
}

function createSha256(b: Buffer): string {
  return execFileSync('sha256sum', { input: b, encoding: 'utf8' }).slice(0, 64);
}

describe("1. nothing the repository says writes into .git/ or the tool's own files", () => {
  for (const template of [
    '.git/hooks/{id}',
    '.GIT/hooks/{id}',
    '.git./hooks/{id}',
    'docs/.Git/{id}',
    '.artifacts/{id}.md',
    'artifacts_index.json',
  ]) {
    test(`route ${template} + an executable sidecar artifact id post-commit: route fix refuses, no hook`, () => {
      const dir = repo();
      const s = makeSentinel();
      writeFileSync(join(dir, 'artifact_routing.mdc'), `---\nroutes:\n  - kind: hook\n    path: ${template}\n---\n`);
      writeFileSync(join(dir, 'hook.sh'), `#!/bin/sh\necho hook >> '${s.pwned}'\n`, { mode: 0o755 });
      writeFileSync(join(dir, 'hook.sh.artifact.yaml'), 'id: post-commit\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: hook\n');
      attack(dir, s, ['route', 'fix'], { exit: 1, code: 'ROUTE_INVALID_PATH' });
      attack(dir, s, ['route', 'check'], { exit: 1, code: 'ROUTE_INVALID_PATH' });
      expect(existsSync(join(dir, 'hook.sh'))).toBe(true);
    });
  }

  test('a snapshot signed by the trusted key naming .git/config: verify exit 4, rollback and its rehearsal refuse', async () => {
    const dir = repo();
    const s = makeSentinel();
    await forgeSnapshot(dir, {
      seq: 2,
      path: '.git/config',
      bytes: Buffer.from(`[core]\n\tfsmonitor = "echo fsmonitor >> '${s.pwned}'"\n`),
      signer: 'root',
    });
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 4, code: 'PATH_UNSAFE' });
    attack(dir, s, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '2', '--key', key('root'), '--dry-run'], {
      exit: 4,
      code: 'PATH_UNSAFE',
    });
    attack(dir, s, ['rollback', '--framework', 'fwk-001', '--stage', 'design-review', '--to', '2', '--key', key('root')], {
      exit: 4,
      code: 'PATH_UNSAFE',
    });
  });

  test('hydrate --out into .git/hooks is PATH_UNSAFE', () => {
    const dir = repo();
    const s = makeSentinel();
    attack(dir, s, ['hydrate', '--framework', 'fwk-001', '--stage', 'design-review', '--out', '.git/hooks/post-commit'], {
      exit: 2,
      code: 'PATH_UNSAFE',
    });
  });
});

describe("2. every write stays inside the repository's real path", () => {
  for (const link of ['.artifacts', '.artifacts/objects', '.artifacts/cache', DR]) {
    test(`${link} a symlink leading outside: promote refuses with SYMLINK_OUTSIDE_ROOT`, () => {
      const dir = repo();
      const s = makeSentinel();
      const target = join(s.dir, 'keep');
      rmSync(join(dir, link), { recursive: true, force: true });
      mkdirSync(join(dir, link, '..'), { recursive: true });
      symlinkSync(target, join(dir, link));
      const r = attack(dir, s, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('root')], {
        exit: 1,
        code: 'SYMLINK_OUTSIDE_ROOT',
      });
      expect(r.doc?.ok).toBe(false);
    });
  }

  test('init through a committed .artifacts symlink writes nothing outside', () => {
    const dir = repo();
    const s = makeSentinel();
    rmSync(join(dir, '.artifacts'), { recursive: true, force: true });
    symlinkSync(join(s.dir, 'keep'), join(dir, '.artifacts'));
    attack(dir, s, ['init'], { exit: 1, code: 'SYMLINK_OUTSIDE_ROOT' });
  });
});

describe('3. reads are bounded and never block', () => {
  test('a FIFO as routing_matrix.json', () => {
    const dir = repo();
    const s = makeSentinel();
    rmSync(join(dir, 'routing_matrix.json'));
    execFileSync('mkfifo', [join(dir, 'routing_matrix.json')]);
    attack(dir, s, ['route', 'check'], { exit: 2, code: 'ROUTING_INVALID' });
  });

  test('routing_matrix.json symlinked to a secret outside: refused, never echoed', () => {
    const dir = repo();
    const s = makeSentinel();
    rmSync(join(dir, 'routing_matrix.json'));
    symlinkSync(join(s.dir, 'secret.txt'), join(dir, 'routing_matrix.json'));
    attack(dir, s, ['route', 'check'], { exit: 2, code: 'ROUTING_INVALID' });
  });

  test('an artifact that is a symlink to /dev/zero', () => {
    const dir = repo();
    const s = makeSentinel();
    symlinkSync('/dev/zero', join(dir, 'docs/plans/fwk-001/zero.md'));
    attack(dir, s, ['validate'], { exit: 1, code: 'SYMLINK_OUTSIDE_ROOT' });
  });

  test('a FIFO artifact', () => {
    const dir = repo();
    const s = makeSentinel();
    execFileSync('mkfifo', [join(dir, 'docs/plans/fwk-001/fifo.md')]);
    attack(dir, s, ['index', 'add', 'docs/plans/fwk-001/fifo.md'], { exit: 1, code: 'FILE_NOT_REGULAR' });
  });

  test('a FIFO artifact reached by walking a directory (git lists no FIFO) is reported too', () => {
    const dir = repo();
    const s = makeSentinel();
    execFileSync('mkfifo', [join(dir, 'docs/plans/fwk-001/fifo.md')]);
    for (const target of ['docs/plans', '.']) attack(dir, s, ['index', 'add', target], { exit: 1, code: 'FILE_NOT_REGULAR' });
  });

  test('a snapshot signature that is a FIFO', () => {
    const dir = repo();
    const s = makeSentinel();
    unlinkSync(join(dir, DR, '000001.sig'));
    execFileSync('mkfifo', [join(dir, DR, '000001.sig')]);
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 4, code: 'SIGNATURE_INVALID' });
  });

  test('a 3 GiB sparse sidecar', () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(join(dir, 'models/churn/1.0.0/big.bin'), 'x');
    writeFileSync(join(dir, 'models/churn/1.0.0/big.bin.artifact.yaml'), 'id: big\n');
    truncateSync(join(dir, 'models/churn/1.0.0/big.bin.artifact.yaml'), 3 * 1024 ** 3);
    attack(dir, s, ['validate'], { exit: 1, code: 'METADATA_TOO_LARGE' });
  });
});

describe('4. no exit 70 from malformed repository content', () => {
  const cases: Array<[string, (dir: string) => void, string[], Expect]> = [
    [
      'a malformed .hold',
      (d) => writeFileSync(join(d, DR, '000001.hold'), '{"reason": 5'),
      ['snapshot', 'list'],
      { exit: 4, code: 'HOLD_INVALID' },
    ],
    [
      'a {} snapshot',
      (d) => writeFileSync(join(d, DR, '000001.json'), '{}'),
      ['snapshot', 'verify', '--all'],
      { exit: 4, code: 'SNAPSHOT_INVALID' },
    ],
    [
      'a snapshot .json that is a directory',
      (d) => {
        unlinkSync(join(d, DR, '000001.json'));
        mkdirSync(join(d, DR, '000001.json'));
      },
      ['snapshot', 'verify', '--all'],
      { exit: 4, code: 'SNAPSHOT_INVALID' },
    ],
    [
      'an index that is a directory',
      (d) => {
        unlinkSync(join(d, 'artifacts_index.json'));
        mkdirSync(join(d, 'artifacts_index.json'));
      },
      ['index', 'verify'],
      { exit: 4, code: 'INDEX_CORRUPT' },
    ],
    [
      'a stale lock that is a symlink',
      (d) => symlinkSync(join(d, 'docs'), join(d, 'artifacts_index.json.lock')),
      ['index', 'rebuild'],
      { exit: 4, code: 'LOCK_INVALID' },
    ],
    [
      'routing_matrix.json that is not JSON',
      (d) => writeFileSync(join(d, 'routing_matrix.json'), '{"commands": ['),
      ['route', 'check'],
      { exit: 2, code: 'ROUTING_INVALID' },
    ],
  ];
  for (const [name, corrupt, args, want] of cases) {
    test(name, () => {
      const dir = repo();
      const s = makeSentinel();
      corrupt(dir);
      attack(dir, s, args, want);
    });
  }

  test('index rebuild repairs an oversized, corrupt index', () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(join(dir, 'artifacts_index.json'), '{');
    truncateSync(join(dir, 'artifacts_index.json'), 2 * 1024 ** 3);
    attack(dir, s, ['index', 'verify'], { exit: 4, code: 'INDEX_CORRUPT' });
    const { result: r, problems } = guarded(dir, s, () => runHostile(dir, ['index', 'rebuild'], { timeoutMs: DEADLINE_MS * 2 }));
    expect(problems).toEqual([]);
    expect(r.code, r.stdout).toBe(0);
    expect(run(dir, ['index', 'verify']).code).toBe(0);
  });
});

describe('5. signing and gating use verified facts only', () => {
  test('one unsigned 000002.json in design-review does not let promote --stage release sign', () => {
    const dir = repo();
    const s = makeSentinel();
    const forged = JSON.parse(readFileSync(join(dir, DR, '000001.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, DR, '000002.json'), canonicalJson({ ...forged, seq: 2 }));
    attack(dir, s, ['promote', '--framework', 'fwk-001', '--stage', 'release', '--key', key('root')], {
      exit: 1,
      code: 'GATE_STAGE_ORDER',
    });
    expect(existsSync(join(dir, '.artifacts/snapshots/fwk-001/release'))).toBe(false);
  });

  test('an index whose digest does not verify is refused for decisions', () => {
    const dir = repo();
    const s = makeSentinel();
    const text = readFileSync(join(dir, 'artifacts_index.json'), 'utf8').replace(/"status": ?"review"/, (m) =>
      m.replace('review', 'approved'),
    );
    writeFileSync(join(dir, 'artifacts_index.json'), text);
    attack(dir, s, ['gate', '--framework', 'fwk-001', '--stage', 'design-review'], { exit: 4, code: 'INDEX_DIGEST_MISMATCH' });
  });
});

describe('6. deleting or replaying history is detected', () => {
  test('the newest snapshot deleted in a commit: SNAPSHOT_DELETED', () => {
    const dir = repo();
    const s = makeSentinel();
    git(dir, 'rm', '-q', `${DR}/000001.json`, `${DR}/000001.sig`);
    commitAt(dir, '2026-03-02T00:00:00Z', 'drop the promotion');
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 4, code: 'SNAPSHOT_DELETED' });
  });

  test('validate --base refuses a change that rewrites an existing snapshot', () => {
    const dir = repo();
    const s = makeSentinel();
    git(dir, 'checkout', '-q', '-b', 'change');
    writeFileSync(join(dir, DR, '000001.sig'), `${Buffer.alloc(64, 7).toString('base64')}\n`);
    attack(dir, s, ['validate', '--base', 'main'], { exit: 4, code: 'RECORD_NOT_APPEND_ONLY' });
  });
});

describe('7. the root of trust is not whatever the repository says', () => {
  test('a pull request adding its own .pub to keys/trusted and signing a snapshot: KEY_NOT_TRUSTED', async () => {
    const dir = repo();
    const s = makeSentinel();
    const attacker = await loadSigningKey(key('attacker'));
    mkdirSync(join(dir, '.artifacts/keys/trusted'), { recursive: true });
    cpSync(pub('attacker'), join(dir, '.artifacts/keys/trusted', `${attacker.keyid}.pub`));
    await forgeSnapshot(dir, { seq: 2, path: 'docs/plans/fwk-001/evil.md', bytes: Buffer.from('evil\n'), signer: 'attacker' });
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 4, code: 'KEY_NOT_TRUSTED' });
  });

  test('a rewritten self-signed first trust record does not match the pinned root', async () => {
    const dir = repo();
    const s = makeSentinel();
    const root = await loadSigningKey(key('root'));
    rmSync(join(dir, '.artifacts/keys/trust'), { recursive: true });
    ok(dir, ['keys', 'trust', pub('attacker'), '--key', key('attacker')]);
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 4, code: 'TRUST_ROOT_MISMATCH' }, { ARTIFACTS_TRUST_ROOT: root.keyid });
  });

  test('promote refuses a key the chain does not trust, before writing anything', () => {
    const dir = repo();
    const s = makeSentinel();
    attack(dir, s, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('attacker')], {
      exit: 4,
      code: 'KEY_NOT_TRUSTED',
    });
    expect(readdirSync(join(dir, DR)).filter((n) => /^\d{6}\.json$/.test(n))).toEqual(['000001.json']);
  });
});

describe('8. retention never deletes what it keeps', () => {
  test("a stale .released marker does not let gc delete a kept snapshot's objects", () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'retention:\n  "*": { keep_last: 10 }\n');
    writeFileSync(join(dir, DR, '000001.released'), '');
    const objects = () =>
      execFileSync('find', [join(dir, '.artifacts/objects'), '-type', 'f'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean).length;
    const before = objects();
    expect(before).toBeGreaterThan(0);
    const { result: r, problems } = guarded(dir, s, () => runHostile(dir, ['gc'], { timeoutMs: DEADLINE_MS * 2 }));
    expect(problems).toEqual([]);
    expect(r.code, r.stdout).toBe(0);
    expect(objects()).toBe(before);
  });
});

describe('9. linear-time matching', () => {
  test('an exclude glob made to backtrack, against a 50-character name', () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'exclude: ["*a*a*a*a*a*a*a*a*b"]\n');
    writeFileSync(join(dir, `${'a'.repeat(50)}.md`), 'no front matter\n');
    const r = attack(dir, s, ['validate'], { exit: 0 });
    expect(r.ms).toBeLessThan(5_000);
  });

  test('a per-kind schema pattern made to backtrack', () => {
    const dir = repo();
    const s = makeSentinel();
    mkdirSync(join(dir, 'schemas/kinds'), { recursive: true });
    writeFileSync(
      join(dir, 'schemas/kinds/plan.schema.json'),
      JSON.stringify({ type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } }),
    );
    const file = join(dir, 'docs/plans/fwk-001/plan-checkout.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('kind: plan\n', `kind: plan\ncode: "${'a'.repeat(40)}b"\n`));
    const r = attack(dir, s, ['validate'], { exit: 1, code: 'SCHEMA_VIOLATION' });
    expect(r.ms).toBeLessThan(5_000);
  });
});

describe('11. deterministic verdicts', () => {
  test('front matter nested 1,000 levels deep: METADATA_TOO_DEEP in a tree scan and in index add', () => {
    const dir = repo();
    const s = makeSentinel();
    const deep = `---\nid: deep\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: plan\nx: ${'['.repeat(1000)}${']'.repeat(1000)}\n---\n`;
    writeFileSync(join(dir, 'docs/plans/fwk-001/deep.md'), deep);
    attack(dir, s, ['validate'], { exit: 1, code: 'METADATA_TOO_DEEP' });
    attack(dir, s, ['index', 'add', 'docs/plans/fwk-001/deep.md'], { exit: 1, code: 'METADATA_TOO_DEEP' });
  });
});

describe('found by an outside review', () => {
  test('a per-kind schema that refers to itself ({"$ref": "#"}) is KIND_SCHEMA_INVALID, not an internal error', () => {
    const dir = repo();
    const s = makeSentinel();
    mkdirSync(join(dir, 'schemas/kinds'), { recursive: true });
    for (const schema of ['{"$ref": "#"}', '{"not": {"not": {"$ref": "#"}}}', '{"if": {"$ref": "#"}, "then": {"$ref": "#"}}']) {
      writeFileSync(join(dir, 'schemas/kinds/plan.schema.json'), schema);
      attack(dir, s, ['validate'], { exit: 2, code: 'KIND_SCHEMA_INVALID' });
    }
  });

  test('a sidecar symlinked into .git/ (credentials in .git/config) is refused and never echoed', () => {
    const dir = repo();
    const s = makeSentinel();
    git(dir, 'config', 'http.https://example.com/.extraheader', 'AUTHORIZATION: basic SENTINEL-SECRET-CONTENT');
    writeFileSync(join(dir, 'a.bin'), 'data\n');
    symlinkSync('.git/config', join(dir, 'a.bin.artifact.yaml'));
    attack(dir, s, ['validate'], { exit: 1, code: 'SYMLINK_OUTSIDE_ROOT' });
    const human = runHostile(dir, ['validate', '--format', 'github'], { json: false });
    expect(human.stdout + human.stderr).not.toContain('SENTINEL-SECRET-CONTENT');
  });

  test("an empty ARTIFACTS_TRUST_ROOT is a usage error, never a fallback to the repository's own trust_root", () => {
    const dir = repo();
    const s = makeSentinel();
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 2, code: 'USAGE' }, { ARTIFACTS_TRUST_ROOT: '' });
  });

  test('gc deletes nothing on the word of an edited, unsigned snapshot', () => {
    const dir = repo();
    const s = makeSentinel();
    const file = join(dir, DR, '000001.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, canonicalJson({ ...doc, artifacts: [] }));
    const objects = () =>
      execFileSync('find', [join(dir, '.artifacts/objects'), '-type', 'f'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean).length;
    const before = objects();
    attack(dir, s, ['gc'], { exit: 4, code: 'SIGNATURE_INVALID' });
    expect(objects()).toBe(before);
  });

  test('promote never dedups onto a damaged object: it writes a good copy', () => {
    const dir = repo();
    const s = makeSentinel();
    const files = execFileSync('find', [join(dir, '.artifacts/objects'), '-type', 'f'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    for (const f of files) writeFileSync(f, 'garbage\n');
    attack(dir, s, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('root')], { exit: 0 });
    attack(dir, s, ['snapshot', 'verify', '--all'], { exit: 0 });
  });

  test('an object path that is a directory: promote refuses with OBJECT_CORRUPT (exit 4), not a raw errno', () => {
    const dir = repo();
    const s = makeSentinel();
    const files = execFileSync('find', [join(dir, '.artifacts/objects'), '-type', 'f'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    for (const f of files) {
      unlinkSync(f);
      mkdirSync(f);
      writeFileSync(join(f, 'x'), 'x');
    }
    const r = attack(dir, s, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('root')], {
      exit: 4,
      code: 'OBJECT_CORRUPT',
    });
    expect(r.codes).not.toContain('IO_ERROR');
  });

  test('the merge driver refuses a side whose entries name .git/ (digest recomputed)', () => {
    const dir = repo();
    const doc = JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')) as {
      artifacts: Array<Record<string, unknown>>;
      index_digest?: string;
    };
    const evil = { ...doc, artifacts: [...doc.artifacts, { ...doc.artifacts[0]!, id: 'zz-evil', path: '.git/hooks/pre-commit' }] };
    delete evil.index_digest;
    const digest = `sha256:${createSha256(Buffer.from(canonicalJson(evil)))}`;
    const md = testdir({
      'O.json': readFileSync(join(dir, 'artifacts_index.json')),
      'A.json': readFileSync(join(dir, 'artifacts_index.json')),
      'B.json': serializeIndex({ ...evil, index_digest: digest } as never),
    });
    const r = runHostile(md, ['index', 'merge-driver', join(md, 'O.json'), join(md, 'A.json'), join(md, 'B.json')]);
    // The driver answers git: a non-zero exit leaves the conflict, explained on stderr.
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('PATH_UNSAFE');
    expect(readFileSync(join(md, 'A.json'))).toEqual(readFileSync(join(dir, 'artifacts_index.json')));
  });

  test('control characters in a file name never reach the terminal or a CI log raw', () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(
      join(dir, 'docs/plans/fwk-001/x\n::error title=INJECTED::pwned\n\u001b]0;title\u0007.md'),
      '---\nid: x\nversion: 1.0\n---\n',
    );
    const { result: r } = guarded(dir, s, () => runHostile(dir, ['validate'], { json: false }));
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').some((l) => l.startsWith('::error'))).toBe(false);
    expect(r.stdout).not.toContain('\u001b]');
    expect(r.stdout).toContain('\\n::error title=INJECTED::pwned\\n');
  });

  test('route fix refuses while any route template is invalid, in every spelling', () => {
    for (const template of ['./.git/{id}', 'a/../.git/{id}', '.git\\\\hooks\\\\{id}', '//.git/{id}']) {
      const dir = repo();
      const s = makeSentinel();
      writeFileSync(join(dir, 'artifact_routing.mdc'), `---\nroutes:\n  - kind: hook\n    path: "${template}"\n---\n`);
      writeFileSync(join(dir, 'hook.sh'), 'echo\n');
      writeFileSync(join(dir, 'hook.sh.artifact.yaml'), 'id: post-commit\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: hook\n');
      attack(dir, s, ['route', 'fix'], { exit: 1, code: 'ROUTE_INVALID_PATH' });
    }
  });

  test('a frameworks directory symlinked outside: refused, its file names never listed', () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(join(s.dir, 'keep', 'outside-name-SENTINEL-SECRET-CONTENT.yaml'), 'framework: x\n');
    rmSync(join(dir, 'frameworks'), { recursive: true });
    symlinkSync(join(s.dir, 'keep'), join(dir, 'frameworks'));
    attack(dir, s, ['validate'], { exit: 2, code: 'SYMLINK_OUTSIDE_ROOT' });
  });

  test('a config holding __proto__ is a usage error (exit 2)', () => {
    const dir = repo();
    const s = makeSentinel();
    writeFileSync(join(dir, 'artifacts.config.yaml'), '__proto__:\n  polluted: yes\n');
    attack(dir, s, ['validate'], { exit: 2, code: 'METADATA_FORBIDDEN_KEY' });
  });

  test('history and snapshot list mark an unsigned snapshot as unverified, never as a promotion', () => {
    const dir = repo();
    const s = makeSentinel();
    const doc = JSON.parse(readFileSync(join(dir, DR, '000001.json'), 'utf8')) as Record<string, unknown>;
    mkdirSync(join(dir, '.artifacts/snapshots/fwk-001/release'), { recursive: true });
    writeFileSync(join(dir, '.artifacts/snapshots/fwk-001/release/000001.json'), canonicalJson({ ...doc, stage: 'release', parent: null }));
    const h = attack(dir, s, ['history', 'plan-checkout'], { exit: 0 });
    const snaps = (h.doc as { snapshots: Array<{ stage: string; verified: boolean; problem?: string }> }).snapshots;
    expect(snaps.find((x) => x.stage === 'design-review')?.verified).toBe(true);
    expect(snaps.find((x) => x.stage === 'release')).toMatchObject({
      verified: false,
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest's asymmetric matcher is typed any
      problem: expect.stringContaining('SIGNATURE_INVALID'),
    });
    const l = attack(dir, s, ['snapshot', 'list'], { exit: 0 });
    const rows = (l.doc as { snapshots: Array<{ stage: string; verified: boolean }> }).snapshots;
    expect(rows.map((r) => [r.stage, r.verified])).toEqual([
      ['design-review', true],
      ['release', false],
    ]);
  });
});
