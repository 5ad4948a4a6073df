// `artifacts index add | update | remove | rebuild | verify | recover`: the index's writes
// and its check against the tree.
import { indexAdd, indexRebuild, indexRemove, indexVerifySummary } from '../../core/index/operations.js';
import { recoverIndex } from '../../core/index/store.js';
import { abs, relToRoot, writeSummary, type Ctx } from '../context.js';

export async function add(ctx: Ctx, paths: string[], o: { strict?: boolean }): Promise<number> {
  return writeSummary(ctx, 'index add', await indexAdd(await ctx.repo(), paths.map(abs), { strict: !!o.strict }));
}

export async function update(ctx: Ctx, paths: string[], o: { strict?: boolean }): Promise<number> {
  return writeSummary(ctx, 'index update', await indexAdd(await ctx.repo(), paths.map(abs), { update: true, strict: !!o.strict }));
}

export async function remove(ctx: Ctx, refs: string[]): Promise<number> {
  const repo = await ctx.repo();
  const mapped = refs.map((r) => (r.includes('@') && !r.includes('/') ? r : relToRoot(repo.root, r)));
  return writeSummary(ctx, 'index remove', await indexRemove(repo, mapped));
}

export async function rebuild(ctx: Ctx, opts: { cache: boolean; strict?: boolean }): Promise<number> {
  return writeSummary(ctx, 'index rebuild', await indexRebuild(await ctx.repo(), { useCache: opts.cache, strict: !!opts.strict }));
}

export async function verify(ctx: Ctx): Promise<number> {
  const r = await indexVerifySummary(await ctx.repo());
  return ctx.report(r.findings, `index matches the tree (${r.indexed} artifacts)`, { indexed: r.indexed, scanned: r.scanned, index_digest: r.index_digest });
}

export async function recover(ctx: Ctx, opts: { discard?: boolean }): Promise<number> {
  const r = await recoverIndex(await ctx.repo(), { discard: !!opts.discard });
  return ctx.result({ ...r }, () =>
    ctx.print(r.replayed.length ? `replayed ${r.replayed.length} transaction(s)\n` : `nothing to recover${r.discardedTailBytes ? ` (discarded a torn tail of ${r.discardedTailBytes} bytes)` : ''}\n`),
  );
}
