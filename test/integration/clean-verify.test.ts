// The clean-verification record (src/core/index/clean-verify.ts): an unchanged tree is
// answered from stamps alone, and every kind of change to what verification depends on
// sends it back to the full comparison, with exactly the findings the full path gives.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  cpSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { setClockForTests } from '../../src/core/stamp.js';
import { indexRebuild, indexVerify, indexVerifySummary } from '../../src/core/index/operations.js';
import { makeIndexDocument, parseIndex } from '../../src/core/index/document.js';
import { encodeRecord } from '../../src/core/store/journal.js';
import { openRepo, type Repo } from '../../src/core/repo.js';
import type { Finding } from '../../src/core/errors.js';
import { plan, repoWith, testdir } from '../helpers.js';

const RECORD = '.artifacts/cache/clean-verify.json';

function files(): Record<string, string> {
  const out: Record<string, string> = {
    'models/m/1.0.0/m.bin': 'weights-v1',
    'models/m/1.0.0/m.bin.artifact.yaml': 'id: m\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: model\n',
  };
  for (let i = 0; i < 12; i++) out[`docs/plans/fwk-001/p${i}.md`] = plan(`p${i}`);
  return out;
}

/** Opens a repository that reports whether a scan (the full path) ran. */
async function observed(dir: string): Promise<{ repo: Repo; scanned: () => boolean }> {
  let scanned = false;
  const repo = await openRepo({ cwd: dir, progress: () => void (scanned = true) });
  return { repo, scanned: () => scanned };
}

const key = (f: Finding) => `${f.code} ${f.path ?? ''} ${f.message}`;
const keys = (fs: readonly Finding[]) => fs.map(key).sort();

interface Mutation {
  name: string;
  apply: (dir: string) => void;
}

const MUTATIONS: Mutation[] = [
  {
    name: 'same-size content change with the mtime put back',
    apply: (dir) => {
      const p = join(dir, 'docs/plans/fwk-001/p3.md');
      const st = statSync(p);
      writeFileSync(p, readFileSync(p, 'utf8').replace('Body text.', 'Body TEXT.'));
      utimesSync(p, st.atime, st.mtime);
    },
  },
  { name: 'a new untracked artifact', apply: (dir) => writeFileSync(join(dir, 'docs/plans/fwk-001/p99.md'), plan('p99')) },
  { name: 'a deleted artifact', apply: (dir) => rmSync(join(dir, 'docs/plans/fwk-001/p5.md')) },
  {
    name: 'the file a sidecar describes changed',
    apply: (dir) => writeFileSync(join(dir, 'models/m/1.0.0/m.bin'), 'weights-v2'),
  },
  {
    name: 'an index entry edited by hand',
    apply: (dir) => {
      const p = join(dir, 'artifacts_index.json');
      writeFileSync(
        p,
        readFileSync(p, 'utf8').replace(/"status": ?"draft"/, (m) => m.replace('draft', 'review')),
      );
    },
  },
  {
    name: 'a committed transaction pending in the journal',
    apply: (dir) => {
      const doc = parseIndex(readFileSync(join(dir, 'artifacts_index.json'), 'utf8'));
      const next = makeIndexDocument(
        doc.digest_algorithm,
        doc.artifacts.filter((e) => e.id !== 'p1'),
      );
      appendFileSync(
        join(dir, '.artifacts/journal'),
        encodeRecord({
          txid: 'feedface',
          before: doc.index_digest,
          after: next.index_digest,
          digest_algorithm: doc.digest_algorithm,
          reset: false,
          entries: [{ op: 'remove', path: 'docs/plans/fwk-001/p1.md' }],
        }),
      );
    },
  },
  {
    name: 'the digest algorithm changed in the config',
    apply: (dir) => writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: blake3\n'),
  },
  {
    name: 'a per-kind schema added',
    apply: (dir) => {
      mkdirSync(join(dir, 'schemas/kinds'), { recursive: true });
      writeFileSync(join(dir, 'schemas/kinds/plan.schema.json'), JSON.stringify({ type: 'object', required: ['owner'] }));
    },
  },
  {
    // The same files, the same listing, the same inodes: only the directory changed.
    name: 'a directory moved out of the repository and replaced by a symlink to it',
    apply: (dir) => {
      renameSync(join(dir, 'docs/plans'), `${dir}-plans`);
      symlinkSync(`${dir}-plans`, join(dir, 'docs/plans'));
    },
  },
];

/** Move the clock past the racy window instead of waiting it out. */
let restoreClock: (() => void) | undefined;
function settle(): void {
  restoreClock ??= setClockForTests({ now: () => Date.now() + 10_000 });
}
afterEach(() => {
  restoreClock?.();
  restoreClock = undefined;
});

describe('clean-verification record', () => {
  test('an unchanged tree is answered from stamps; every change goes back to the full comparison with the same findings', async () => {
    // Stamps younger than two seconds are never trusted (the racy-timestamp rule): the
    // clock is moved past the window rather than waited out.
    const base = repoWith(files());
    await indexRebuild(await openRepo({ cwd: base }));
    const dirs = MUTATIONS.map(() => {
      const d = testdir();
      cpSync(base, d, { recursive: true });
      return d;
    });
    settle();

    for (const [i, m] of MUTATIONS.entries()) {
      const dir = dirs[i]!;
      const first = await observed(dir);
      const full = await indexVerifySummary(first.repo);
      expect(full.findings, m.name).toEqual([]);
      expect(first.scanned(), `${m.name}: the first verification scans`).toBe(true);
      expect(existsSync(join(dir, RECORD)), m.name).toBe(true);

      const second = await observed(dir);
      const fast = await indexVerifySummary(second.repo);
      expect(second.scanned(), `${m.name}: an unchanged tree is not scanned again`).toBe(false);
      expect(fast, m.name).toEqual(full);

      m.apply(dir);
      const after = await observed(dir);
      const summary = await indexVerifySummary(after.repo);
      expect(after.scanned(), `${m.name}: the change is noticed`).toBe(true);
      const reference = await indexVerify(await openRepo({ cwd: dir, root: dir }), {});
      expect(summary.findings.length, m.name).toBeGreaterThan(0);
      expect(keys(summary.findings), m.name).toEqual(keys(reference.findings));
    }
  });

  test('a tree with a stamp younger than two seconds leaves no record', async () => {
    const dir = repoWith(files());
    const repo = await openRepo({ cwd: dir });
    await indexRebuild(repo);
    expect((await indexVerifySummary(repo)).findings).toEqual([]);
    expect(existsSync(join(dir, RECORD))).toBe(false);
  });

  test('a verification with findings leaves no record, and a damaged record is ignored', async () => {
    const dir = repoWith(files());
    await indexRebuild(await openRepo({ cwd: dir }));
    writeFileSync(join(dir, 'docs/plans/fwk-001/extra.md'), plan('extra'));
    settle();
    const r = await indexVerifySummary(await openRepo({ cwd: dir }));
    expect(r.findings.map((f) => f.code)).toEqual(['INDEX_UNINDEXED']);
    expect(existsSync(join(dir, RECORD))).toBe(false);

    rmSync(join(dir, 'docs/plans/fwk-001/extra.md'));
    mkdirSync(join(dir, '.artifacts/cache'), { recursive: true });
    writeFileSync(join(dir, RECORD), '{"version":1,"tree":');
    const o = await observed(dir);
    expect((await indexVerifySummary(o.repo)).findings).toEqual([]);
    expect(o.scanned()).toBe(true);
  });
});
