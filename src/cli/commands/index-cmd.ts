// `artifacts index add | update | remove | rebuild | verify | recover`: the index's writes
// and its check against the tree.
import { exitCodeFor } from '../../core/errors.js';
import { indexAdd, indexMigrate, indexRebuild, indexRemove, indexVerifySummary, type WriteResult } from '../../core/index/operations.js';
import { recoverIndex } from '../../core/index/store.js';
import { abs, hasProblems, humanFindings, relToRoot, type Ctx } from '../context.js';
import { h, renderFindingsHuman, writeHuman } from '../render.js';

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
  return ctx.report(r.findings, `index matches the tree (${r.indexed} artifacts)`, {
    indexed: r.indexed,
    scanned: r.scanned,
    index_digest: r.index_digest,
  });
}

export async function recover(ctx: Ctx, opts: { discard?: boolean }): Promise<number> {
  const r = await recoverIndex(await ctx.repo(), { discard: !!opts.discard });
  return ctx.result({ ...r }, () =>
    ctx.print(
      r.replayed.length
        ? `replayed ${r.replayed.length} transaction(s)\n`
        : `nothing to recover${r.discardedTailBytes ? ` (discarded a torn tail of ${r.discardedTailBytes} bytes)` : ''}\n`,
    ),
  );
}

export async function migrate(ctx: Ctx): Promise<number> {
  const r = await indexMigrate(await ctx.repo());
  return ctx.result({ ...r }, () =>
    ctx.print(
      r.from === null
        ? 'no index to migrate\n'
        : r.changed
          ? `migrated artifacts_index.json from ${r.from} to ${r.to} (${r.entries} artifacts)\n`
          : `artifacts_index.json is already ${r.to} (${r.entries} artifacts)\n`,
    ),
  );
}

/** The summary of a write to the index (add, update, remove, rebuild). */
function writeSummary(ctx: Ctx, what: string, r: WriteResult & { count?: number }): number {
  // Without --strict, invalid files are reported (exit 1) and the valid ones written.
  return ctx.result(
    { ...r },
    () => {
      if (r.findings.length > 0) {
        const { shown, note } = humanFindings(ctx, r.findings);
        if (!ctx.out.quiet || hasProblems(shown)) writeHuman(ctx.out, 'stdout', renderFindingsHuman(ctx.out, shown));
        if (note) ctx.print(note);
      }
      if (r.recovered.replayed.length > 0) ctx.print(h`recovered: replayed ${r.recovered.replayed.length} interrupted transaction(s)\n`);
      const parts = [`${r.added.length} added`, `${r.updated.length} updated`, `${r.removed.length} removed`];
      if (r.count !== undefined) parts.unshift(`${r.count} artifacts`);
      ctx.print(h`${what}: ${parts.join(', ')}${r.changed ? '' : ' (index unchanged)'}\n`);
      if (ctx.out.verbose) {
        for (const p of r.added) ctx.print(h`  + ${p}\n`);
        for (const p of r.updated) ctx.print(h`  ~ ${p}\n`);
        for (const p of r.removed) ctx.print(h`  - ${p}\n`);
      }
      const failed = new Set(r.findings.filter((f) => f.severity === 'error' && f.path !== undefined).map((f) => f.path)).size;
      if (failed > 0)
        ctx.print(
          `${failed} file${failed === 1 ? '' : 's'} with problems not indexed${r.kept.length > 0 ? ` (${r.kept.length} kept as previously indexed)` : ''}; --strict writes nothing when any file fails\n`,
        );
      ctx.print(h`index_digest ${r.after}\n`);
    },
    exitCodeFor(r.findings),
  );
}
