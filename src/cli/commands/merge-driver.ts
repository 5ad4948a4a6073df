// `artifacts index merge-driver`: what git runs to merge artifacts_index.json (%O %A %B).
// Its own module: git runs it on every merge, and it needs none of the repository code.
import { runMergeDriver } from '../../core/index/merge-driver.js';
import type { Ctx } from '../context.js';
import { renderFindingsHuman, writeHuman } from '../render.js';

export async function mergeDriver(ctx: Ctx, base: string, ours: string, theirs: string): Promise<number> {
  const r = await runMergeDriver(base, ours, theirs);
  if (r.conflicts.length === 0) return 0;
  writeHuman(
    ctx.out,
    'stderr',
    `artifacts: artifacts_index.json cannot be merged automatically:\n${renderFindingsHuman(ctx.out, r.conflicts)}`,
  );
  return 1;
}
