import { describe, expect, test } from 'vitest';
import { lineage, lineageDot, lineageMermaid } from '../../src/core/lineage.js';
import type { IndexEntry } from '../../src/core/metadata/inspect.js';
import { plan, repoWith, run, runJson } from '../helpers.js';

function e(id: string, version: string, derived_from: string[] = []): IndexEntry {
  return {
    id,
    version,
    status: 'draft',
    framework: 'f',
    kind: 'plan',
    path: `${id}.md`,
    content_address: 'sha256:x',
    size: 1,
    ...(derived_from.length ? { derived_from } : {}),
  };
}

/** Parse `nA --> nB` edges of a Mermaid flowchart back into labelled pairs. */
function mermaidEdges(text: string): Array<[string, string]> {
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe('flowchart LR');
  const labels = new Map<string, string>();
  const edges: Array<[string, string]> = [];
  for (const l of lines.slice(1)) {
    const node = /^\s+(n\d+)[[(/]+"([^"]+)"/.exec(l);
    const edge = /^\s+(n\d+) --> (n\d+)$/.exec(l);
    if (edge) edges.push([edge[1]!, edge[2]!]);
    else if (node) labels.set(node[1]!, node[2]!.replace(' (unknown)', ''));
    else throw new Error(`unexpected mermaid line: ${l}`);
  }
  return edges.map(([a, b]) => [labels.get(a)!, labels.get(b)!]);
}

describe('lineage', () => {
  const entries = [e('req', '1'), e('plan', '2', ['req@1', 'ghost@9']), e('risk', '1', ['plan@2']), e('card', '1', ['plan@2', 'risk@1'])];

  test('ancestors and descendants, as a Mermaid flowchart whose edges parse back', () => {
    const g = lineage(entries, 'plan');
    expect(g.root).toEqual(['plan@2']);
    expect(mermaidEdges(lineageMermaid(g)).sort()).toEqual([
      ['ghost@9', 'plan@2'],
      ['plan@2', 'card@1'],
      ['plan@2', 'risk@1'],
      ['req@1', 'plan@2'],
      ['risk@1', 'card@1'],
    ]);
    expect(g.unknown).toEqual(['ghost@9']);
    expect(g.findings.map((f) => f.code)).toEqual(['LINEAGE_UNKNOWN_REF']);
    expect(lineageDot(g)).toContain('"req@1" -> "plan@2";');
  });

  test('a cycle is reported, not followed forever', () => {
    const g = lineage([e('a', '1', ['c@1']), e('b', '1', ['a@1']), e('c', '1', ['b@1'])], 'a@1');
    expect(g.cycles.length).toBeGreaterThan(0);
    expect(g.findings.some((f) => f.code === 'LINEAGE_CYCLE' && f.severity === 'error')).toBe(true);
  });

  test('the CLI prints mermaid, and exits 1 on a cycle', () => {
    const dir = repoWith({
      'docs/plans/fwk-001/a.md': plan('a', { derived_from: ['b@1.0.0'] }),
      'docs/plans/fwk-001/b.md': plan('b', { derived_from: ['a@1.0.0'] }),
    });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const r = run(dir, ['lineage', 'a', '--format', 'mermaid']);
    expect(r.code).toBe(1);
    expect(mermaidEdges(r.stdout).sort()).toEqual([
      ['a@1.0.0', 'b@1.0.0'],
      ['b@1.0.0', 'a@1.0.0'],
    ]);
    expect(r.stderr).toContain('LINEAGE_CYCLE');
    expect((runJson(dir, ['lineage', 'a@1.0.0']).doc.cycles as string[][]).length).toBeGreaterThan(0);
  });
});
