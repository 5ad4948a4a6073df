// `artifacts init` on a tree that already holds artifacts (issue 11): routes that fit what
// is there, so that init then validate reports no routing findings on an organised tree; a
// retention policy; a commented example framework contract that is a valid contract.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { candidateTemplates, countsBelow, inferRoutes, narrowestDirs, routingFileText } from '../../src/core/routing/infer.js';
import { parseRoutingText } from '../../src/core/routing/routes.js';
import { CONFIG_TEMPLATE } from '../../src/core/init.js';
import { parseConfig } from '../../src/core/config.js';
import { parseContract } from '../../src/core/hydrate/contract.js';
import { gitInit, md, read, run, runJson, testdir } from '../helpers.js';

const CONTROL = {
  files: ['artifacts_index.json', 'artifacts.config.yaml', 'artifact_routing.mdc', 'routing_matrix.json'],
  dirs: ['.artifacts'],
};
const FILES = { routingFile: 'artifact_routing.mdc', commandFile: 'routing_matrix.json' };
const e = (path: string, kind: string, id: string, extra: { version?: string; framework?: string } = {}) => ({
  path,
  kind,
  id,
  version: extra.version ?? '1.0.0',
  framework: extra.framework ?? 'fwk-001',
});

describe('inferring routes (pure)', () => {
  test('a template when every file of a kind follows one; the most general that fits', () => {
    const entries = [
      e('docs/plans/fwk-001/a.md', 'plan', 'a'),
      e('docs/plans/fwk-002/b.md', 'plan', 'b', { framework: 'fwk-002' }),
      e('models/churn/1.0.0/churn.onnx', 'model', 'churn'),
      e('models/churn/2.0.0/churn.onnx', 'model', 'churn', { version: '2.0.0' }),
      e('notes/n1.md', 'note', 'n1'),
    ];
    const r = inferRoutes(entries, CONTROL, FILES);
    expect(r.routes).toEqual([
      { kind: 'model', path: 'models/{id}/{version}/{id}{ext}' },
      { kind: 'note', path: 'notes/{id}.md' },
      { kind: 'plan', path: 'docs/plans/{framework}/{id}.md' },
    ]);
    expect(r.findings).toEqual([]);
    // A single framework still gets the variable: the next framework fits too.
    expect(inferRoutes([e('docs/plans/fwk-001/a.md', 'plan', 'a')], CONTROL, FILES).routes).toEqual([
      { kind: 'plan', path: 'docs/plans/{framework}/{id}.md' },
    ]);
  });

  test('dirs at the narrowest directories when names or places follow no template', () => {
    const entries = [
      e('handbook/a/Intro.md', 'doc', 'intro'),
      e('handbook/a/b/c/deep.md', 'doc', 'x1'),
      e('handbook/z.md', 'doc', 'x2'),
      e('plans/p.md', 'plan', 'p'),
    ];
    const r = inferRoutes(entries, CONTROL, FILES);
    expect(r.routes).toEqual([
      { kind: 'doc', dirs: ['handbook'] },
      { kind: 'plan', path: 'plans/{id}.md' },
    ]);
    expect(r.findings).toEqual([]);
  });

  test("directories are split around another kind's files, and a template never covers another kind", () => {
    const entries = [
      e('content/a/x.md', 'doc', 'x9'),
      e('content/b/c/y.md', 'doc', 'y9'),
      e('content/plans/p.md', 'plan', 'p'),
      e('content/plans/q.md', 'plan', 'q'),
    ];
    const r = inferRoutes(entries, CONTROL, FILES);
    expect(r.routes).toEqual([
      { kind: 'doc', dirs: ['content/a', 'content/b'] },
      { kind: 'plan', path: 'content/plans/{id}.md' },
    ]);
    expect(r.findings).toEqual([]);
    // A plan template at `content/{id}.md` (or a `content` directory) would own the docs
    // too: a directory of its own, into which route fix moves the plan.
    const mixed = inferRoutes([e('content/p.md', 'plan', 'p'), e('content/sub/x.md', 'doc', 'x')], CONTROL, FILES);
    expect(mixed.routes).toEqual([
      { kind: 'doc', path: 'content/sub/{id}.md' },
      { kind: 'plan', dirs: ['content/plan'] },
    ]);
    expect(mixed.findings.map((f) => f.code)).toEqual(['ROUTE_MISMATCH']);
  });

  test('two kinds in one directory: a directory per kind below it, never an overlap; the files are misplaced until route fix', () => {
    const r = inferRoutes([e('mixed/one.md', 'doc', 'd1'), e('mixed/two.md', 'plan', 'p1')], CONTROL, FILES);
    expect(r.routes).toEqual([
      { kind: 'doc', dirs: ['mixed/doc'] },
      { kind: 'plan', dirs: ['mixed/plan'] },
    ]);
    expect(r.findings.map((f) => f.code)).toEqual(['ROUTE_MISMATCH', 'ROUTE_MISMATCH']);
  });

  test('files at the root: the root is the directory', () => {
    const own = [e('a.md', 'doc', 'x'), e('b/c.md', 'doc', 'y')];
    expect(narrowestDirs(own, countsBelow(own))).toEqual(['']);
    expect(inferRoutes([e('README.md', 'doc', 'x')], CONTROL, FILES).routes).toEqual([{ kind: 'doc', dirs: [''] }]);
  });

  test('a file at the root beside another kind: no root route (it would overlap, and claim every file of the tree); route fix moves it', () => {
    const entries = [
      e('a.md', 'note', 'a1'),
      e('sub/b.md', 'note', 'b1'),
      e('deep/x/c.md', 'note', 'c1'),
      e('docs/plans/f1/p1.md', 'plan', 'p1'),
      e('docs/plans/f1/p2.md', 'plan', 'p2'),
    ];
    const r = inferRoutes(entries, CONTROL, FILES);
    const note = r.routes.find((x) => x.kind === 'note')!;
    expect(note.dirs).toEqual(['deep', 'sub']);
    expect(r.findings.map((f) => [f.code, f.path])).toEqual([['ROUTE_MISMATCH', 'a.md']]);
    // Every file of the kind beside another kind's: a new directory named after the kind.
    const only = inferRoutes([e('a.md', 'note', 'a1'), e('docs/p.md', 'plan', 'p')], CONTROL, FILES);
    expect(only.routes.find((x) => x.kind === 'note')).toEqual({ kind: 'note', dirs: ['note'] });
    expect(only.findings.map((f) => f.code)).toEqual(['ROUTE_MISMATCH']);
    // That name unusable (a control file's name): the shared directory, and the overlap reported.
    const clash = inferRoutes([e('a.md', 'artifacts_index.json', 'a1'), e('docs/p.md', 'plan', 'p')], CONTROL, FILES);
    expect(clash.routes.find((x) => x.kind === 'artifacts_index.json')).toEqual({ kind: 'artifacts_index.json', dirs: [''] });
    expect(clash.findings.map((f) => f.code)).toContain('ROUTE_OVERLAP');
  });

  test('deterministic whatever the order of the entries', () => {
    const entries = Array.from({ length: 60 }, (_, i) => e(`t${i % 3}/s${i % 7}/f${i}.md`, i % 4 === 0 ? 'plan' : 'doc', `i${i}`));
    const a = inferRoutes(entries, CONTROL, FILES);
    const b = inferRoutes([...entries].reverse(), CONTROL, FILES);
    expect(b).toEqual(a);
  });

  test('candidate templates are few', () => {
    const t = candidateTemplates(e('a/b/c/d/e/fwk-001/1.0.0/x/x.md', 'doc', 'x'));
    expect(t.length).toBeLessThanOrEqual(64);
    expect(t).toContain('a/b/c/d/e/{framework}/{version}/{id}/{id}.md');
    expect(candidateTemplates(e('a/other-name.md', 'doc', 'x'))).toEqual([]);
  });

  test('the routing file written holds the routes, whatever the kinds and directories hold', async () => {
    const routes = [
      { kind: 'doc', dirs: ['a "quoted" dir', 'x: y', '---', ''] },
      { kind: 'plan', path: 'docs/{id}.md' },
    ];
    const parsed = await parseRoutingText(routingFileText(routes), 'artifact_routing.mdc');
    expect(parsed.findings).toEqual([]);
    expect(parsed.routes.map(({ line: _line, ...r }) => r)).toEqual(routes);
    expect((await parseRoutingText(routingFileText([]), 'artifact_routing.mdc')).routes).toEqual([]);
  });
});

describe('the config init writes', () => {
  test('is valid, has a retention policy, and its commented contract is a valid contract', async () => {
    const config = await parseConfig(CONFIG_TEMPLATE);
    expect(config.retention).toEqual({ '*': { keep_last: 10 } });
    const block = CONFIG_TEMPLATE.split('# --- frameworks/fwk-001.yaml ---\n')[1]!.split('# --- end ---')[0]!;
    const contract = block
      .split('\n')
      .map((l) => l.replace(/^# ?/, ''))
      .join('\n');
    const parsed = await parseContract(contract, 'frameworks/fwk-001.yaml');
    expect(parsed.findings).toEqual([]);
    expect(parsed.contract?.framework).toBe('fwk-001');
  });
});

const DOC_KINDS = ['guide', 'reference', 'howto'];
function docsTree(opts: { artifacts: boolean }): Record<string, string> {
  const files: Record<string, string> = {};
  let n = 0;
  for (let a = 0; a < 10; a++) {
    for (let b = 0; b < 10; b++) {
      for (let c = 0; c < 21; c++) {
        const id = `page-${n++}`;
        const foreign = `title: "Page ${id}"\ndate: 2024-01-0${(c % 9) + 1}\ntags: [docs, ${DOC_KINDS[c % 3]}]\nsummary: |\n  A block scalar\n  over two lines.\n`;
        const meta = opts.artifacts ? `${foreign}id: ${id}\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: doc\n` : foreign;
        const body = c % 5 === 0 ? `---\r\n${meta.replace(/\n/g, '\r\n')}---\r\nCRLF body\r\n` : `---\n${meta}---\n# ${id}\n`;
        files[`site/section-${a}/topic-${b}/${c % 2 ? `${id}.md` : `Name ${c}.md`}`] = c % 7 === 0 ? `\ufeff${body}` : body;
      }
    }
  }
  return files;
}

function organised(): string {
  const dir = testdir({
    ...docsTree({ artifacts: true }),
    'docs/plans/fwk-001/plan-a.md': md({ id: 'plan-a', version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'plan' }),
    'docs/plans/fwk-002/plan-b.md': md({ id: 'plan-b', version: '1.0.0', status: 'draft', framework: 'fwk-002', kind: 'plan' }),
    'models/churn/1.0.0/churn.onnx': 'binary',
    'models/churn/1.0.0/churn.onnx.artifact.yaml': 'id: churn\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: model\n',
    'README.md': '# A repository\n',
  });
  gitInit(dir);
  return dir;
}

const ROUTING_CODES = [
  'ROUTE_DUPLICATE_KIND',
  'ROUTE_OVERLAP',
  'ROUTE_CASE_COLLISION',
  'ROUTE_INVALID_PATH',
  'COMMAND_DRIFT',
  'COMMAND_COLLISION',
  'UNROUTED_KIND',
  'ROUTE_MISMATCH',
  'ROUTING_INVALID',
];

describe('init on an existing tree', () => {
  test('2,100 Markdown files of one kind in nested directories, plans and a model: init, index rebuild and validate find no routing problem', () => {
    const dir = organised();
    const init = runJson(dir, ['init']);
    expect(init.code).toBe(0);
    expect(init.doc.created).toEqual(['artifacts.config.yaml', 'artifact_routing.mdc']);
    expect(init.doc.routes).toEqual([
      { kind: 'doc', dirs: ['site'] },
      { kind: 'model', path: 'models/{id}/{version}/{id}{ext}' },
      { kind: 'plan', path: 'docs/plans/{framework}/{id}.md' },
    ]);
    expect(init.doc.routeFindings).toEqual([]);
    const rebuild = runJson(dir, ['index', 'rebuild']);
    expect(rebuild.code).toBe(0);
    expect(rebuild.doc.count).toBe(2103);
    const validate = runJson(dir, ['validate']);
    expect((validate.doc.findings as Array<{ code: string }>).filter((f) => ROUTING_CODES.includes(f.code))).toEqual([]);
    expect(validate.code).toBe(0);
    expect(run(dir, ['route', 'check']).code).toBe(0);
  }, 120_000);

  test('a docs tree with no artifacts (front matter of another tool): routes: [], validate exits 0', () => {
    const dir = testdir(docsTree({ artifacts: false }));
    gitInit(dir);
    const init = runJson(dir, ['init']);
    expect(init.code).toBe(0);
    expect(init.doc.routes).toEqual([]);
    expect(read(dir, 'artifact_routing.mdc')).toContain('routes: []');
    expect(run(dir, ['validate']).code).toBe(0);
  }, 120_000);

  test('kinds that share a directory: init writes a directory per kind, says route check will flag the files, exits 0; route fix then separates them', () => {
    const dir = testdir({
      'mixed/one.md': md({ id: 'one', version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'doc' }),
      'mixed/Two Words.md': md({ id: 'two', version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'plan' }),
    });
    gitInit(dir);
    const human = run(dir, ['init']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('route check` will report');
    expect(human.stdout).toContain('ROUTE_MISMATCH');
    expect(human.stdout).not.toContain('ROUTE_OVERLAP');
    expect(runJson(dir, ['route', 'check']).code).toBe(1);
    expect(run(dir, ['route', 'fix']).code).toBe(0);
    expect(runJson(dir, ['route', 'check']).code).toBe(0);
    expect(existsSync(join(dir, 'mixed/plan/Two Words.md'))).toBe(true);
  });

  test('an existing routing file or config is kept as it is (no scan result written over it)', () => {
    const dir = organised();
    writeFileSync(join(dir, 'artifact_routing.mdc'), 'MINE\n');
    writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\n');
    const init = runJson(dir, ['init']);
    expect(init.code).toBe(0);
    expect(init.doc.kept).toEqual(['artifacts.config.yaml', 'artifact_routing.mdc']);
    expect(init.doc.routes).toEqual([]);
    expect(read(dir, 'artifact_routing.mdc')).toBe('MINE\n');
    expect(read(dir, 'artifacts.config.yaml')).toBe('digest_algorithm: sha256\n');
  }, 120_000);

  test('a config naming another routing file: the fitted routes go there', () => {
    const dir = testdir({
      'artifacts.config.yaml': 'routing: rules/routes.mdc\n',
      'notes/n1.md': md({ id: 'n1', version: '1.0.0', status: 'draft', framework: 'fwk-001', kind: 'note' }),
    });
    gitInit(dir);
    expect(runJson(dir, ['init']).doc.created).toEqual(['rules/routes.mdc']);
    expect(readFileSync(join(dir, 'rules/routes.mdc'), 'utf8')).toContain('path: "notes/{id}.md"');
    expect(run(dir, ['route', 'check']).code).toBe(0);
  });

  test('snapshot prune right after init does not fail for want of a retention policy', () => {
    const dir = testdir({});
    gitInit(dir);
    expect(run(dir, ['init']).code).toBe(0);
    const prune = runJson(dir, ['snapshot', 'prune']);
    expect(JSON.stringify(prune.doc)).not.toContain('RETENTION_EMPTY');
    expect(prune.code).toBe(0);
  });
});

describe('init on hostile directory names', () => {
  test('a directory no route may name is left out of the fitted routes; the summary quotes names', () => {
    const doc = (id: string, kind: string) => md({ id, version: '1.0.0', status: 'draft', framework: 'f1', kind });
    const dir = testdir({
      'docs/{id}/p7.md': doc('p7', 'brace'),
      'docs/x\n  - kind: evil\n#/p5.md': doc('p5', 'nlk'),
      'guides/g.md': doc('g1', 'nlk'),
    });
    gitInit(dir);
    const r = run(dir, ['init']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\n  - kind: evil');
    const check = runJson(dir, ['route', 'check']);
    const codes = (check.doc.findings as { code: string }[]).map((f) => f.code);
    expect(codes).not.toContain('ROUTE_INVALID_PATH');
    expect(codes.every((c) => c === 'ROUTE_MISMATCH')).toBe(true);
  });
});
