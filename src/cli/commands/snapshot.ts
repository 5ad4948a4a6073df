// `artifacts snapshot list | show | verify | status | diff | prune | hold | unhold`.
import { diffSnapshots, snapshotStatus, unverifiedSnapshots } from '../../core/snapshots/queries.js';
import { prune as pruneSnapshots } from '../../core/snapshots/retention.js';
import { allSnapshots, resolveSnapshot, writeHold } from '../../core/snapshots/snapshot-store.js';
import { verifySnapshots } from '../../core/snapshots/verify-chain.js';
import { verifyAllChannels, verifyChannel } from '../../core/channels/records.js';
import { channelAttestationFindings, deletedAttestationFindings, snapshotAttestationFindings } from '../../core/attest/attestations.js';
import { requireTrust } from '../../core/trust/trust-store.js';
import type { Ctx } from '../context.js';
import { h } from '../render.js';

interface Scope {
  framework?: string;
  stage?: string;
}

const scopeOf = (o: Scope) => (o.framework && o.stage ? { framework: o.framework, stage: o.stage } : undefined);

export async function list(ctx: Ctx, o: Scope): Promise<number> {
  const repo = await ctx.repo();
  const all = (await allSnapshots(repo)).filter((s) => (!o.framework || s.framework === o.framework) && (!o.stage || s.stage === o.stage));
  const unverified = await unverifiedSnapshots(repo, new Date());
  const rows = all.map((s) => {
    const problem = unverified.get(s.file);
    return {
      framework: s.framework,
      stage: s.stage,
      seq: s.seq,
      id: s.id,
      action: s.snapshot?.action,
      created_at: s.snapshot?.created_at,
      artifacts: s.snapshot?.artifacts.length,
      held: !!s.hold,
      released: s.released,
      verified: problem === undefined,
      ...(problem ? { problem } : {}),
    };
  });
  return ctx.result({ snapshots: rows }, () => {
    for (const r of rows)
      ctx.print(
        h`${r.framework}/${r.stage} #${r.seq}  ${r.action}  ${r.created_at}  ${r.artifacts} artifacts  ${r.id}${r.held ? '  held' : ''}${r.released ? '  released' : ''}${r.verified ? '' : `  UNVERIFIED (${r.problem ?? ''})`}\n`,
      );
  });
}

export async function show(ctx: Ctx, ref: string, o: Scope): Promise<number> {
  const s = await resolveSnapshot(await ctx.repo(), ref, scopeOf(o));
  return ctx.result({ id: s.id, file: s.file, snapshot: s.snapshot ?? null, held: s.hold ?? null, released: s.released }, () =>
    // (JSON escapes every control character inside its strings: its own line breaks stay.)
    ctx.print(h`${s.file}\nid ${s.id}\n` + `${JSON.stringify(s.snapshot, null, 2)}\n`),
  );
}

export async function verify(ctx: Ctx, o: Scope): Promise<number> {
  const repo = await ctx.repo();
  const reports = await verifySnapshots(repo, { now: new Date(), ...(scopeOf(o) ?? {}) });
  const findings = reports.flatMap((r) => r.findings);
  const count = reports.reduce((n, r) => n + r.snapshots.length, 0);
  // Each snapshot's attestation (a missing one is a warning: `attest backfill` writes it).
  const trust = count > 0 ? await requireTrust(repo).catch(() => undefined) : undefined;
  findings.push(
    ...(await deletedAttestationFindings(repo, scopeOf(o) ? `.artifacts/snapshots/${o.framework}/${o.stage}` : '.artifacts/snapshots')),
  );
  if (!scopeOf(o)) findings.push(...(await deletedAttestationFindings(repo, '.artifacts/channels')));
  // (Only of chains that verify: a chain that does not is reported as itself.)
  if (trust)
    for (const r of reports)
      if (!r.findings.some((f) => f.severity === 'error')) findings.push(...(await snapshotAttestationFindings(repo, trust, r)));
  // With --all, the rollout channels' records too: signed and hash-chained the same way.
  let channels: string[] = [];
  if (!scopeOf(o)) {
    const all = await verifyAllChannels(repo, () => requireTrust(repo));
    channels = all.names;
    findings.push(...all.findings);
    if (channels.length > 0) {
      const t = await requireTrust(repo);
      for (const name of channels) {
        const v = await verifyChannel(repo, name, t);
        if (v.findings.length === 0) findings.push(...(await channelAttestationFindings(repo, t, v.records)));
      }
    }
  }
  return ctx.report(
    findings,
    `${count} snapshot(s) in ${reports.length} chain(s)${channels.length ? ` and ${channels.length} channel(s)` : ''} verified`,
    {
      chains: reports.map((r) => ({ framework: r.framework, stage: r.stage, snapshots: r.snapshots.length })),
      channels,
    },
  );
}

export async function status(ctx: Ctx, o: { framework: string; stage: string }): Promise<number> {
  const r = await snapshotStatus(await ctx.repo(), o.framework, o.stage, { now: new Date() });
  return ctx.report(r.findings, r.latest ? `the tree matches ${o.framework}/${o.stage} #${r.latest.seq}` : 'no snapshots yet', {
    latest: r.latest ?? null,
  });
}

export async function diff(ctx: Ctx, a: string, b: string, o: Scope): Promise<number> {
  const repo = await ctx.repo();
  const d = diffSnapshots(await resolveSnapshot(repo, a, scopeOf(o)), await resolveSnapshot(repo, b, scopeOf(o)));
  return ctx.result({ ...d }, () => {
    for (const x of d.added) ctx.print(h`+ ${x.slot}: ${x.id}@${x.version}\n`);
    for (const x of d.removed) ctx.print(h`- ${x.slot}: ${x.id}@${x.version}\n`);
    for (const x of d.changed) ctx.print(h`~ ${x.to.slot}: ${x.from.id}@${x.from.version} -> ${x.to.id}@${x.to.version}\n`);
    if (!d.added.length && !d.removed.length && !d.changed.length) ctx.print('no differences\n');
  });
}

export async function prune(ctx: Ctx, o: { dryRun?: boolean }): Promise<number> {
  const r = await pruneSnapshots(await ctx.repo(), { now: new Date(), dryRun: !!o.dryRun });
  return ctx.result({ dry_run: !!o.dryRun, decisions: r }, () => {
    for (const d of r) ctx.print(h`${d.framework}/${d.stage} #${d.seq}  ${o.dryRun ? 'would ' : ''}${d.decision}: ${d.reason}\n`);
  });
}

export async function hold(ctx: Ctx, ref: string, o: Scope & { reason: string }): Promise<number> {
  const repo = await ctx.repo();
  const s = await resolveSnapshot(repo, ref, scopeOf(o));
  await writeHold(repo, s, o.reason);
  return ctx.result({ id: s.id, held: true, reason: o.reason }, () =>
    ctx.print(h`held ${s.framework}/${s.stage} #${s.seq}: ${o.reason}\n`),
  );
}

export async function unhold(ctx: Ctx, ref: string, o: Scope): Promise<number> {
  const repo = await ctx.repo();
  const s = await resolveSnapshot(repo, ref, scopeOf(o));
  await writeHold(repo, s, undefined);
  return ctx.result({ id: s.id, held: false }, () => ctx.print(h`released the hold on ${s.framework}/${s.stage} #${s.seq}\n`));
}
