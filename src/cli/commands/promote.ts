// `artifacts promote`: gate a stage and record a signed snapshot of its selection.
import { promote as promoteStage } from '../../core/snapshots/promote.js';
import type { Ctx } from '../context.js';
import { signingKey } from '../signing-key.js';
import { h } from '../render.js';

export async function promote(
  ctx: Ctx,
  o: { framework: string; stage: string; key?: string; at?: string; expiresAt?: string; allowDirty?: boolean; dryRun?: boolean },
): Promise<number> {
  const repo = await ctx.repo();
  const key = await signingKey(o.key);
  const r = await promoteStage(repo, {
    framework: o.framework,
    stage: o.stage,
    signer: key,
    now: new Date(),
    ...(o.at ? { at: o.at } : {}),
    ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}),
    allowDirty: !!o.allowDirty,
    dryRun: !!o.dryRun,
  });
  return ctx.result({ dry_run: r.dryRun, id: r.id, file: r.file, objects_written: r.objectsWritten, snapshot: r.snapshot }, () => {
    ctx.print(
      h`${r.dryRun ? 'would write' : 'wrote'} ${r.file} (seq ${r.snapshot.seq}, ${r.snapshot.artifacts.length} artifacts${r.dryRun ? '' : `, ${r.objectsWritten} new objects`})\n`,
    );
    for (const a of r.snapshot.artifacts) ctx.print(h`  ${a.slot}: ${a.id}@${a.version} ${a.content_address}\n`);
    ctx.print(h`snapshot ${r.id}\n`);
  });
}
