// `artifacts lineage`: ancestors and descendants of an artifact, as text, JSON, Mermaid or DOT.
import { exitCodeFor } from '../../core/errors.js';
import { readDecisionIndex } from '../../core/index/decision-index.js';
import { lineage as lineageOf, lineageDot, lineageMermaid, lineageText } from '../../core/lineage.js';
import type { Ctx } from '../context.js';
import { renderFindingsHuman, writeHuman } from '../render.js';

export async function lineage(ctx: Ctx, target: string, o: { format: string }): Promise<number> {
  const view = await readDecisionIndex(await ctx.repo());
  const g = lineageOf(view.doc?.artifacts ?? [], target);
  const code = exitCodeFor(g.findings);
  if (ctx.out.json || o.format === 'json') {
    const { findings, ...graph } = g;
    process.stdout.write(`${JSON.stringify({ command: 'lineage', ok: code === 0, ...graph, findings }, null, 2)}\n`);
    return code;
  }
  // Mermaid and DOT are machine formats (for a renderer): --quiet does not change them.
  if (o.format === 'mermaid' || o.format === 'dot') process.stdout.write(o.format === 'mermaid' ? lineageMermaid(g) : lineageDot(g));
  else ctx.print(lineageText(g));
  if (g.findings.length) writeHuman(ctx.out, 'stderr', renderFindingsHuman(ctx.out, g.findings));
  return code;
}
