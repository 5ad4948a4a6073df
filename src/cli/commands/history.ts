// `artifacts history`: every indexed version of an artifact and the snapshots that hold it.
import { history as historyOf } from '../../core/snapshots/queries.js';
import type { Ctx } from '../context.js';
import { h } from '../render.js';

export async function history(ctx: Ctx, id: string): Promise<number> {
  const r = await historyOf(await ctx.repo(), id, { now: new Date() });
  return ctx.result({ ...r }, () => {
    ctx.print(h`${id}\nversions:\n`);
    for (const v of r.versions) ctx.print(h`  ${v.version}  ${v.status}  ${v.path}  ${v.updated_at ?? ''}\n`);
    ctx.print('snapshots:\n');
    for (const s of r.snapshots)
      ctx.print(
        h`  ${s.framework}/${s.stage} #${s.seq} ${s.action} ${s.created_at}  ${s.version}${s.verified ? '' : `  UNVERIFIED (${s.problem ?? ''})`}\n`,
      );
  });
}
