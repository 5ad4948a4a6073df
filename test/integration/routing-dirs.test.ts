// Directory routes (SPEC §4): `- kind: doc` / `dirs: [content/, guides/]` — an artifact
// of the kind may sit anywhere below one of the directories under any file name.
import fc from 'fast-check';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  canonicalPathFor,
  checkArtifactRoutes,
  checkRouteTable,
  CONFLICT_FINDINGS_CAP,
  parseRoutingText,
  routeDirectories,
  routeProblems,
  type Route,
  type Routing,
} from '../../src/core/routing/routes.js';
import type { IndexEntry } from '../../src/core/metadata/inspect.js';
import { controlPathProblem, isInside } from '../../src/core/paths.js';
import { git, gitInit, md, read, run, runJson, testdir } from '../helpers.js';

function routing(routes: Route[], commands: Array<[string, string, string]> = []): Routing {
  return {
    routes,
    commands: commands.map(([command, kind, writes]) => ({ command, kind, writes })),
    present: true,
    routingFile: 'artifact_routing.mdc',
    commandFile: 'routing_matrix.json',
    findings: [],
  };
}
const codes = (r: Routing) => checkRouteTable(r).map((f) => f.code);
const doc = (id: string, extra: Record<string, string> = {}) =>
  md({ id, version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'doc', ...extra });
const entry = (path: string, kind = 'doc'): IndexEntry => ({ id: 'x', version: '1', framework: 'f', kind, path }) as unknown as IndexEntry;

describe('dirs routes: parsing', () => {
  test('a dirs route is read as written; routeDirectories normalises it', async () => {
    const r = await parseRoutingText(
      '---\nroutes:\n  - kind: doc\n    dirs: [content/, "./guides/", ""]\n  - kind: plan\n    path: docs/plans/{id}.md\n---\n',
      'r.mdc',
    );
    expect(r.findings).toEqual([]);
    expect(r.routes).toEqual([
      { kind: 'doc', dirs: ['content/', './guides/', ''], line: 3 },
      { kind: 'plan', path: 'docs/plans/{id}.md', line: 5 },
    ]);
    expect(routeDirectories(r.routes[0]!)).toEqual(['content', 'guides', '']);
    expect(routeDirectories(r.routes[1]!)).toEqual(['docs/plans']);
    expect(routeDirectories({ kind: 'x', dirs: ['.', './', 'a//'] })).toEqual(['', '', 'a']);
  });

  test.each([
    ['both path and dirs', '    path: docs/{id}.md\n    dirs: [docs]\n', 'has both path and dirs'],
    ['neither', '    title: x\n', 'needs path (a template) or dirs'],
    ['an empty list', '    dirs: []\n', 'empty dirs list'],
    ['a non-string entry', '    dirs: [docs, 3]\n', 'dirs entry 2 that is not a string'],
    ['a mapping entry', '    dirs: [{a: b}]\n', 'dirs entry 1 that is not a string'],
    ['dirs not a list', '    dirs: docs\n', 'dirs that is not a list'],
    ['dirs null', '    dirs:\n', 'dirs that is not a list'],
    ['path not a string', '    path: [a]\n', 'path that is not a string'],
  ])('%s is a ROUTING_INVALID finding naming the route', async (_name, body, message) => {
    const r = await parseRoutingText(`---\nroutes:\n  - kind: doc\n${body}---\n`, 'r.mdc');
    expect(r.routes).toEqual([]);
    expect(r.findings.map((f) => f.code)).toEqual(['ROUTING_INVALID']);
    expect(r.findings[0]!.message).toContain('route 1 (kind "doc")');
    expect(r.findings[0]!.message).toContain(message);
  });
});

describe('dirs routes: unsafe directories are ROUTE_INVALID_PATH', () => {
  const attacks = [
    '.git',
    '.GIT/',
    '.git/hooks',
    'docs/.Git./x',
    'docs/.g\u200cit',
    'git~1/x',
    '.artifacts',
    '.artifacts/objects',
    './.ARTIFACTS/',
    '../x',
    'a/../../x',
    '/abs',
    '/',
    'C:/x',
    'a\\b',
    'a\0b',
    'artifacts.config.yaml',
    'artifact_routing.mdc',
    'routing_matrix.json',
    'artifacts_index.json',
    'artifacts_index.json.lock',
    'a//b',
    'a/./b',
    'docs/{id}',
    'tab\there',
    'a\bb',
    'del\x7f',
    'x/\u009bc',
    'CON',
    'aux/x',
    'docs/nul.txt',
    'lpt1',
  ];
  test.each(attacks)('dirs: [%j]', (dir) => {
    const found = checkRouteTable(routing([{ kind: 'doc', dirs: ['content', dir] }]));
    expect(found.map((f) => f.code)).toEqual(['ROUTE_INVALID_PATH']);
    expect(found[0]!.message).toContain('dirs entry');
    expect(found[0]!.hint).toContain('"" is the root');
  });
  test.each(['docs/tab\t/{id}.md', 'docs/con/{id}.md', 'docs/{id}/aux{ext}', 'x\x7f/{id}.md'])(
    'a template with a control character or a Windows device name (%j)',
    (path) => {
      expect(codes(routing([{ kind: 'plan', path }]))).toEqual(['ROUTE_INVALID_PATH']);
    },
  );
  test('a directory or template deeper than the limit is refused, not walked', () => {
    const deep = Array.from({ length: 200_000 }, () => 'a').join('/');
    expect(codes(routing([{ kind: 'doc', dirs: [deep] }]))).toEqual(['ROUTE_INVALID_PATH']);
    expect(codes(routing([{ kind: 'plan', path: `${deep}/{id}.md` }]))).toEqual(['ROUTE_INVALID_PATH']);
    expect(codes(routing([{ kind: 'doc', dirs: ['a'] }], [['/doc', 'doc', `${deep}/x`]]))).toEqual([]);
    expect(codes(routing([{ kind: 'doc', dirs: [Array.from({ length: 100 }, () => 'a').join('/')] }]))).toEqual([]);
  });
  test('the root and ordinary directories are accepted', () => {
    for (const dirs of [[''], ['.'], ['./'], ['content/', 'guides'], ['docs/.github', 'a b/c', '..a', 'x..']]) {
      expect(codes(routing([{ kind: 'doc', dirs }])), JSON.stringify(dirs)).toEqual([]);
    }
  });
  test('a directory named like a control file of a custom config is refused too', () => {
    const r = { ...routing([{ kind: 'doc', dirs: ['Routes.MDC'] }]), routingFile: 'routes.mdc' };
    expect(codes(r)).toEqual(['ROUTE_INVALID_PATH']);
  });
  test('an invalid dirs route routes nothing: its artifacts are neither misplaced nor moved', () => {
    const r = routing([{ kind: 'doc', dirs: ['.git'] }]);
    expect(checkArtifactRoutes(r, [entry('notes/a.md')])).toEqual([]);
  });
});

describe('dirs routes: properties', () => {
  const CONTROL = {
    files: ['artifacts_index.json', 'artifacts_index.json.lock', 'artifacts.config.yaml', 'artifact_routing.mdc', 'routing_matrix.json'],
    dirs: ['.artifacts'],
  };
  const seg = fc.constantFrom(
    '',
    '.',
    '..',
    '.git',
    '.GIT.',
    'Content',
    'content',
    'a',
    'b b',
    '.artifacts',
    '{id}',
    'a\\b',
    '/',
    'x\u200c',
    'artifacts.config.yaml',
  );
  const dir = fc.array(seg, { minLength: 0, maxLength: 4 }).map((s) => s.join('/'));
  const routes = fc.array(
    fc.record({ kind: fc.constantFrom('doc', 'plan', 'note'), dirs: fc.array(dir, { minLength: 1, maxLength: 4 }) }),
    { minLength: 1, maxLength: 5 },
  );
  test('any dirs table is judged without throwing, the same way twice; a usable route only ever moves files to safe paths', () => {
    fc.assert(
      fc.property(routes, fc.constantFrom('x.md', 'deep/y.md', 'a/b/c.md'), (rs, file) => {
        const r = { ...routing(rs), control: CONTROL };
        const once = checkRouteTable(r);
        expect(checkRouteTable({ ...r, routes: rs.map((x) => ({ ...x })) })).toEqual(once);
        for (const route of rs) {
          if (routeProblems(route, CONTROL).length > 0) continue;
          const to = canonicalPathFor(route, entry(`elsewhere/${file}`, route.kind));
          expect(isInside('/repo', `/repo/${to}`)).toBe(true);
          expect(controlPathProblem(to, CONTROL)).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('dirs routes: conflicts', () => {
  test('equal or nested directories of two kinds overlap; siblings do not', () => {
    expect(
      codes(
        routing([
          { kind: 'doc', dirs: ['content', 'guides'] },
          { kind: 'plan', path: 'guides/{id}.md' },
        ]),
      ),
    ).toEqual(['ROUTE_OVERLAP']);
    expect(
      codes(
        routing([
          { kind: 'doc', dirs: ['content', 'guides'] },
          { kind: 'plan', path: 'content/plans/{id}.md' },
        ]),
      ),
    ).toEqual(['ROUTE_OVERLAP']);
    // The later route's directory holding the earlier one's is found too.
    expect(
      codes(
        routing([
          { kind: 'plan', path: 'content/plans/{id}.md' },
          { kind: 'doc', dirs: ['guides', 'content'] },
        ]),
      ),
    ).toEqual(['ROUTE_OVERLAP']);
    expect(
      codes(
        routing([
          { kind: 'doc', dirs: ['content'] },
          { kind: 'note', dirs: ['notes', 'content/x'] },
        ]),
      ),
    ).toEqual(['ROUTE_OVERLAP']);
    expect(
      codes(
        routing([
          { kind: 'doc', dirs: ['content', 'guides'] },
          { kind: 'plan', path: 'plans/{id}.md' },
          { kind: 'note', dirs: ['contents', 'guide'] },
        ]),
      ),
    ).toEqual([]);
  });
  test('the root overlaps every other route, with a hint that says why', () => {
    const found = checkRouteTable(
      routing([
        { kind: 'doc', dirs: [''] },
        { kind: 'plan', path: 'plans/{id}.md' },
        { kind: 'note', dirs: ['notes'] },
      ]),
    );
    expect(found.map((f) => f.code)).toEqual(['ROUTE_OVERLAP', 'ROUTE_OVERLAP']);
    expect(found[0]!.message).toContain('"doc" (.)');
    expect(found[0]!.hint).toContain('repository root');
  });
  test('directories of one route may repeat or nest: harmless', () => {
    expect(codes(routing([{ kind: 'doc', dirs: ['content', 'content/a', 'content/', ''] }]))).toEqual([]);
    const r = routing([{ kind: 'doc', dirs: ['content', 'content/a'] }]);
    expect(checkArtifactRoutes(r, [entry('content/a/b/x.md'), entry('content/y.md')])).toEqual([]);
  });
  test('directories differing only by case collide', () => {
    expect(
      codes(
        routing([
          { kind: 'doc', dirs: ['Content'] },
          { kind: 'note', dirs: ['content'] },
        ]),
      ),
    ).toEqual(['ROUTE_CASE_COLLISION']);
    expect(
      codes(
        routing([
          { kind: 'doc', dirs: ['Docs/Plans'] },
          { kind: 'plan', path: 'docs/plans/{id}.md' },
        ]),
      ),
    ).toEqual(['ROUTE_CASE_COLLISION']);
  });
  test('the same kind with a template and a dirs route is ROUTE_DUPLICATE_KIND', () => {
    const found = checkRouteTable(
      routing([
        { kind: 'doc', dirs: ['content'] },
        { kind: 'doc', path: 'docs/{id}.md' },
      ]),
    );
    expect(found.map((f) => f.code)).toEqual(['ROUTE_DUPLICATE_KIND']);
    expect(found[0]!.message).toContain('dirs: ["content"], docs/{id}.md');
  });
  test('commands: writing below any listed directory is the route; elsewhere drifts; into another kind collides', () => {
    const routes: Route[] = [
      { kind: 'doc', dirs: ['content', 'guides'] },
      { kind: 'plan', path: 'plans/{id}.md' },
    ];
    expect(codes(routing(routes, [['/doc', 'doc', 'guides/new']]))).toEqual([]);
    expect(codes(routing(routes, [['/doc', 'doc', 'content']]))).toEqual([]);
    const drift = checkRouteTable(routing(routes, [['/doc', 'doc', 'out']]));
    expect(drift.map((f) => f.code)).toEqual(['COMMAND_DRIFT']);
    expect(drift[0]!.message).toContain('directories are content, guides');
    expect(drift[0]!.hint).toContain('"writes": "content"');
    expect(codes(routing(routes, [['/doc', 'doc', 'plans']]))).toEqual(['COMMAND_DRIFT', 'COMMAND_COLLISION']);
    expect(codes(routing(routes, [['/plan', 'plan', 'guides']]))).toEqual(['COMMAND_DRIFT', 'COMMAND_COLLISION']);
    // A deeper directory of the command's own kind inside another kind's is its own.
    expect(
      codes(
        routing(
          [
            { kind: 'doc', dirs: [''] },
            { kind: 'plan', dirs: ['plans'] },
          ],
          [['/plan', 'plan', 'plans/x']],
        ),
      ),
    ).toEqual(['ROUTE_OVERLAP']);
    expect(
      codes(
        routing(
          [
            { kind: 'doc', dirs: [''] },
            { kind: 'plan', dirs: ['plans'] },
          ],
          [['/doc', 'doc', 'plans/x']],
        ),
      ),
    ).toEqual(['ROUTE_OVERLAP', 'COMMAND_COLLISION']);
  });
  test('thousands of overlapping routes give a bounded report', () => {
    const routes: Route[] = Array.from({ length: 3000 }, (_, i) => ({ kind: `k${i}`, dirs: ['', `d${i}`, `d${i}/x`] }));
    const commands: Array<[string, string, string]> = Array.from({ length: 3000 }, (_, i) => [`/c${i}`, `k${i}`, 'elsewhere/y']);
    const found = checkRouteTable(routing(routes, commands));
    const count = (code: string) => found.filter((f) => f.code === code).length;
    expect(count('ROUTE_OVERLAP')).toBe(CONFLICT_FINDINGS_CAP + 1);
    expect(count('COMMAND_COLLISION')).toBe(CONFLICT_FINDINGS_CAP + 1);
    expect(found.at(-1)!.message).toContain('not listed');
  });
});

describe('dirs routes: canonical paths', () => {
  const route: Route = { kind: 'doc', dirs: ['content/', 'guides'] };
  test('a file below any listed directory is where it belongs, under any name and depth', () => {
    expect(canonicalPathFor(route, entry('content/a/b/c/Any Name.md'))).toBe('content/a/b/c/Any Name.md');
    expect(canonicalPathFor(route, entry('guides/x.markdown'))).toBe('guides/x.markdown');
  });
  test('elsewhere it belongs in the first directory under its own file name', () => {
    expect(canonicalPathFor(route, entry('notes/deep/x.md'))).toBe('content/x.md');
    expect(canonicalPathFor(route, entry('contents/x.md'))).toBe('content/x.md');
    expect(canonicalPathFor({ kind: 'doc', dirs: ['', 'x'] }, entry('a/b.md'))).toBe('a/b.md');
    expect(canonicalPathFor({ kind: 'doc', dirs: ['./'] }, entry('b.md'))).toBe('b.md');
  });
  test('a route listing thousands of directories gives short messages', () => {
    const many: Route = { kind: 'doc', dirs: Array.from({ length: 10_000 }, (_, i) => `d${i}`) };
    const found = checkArtifactRoutes(routing([many]), [entry('notes/x.md'), entry('d9999/deep/y.md')]);
    expect(found.map((f) => f.code)).toEqual(['ROUTE_MISMATCH']);
    expect(found[0]!.message).toContain('d0, d1, d2 and 9997 more');
    expect(found[0]!.message.length).toBeLessThan(300);
    const dup = checkRouteTable(routing([many, { ...many, dirs: ['.git', ...many.dirs!] }]));
    expect(dup.map((f) => f.code).sort()).toEqual(['ROUTE_DUPLICATE_KIND', 'ROUTE_INVALID_PATH']);
    for (const f of dup) expect(f.message.length, f.code).toBeLessThan(600);
  });

  test('ROUTE_MISMATCH names the directories and the target', () => {
    const found = checkArtifactRoutes(routing([route]), [entry('notes/x.md'), entry('content/y.md')]);
    expect(found.map((f) => `${f.code} ${f.path}`)).toEqual(['ROUTE_MISMATCH notes/x.md']);
    expect(found[0]!.message).toContain('content, guides');
    expect(found[0]!.hint).toContain('content/x.md');
  });
});

const DIRS_ROUTING =
  '---\nroutes:\n  - kind: doc\n    dirs: [content/, guides/]\n  - kind: plan\n    path: docs/plans/{framework}/{id}.md\n---\n';

function docsRepo(files: Record<string, string> = {}): string {
  const dir = testdir({
    'artifacts.config.yaml': 'digest_algorithm: sha256\n',
    '.gitignore': '.artifacts/\n',
    'content/a/b/deep.md': doc('deep'),
    'content/Any Name.md': doc('any-name'),
    'guides/intro.md': doc('intro'),
    'docs/plans/fwk-001/p.md': md({ id: 'p', version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'plan' }),
    ...files,
  });
  gitInit(dir, false);
  // Indexed and committed before the routes exist, so misplaced files can be indexed.
  expect(run(dir, ['index', 'rebuild']).code).toBe(0);
  writeFileSync(join(dir, 'artifact_routing.mdc'), DIRS_ROUTING);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'init');
  return dir;
}

describe('dirs routes on a repository', () => {
  test('route check and validate accept files anywhere below the directories', () => {
    const dir = docsRepo();
    const check = runJson(dir, ['route', 'check']);
    expect(check.doc.findings).toEqual([]);
    expect(check.code).toBe(0);
    expect(run(dir, ['validate']).code).toBe(0);
  });

  test('route <file>: its own path when it fits, else the first directory and its file name', () => {
    const dir = docsRepo({ 'notes/x/stray.md': doc('stray') });
    expect(run(dir, ['route', 'content/a/b/deep.md']).stdout).toBe('content/a/b/deep.md\n');
    expect(run(dir, ['route', 'notes/x/stray.md']).stdout).toBe('content/stray.md\n');
    const check = runJson(dir, ['route', 'check']);
    expect(check.code).toBe(1);
    expect((check.doc.findings as Array<{ code: string; path: string }>).map((f) => `${f.code} ${f.path}`)).toEqual([
      'ROUTE_MISMATCH notes/x/stray.md',
    ]);
  });

  test('route fix moves a misplaced file into the first directory, tracked, with its sidecar, and re-points the index', () => {
    const dir = docsRepo({
      'notes/x/stray.md': doc('stray'),
      'data/table.csv': 'a,b\n1,2\n',
      'data/table.csv.artifact.yaml': 'id: table\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: doc\n',
    });
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.code).toBe(0);
    expect(fix.doc.moves).toEqual([
      {
        from: 'data/table.csv',
        to: 'content/table.csv',
        sidecar: { from: 'data/table.csv.artifact.yaml', to: 'content/table.csv.artifact.yaml' },
      },
      { from: 'notes/x/stray.md', to: 'content/stray.md' },
    ]);
    expect(read(dir, 'content/stray.md')).toBe(doc('stray'));
    expect(existsSync(join(dir, 'notes/x/stray.md'))).toBe(false);
    const status = git(dir, 'status', '--porcelain').split('\n').filter(Boolean).sort();
    expect(status).toEqual(
      expect.arrayContaining([
        'R  data/table.csv -> content/table.csv',
        'R  data/table.csv.artifact.yaml -> content/table.csv.artifact.yaml',
        'R  notes/x/stray.md -> content/stray.md',
      ]),
    );
    expect(git(dir, 'ls-files', 'content').split('\n')).toEqual(
      expect.arrayContaining(['content/stray.md', 'content/table.csv', 'content/table.csv.artifact.yaml']),
    );
    expect(run(dir, ['index', 'verify']).code).toBe(0);
    expect(runJson(dir, ['route', 'check']).code).toBe(0);
  });

  test('route fix never overwrites: a taken file name in the first directory is ROUTE_TARGET_EXISTS', () => {
    const dir = docsRepo({ 'notes/intro.md': doc('other-intro'), 'content/intro.md': doc('content-intro') });
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.code).toBe(1);
    expect((fix.doc.findings as Array<{ code: string }>).map((f) => f.code)).toEqual(['ROUTE_TARGET_EXISTS']);
    expect(read(dir, 'content/intro.md')).toBe(doc('content-intro'));
    expect(read(dir, 'notes/intro.md')).toBe(doc('other-intro'));
  });

  test('route table prints directory routes', () => {
    const dir = docsRepo();
    expect(run(dir, ['route', 'table']).stdout).toBe(
      '| kind | path template | directory |\n| --- | --- | --- |\n| doc | any file below a directory | `content`, `guides` |\n| plan | `docs/plans/{framework}/{id}.md` | `docs/plans` |\n',
    );
    expect(runJson(dir, ['route', 'table']).doc.routes).toEqual([
      { kind: 'doc', dirs: ['content/', 'guides/'], directories: ['content', 'guides'] },
      { kind: 'plan', path: 'docs/plans/{framework}/{id}.md', directory: 'docs/plans', directories: ['docs/plans'] },
    ]);
  });

  test('an unsafe dirs entry: route check reports it and route fix refuses before moving anything', () => {
    const dir = docsRepo({ 'notes/stray.md': doc('stray') });
    writeFileSync(join(dir, 'artifact_routing.mdc'), '---\nroutes:\n  - kind: doc\n    dirs: [content/, .GIT/hooks]\n---\n');
    const check = runJson(dir, ['route', 'check']);
    expect((check.doc.findings as Array<{ code: string }>).map((f) => f.code)).toContain('ROUTE_INVALID_PATH');
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.code).not.toBe(0);
    expect(existsSync(join(dir, 'notes/stray.md'))).toBe(true);
    expect(existsSync(join(dir, 'content/stray.md'))).toBe(false);
  });
});

describe('route fix moves git index entries as git mv does, in one batch', () => {
  function misplaced(prefix = ''): { top: string; dir: string } {
    const top = testdir();
    const dir = join(top, prefix);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\n');
    for (const n of ['a', 'b', 'c']) {
      mkdirSync(join(dir, 'inbox'), { recursive: true });
      writeFileSync(join(dir, `inbox/${n}.md`), doc(n));
    }
    gitInit(top, false);
    git(top, 'add', '-A');
    git(top, 'commit', '-q', '-m', 'init');
    writeFileSync(join(dir, 'artifact_routing.mdc'), '---\nroutes:\n  - kind: doc\n    dirs: [content]\n---\n');
    return { top, dir };
  }

  test('a change not yet staged stays unstaged; staged content moves with the entry', () => {
    const { top, dir } = misplaced();
    writeFileSync(join(dir, 'inbox/a.md'), doc('a') + 'local edit\n');
    writeFileSync(join(dir, 'inbox/b.md'), doc('b') + 'staged edit\n');
    git(top, 'add', 'inbox/b.md');
    expect(run(dir, ['route', 'fix']).code).toBe(0);
    const status = git(top, 'status', '--porcelain')
      .split('\n')
      .filter((l) => l.includes('->'))
      .sort();
    expect(status).toEqual(['R  inbox/b.md -> content/b.md', 'R  inbox/c.md -> content/c.md', 'RM inbox/a.md -> content/a.md']);
    expect(git(top, 'show', ':content/b.md')).toContain('staged edit');
    expect(git(top, 'show', ':content/a.md')).not.toContain('local edit');
  });

  test('in a repository whose root is a subdirectory of the git work tree', () => {
    const { top, dir } = misplaced('sub/project');
    expect(run(dir, ['route', 'fix']).code).toBe(0);
    const status = git(top, 'status', '--porcelain')
      .split('\n')
      .filter((l) => l.includes('->'))
      .sort();
    expect(status).toEqual([
      'R  sub/project/inbox/a.md -> sub/project/content/a.md',
      'R  sub/project/inbox/b.md -> sub/project/content/b.md',
      'R  sub/project/inbox/c.md -> sub/project/content/c.md',
    ]);
  });

  test('untracked files move as plain renames and stay untracked', () => {
    const { top, dir } = misplaced();
    writeFileSync(join(dir, 'inbox/new.md'), doc('new'));
    expect(run(dir, ['route', 'fix']).code).toBe(0);
    expect(existsSync(join(dir, 'content/new.md'))).toBe(true);
    expect(git(top, 'status', '--porcelain')).toContain('?? content/new.md');
  });

  test('a file moved back to a path git still lists (its directory renamed outside git) is tracked there again', () => {
    const { top, dir } = misplaced();
    expect(run(dir, ['route', 'fix']).code).toBe(0);
    git(top, 'commit', '-q', '-m', 'fixed');
    // Someone renames the directory without git: the files are untracked, git lists the old paths as deleted.
    git(top, 'mv', 'content', 'elsewhere');
    git(top, 'reset', '-q');
    const fix = runJson(dir, ['route', 'fix']);
    expect(fix.code).toBe(0);
    expect(git(top, 'status', '--porcelain', '--', 'content')).toBe('');
    expect(git(top, 'ls-files', 'content')).toBe('content/a.md\ncontent/b.md\ncontent/c.md\n');
  });
});

describe('the hint for an unindexed artifact outside its directories', () => {
  test('names where route fix moves it, for a directory route too', () => {
    const dir = testdir({
      'artifacts.config.yaml': 'digest_algorithm: sha256\n',
      'artifact_routing.mdc': '---\nroutes:\n  - kind: doc\n    dirs: [content/]\n---\n',
      'content/a.md': doc('a'),
    });
    gitInit(dir);
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    writeFileSync(join(dir, 'b.md'), doc('b'));
    const r = runJson(dir, ['index', 'verify']);
    const f = (r.doc.findings as Array<{ code: string; path: string; hint: string }>).find(
      (x) => x.code === 'INDEX_UNINDEXED' && x.path === 'b.md',
    );
    expect(f?.hint).toContain('`artifacts index add content/b.md`');
  });
});
