// `artifacts init`.
import { initRepo } from '../../core/init.js';
import type { Ctx } from '../context.js';
import { BIN_FILE } from '../installation.js';
import { h, renderFindingsHuman } from '../render.js';

export async function init(ctx: Ctx): Promise<number> {
  const repo = await ctx.repo();
  // The driver runs the repository's own installation when it has one, else this one.
  const r = await initRepo(repo.root, { installation: { node: process.execPath, bin: BIN_FILE }, repo });
  return ctx.result({ ...r }, () => {
    for (const f of r.created) ctx.print(h`created ${f}\n`);
    if (r.routes.length > 0) {
      ctx.print(h`routes fitted to the artifacts already here:\n`);
      for (const route of r.routes)
        ctx.print(
          `  ${JSON.stringify(route.kind)}: ${route.dirs !== undefined ? `any file below ${route.dirs.map((d) => JSON.stringify(d || '.')).join(', ')}` : JSON.stringify(route.path)}\n`,
        );
    }
    if (r.routeFindings.length > 0) {
      // What `route check` will report once the routes are in force: part of the summary,
      // not a problem of this run.
      ctx.print(h`note: these files are not organised by kind yet; \`artifacts route check\` will report:\n`);
      ctx.print(renderFindingsHuman(ctx.out, r.routeFindings));
    }
    for (const f of r.kept) ctx.print(h`kept existing ${f}\n`);
    if (r.gitignore.length) ctx.print(h`.gitignore: added ${r.gitignore.join(', ')}\n`);
    ctx.print(h`merge driver for artifacts_index.json: ${r.mergeDriver}\n`);
  });
}
