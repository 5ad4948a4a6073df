// `artifacts route [file] | check | table | fix`.
import { CommanderError } from 'commander';
import { exitCodeFor } from '../../core/errors.js';
import { applyRouteFix, canonicalPathOf, checkRouteFix, planRouteFix, repoRouting, routeCheck } from '../../core/routing/operations.js';
import { routeDirectories, routeTable } from '../../core/routing/routes.js';
import { abs, type Ctx } from '../context.js';
import { h } from '../render.js';

export async function route(ctx: Ctx, file: string | undefined): Promise<number> {
  if (!file) throw new CommanderError(2, 'artifacts.usage', 'route: give a file, or one of: check, table, fix');
  const r = await canonicalPathOf(await ctx.repo(), abs(file));
  return ctx.result({ ...r }, () => ctx.print(h`${r.canonical}\n`));
}

export async function check(ctx: Ctx): Promise<number> {
  const r = await routeCheck(await ctx.repo());
  return ctx.report(r.findings, `${r.routes} routes, ${r.commands} commands, ${r.artifacts} artifacts: no conflicts`, {
    routes: r.routes,
    commands: r.commands,
    artifacts: r.artifacts,
  });
}

export async function table(ctx: Ctx): Promise<number> {
  const routing = await repoRouting(await ctx.repo());
  // A table of routing files that cannot be read would be a table of nothing.
  if (routing.findings.length > 0) return ctx.report(routing.findings, '');
  const routes = routing.routes.map((r) => {
    const directories = routeDirectories(r);
    return r.dirs !== undefined
      ? { kind: r.kind, dirs: r.dirs, directories }
      : { kind: r.kind, path: r.path, directory: directories[0], directories };
  });
  return ctx.result({ routes }, () => ctx.print(routeTable(routing)));
}

export async function fix(ctx: Ctx, opts: { dryRun?: boolean }): Promise<number> {
  const repo = await ctx.repo();
  const plan = await planRouteFix(repo);
  // A rehearsal makes every check the real run makes before its first move (same errors, same exit).
  if (opts.dryRun) await checkRouteFix(repo, plan);
  else await applyRouteFix(repo, plan);
  return ctx.result(
    { ok: plan.findings.length === 0, dry_run: !!opts.dryRun, moves: plan.moves, findings: plan.findings },
    () => {
      for (const m of plan.moves) ctx.print(h`${opts.dryRun ? 'would move' : 'moved'} ${m.from} -> ${m.to}\n`);
      if (plan.moves.length === 0) ctx.print('every artifact is at its canonical path\n');
      ctx.printFindings(plan.findings);
    },
    exitCodeFor(plan.findings),
  );
}
