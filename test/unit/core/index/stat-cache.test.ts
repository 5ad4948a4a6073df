// The stat cache as lines: records survive a save and a load byte for byte, whatever a path
// holds; a damaged, torn or foreign line is a miss, never an error; dropped and replaced
// records stay dropped and replaced.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compareBytes } from '../../../../src/core/paths.js';
import { StatCache, STAT_CACHE_FILE, encodeResult } from '../../../../src/core/index/stat-cache.js';
import type { Inspection } from '../../../../src/core/metadata/inspect.js';
import type { Repo } from '../../../../src/core/repo.js';

function repo(): Repo {
  const root = mkdtempSync(join(tmpdir(), 'stat-cache-'));
  mkdirSync(join(root, '.artifacts', 'cache'), { recursive: true });
  return { root, cacheDir: join(root, '.artifacts', 'cache') } as Repo;
}
const stamp = (n: number) => ({ key: `${n}:1700000000000.25:1700000000000.5:${n};`, racy: false });
const artifact = (path: string): Inspection => ({
  type: 'artifact',
  entry: { id: 'a', version: '1', status: 'draft', framework: 'f', kind: 'k', path, content_address: 'sha256:00', size: 1 },
  findings: [],
});

const paths = ['docs/a.md', 'docs/"q".md', 'docs/back\\slash.md', 'docs/tab\there.md', 'docs/new\nline.md', 'docs/é.md', 'docs/\u2028.md'];

describe('stat cache lines', () => {
  test('lookups in any order, of stored and unknown paths, answer as a map would', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `d${i % 7}/f${String(i).padStart(3, '0')}${i % 5 === 0 ? 'é' : ''}.md`);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(names),
        fc.array(fc.constantFrom(...names), { maxLength: 80 }),
        fc.boolean(),
        async (stored, asked, sorted) => {
          const r = repo();
          const c = new StatCache(r, 'fp').load();
          for (const p of stored) c.set(p, stamp(names.indexOf(p)), artifact(p));
          await c.save();
          const d = new StatCache(r, 'fp').load();
          expect(d.size).toBe(stored.length);
          const order = sorted ? [...asked].sort(compareBytes) : asked;
          for (const p of order) {
            const want = stored.includes(p) ? encodeResult(artifact(p)) : undefined;
            expect([p, d.get(p, stamp(names.indexOf(p)).key)]).toEqual([p, want]);
          }
          // Dropping the records of files not in a list (sorted: one walk; else a set).
          const keep = sorted ? [...new Set(asked)].sort(compareBytes) : asked;
          d.set(names[0]!, stamp(0), artifact(names[0]!));
          d.retainOnly(keep);
          await d.save();
          const e = new StatCache(r, 'fp').load();
          for (const p of names) {
            const want = keep.includes(p) && (stored.includes(p) || p === names[0]) ? encodeResult(artifact(p)) : undefined;
            expect([p, e.get(p, stamp(names.indexOf(p)).key)]).toEqual([p, want]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('every record comes back after a save and a load, whatever the path holds', async () => {
    const r = repo();
    const c = new StatCache(r, 'fp').load();
    paths.forEach((p, i) => c.set(p, stamp(i), artifact(p)));
    await c.save();
    const d = new StatCache(r, 'fp').load();
    paths.forEach((p, i) => {
      expect(d.get(p, stamp(i).key)).toBe(encodeResult(artifact(p)));
      expect(d.get(p, stamp(i + 1).key), 'other stamps: a miss').toBeUndefined();
    });
    // Saved again untouched records are copied as they were; a replaced one is replaced.
    d.set(paths[0]!, stamp(99), { type: 'not-artifact' });
    d.retainOnly(paths.slice(0, 3));
    await d.save();
    const e = new StatCache(r, 'fp').load();
    expect(e.get(paths[0]!, stamp(0).key)).toBeUndefined();
    expect(e.get(paths[0]!, stamp(99).key)).toBe(encodeResult({ type: 'not-artifact' }));
    expect(e.get(paths[1]!, stamp(1).key)).toBe(encodeResult(artifact(paths[1]!)));
    for (const p of paths.slice(3)) expect(e.get(p, stamp(paths.indexOf(p)).key)).toBeUndefined();
    expect(readFileSync(join(r.cacheDir, STAT_CACHE_FILE), 'utf8').split('\n').length).toBe(1 + 3 + 1);
  });

  test('damaged, torn and foreign lines are misses; the good ones still serve', async () => {
    const r = repo();
    const c = new StatCache(r, 'fp').load();
    c.set('docs/a.md', stamp(1), artifact('docs/a.md'));
    c.set('docs/b.md', stamp(2), artifact('docs/b.md'));
    await c.save();
    const file = join(r.cacheDir, STAT_CACHE_FILE);
    const good = readFileSync(file, 'utf8');
    const [head, ...rest] = good.split('\n');
    const damaged = [
      head,
      'no tabs at all',
      '"docs/x.md\tonly one tab',
      'docs/y.md\tunquoted\tA{}',
      ...rest.filter((l) => l !== ''),
      '"\\ud800"\t1:1:1:1;\tA{}',
      '"docs/torn.md"\t3:3:3:3;\tA{"pa',
    ].join('\n');
    writeFileSync(file, damaged);
    const d = new StatCache(r, 'fp').load();
    expect(d.get('docs/b.md', stamp(2).key)).toBe(encodeResult(artifact('docs/b.md')));
    expect(d.get('docs/torn.md', '3:3:3:3;')).toBeUndefined();
    expect(d.get('docs/x.md', 'only one tab')).toBeUndefined();
    expect(d.get('docs/a.md', stamp(1).key)).toBe(encodeResult(artifact('docs/a.md')));
    // Lines out of path order (or a path twice: the escaped \u0061 is docs/a.md) are not a
    // file this tool wrote: nothing in it is served.
    writeFileSync(file, [head, ...rest.filter((l) => l !== ''), '"docs/\\u0061.md"\t9:9:9:9;\tA{}', ''].join('\n'));
    expect(new StatCache(r, 'fp').load().get('docs/b.md', stamp(2).key)).toBeUndefined();
    // Another identity: nothing is served.
    expect(new StatCache(r, 'other').load().get('docs/b.md', stamp(2).key)).toBeUndefined();
    // Not a cache at all: a miss.
    writeFileSync(file, '{"identity":');
    expect(new StatCache(r, 'fp').load().get('docs/b.md', stamp(2).key)).toBeUndefined();
  });
});
