// `artifacts validate`: every pre-merge check, in human, JSON, GitHub or SARIF form.
import { CATALOGUE, exitCodeFor } from '../../core/errors.js';
import { validateRepo } from '../../core/validate.js';
import { humanFindings, type Ctx } from '../context.js';
import { githubNotice, renderFindingsGithub, renderSarif } from '../render.js';
import { VERSION } from '../installation.js';

export async function validate(ctx: Ctx, opts: { format: string; base?: string }): Promise<number> {
  const repo = await ctx.repo();
  const r = await validateRepo(repo, { base: opts.base });
  // GitHub annotations and SARIF are machine formats: --quiet does not change them.
  if (opts.format === 'github') {
    // Annotations are for people: other tools' front matter only with --verbose.
    const shown = humanFindings(ctx, r.findings).shown;
    process.stdout.write(
      shown.length ? renderFindingsGithub(shown) : githubNotice(`artifacts validate: no problems in ${r.artifacts} artifacts`),
    );
    return exitCodeFor(r.findings);
  }
  if (opts.format === 'sarif') {
    process.stdout.write(renderSarif(r.findings, CATALOGUE, VERSION));
    return exitCodeFor(r.findings);
  }
  if (opts.format === 'json') ctx.out.json = true;
  return ctx.report(r.findings, `${r.artifacts} artifacts valid; routing and index are consistent`, {
    artifacts: r.artifacts,
    scanned: r.scanned,
    checks: r.checks,
  });
}
