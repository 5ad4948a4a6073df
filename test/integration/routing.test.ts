// Route check (SPEC §4): every conflict code on a fixture built to trigger it.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkRouteTable, expandTemplate, parseRoutingText, routeDirectory, type Routing } from '../../src/core/routing/routes.js';
import { git, plan, read, repoWith, run, runJson, testdir } from '../helpers.js';

function routing(routes: Array<[string, string]>, commands: Array<[string, string, string]> = []): Routing {
  return {
    routes: routes.map(([kind, path]) => ({ kind, path })),
    commands: commands.map(([command, kind, writes]) => ({ command, kind, writes })),
    present: true,
    routingFile: 'artifact_routing.mdc',
    commandFile: 'routing_matrix.json',
    findings: [],
  };
}

function codes(r: Routing): string[] {
  return checkRouteTable(r).map((f) => f.code);
}

describe('route templates (pure)', () => {
  test('directory is the leading segments before the first variable', () => {
    expect(routeDirectory('docs/plans/{framework}/{id}.md')).toBe('docs/plans');
    expect(routeDirectory('models/{id}/{version}/{id}{ext}')).toBe('models');
    expect(routeDirectory('{kind}/{id}.md')).toBe('');
  });
  test('expansion uses the artifact file extension', () => {
    const e = { id: 'churn', version: '1.0.0', framework: 'f', kind: 'model', path: 'x/y/churn.onnx' };
    expect(expandTemplate('models/{id}/{version}/{id}{ext}', e)).toBe('models/churn/1.0.0/churn.onnx');
  });
  test('routes are read from the .mdc front matter, editor-rule fields ignored', async () => {
    const r = await parseRoutingText(
      '---\ndescription: x\nglobs: ["*.md"]\nalwaysApply: false\nroutes:\n  - kind: plan\n    path: docs/{id}.md\n---\ntext\n',
      'r.mdc',
    );
    expect(r.findings).toEqual([]);
    expect(r.routes).toEqual([{ kind: 'plan', path: 'docs/{id}.md', line: 6 }]);
  });
});

describe('each conflict code', () => {
  test('ROUTE_DUPLICATE_KIND', () =>
    expect(
      codes(
        routing([
          ['plan', 'a/{id}.md'],
          ['plan', 'b/{id}.md'],
        ]),
      ),
    ).toContain('ROUTE_DUPLICATE_KIND'));
  test('ROUTE_OVERLAP (equal and nested)', () => {
    expect(
      codes(
        routing([
          ['plan', 'docs/{id}.md'],
          ['risk', 'docs/{id}.md'],
        ]),
      ),
    ).toContain('ROUTE_OVERLAP');
    expect(
      codes(
        routing([
          ['plan', 'docs/{id}.md'],
          ['risk', 'docs/risks/{id}.md'],
        ]),
      ),
    ).toContain('ROUTE_OVERLAP');
    expect(
      codes(
        routing([
          ['plan', 'docs/plans/{id}.md'],
          ['risk', 'docs/risks/{id}.md'],
        ]),
      ),
    ).toEqual([]);
  });
  test('ROUTE_CASE_COLLISION', () =>
    expect(
      codes(
        routing([
          ['plan', 'Docs/Plans/{id}.md'],
          ['risk', 'docs/plans/{id}.md'],
        ]),
      ),
    ).toContain('ROUTE_CASE_COLLISION'));
  test('ROUTE_INVALID_PATH (absolute, .., backslash, unknown variable)', () => {
    for (const p of ['/abs/{id}.md', 'a/../b/{id}.md', 'a\\b\\{id}.md', 'a/{owner}/{id}.md', 'C:/x/{id}.md']) {
      expect(codes(routing([['plan', p]])), p).toEqual(['ROUTE_INVALID_PATH']);
    }
  });
  test('COMMAND_DRIFT', () =>
    expect(codes(routing([['plan', 'docs/plans/{id}.md']], [['/plan', 'plan', 'out/plans']]))).toEqual(['COMMAND_DRIFT']));
  test('COMMAND_COLLISION', () =>
    expect(
      codes(
        routing(
          [
            ['plan', 'docs/plans/{id}.md'],
            ['risk', 'docs/risks/{id}.md'],
          ],
          [['/plan', 'plan', 'docs/risks']],
        ),
      ),
    ).toEqual(['COMMAND_DRIFT', 'COMMAND_COLLISION']));
  test('a consistent matrix has no findings', () =>
    expect(codes(routing([['plan', 'docs/plans/{framework}/{id}.md']], [['/plan', 'plan', 'docs/plans']]))).toEqual([]));
});

describe('route commands on a repository', () => {
  function repo(): string {
    const dir = repoWith({
      'docs/plans/fwk-001/good.md': plan('good'),
      'docs/misplaced.md': plan('moved-plan'),
      'notes/orphan.md': plan('orphan', { kind: 'memo' }),
      'routing_matrix.json': JSON.stringify({ version: 1, commands: [{ command: '/plan', kind: 'plan', writes: 'plans-out' }] }),
    });
    return dir;
  }

  test('route check reports UNROUTED_KIND, ROUTE_MISMATCH and COMMAND_DRIFT, exit 1', () => {
    const dir = repo();
    const r = runJson(dir, ['route', 'check']);
    expect(r.code).toBe(1);
    const got = (r.doc.findings as Array<{ code: string; path?: string }>).map((f) => `${f.code} ${f.path ?? ''}`);
    expect(got).toEqual(
      expect.arrayContaining(['COMMAND_DRIFT routing_matrix.json', 'ROUTE_MISMATCH docs/misplaced.md', 'UNROUTED_KIND notes/orphan.md']),
    );
  });

  test('route <file> prints the canonical path', () => {
    const dir = repo();
    const r = run(dir, ['route', 'docs/misplaced.md']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('docs/plans/fwk-001/moved-plan.md\n');
  });

  test('route fix --dry-run changes nothing; route fix uses git mv and never overwrites', () => {
    const dir = repo();
    const dry = run(dir, ['route', 'fix', '--dry-run']);
    expect(dry.stdout).toContain('would move docs/misplaced.md -> docs/plans/fwk-001/moved-plan.md');
    expect(existsSync(join(dir, 'docs/misplaced.md'))).toBe(true);
    const fix = run(dir, ['route', 'fix']);
    expect(fix.code).toBe(0);
    expect(existsSync(join(dir, 'docs/plans/fwk-001/moved-plan.md'))).toBe(true);
    expect(git(dir, 'status', '--porcelain')).toContain('R  docs/misplaced.md -> docs/plans/fwk-001/moved-plan.md');
    // A second misplaced file whose canonical path is taken is refused.
    writeFileSync(join(dir, 'docs/again.md'), plan('moved-plan', { version: '2.0.0' }));
    const again = runJson(dir, ['route', 'fix']);
    expect(again.code).toBe(1);
    expect((again.doc.findings as Array<{ code: string }>)[0]?.code).toBe('ROUTE_TARGET_EXISTS');
    expect(read(dir, 'docs/plans/fwk-001/moved-plan.md')).toBe(plan('moved-plan'));
  });

  test('route table prints Markdown', () => {
    const dir = testdir({ 'artifact_routing.mdc': '---\nroutes:\n  - kind: plan\n    path: docs/plans/{id}.md\n---\n' });
    expect(run(dir, ['route', 'table']).stdout).toBe(
      '| kind | path template | directory |\n| --- | --- | --- |\n| plan | `docs/plans/{id}.md` | `docs/plans` |\n',
    );
  });
});
