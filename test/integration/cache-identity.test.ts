// One cache identity (src/core/stamp.ts): the stat cache, the clean-verification record, the
// index-digest memo, the config memo and the routing memo each serve a record only under the identity it was
// written under — package version, format versions, configuration and schema fingerprint.
// Each test shows the cache in use, then the same record ignored once the identity changes
// (another package version injected). The clock is moved past the racy window, never waited.
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { loadRouting } from '../../src/core/routing/routes.js';
import { indexRebuild, indexVerify, indexVerifySummary } from '../../src/core/index/operations.js';
import { cacheFingerprint } from '../../src/core/index/scan.js';
import { StatCache, stampFiles } from '../../src/core/index/stat-cache.js';
import { readIndexFile } from '../../src/core/index/store.js';
import { openRepo, type Repo } from '../../src/core/repo.js';
import { cacheIdentity, packageVersion, setClockForTests, stampOf, stampString } from '../../src/core/stamp.js';
import { git, plan, repoWith, testdir } from '../helpers.js';

const restores: Array<() => void> = [];
afterEach(() => {
  while (restores.length) restores.pop()!();
});
/** Every stamp written so far counts as settled. */
function settle(): void {
  restores.push(setClockForTests({ now: () => Date.now() + 10_000 }));
}
/** Run the rest of the test as another version of the tool. */
function upgrade(): void {
  restores.push(setClockForTests({ packageVersion: `${packageVersion()}-next` }));
}

function tree(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 4; i++) out[`docs/plans/fwk-001/p${i}.md`] = plan(`p${i}`);
  return out;
}

async function observed(dir: string): Promise<{ repo: Repo; scanned: () => boolean }> {
  let scanned = false;
  const repo = await openRepo({ cwd: dir, progress: () => void (scanned = true) });
  return { repo, scanned: () => scanned };
}

describe('one cache identity', () => {
  test('the identity changes with the package version and differs between caches', () => {
    const a = cacheIdentity('statCache', 'fp');
    expect(cacheIdentity('statCache', 'fp')).toBe(a);
    expect(cacheIdentity('statCache', 'other')).not.toBe(a);
    expect(cacheIdentity('cleanVerify', 'fp')).not.toBe(a);
    upgrade();
    expect(cacheIdentity('statCache', 'fp')).not.toBe(a);
  });

  test('stat cache: a saved result is served under the same identity, ignored under another', async () => {
    const dir = repoWith(tree(), { git: false });
    const repo = await openRepo({ cwd: dir });
    const file = join(dir, 'docs/plans/fwk-001/p0.md');
    settle();
    const stamp = stampFiles([file], Date.now() + 10_000);
    expect(stamp.racy).toBe(false);
    const cache = new StatCache(repo, cacheFingerprint(repo)).load();
    cache.set('docs/plans/fwk-001/p0.md', stamp, { type: 'not-artifact' } as never);
    await cache.save();
    expect(new StatCache(repo, cacheFingerprint(repo)).load().get('docs/plans/fwk-001/p0.md', stamp.key)).toBeDefined();
    // Another schema/config fingerprint, then another package version: a miss each time.
    expect(new StatCache(repo, 'another fingerprint').load().get('docs/plans/fwk-001/p0.md', stamp.key)).toBeUndefined();
    upgrade();
    expect(new StatCache(repo, cacheFingerprint(repo)).load().get('docs/plans/fwk-001/p0.md', stamp.key)).toBeUndefined();
  });

  test('stat cache: a racy stamp is not cached, and moving the clock (not sleeping) settles it', () => {
    const dir = repoWith(tree(), { git: false });
    const file = join(dir, 'docs/plans/fwk-001/p0.md');
    expect(stampFiles([file], Date.now()).racy).toBe(true);
    expect(stampFiles([file], Date.now() + 10_000).racy).toBe(false);
    restores.push(setClockForTests({ racyWindowMs: 60_000 }));
    expect(stampFiles([file], Date.now() + 10_000).racy).toBe(true);
  });

  test('clean-verification record: an unchanged tree is answered from it until the identity changes', async () => {
    const dir = repoWith(tree());
    await indexRebuild(await openRepo({ cwd: dir }));
    settle();
    const first = await observed(dir);
    expect((await indexVerifySummary(first.repo)).findings).toEqual([]);
    expect(first.scanned()).toBe(true);
    expect(existsSync(join(dir, '.artifacts/cache/clean-verify.json'))).toBe(true);
    const second = await observed(dir);
    expect((await indexVerifySummary(second.repo)).findings).toEqual([]);
    expect(second.scanned()).toBe(false);
    upgrade();
    const third = await observed(dir);
    expect((await indexVerifySummary(third.repo)).findings).toEqual([]);
    expect(third.scanned(), 'another version of the tool verifies afresh').toBe(true);
  });

  test('index-digest memo: trusted for the stamped index under the same identity only', async () => {
    const dir = repoWith(tree());
    await indexRebuild(await openRepo({ cwd: dir }));
    // An index whose digest no longer matches its content ...
    const indexPath = join(dir, 'artifacts_index.json');
    const edited = readFileSync(indexPath, 'utf8').replace(/"size": ?(\d+)/, (_m, n: string) => `"size":${Number(n) + 1}`);
    expect(edited).not.toBe(readFileSync(indexPath, 'utf8'));
    writeFileSync(indexPath, edited);
    const doc = JSON.parse(readFileSync(indexPath, 'utf8')) as { index_digest: string };
    const repo = await openRepo({ cwd: dir });
    expect((await readIndexFile(repo)).digestValid).toBe(false);
    // ... and a memo vouching for exactly this file under the current identity.
    mkdirSync(repo.cacheDir, { recursive: true });
    const memo = { identity: cacheIdentity('digestMemo'), stamp: stampString(stampOf(indexPath)!), index_digest: doc.index_digest };
    writeFileSync(join(repo.cacheDir, 'index-digest.json'), JSON.stringify(memo));
    expect((await readIndexFile(repo)).digestValid, 'the memo is used').toBe(true);
    upgrade();
    expect((await readIndexFile(repo)).digestValid, 'a memo from another version is not').toBe(false);
  });

  test('config memo: the remembered configuration is used under the same identity only', async () => {
    const dir = repoWith({});
    const file = join(dir, 'artifacts.config.yaml');
    const text = readFileSync(file, 'utf8');
    expect((await loadConfig(dir)).config.digest_algorithm).toBe('sha256');
    // A memo for exactly this file that says something else shows whether it is consulted.
    mkdirSync(join(dir, '.artifacts/cache'), { recursive: true });
    const memo = {
      identity: cacheIdentity('configMemo'),
      stamp: stampString(stampOf(file, { follow: true })!),
      text,
      result: { ...(await loadConfig(dir)).config, digest_algorithm: 'blake3' },
    };
    writeFileSync(join(dir, '.artifacts/cache/config.json'), JSON.stringify(memo));
    expect((await loadConfig(dir)).config.digest_algorithm, 'the memo is used').toBe('blake3');
    upgrade();
    expect((await loadConfig(dir)).config.digest_algorithm, 'a memo from another version is not').toBe('sha256');
  });

  test('routing memo: the parsed routes are remembered for this stamp and text only', async () => {
    const dir = repoWith({});
    const file = join(dir, 'artifact_routing.mdc');
    const load = () => loadRouting(dir, 'artifact_routing.mdc', 'routing_matrix.json');
    const kinds = async () => (await load()).routes.map((r) => r.kind);
    const real = await kinds();
    expect(real.length).toBeGreaterThan(0);
    settle();
    await load();
    const written = JSON.parse(readFileSync(join(dir, '.artifacts/cache/routing.json'), 'utf8')) as { result: { routes: unknown[] } };
    expect(written.result.routes.length, 'a settled routing file is remembered').toBe(real.length);
    // A memo for exactly this file that says something else shows whether it is consulted.
    const forged = {
      identity: cacheIdentity('routingMemo'),
      stamp: stampString(stampOf(file, { follow: true })!),
      text: readFileSync(file, 'utf8'),
      result: { routes: [{ kind: 'memo-only', path: 'x/{id}.md' }], findings: [] },
    };
    writeFileSync(join(dir, '.artifacts/cache/routing.json'), JSON.stringify(forged));
    expect(await kinds(), 'the memo is used').toEqual(['memo-only']);
    writeFileSync(join(dir, '.artifacts/cache/routing.json'), JSON.stringify({ ...forged, text: 'other' }));
    expect(await kinds(), 'a memo of another text is not').toEqual(real);
    writeFileSync(join(dir, '.artifacts/cache/routing.json'), JSON.stringify({ ...forged, result: { routes: 'x' } }));
    expect(await kinds(), 'a memo of another shape is not').toEqual(real);
    writeFileSync(join(dir, '.artifacts/cache/routing.json'), JSON.stringify(forged));
    upgrade();
    expect(await kinds(), 'a memo from another version is not').toEqual(real);
  });
});

describe('stat cache', () => {
  test('an edit that keeps the size and restores the mtime is still detected', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a', {}, 'AAAA\n') });
    const file = join(dir, 'docs/plans/fwk-001/a.md');
    // Past the racy window (2 s on mtime and ctime), so that the file is cached.
    settle();
    const repo = await openRepo({ cwd: dir });
    await indexRebuild(repo);
    expect((await indexVerify(repo)).findings).toEqual([]);
    expect(readFileSync(join(dir, '.artifacts/cache/stat-cache'), 'utf8')).toContain('docs/plans/fwk-001/a.md');
    const st = statSync(file);
    writeFileSync(file, plan('a', {}, 'BBBB\n'));
    utimesSync(file, st.atime, st.mtime);
    expect(statSync(file).size).toBe(st.size);
    const r = await indexVerify(await openRepo({ cwd: dir }));
    expect(r.findings[0]?.code).toBe('INDEX_STALE_ENTRY');
  });
});

describe('committed caches', () => {
  test('a stat-cache record forged for a changed file and committed is a miss in a clone: the change is found', async () => {
    const dir = repoWith({ 'docs/plans/fwk-001/a.md': plan('a', {}, 'AAAA\n') });
    const file = join(dir, 'docs/plans/fwk-001/a.md');
    settle();
    await indexRebuild(await openRepo({ cwd: dir }));
    expect((await indexVerify(await openRepo({ cwd: dir }))).findings).toEqual([]);
    // The attacker changes the artifact and points the old record at the new file's stamp.
    writeFileSync(file, plan('a', {}, 'CHANGED BODY\n'));
    const st = statSync(file);
    const cacheFile = join(dir, '.artifacts/cache/stat-cache');
    const forged = readFileSync(cacheFile, 'utf8').replace(
      /("docs\/plans\/fwk-001\/a\.md"\t)[^\t]*/,
      `$1${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino};`,
    );
    writeFileSync(cacheFile, forged);
    expect((await indexVerify(await openRepo({ cwd: dir }))).findings, 'the forgery answers where it was made').toEqual([]);
    git(dir, 'add', '-A');
    git(dir, 'add', '-f', '.artifacts/cache/stat-cache');
    git(dir, 'commit', '-qm', 'forged cache');
    // In the attacker's own checkout the forgery answers (someone who can write the work tree
    // can change anything); in any other checkout the stamps (inode, times to the
    // microsecond) differ, so the record is never used.
    const clone = testdir();
    git(clone, 'clone', '-q', dir, '.');
    expect(readFileSync(join(clone, '.artifacts/cache/stat-cache'), 'utf8')).toBe(forged);
    const codes = (await indexVerify(await openRepo({ cwd: clone }))).findings.map((f) => f.code);
    expect(codes).toContain('INDEX_STALE_ENTRY');
  });
});

describe('damaged stat-cache records', () => {
  test('a record whose result names another file is a miss: the tree is judged as it is', async () => {
    const files: Record<string, string> = {};
    for (const id of ['a1', 'a2', 'a3']) files[`docs/plans/fwk-001/${id}.md`] = plan(id);
    const dir = repoWith(files);
    settle();
    const first = await indexRebuild(await openRepo({ cwd: dir }));
    expect(first.findings).toEqual([]);
    const index = readFileSync(join(dir, 'artifacts_index.json'), 'utf8');
    const cacheFile = join(dir, '.artifacts/cache/stat-cache');
    const text = readFileSync(cacheFile, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('"docs/plans/fwk-001/a2.md"'))!;
    // Its own stamps kept; its entry re-pointed at a1's path (and, in a second forgery, an
    // invalid result whose finding is about a1).
    const forgeries = [
      line.replace('"path":"docs/plans/fwk-001/a2.md"', '"path":"docs/plans/fwk-001/a1.md"'),
      `${line.split('\t').slice(0, 2).join('\t')}\tR${JSON.stringify({
        type: 'invalid',
        metadataPath: 'docs/plans/fwk-001/a2.md',
        findings: [{ code: 'METADATA_PARSE', severity: 'error', message: 'forged', path: 'docs/plans/fwk-001/a1.md' }],
      })}`,
    ];
    for (const forged of forgeries) {
      writeFileSync(cacheFile, text.replace(line, forged));
      const r = await indexRebuild(await openRepo({ cwd: dir }));
      expect(r.findings, forged).toEqual([]);
      expect(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).toBe(index);
    }
  });
});
