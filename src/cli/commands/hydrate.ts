// `artifacts hydrate` and `artifacts gate`: select a stage's inputs, and enforce its contract.
import { gate as gateStage, hydrate as hydrateStage, type HydrateOptions } from '../../core/hydrate/hydrate.js';
import { snapshotPromotions } from '../../core/snapshots/promote.js';
import { writeOutputFile } from '../../core/store/output-file.js';
import { abs, type Ctx } from '../context.js';
import { renderHydration } from '../render.js';

export interface HydrateFlags {
  framework: string;
  stage: string;
  deterministic?: boolean;
  allowDirty?: boolean;
}

function hydrateOptions(o: HydrateFlags): HydrateOptions {
  return { framework: o.framework, stage: o.stage, deterministic: !!o.deterministic, allowDirty: !!o.allowDirty };
}

export async function hydrate(ctx: Ctx, opts: HydrateFlags & { out?: string }): Promise<number> {
  const r = await hydrateStage(await ctx.repo(), hydrateOptions(opts));
  const doc = `${JSON.stringify(r.hydration, null, 2)}\n`;
  if (opts.out) await writeOutputFile(await ctx.repo(), abs(opts.out), doc);
  // The document alone, so that its bytes are identical across runs and machines.
  if (ctx.out.json) process.stdout.write(doc);
  else ctx.print(renderHydration(ctx.out, r.hydration, r.uncommitted));
  return 0;
}

export async function gate(ctx: Ctx, opts: HydrateFlags): Promise<number> {
  const repo = await ctx.repo();
  const r = await gateStage(repo, { ...hydrateOptions(opts), promotions: snapshotPromotions(repo, new Date()) });
  ctx.print(renderHydration(ctx.out, r.hydration, r.uncommitted));
  return ctx.report(r.findings, `gate ${opts.framework}/${opts.stage} passed`, {
    framework: opts.framework,
    stage: opts.stage,
    passed: r.passed,
    hydration: r.hydration,
  });
}
