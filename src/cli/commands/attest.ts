// `artifacts attest verify FILE [--subject PATH]...` and `artifacts attest backfill --key K`.
import { attestBackfill } from '../../core/attest/backfill.js';
import { subjectFindings, verifyAttestationFile } from '../../core/attest/attestations.js';
import { requireTrust } from '../../core/trust/trust-store.js';
import type { Ctx } from '../context.js';
import { h } from '../render.js';
import { signingKey } from '../signing-key.js';

export async function verify(ctx: Ctx, file: string, o: { subject?: string[] }): Promise<number> {
  const repo = await ctx.repo();
  const trust = await requireTrust(repo);
  const v = await verifyAttestationFile(file, trust, repo);
  const subjects = o.subject ?? [];
  const findings = await subjectFindings(v.statement, subjects, process.cwd(), repo.root);
  const predicate = v.statement.predicate as { runDetails?: { metadata?: { invocationId?: string } }; record?: { id?: string } };
  return ctx.report(
    findings,
    `${file}: signed by ${v.keyid}; ${v.statement.subject.length} subject(s); ${subjects.length} file(s) checked`,
    {
      file,
      keyid: v.keyid,
      predicateType: v.statement.predicateType,
      of: [predicate.runDetails?.metadata?.invocationId, predicate.record?.id].find((x): x is string => typeof x === 'string') ?? null,
      subjects: v.statement.subject.map((s) => ({ name: s.name ?? null, digest: s.digest ?? {} })),
      checked: subjects,
    },
  );
}

export async function backfill(ctx: Ctx, o: { key?: string; dryRun?: boolean }): Promise<number> {
  const repo = await ctx.repo();
  const signer = await signingKey(o.key);
  const r = await attestBackfill(repo, { signer, dryRun: !!o.dryRun });
  for (const f of r.written) ctx.print(h`${r.dryRun ? 'would write' : 'wrote'} ${f}\n`);
  // A chain that does not verify, or a record whose attestation path holds something else,
  // is reported as a finding: the backfill is not complete (exit 4).
  const summary =
    r.findings.length === 0 && r.written.length === 0
      ? 'every verified record has its attestation'
      : `${r.written.length} attestation(s) ${r.dryRun ? 'to write' : 'written'}`;
  return ctx.report(r.findings, summary, { dry_run: r.dryRun, written: r.written, skipped: r.skipped });
}
