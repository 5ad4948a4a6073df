// Property: for random repository trees built from the hostile fixtures' parts (symlinks
// leading outside or to /dev/zero, FIFOs, huge and deeply nested files, forged snapshots
// and indexes, directories where files belong), every command finishes under a deadline,
// exits with a documented status, and writes only inside the repository.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CONTRACT, gitInit, plan, ROUTING, testdir } from '../helpers.js';
import { DOCUMENTED_EXITS, guarded, makeSentinel, runHostile, type Sentinel } from '../support/hostile.js';

// Places in a repository where an attacker may put something, and what they may put there.
const SPOTS = [
  'docs/plans/fwk-001/a.md',
  'docs/plans/fwk-001/b.md',
  'models/m/1/m.bin.artifact.yaml',
  'artifact_routing.mdc',
  'routing_matrix.json',
  'artifacts.config.yaml',
  'artifacts_index.json',
  'artifacts_index.json.lock',
  'frameworks/fwk-001.yaml',
  'schemas/kinds/plan.schema.json',
  '.artifacts',
  '.artifacts/journal',
  '.artifacts/cache',
  '.artifacts/objects',
  '.artifacts/snapshots/fwk-001/design-review/000001.json',
  '.artifacts/snapshots/fwk-001/design-review/000001.sig',
  '.artifacts/snapshots/fwk-001/design-review/000001.hold',
  '.artifacts/snapshots/fwk-001/design-review',
  '.artifacts/keys/trust/000001.json',
  '.artifacts/keys/trusted/evil.pub',
  'docs',
] as const;

type Part =
  | { t: 'link-outside' }
  | { t: 'link-secret' }
  | { t: 'link-dev-zero' }
  | { t: 'link-dangling' }
  | { t: 'link-loop' }
  | { t: 'fifo' }
  | { t: 'dir' }
  | { t: 'huge' }
  | { t: 'deep' }
  | { t: 'garbage'; bytes: Uint8Array }
  | { t: 'empty-object' }
  | { t: 'json-bomb' };

const part: fc.Arbitrary<Part> = fc.oneof(
  fc.constant<Part>({ t: 'link-outside' }),
  fc.constant<Part>({ t: 'link-secret' }),
  fc.constant<Part>({ t: 'link-dev-zero' }),
  fc.constant<Part>({ t: 'link-dangling' }),
  fc.constant<Part>({ t: 'link-loop' }),
  fc.constant<Part>({ t: 'fifo' }),
  fc.constant<Part>({ t: 'dir' }),
  fc.constant<Part>({ t: 'huge' }),
  fc.constant<Part>({ t: 'deep' }),
  fc.uint8Array({ maxLength: 64 }).map<Part>((bytes) => ({ t: 'garbage', bytes })),
  fc.constant<Part>({ t: 'empty-object' }),
  fc.constant<Part>({ t: 'json-bomb' }),
);

const tree = fc.uniqueArray(fc.tuple(fc.constantFrom(...SPOTS), part), { minLength: 1, maxLength: 4, selector: ([spot]) => spot });

function deepYaml(): string {
  return `---\nid: deep\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: plan\nx: ${'['.repeat(3000)}${']'.repeat(3000)}\n---\n`;
}

function place(repo: string, sentinel: Sentinel, spot: string, p: Part): void {
  const abs = join(repo, spot);
  execFileSync('rm', ['-rf', abs]);
  mkdirSync(dirname(abs), { recursive: true });
  switch (p.t) {
    case 'link-outside':
      return symlinkSync(sentinel.dir, abs);
    case 'link-secret':
      return symlinkSync(join(sentinel.dir, 'secret.txt'), abs);
    case 'link-dev-zero':
      return symlinkSync('/dev/zero', abs);
    case 'link-dangling':
      return symlinkSync(join(repo, 'no', 'such', 'file'), abs);
    case 'link-loop':
      return symlinkSync(abs, abs);
    case 'fifo':
      execFileSync('mkfifo', [abs]);
      return;
    case 'dir':
      mkdirSync(join(abs, 'inner'), { recursive: true });
      return;
    case 'huge':
      // Sparse: 3 GiB on paper, nothing on disk.
      writeFileSync(abs, '---\n');
      truncateSync(abs, 3 * 1024 ** 3);
      return;
    case 'deep':
      return writeFileSync(abs, deepYaml());
    case 'garbage':
      return writeFileSync(abs, p.bytes);
    case 'empty-object':
      return writeFileSync(abs, '{}');
    case 'json-bomb':
      return writeFileSync(abs, `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
  }
}

const COMMANDS: string[][] = [
  ['validate'],
  ['index', 'verify'],
  ['route', 'check'],
  ['route', 'fix', '--dry-run'],
  ['snapshot', 'verify', '--all'],
  ['snapshot', 'list'],
  ['gc', '--dry-run'],
  ['gate', '--framework', 'fwk-001', '--stage', 'design-review'],
  ['index', 'rebuild'],
  ['index', 'add', 'docs'],
  ['history', 'a'],
];

function baseRepo(): string {
  const repo = testdir({
    'artifacts.config.yaml': 'digest_algorithm: sha256\n',
    'artifact_routing.mdc': ROUTING,
    'frameworks/fwk-001.yaml': CONTRACT,
    'docs/plans/fwk-001/a.md': plan('a', { status: 'review' }),
    'docs/plans/fwk-001/b.md': plan('b'),
  });
  gitInit(repo);
  return repo;
}

describe('hostile trees (property)', () => {
  test('every command finishes in time, exits with a documented status and writes only inside the repository', () => {
    const runs = process.env.CI ? 12 : 20;
    fc.assert(
      fc.property(tree, fc.constantFrom(...COMMANDS), fc.constantFrom(...COMMANDS), (parts, cmdA, cmdB) => {
        const sentinel = makeSentinel();
        const repo = baseRepo();
        for (const [spot, p] of parts) place(repo, sentinel, spot, p);
        for (const cmd of [cmdA, cmdB]) {
          const { result: r, problems } = guarded(repo, sentinel, () => runHostile(repo, cmd, { timeoutMs: 20_000 }));
          const what = `${cmd.join(' ')} over ${JSON.stringify(parts.map(([s, p]) => [s, p.t]))}`;
          expect(problems, what).toEqual([]);
          expect(r.signal, `${what}: killed (deadline)`).toBeNull();
          expect(DOCUMENTED_EXITS as readonly number[], `${what}: exit ${r.code}\n${r.stderr}`).toContain(r.code);
          expect(r.doc, `${what}: stdout is one JSON document`).toBeDefined();
          expect(r.stdout + r.stderr, `${what}: echoed a file from outside the repository`).not.toContain('SENTINEL-SECRET-CONTENT');
          expect(r.maxRssKb, `${what}: memory`).toBeLessThan(400 * 1024);
        }
      }),
      { numRuns: runs, seed: 20261123, endOnFailure: true },
    );
  });
});
