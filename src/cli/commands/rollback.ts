// `artifacts rollback`: restore a retained snapshot, or rehearse it with --dry-run.
import { exitCodeFor } from '../../core/errors.js';
import { rollback as rollbackStage } from '../../core/snapshots/rollback.js';
import type { Ctx } from '../context.js';
import { signingKey } from '../signing-key.js';
import { h } from '../render.js';

export async function rollback(
  ctx: Ctx,
  o: { framework: string; stage: string; to: string; key?: string; at?: string; dryRun?: boolean },
): Promise<number> {
  const repo = await ctx.repo();
  // A rehearsal needs no secret: without a key it checks everything else.
  const key = o.dryRun && !o.key && !process.env.ARTIFACTS_SIGNING_KEY ? undefined : await signingKey(o.key);
  const r = await rollbackStage(repo, {
    framework: o.framework,
    stage: o.stage,
    to: o.to,
    ...(key ? { signer: key } : {}),
    now: new Date(),
    ...(o.at ? { at: o.at } : {}),
    dryRun: !!o.dryRun,
  });
  const code = exitCodeFor(r.findings);
  const keyNote =
    'no --key given: the signing key was not checked; the real rollback needs --key FILE (or ARTIFACTS_SIGNING_KEY) naming a key the trust chain trusts';
  return ctx.result(
    { ...r, key_checked: key !== undefined, ...(r.key_required ? { note: keyNote } : {}) },
    () => {
      ctx.print(h`${r.dryRun ? 'rehearsal: ' : ''}rollback of ${o.framework}/${o.stage} to #${r.target.seq} (${r.target.id})\n`);
      if (r.key_required) ctx.print(h`note: ${keyNote}\n`);
      for (const st of r.steps) ctx.print(h`  ${st.action.padEnd(9)} ${st.path} from ${st.source}\n`);
      if (r.snapshot && !r.dryRun) ctx.print(h`wrote ${r.snapshot.file} (seq ${r.snapshot.seq}, action rollback)\n`);
      ctx.printFindings(r.findings);
      ctx.print(
        code === 0
          ? r.dryRun
            ? `the rollback would succeed${r.key_required ? ' given a trusted key' : ''}\n`
            : 'done\n'
          : 'the rollback would fail\n',
      );
    },
    code,
  );
}
