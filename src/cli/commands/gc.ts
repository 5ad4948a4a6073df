// `artifacts gc`: delete objects that no retained snapshot references.
import { gc as collect } from '../../core/snapshots/retention.js';
import type { Ctx } from '../context.js';
import { h } from '../render.js';

export async function gc(ctx: Ctx, o: { dryRun?: boolean }): Promise<number> {
  const r = await collect(await ctx.repo(), { now: new Date(), dryRun: !!o.dryRun });
  return ctx.result({ dry_run: !!o.dryRun, ...r }, () => {
    for (const a of r.deleted) ctx.print(h`${o.dryRun ? 'would delete' : 'deleted'} ${a}\n`);
    ctx.print(h`${r.deleted.length} object(s) ${o.dryRun ? 'to delete' : 'deleted'}, ${r.kept} kept\n`);
  });
}
