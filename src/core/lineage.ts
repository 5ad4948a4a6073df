// Lineage (SPEC §8): ancestors through `derived_from` and descendants, as a graph that can
// be printed as text, JSON, a Mermaid flowchart or Graphviz dot. Unknown references and
// cycles are reported, never followed forever.
import { ArtifactsError, finding, type Finding } from './errors.js';
import type { IndexEntry } from './index/entry.js';
import { compareBytes } from './paths.js';

export interface LineageGraph {
  root: string[];
  /** id@version of every node reached, sorted. */
  nodes: string[];
  /** An edge `from` → `to` means `to` was derived from `from`. */
  edges: Array<{ from: string; to: string }>;
  unknown: string[];
  cycles: string[][];
  findings: Finding[];
}

const ref = (e: IndexEntry) => `${e.id}@${e.version}`;

/**
 * Build the lineage graph of an id (all versions) or one `id@version`.
 *
 * @example
 * ```ts
 * const view = await readIndexView(repo);
 * console.log(lineageMermaid(lineage(view.doc!.artifacts, 'plan-x@1.2.0')));
 * ```
 */
export function lineage(entries: readonly IndexEntry[], target: string): LineageGraph {
  const byRef = new Map(entries.map((e) => [ref(e), e]));
  const at = target.lastIndexOf('@');
  const roots = at > 0 ? entries.filter((e) => ref(e) === target) : entries.filter((e) => e.id === target);
  if (roots.length === 0) throw new ArtifactsError('INDEX_NOT_INDEXED', `${target} is not in the index`);
  const children = new Map<string, string[]>();
  for (const e of entries) {
    for (const p of e.derived_from ?? []) {
      const list = children.get(p);
      if (list) list.push(ref(e));
      else children.set(p, [ref(e)]);
    }
  }

  const nodes = new Set<string>();
  const edges = new Map<string, { from: string; to: string }>();
  const unknown = new Set<string>();
  const cycles: string[][] = [];
  const addEdge = (from: string, to: string) => edges.set(`${from}\u0000${to}`, { from, to });

  // Depth-first in both directions; the current path recognises cycles, `visited` keeps
  // shared ancestors (diamonds) from being walked twice.
  const walk = (node: string, next: (n: string) => string[], path: string[], dir: 'up' | 'down', visited: Set<string>) => {
    nodes.add(node);
    visited.add(node);
    for (const n of next(node)) {
      if (dir === 'up') addEdge(n, node);
      else addEdge(node, n);
      if (dir === 'up' && !byRef.has(n)) {
        unknown.add(n);
        nodes.add(n);
        continue;
      }
      if (path.includes(n)) {
        cycles.push([...path.slice(path.indexOf(n)), n]);
        continue;
      }
      if (!visited.has(n)) walk(n, next, [...path, n], dir, visited);
    }
  };
  const parents = (n: string) => [...(byRef.get(n)?.derived_from ?? [])].sort(compareBytes);
  const kids = (n: string) => [...(children.get(n) ?? [])].sort(compareBytes);
  const up = new Set<string>();
  const down = new Set<string>();
  for (const r of roots.map(ref).sort(compareBytes)) {
    walk(r, parents, [r], 'up', up);
    walk(r, kids, [r], 'down', down);
  }
  const uniqueCycles = [...new Map(cycles.map((c) => [[...c].sort().join(' '), c])).values()];
  const findings: Finding[] = [
    ...[...unknown]
      .sort(compareBytes)
      .map((u) => finding('LINEAGE_UNKNOWN_REF', `${u} is referenced in derived_from but is not in the index`, { severity: 'warning' })),
    ...uniqueCycles.map((c) => finding('LINEAGE_CYCLE', `derived_from forms a cycle: ${c.join(' <- ')}`)),
  ];
  return {
    root: roots.map(ref).sort(compareBytes),
    nodes: [...nodes].sort(compareBytes),
    edges: [...edges.values()].sort((x, y) => compareBytes(x.from, y.from) || compareBytes(x.to, y.to)),
    unknown: [...unknown].sort(compareBytes),
    cycles: uniqueCycles,
    findings,
  };
}

function mermaidId(nodes: readonly string[], n: string): string {
  return `n${nodes.indexOf(n)}`;
}

export function lineageMermaid(g: LineageGraph): string {
  const lines = ['flowchart LR'];
  for (const n of g.nodes) {
    const label = n.replace(/"/g, '#quot;');
    const shape = g.unknown.includes(n)
      ? `${mermaidId(g.nodes, n)}[/"${label} (unknown)"/]`
      : g.root.includes(n)
        ? `${mermaidId(g.nodes, n)}(["${label}"])`
        : `${mermaidId(g.nodes, n)}["${label}"]`;
    lines.push(`  ${shape}`);
  }
  for (const e of g.edges) lines.push(`  ${mermaidId(g.nodes, e.from)} --> ${mermaidId(g.nodes, e.to)}`);
  return `${lines.join('\n')}\n`;
}

export function lineageDot(g: LineageGraph): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['digraph lineage {', '  rankdir=LR;'];
  for (const n of g.nodes) lines.push(`  ${q(n)}${g.root.includes(n) ? ' [style=bold]' : g.unknown.includes(n) ? ' [style=dashed]' : ''};`);
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function lineageText(g: LineageGraph): string {
  const lines = [`lineage of ${g.root.join(', ')}`];
  for (const e of g.edges) lines.push(`  ${e.from} -> ${e.to}`);
  if (g.edges.length === 0) lines.push('  (no ancestors or descendants)');
  return `${lines.join('\n')}\n`;
}
