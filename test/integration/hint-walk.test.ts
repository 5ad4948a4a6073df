// A hint never leads to a command that is then refused. For every code whose hint names an
// `artifacts …` command, a fixture produces the code, the command is taken from the hint
// the user actually sees (a finding's own hint overrides the catalogue's), run, and must
// succeed; then the original problem must be gone (or have progressed). Every other code is
// listed, with the reason its hint names no command, so that a new code cannot slip by.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { CATALOGUE, type ErrorCode } from '../../src/core/errors.js';
import { commitAt, copyFixture, fromTemplate, git, plan, repoWith, run, testdir, writeTree } from '../helpers.js';

const P = 'docs/plans/fwk-001';
const DR = '.artifacts/snapshots/fwk-001/design-review';
const RISK = 'docs/risks/fwk-001/risk-register.md';

let keyDir: string;
const key = (name: string) => join(keyDir, `${name}.key`);
const pub = (name: string) => join(keyDir, `${name}.pub`);

beforeAll(() => {
  keyDir = testdir();
  for (const name of ['root', 'stranger']) expect(run(keyDir, ['keys', 'generate', '--out', join(keyDir, name)]).code).toBe(0);
  writeFileSync(join(keyDir, 'garbage.key'), 'not a key\n');
});

interface Seen {
  code: string;
  hint?: string;
  path?: string;
  severity?: string;
}

/** Every problem a --json run reports: its error and its findings. */
function problems(dir: string, args: string[]): { exit: number | null; seen: Seen[] } {
  const r = run(dir, ['--json', ...args]);
  let doc: { error?: Seen; findings?: Seen[] };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new Error(`not one JSON document from ${args.join(' ')} (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { exit: r.code, seen: [...(doc.error ? [doc.error] : []), ...(doc.findings ?? [])] };
}

/** The commands a hint names, in order: `artifacts …` spans, and spans that continue one
 * (`index rebuild` after `artifacts index recover --discard`). */
export function commandsIn(hint: string): string[] {
  const out: string[] = [];
  for (const m of hint.matchAll(/`([^`]+)`/g)) {
    const span = m[1]!.trim();
    if (span.startsWith('artifacts ')) out.push(span.slice('artifacts '.length));
    else if (out.length > 0 && /^(index|route|keys|snapshot|rollback|promote|validate|gc) /.test(span)) out.push(span);
  }
  return out;
}

/** Split a command line as a shell would for these simple commands. */
function argv(cmd: string): string[] {
  return cmd.split(/\s+/).filter(Boolean);
}

interface Walk {
  /** What the fixture is, for the test name. */
  name: string;
  code: ErrorCode;
  /** A repository in which `probe` reports `code`. */
  fixture(): string;
  /** The command that reports the problem (without --json). */
  probe: string[];
  /** What the hint asks for besides the command (edit a file, delete a damaged one). */
  before?(dir: string): void;
  /** Placeholders of the hint (KEY.pub, SIGNER, …) filled in for this fixture. */
  fill?(cmd: string, dir: string): string;
  /** How many of the hint's commands to run, in order (a "first …, then …" hint: 2). */
  steps?: number;
  /** Whether the problem must be gone afterwards (false when the command only informs). */
  resolves?: boolean;
  /** What the hint must say besides the command. */
  says?: RegExp;
}

/** The demo repository, committed and indexed, with `root` the trust chain's root (built
 * once, copied). */
function demo(opts: { trust?: boolean } = {}): string {
  return fromTemplate(`demo:${opts.trust !== false}`, () => buildDemo(opts));
}

function buildDemo(opts: { trust?: boolean }): string {
  const dir = copyFixture('demo');
  git(dir, 'init', '-q', '-b', 'main');
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  if (opts.trust !== false) expect(run(dir, ['keys', 'trust', pub('root'), '--key', key('root')]).code).toBe(0);
  commitAt(dir, '2026-03-01T09:00:00Z', 'demo');
  return dir;
}

function promoted(): string {
  return fromTemplate('promoted', buildPromoted);
}

function buildPromoted(): string {
  const dir = demo();
  expect(
    run(dir, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('root'), '--at', '2026-03-01T10:00:00Z']).code,
  ).toBe(0);
  return dir;
}

/** One plan, indexed; `status` approved or draft (built once, copied). */
function indexed(status = 'draft'): string {
  return fromTemplate(`indexed:${status}`, () => buildIndexed(status));
}

function buildIndexed(status: string): string {
  const dir = repoWith({ [`${P}/a.md`]: plan('a', { status }) });
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  return dir;
}

function journalLine(r: unknown): string {
  const json = JSON.stringify(r);
  return `${json}\t${spawnSync('sha256sum', { input: json, encoding: 'utf8' }).stdout.slice(0, 64)}\n`;
}

/** An `index add` killed after its journal record is durable: a pending transaction. */
function pending(): string {
  const dir = indexed();
  writeTree(dir, { [`${P}/b.md`]: plan('b') });
  expect(run(dir, ['index', 'add', `${P}/b.md`], { ARTIFACTS_FAULT_INJECT: 'journal-fsync' }).signal).toBe('SIGKILL');
  return dir;
}

const WALKS: Walk[] = [
  {
    name: 'a misplaced artifact',
    code: 'ROUTE_MISMATCH',
    fixture: () => {
      const dir = indexed();
      writeTree(dir, { 'docs/other/b.md': plan('b') });
      return dir;
    },
    probe: ['validate'],
  },
  {
    name: 'an indexed file that was deleted',
    code: 'INDEX_MISSING_FILE',
    fixture: () => {
      const dir = indexed();
      rmSync(join(dir, P, 'a.md'));
      return dir;
    },
    probe: ['index', 'verify'],
  },
  {
    name: 'a draft changed on disk',
    code: 'INDEX_STALE_ENTRY',
    fixture: () => {
      const dir = indexed();
      writeFileSync(join(dir, P, 'a.md'), plan('a', {}, 'Changed.\n'));
      return dir;
    },
    probe: ['index', 'verify'],
  },
  {
    name: 'an approved version changed on disk',
    code: 'INDEX_STALE_ENTRY',
    fixture: () => {
      const dir = indexed('approved');
      writeFileSync(join(dir, P, 'a.md'), plan('a', { status: 'approved' }, 'Changed.\n'));
      return dir;
    },
    probe: ['index', 'verify'],
    says: /approved.*bump `version`/,
    // What the hint says to do before its command: bump the version.
    before: (dir) => writeFileSync(join(dir, P, 'a.md'), plan('a', { status: 'draft', version: '1.1.0' }, 'Changed.\n')),
  },
  {
    name: 'a file that is no longer an artifact',
    code: 'INDEX_STALE_ENTRY',
    fixture: () => {
      const dir = indexed();
      writeFileSync(join(dir, P, 'a.md'), '# just notes\n');
      return dir;
    },
    probe: ['index', 'verify'],
  },
  ...(['draft', 'approved'] as const).map((status): Walk => ({
    name: `another digest algorithm in the config, ${status} artifacts indexed`,
    code: 'INDEX_STALE_ENTRY',
    fixture: () => {
      const dir = indexed(status);
      writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: blake3\n');
      return dir;
    },
    probe: ['index', 'verify'],
    // Approved versions cannot be compared across algorithms: a fresh index.
    ...(status === 'approved'
      ? { says: /delete artifacts_index\.json/, before: (dir: string) => rmSync(join(dir, 'artifacts_index.json')) }
      : {}),
  })),
  {
    name: 'a new artifact at its route',
    code: 'INDEX_UNINDEXED',
    fixture: () => {
      const dir = indexed();
      writeTree(dir, { [`${P}/b.md`]: plan('b') });
      return dir;
    },
    probe: ['index', 'verify'],
  },
  {
    name: 'a new artifact away from its route',
    code: 'INDEX_UNINDEXED',
    fixture: () => {
      const dir = indexed();
      writeTree(dir, { 'docs/other/b.md': plan('b') });
      return dir;
    },
    probe: ['index', 'verify'],
    says: /route fix` first/,
    steps: 2,
  },
  {
    name: 'artifacts and no index',
    code: 'INDEX_NOT_FOUND',
    fixture: () => repoWith({ [`${P}/a.md`]: plan('a') }),
    probe: ['index', 'verify'],
  },
  {
    name: 'index update of a file never indexed',
    code: 'INDEX_NOT_INDEXED',
    fixture: () => {
      const dir = indexed();
      writeTree(dir, { [`${P}/b.md`]: plan('b') });
      return dir;
    },
    probe: ['index', 'update', `${P}/b.md`],
    fill: (cmd) => (cmd === 'index add' ? `index add ${P}/b.md` : cmd),
  },
  ...['{bad', '{"format":"artifacts-index/0"}', ''].map((bytes): Walk => ({
    name: `an index holding ${JSON.stringify(bytes)}`,
    code: 'INDEX_CORRUPT',
    fixture: () => {
      const dir = indexed();
      writeFileSync(join(dir, 'artifacts_index.json'), bytes);
      return dir;
    },
    probe: ['index', 'verify'],
  })),
  {
    name: 'an index edited by hand',
    code: 'INDEX_DIGEST_MISMATCH',
    fixture: () => {
      const dir = indexed();
      const p = join(dir, 'artifacts_index.json');
      writeFileSync(
        p,
        readFileSync(p, 'utf8').replace(/"status": ?"draft"/, (m) => m.replace('draft', 'approved')),
      );
      return dir;
    },
    probe: ['index', 'verify'],
  },
  { name: 'an interrupted index add', code: 'JOURNAL_PENDING', fixture: pending, probe: ['index', 'verify'] },
  {
    name: 'a damaged journal record before a good one',
    code: 'JOURNAL_CORRUPT',
    fixture: () => {
      const dir = indexed();
      writeTree(dir, {
        '.artifacts/journal':
          journalLine({ txid: 1, entries: 'x' }) +
          journalLine({ txid: 'b', before: null, after: 'x', digest_algorithm: 'sha256', reset: false, entries: [] }),
      });
      return dir;
    },
    probe: ['index', 'verify'],
    steps: 2,
  },
  {
    name: 'an index replaced during a transaction',
    code: 'JOURNAL_MISMATCH',
    fixture: () => {
      const dir = indexed();
      copyFileSync(join(dir, 'artifacts_index.json'), join(dir, 'old-index'));
      writeTree(dir, { [`${P}/b.md`]: plan('b') });
      expect(run(dir, ['index', 'add', `${P}/b.md`]).code).toBe(0);
      writeTree(dir, { [`${P}/c.md`]: plan('c') });
      expect(run(dir, ['index', 'add', `${P}/c.md`], { ARTIFACTS_FAULT_INJECT: 'journal-fsync' }).signal).toBe('SIGKILL');
      copyFileSync(join(dir, 'old-index'), join(dir, 'artifacts_index.json'));
      rmSync(join(dir, 'old-index'));
      return dir;
    },
    probe: ['index', 'verify'],
    steps: 2,
  },
  {
    name: 'a signing key that is not a key',
    code: 'KEY_INVALID',
    fixture: () => demo(),
    probe: ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', join('KEYDIR', 'garbage.key')],
    fill: (cmd) => cmd.replace(/^keys generate$/, `keys generate --out ${join(testdir(), 'fresh')}`),
    resolves: false,
  },
  {
    name: 'promote with a key the chain does not trust',
    code: 'KEY_NOT_TRUSTED',
    fixture: () => demo(),
    probe: ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', join('KEYDIR', 'stranger.key')],
    fill: (cmd) => cmd.replace('KEY.pub', pub('stranger')).replace('SIGNER', key('root')),
  },
  {
    name: 'promote with no trust chain',
    code: 'TRUST_NOT_INITIALIZED',
    fixture: () => demo({ trust: false }),
    probe: ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--key', join('KEYDIR', 'root.key')],
    fill: (cmd) => cmd.replace('ROOT.pub', pub('root')).replace('ROOT.key', key('root')),
  },
  {
    name: 'a snapshot whose attestation is missing',
    code: 'ATTESTATION_MISSING',
    fixture: () => {
      const dir = promoted();
      rmSync(join(dir, DR, '000001.intoto.json'));
      return dir;
    },
    probe: ['snapshot', 'verify', '--all'],
    fill: (cmd) => cmd.replace('--key K', `--key ${key('root')}`),
  },
  {
    name: 'a snapshot whose attestation does not verify',
    code: 'ATTESTATION_INVALID',
    fixture: () => {
      const dir = promoted();
      writeFileSync(
        join(dir, DR, '000001.intoto.json'),
        '{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}\n',
      );
      return dir;
    },
    probe: ['snapshot', 'verify', '--all'],
    // The hint: remove it and write it again.
    before: (dir) => rmSync(join(dir, DR, '000001.intoto.json')),
    fill: (cmd) => cmd.replace('--key K', `--key ${key('root')}`),
  },
  {
    name: 'resolve on a channel that does not exist',
    code: 'CHANNEL_NOT_FOUND',
    fixture: promoted,
    probe: ['resolve', '--channel', 'prod', '--stable'],
    fill: (cmd) =>
      cmd.replace('NAME --framework F --stage S --key K', `prod --framework fwk-001 --stage design-review --key ${key('root')}`),
    steps: 2,
  },
  {
    name: 'resolve of a channel older than required',
    code: 'CHANNEL_STALE',
    fixture: () => {
      const dir = promoted();
      expect(run(dir, ['channel', 'create', 'prod', '--framework', 'fwk-001', '--stage', 'design-review', '--key', key('root')]).code).toBe(
        0,
      );
      return dir;
    },
    probe: ['resolve', '--channel', 'prod', '--stable', '--min-seq', '9'],
    fill: (cmd) => cmd.replace(/^rollout status$/, 'rollout status --channel prod'),
    resolves: false,
  },
  {
    name: 'a snapshot that does not exist',
    code: 'SNAPSHOT_NOT_FOUND',
    fixture: promoted,
    probe: ['snapshot', 'show', 'fwk-001/design-review/9'],
    resolves: false,
  },
  {
    name: 'a promoted file changed in the tree',
    code: 'SNAPSHOT_DRIFT',
    fixture: () => {
      const dir = promoted();
      writeFileSync(join(dir, RISK), readFileSync(join(dir, RISK), 'utf8').replace('| low |', '| high |'));
      return dir;
    },
    probe: ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review'],
    // The rehearsal changes nothing; the problem is gone after the real run it prepares.
    resolves: false,
    says: /--dry-run/,
  },
  {
    name: 'a damaged hold marker',
    code: 'HOLD_INVALID',
    fixture: () => {
      const dir = promoted();
      writeFileSync(join(dir, DR, '000001.hold'), 'held?\n');
      return dir;
    },
    probe: ['snapshot', 'list'],
    says: /delete it/,
    before: (dir) => rmSync(join(dir, DR, '000001.hold')),
    fill: (cmd) => (/^snapshot hold\b/.test(cmd) ? 'snapshot hold fwk-001/design-review/1 --reason audit' : cmd),
  },
  {
    // The catalogue's hint names no command; this situation's hint does.
    name: 'artifacts and no routing file',
    code: 'UNROUTED_KIND',
    fixture: () => {
      const dir = repoWith({ [`${P}/a.md`]: plan('a') });
      rmSync(join(dir, 'artifact_routing.mdc'));
      return dir;
    },
    probe: ['validate'],
    // init creates the routing file; whether its routes fit the tree is init's own test.
    resolves: false,
  },
  {
    name: 'a missing argument',
    code: 'USAGE',
    fixture: () => repoWith({}),
    probe: ['index', 'add'],
    fill: (cmd) => cmd.replace('<command>', 'index add'),
    resolves: false,
  },
];

/** Codes whose hint names no `artifacts` command to run, and why. */
const NO_COMMAND: Partial<Record<ErrorCode, string>> = {
  FOREIGN_FRONT_MATTER_INVALID: 'a warning about a file that is not an artifact: nothing to run',
  CHANNEL_INVALID: 'restore the channel records from git history',
  CHANNEL_EXISTS: 'pick another channel name',
  ROLLOUT_HEALTH_FAILED: "fix what the health stage's gate reports",
  ROLLOUT_BAKE_PENDING: 'wait for the time the message names',
  ATTESTATION_SUBJECT: 'compare the file with the attested subjects',
  REGISTRY_AUTH: 'give credentials (environment or docker login)',
  REGISTRY_UNREACHABLE: 'check the address and the network',
  REGISTRY_ERROR: "read the registry's answer and run again",
  REGISTRY_INVALID: 'push again from a verified repository',
  REGISTRY_TAG_IMMUTABLE: 'push to another tag',
  OCI_TOO_MANY_LAYERS: 'fewer artifacts per snapshot',
  ROLLOUT_EVIDENCE_STALE: 'produce and commit new health evidence for this step',
  METADATA_PARSE: 'edit the file',
  METADATA_TOO_LARGE: 'edit the file',
  METADATA_NOT_MAPPING: 'edit the file',
  METADATA_DUPLICATE_KEY: 'edit the file',
  METADATA_ALIAS: 'edit the file',
  METADATA_TAG: 'edit the file',
  METADATA_FORBIDDEN_KEY: 'edit the file',
  FRONT_MATTER_LANGUAGE: 'edit the file',
  FRONT_MATTER_UNTERMINATED: 'edit the file',
  INVALID_UTF8: 're-encode the file',
  SCHEMA_VIOLATION: 'edit the field',
  VERSION_NOT_STRING: 'quote the version',
  INVALID_ID: 'rename the id',
  CHECKSUM_MISMATCH: 'edit the checksum field',
  CHECKSUM_INVALID: 'edit the checksum field',
  KIND_SCHEMA_INVALID: 'fix the schema file',
  SIDECAR_ORPHAN: 'restore or delete a file',
  DUPLICATE_VERSION: 'edit a version',
  VERSION_IMMUTABLE: 'bump the version or restore the content',
  PATH_COLLISION: 'rename a file',
  SYMLINK_OUTSIDE_ROOT: 'replace the symlink',
  PATH_UNSAFE: 'choose another path',
  FILE_NOT_REGULAR: 'replace the file',
  FILE_TOO_LARGE: 'shrink the file',
  READ_TIMEOUT: 'check the file system',
  METADATA_TOO_DEEP: 'edit the file',
  ROUTE_DUPLICATE_KIND: 'edit the routing file',
  ROUTE_OVERLAP: 'edit the routing file',
  ROUTE_CASE_COLLISION: 'edit the routing file',
  ROUTE_INVALID_PATH: 'edit the routing file',
  COMMAND_DRIFT: 'edit the command routing',
  COMMAND_COLLISION: 'edit the command routing',
  UNROUTED_KIND: 'edit the routing file',
  ROUTE_TARGET_EXISTS: 'move a file by hand',
  ROUTING_INVALID: 'edit the routing file',
  SYMLINK_REFUSED: 'replace the symlink',
  LOCK_TIMEOUT: 'retry the same command',
  LOCK_COMPROMISED: 'retry the same command',
  IO_ERROR: 'check permissions and space',
  LOCK_INVALID: 'remove the lock by hand',
  STORE_FILE_INVALID: 'restore .artifacts/ from git',
  FRAMEWORK_NOT_FOUND: 'create the contract or fix the spelling',
  STAGE_NOT_FOUND: 'fix the stage name',
  CONTRACT_INVALID: 'edit the contract',
  NONDETERMINISTIC_INPUT: 'a git command, or a flag of the same command',
  GATE_MISSING_INPUT: 'add an artifact',
  GATE_STATUS: 'edit the artifact',
  KIND_NOT_ALLOWED: 'edit the contract or the artifact',
  GATE_STAGE_ORDER: 'promote the earlier stage (needs a key: the KEY_* walks cover promote)',
  KEY_MISSING: 'a flag of the same command',
  KEY_IN_REPOSITORY: 'a flag of the same command',
  KEY_EXISTS: 'a flag of the same command',
  SIGNATURE_INVALID: 'restore from git',
  SNAPSHOT_CHAIN_BROKEN: 'restore from git',
  SNAPSHOT_EXPIRED: 'promote again (needs a key: the KEY_* walks cover promote)',
  OBJECT_MISSING: 'restore from git or another clone',
  OBJECT_CORRUPT: 'restore from git or another clone',
  GATE_FAILED: 'fix the gate findings',
  RETENTION_EMPTY: 'edit the config',
  LINEAGE_UNKNOWN_REF: 'edit derived_from',
  LINEAGE_CYCLE: 'edit derived_from',
  SNAPSHOT_INVALID: 'restore from git',
  SNAPSHOT_DELETED: 'a git command',
  SNAPSHOT_ROLLBACK: 'restore from git',
  RECORD_NOT_APPEND_ONLY: 'revert the change',
  BASE_REF_MISSING: 'a git command',
  HISTORY_SHALLOW: 'a git command',
  TRUST_CHAIN_BROKEN: 'restore from git',
  TRUST_ROOT_MISMATCH: 'fix the pin',
  TRUST_ROOT_UNPINNED: 'set the pin',
  CONFIG_INVALID: 'edit the config',
  INTERNAL: 'report the bug',
};

describe('every hint that names a command leads to a command that is not refused', () => {
  for (const w of WALKS) {
    test(`${w.code}: ${w.name}`, () => {
      const dir = w.fixture();
      const probe = w.probe.map((a) => a.replace('KEYDIR', keyDir));
      const first = problems(dir, probe).seen.filter((f) => f.code === w.code);
      expect(first.length, `${probe.join(' ')} should report ${w.code}`).toBeGreaterThan(0);
      const hint = first[0]!.hint ?? CATALOGUE[w.code].hint;
      if (w.says) expect(hint).toMatch(w.says);
      const cmds = commandsIn(hint).slice(0, w.steps ?? 1);
      expect(cmds.length, `the hint names a command: ${hint}`).toBe(w.steps ?? 1);
      w.before?.(dir);
      for (const c of cmds) {
        const line = w.fill ? w.fill(c, dir) : c;
        expect(line, `placeholder left in "${line}" (hint: ${hint})`).not.toMatch(
          /<|>|\bKEY\.pub\b|\bSIGNER\b|\bROOT\.|\bREF\b|\bTEXT\b|\bF\b|\bS\b/,
        );
        const r = run(dir, argv(line));
        expect(r.code, `\`artifacts ${line}\` from the hint of ${w.code} was refused:\n${r.stdout}\n${r.stderr}`).toBe(0);
      }
      if (w.resolves !== false) {
        const after = problems(dir, probe).seen.filter((f) => f.code === w.code);
        expect(after, `${w.code} is still reported after the hint was followed`).toEqual([]);
      }
    });
  }

  test('SNAPSHOT_DRIFT: the rehearsal the hint names, then the real rollback, end the drift', () => {
    const dir = promoted();
    writeFileSync(join(dir, RISK), readFileSync(join(dir, RISK), 'utf8').replace('| low |', '| high |'));
    const status = ['snapshot', 'status', '--framework', 'fwk-001', '--stage', 'design-review'];
    const hint = problems(dir, status).seen.find((f) => f.code === 'SNAPSHOT_DRIFT')!.hint!;
    const rehearsal = commandsIn(hint)[0]!;
    expect(run(dir, argv(rehearsal)).code).toBe(0);
    const real = argv(rehearsal.replace(' --dry-run', '')).concat('--key', key('root'));
    expect(run(dir, real).code).toBe(0);
    expect(run(dir, status).code).toBe(0);
  });
});

describe('no catalogue code slips by', () => {
  // A code may be both: its catalogue hint names no command, a situation's hint does.
  test('every code is walked or listed as naming no command', () => {
    const walked = new Set(WALKS.map((w) => w.code));
    for (const code of Object.keys(CATALOGUE) as ErrorCode[]) {
      const listed = NO_COMMAND[code] !== undefined;
      expect(walked.has(code) || listed, `${code}: add a walk for its hint, or list it in NO_COMMAND`).toBe(true);
    }
  });

  test('a code listed as naming no command has a hint that names no `artifacts` command', () => {
    for (const code of Object.keys(NO_COMMAND) as ErrorCode[]) {
      expect(commandsIn(CATALOGUE[code].hint), `${code}: its hint names a command now; walk it`).toEqual([]);
    }
  });

  test('the commands of a hint are found in order', () => {
    expect(commandsIn('Run `artifacts route fix` first (it moves the file to x), then `artifacts index add x`.')).toEqual([
      'route fix',
      'index add x',
    ]);
    expect(commandsIn('inspect .artifacts/journal, then `artifacts index recover --discard` and `index rebuild`.')).toEqual([
      'index recover --discard',
      'index rebuild',
    ]);
    expect(commandsIn('bump `version` first')).toEqual([]);
  });
});
