// `artifacts channel ...`, `artifacts rollout ...` and `artifacts resolve`: rollout channels.
import { readUnitsFile, unitLines } from '../../core/channels/cohorts.js';
import {
  channelCreate,
  channelResolver,
  rolloutAbort,
  rolloutAdvance,
  rolloutComplete,
  rolloutPause,
  rolloutPromote,
  rolloutStart,
  rolloutSwitch,
  type ChannelActionResult,
} from '../../core/channels/operations.js';
import { listChannelNames, verifyAllChannels, verifyChannel, type Rollout } from '../../core/channels/records.js';
import { channelAttestationFindings } from '../../core/attest/attestations.js';
import { unitOf } from '../../core/channels/bucket.js';
import { ArtifactsError, type Finding } from '../../core/errors.js';
import { requireTrust } from '../../core/trust/trust-store.js';
import { listSnapshots, resolveSnapshot } from '../../core/snapshots/snapshot-store.js';
import type { Ctx } from '../context.js';
import { h, printable, printableOutput } from '../render.js';
import { signingKey } from '../signing-key.js';

type Signed = { key?: string; dryRun?: boolean };

/** Is an RFC 3339 time (already of the right form) a real one: no February 30th, no hour 24? */
function realTime(text: string): boolean {
  const t = Date.parse(text);
  if (Number.isNaN(t)) return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text)!;
  const [y, mo, d, hh, mi, ss] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && hh < 24 && mi < 60 && ss < 60;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;

function printAction(ctx: Ctx, r: ChannelActionResult): number {
  const rec = r.record;
  return ctx.result({ dry_run: r.dryRun, id: r.id || null, file: r.file || null, record: rec }, () => {
    ctx.print(h`${r.dryRun ? 'would write' : 'wrote'} record ${rec.seq} of channel ${rec.channel} (${rec.action})\n`);
    ctx.print(h`stable ${rec.stable ?? '(none)'}\n`);
    if (rec.rollout) {
      const o = rec.rollout;
      const step = o.steps.length ? ` step ${o.step_index + 1}/${o.steps.length} (${o.steps[o.step_index]! / 100} %)` : '';
      ctx.print(h`rollout ${o.strategy} to ${o.target}${step}${o.paused ? ' paused' : ''}\n`);
    }
    if (rec.gate_bypassed)
      ctx.print(
        h`emergency promote: gate bypassed${rec.skipped_steps?.length ? `, skipped steps ${rec.skipped_steps.map((x) => `${x / 100} %`).join(', ')}` : ''}; reason: ${rec.reason ?? ''}\n`,
      );
  });
}

export async function create(
  ctx: Ctx,
  name: string,
  o: Signed & { framework: string; stage: string; healthStage?: string },
): Promise<number> {
  const repo = await ctx.repo();
  const signer = await signingKey(o.key);
  return printAction(
    ctx,
    await channelCreate(repo, {
      name,
      framework: o.framework,
      stage: o.stage,
      ...(o.healthStage ? { healthStage: o.healthStage } : {}),
      signer,
      dryRun: !!o.dryRun,
    }),
  );
}

export async function list(ctx: Ctx): Promise<number> {
  const repo = await ctx.repo();
  const names = await listChannelNames(repo);
  const trust = names.length > 0 ? await requireTrust(repo) : undefined;
  const rows: Array<{
    name: string;
    verified: boolean;
    framework: string | null;
    stage: string | null;
    records: number;
    stable: string | null;
    rollout: Rollout | null;
  }> = [];
  const findings: Finding[] = [];
  for (const name of names) {
    // Only a verified record is shown as the channel's state; a channel that does not
    // verify is listed as such (and the listing exits 4).
    const v = await verifyChannel(repo, name, trust!);
    findings.push(...v.findings);
    const head = v.findings.length === 0 ? v.records[v.records.length - 1]?.record : undefined;
    rows.push({
      name,
      verified: v.findings.length === 0,
      framework: head?.framework ?? null,
      stage: head?.stage ?? null,
      records: v.records.length,
      stable: head?.stable ?? null,
      rollout: head?.rollout ?? null,
    });
  }
  const print = () => {
    if (rows.length === 0) ctx.print('no channels\n');
    for (const r of rows)
      ctx.print(
        r.verified
          ? h`${r.name}  ${r.framework}/${r.stage}  ${r.records} record(s)  stable ${r.stable ?? '(none)'}${r.rollout ? `  rollout ${r.rollout.strategy}` : ''}\n`
          : h`${r.name}  DOES NOT VERIFY (${r.records} record(s)): run \`artifacts channel verify ${r.name}\`\n`,
      );
  };
  if (findings.length > 0) {
    print();
    return ctx.report(findings, '', { channels: rows });
  }
  return ctx.result({ channels: rows }, print);
}

export async function verify(ctx: Ctx, name: string | undefined): Promise<number> {
  const repo = await ctx.repo();
  if (name !== undefined) {
    const trust = await requireTrust(repo);
    const v = await verifyChannel(repo, name, trust);
    if (v.records.length === 0 && v.findings.length === 0) throw new ArtifactsError('CHANNEL_NOT_FOUND', `no channel ${name}`);
    if (v.findings.length === 0) v.findings.push(...(await channelAttestationFindings(repo, trust, v.records)));
    return ctx.report(v.findings, '1 channel(s) verified', { channels: [name] });
  }
  const all = await verifyAllChannels(repo, () => requireTrust(repo));
  if (all.names.length > 0) {
    const trust = await requireTrust(repo);
    for (const n of all.names)
      all.findings.push(...(await channelAttestationFindings(repo, trust, (await verifyChannel(repo, n, trust)).records)));
  }
  return ctx.report(all.findings, `${all.names.length} channel(s) verified`, { channels: all.names });
}

export async function start(
  ctx: Ctx,
  o: Signed & { channel: string; to: string; strategy?: string; steps?: string; seed?: string; include?: string; exclude?: string },
): Promise<number> {
  const strategy = o.strategy ?? 'direct';
  if (!['direct', 'canary', 'blue-green'].includes(strategy))
    throw new ArtifactsError('USAGE', `--strategy ${JSON.stringify(strategy)} is not direct, canary or blue-green`);
  const repo = await ctx.repo();
  const signer = await signingKey(o.key);
  return printAction(
    ctx,
    await rolloutStart(repo, {
      channel: o.channel,
      to: o.to,
      strategy: strategy as 'direct' | 'canary' | 'blue-green',
      ...(o.steps ? { steps: o.steps } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.include !== undefined ? { include: o.include } : {}),
      ...(o.exclude !== undefined ? { exclude: o.exclude } : {}),
      signer,
      dryRun: !!o.dryRun,
    }),
  );
}

function action(fn: typeof rolloutAdvance) {
  return async (ctx: Ctx, o: Signed & { channel: string }): Promise<number> => {
    const repo = await ctx.repo();
    const signer = await signingKey(o.key);
    return printAction(ctx, await fn(repo, { channel: o.channel, signer, dryRun: !!o.dryRun }));
  };
}

export async function advance(ctx: Ctx, o: Signed & { channel: string; onFail?: string }): Promise<number> {
  if (o.onFail !== undefined && o.onFail !== 'abort' && o.onFail !== 'pause')
    throw new ArtifactsError('USAGE', `--on-fail ${JSON.stringify(o.onFail)} is not abort or pause`);
  const repo = await ctx.repo();
  const signer = await signingKey(o.key);
  return printAction(
    ctx,
    await rolloutAdvance(repo, {
      channel: o.channel,
      signer,
      dryRun: !!o.dryRun,
      ...(o.onFail ? { onFail: o.onFail } : {}),
    }),
  );
}

export async function promote(ctx: Ctx, o: Signed & { channel: string; full?: boolean; reason: string }): Promise<number> {
  if (!o.full) throw new ArtifactsError('USAGE', 'rollout promote is the emergency path to every unit at once: say so with --full');
  const repo = await ctx.repo();
  const signer = await signingKey(o.key);
  return printAction(ctx, await rolloutPromote(repo, { channel: o.channel, reason: o.reason, signer, dryRun: !!o.dryRun }));
}
export const pause = action((repo, o) => rolloutPause(repo, o));
export const resume = action((repo, o) => rolloutPause(repo, { ...o, resume: true }));
export const abort = action(rolloutAbort);
export const complete = action(rolloutComplete);
export const switchColour = action(rolloutSwitch);

export async function status(ctx: Ctx, o: { channel: string }): Promise<number> {
  const repo = await ctx.repo();
  const trust = await requireTrust(repo);
  const { records, findings } = await verifyChannel(repo, o.channel, trust);
  if (records.length === 0 && findings.length === 0) throw new ArtifactsError('CHANNEL_NOT_FOUND', `no channel ${o.channel}`);
  if (findings.length > 0) return ctx.report(findings, '', {});
  const head = records[records.length - 1]!.record!;
  const r = head.rollout;
  // The fraction of units on the rollout's own target (blue/green: all once switched).
  const fractionOf = (x: Rollout | null) => (x ? (x.strategy === 'canary' ? x.steps[x.step_index]! / 10_000 : x.switched ? 1 : 0) : null);
  const fraction = fractionOf(r);
  // Each record as an auditor reads it: who decided what, when, and what units ran then.
  const history = records.map((s) => {
    const x = s.record!;
    return {
      seq: s.seq,
      id: s.id,
      action: x.action,
      created_at: x.created_at,
      signer: x.signer.keyid,
      stable: x.stable,
      target: x.rollout?.target ?? null,
      step_index: x.rollout ? x.rollout.step_index : null,
      fraction: fractionOf(x.rollout),
      ...(x.evidence ? { evidence: x.evidence } : {}),
      ...(x.action === 'promote' ? { reason: x.reason, skipped_steps: x.skipped_steps, gate_bypassed: x.gate_bypassed } : {}),
    };
  });
  const bakeSeconds = r?.bake?.[r.step_index] ?? 0;
  const bakeEndsAt =
    r && bakeSeconds > 0 ? new Date(Date.parse(r.step_started_at) + bakeSeconds * 1000).toISOString().replace('.000Z', 'Z') : null;
  // What the health stage's evidence must name for this step to advance.
  const evidenceFor = r && head.health_stage ? { stage: head.health_stage, rollout: r.id, step: r.step_index } : null;
  // A stable snapshot that a later rollback of its stage superseded keeps being resolved
  // until a new rollout: say so.
  let superseded: { by: string; seq: number } | null = null;
  if (head.stable) {
    const stable = await resolveSnapshot(repo, head.stable).catch(() => undefined);
    if (stable) {
      const later = (await listSnapshots(repo, stable.framework, stable.stage)).filter(
        (x) => x.seq > stable.seq && x.snapshot?.action === 'rollback',
      );
      const last = later[later.length - 1];
      if (last) superseded = { by: last.id, seq: last.seq };
    }
  }
  return ctx.result(
    {
      channel: o.channel,
      stable: head.stable,
      superseded_by: superseded,
      rollout: r,
      fraction,
      bake_ends_at: bakeEndsAt,
      evidence_for: evidenceFor,
      history,
    },
    () => {
      if (superseded)
        ctx.print(
          h`note: a rollback (#${superseded.seq}, ${superseded.by}) superseded the stable snapshot; this channel runs it until a new rollout\n`,
        );
      ctx.print(h`channel ${o.channel} follows ${head.framework}/${head.stage}\nstable ${head.stable ?? '(none)'}\n`);
      if (r)
        ctx.print(
          h`rollout ${r.strategy} to ${r.target}: ${Math.round((fraction ?? 0) * 1000) / 10} % of units${r.paused ? ', paused' : ''}\n`,
        );
      if (bakeEndsAt) ctx.print(h`step ${r!.step_index + 1} bakes until ${bakeEndsAt}\n`);
      if (evidenceFor)
        ctx.print(h`health evidence (${evidenceFor.stage}) must name rollout: ${evidenceFor.rollout} and step: ${evidenceFor.step}\n`);
      for (const x of history)
        ctx.print(
          h`  #${x.seq} ${x.action} ${x.created_at} by ${x.signer}${x.target ? ` target ${x.target}` : ''}${x.fraction !== null && x.target ? ` at ${x.fraction * 100} %` : ''}${x.action === 'promote' ? ` (gate bypassed: ${x.reason ?? ''})` : ''}\n`,
        );
    },
  );
}

export async function resolve(
  ctx: Ctx,
  o: { channel: string; unit?: string; units?: string; stable?: boolean; variant?: string; minSeq?: string; at?: string },
): Promise<number> {
  if ([o.unit, o.units, o.stable].filter(Boolean).length !== 1)
    throw new ArtifactsError('USAGE', 'give exactly one of --unit ID, --units FILE and --stable');
  if (o.variant !== undefined && o.variant !== 'preview') throw new ArtifactsError('USAGE', '--variant takes only preview');
  if (o.minSeq !== undefined && !/^[1-9]\d{0,9}$/.test(o.minSeq)) throw new ArtifactsError('USAGE', '--min-seq takes a record number');
  let at: number | Date | undefined;
  if (o.at !== undefined) {
    if (/^[1-9]\d{0,9}$/.test(o.at)) at = Number(o.at);
    else if (RFC3339.test(o.at) && realTime(o.at)) at = new Date(o.at);
    else throw new ArtifactsError('USAGE', `--at ${JSON.stringify(o.at.slice(0, 40))} is neither a record number nor an RFC 3339 time`);
  }
  const repo = await ctx.repo();
  const resolver = await channelResolver(repo, o.channel, {
    ...(at !== undefined ? { at } : {}),
    ...(o.minSeq ? { minSeq: Number(o.minSeq) } : {}),
    ...(o.variant === 'preview' ? { preview: true } : {}),
  });
  if (o.stable) {
    // The stable snapshot, without a unit: what a unit outside any rollout runs.
    const a = {
      unit: null,
      snapshot: resolver.stable,
      variant: 'stable' as const,
      artifacts: resolver.stable ? (resolver.artifacts.get(resolver.stable) ?? []) : [],
      channel_record: resolver.channel_record,
    };
    return ctx.result({ channel: o.channel, answers: [a] }, () => ctx.print(h`stable  ${a.snapshot ?? '(none)'}\n`));
  }
  if (o.unit) {
    const a = resolver.answer(unitOf(o.unit));
    return ctx.result({ channel: o.channel, answers: [a] }, () => ctx.print(h`${a.unit}  ${a.variant}  ${a.snapshot ?? '(none)'}\n`));
  }
  // A units file streams: one answer a line as it is read, in bounded memory (a million
  // units resolve in seconds). The artifacts of each possible snapshot are encoded once.
  const json = ctx.out.json;
  // What follows the unit in an answer, per snapshot and variant, encoded once.
  const record = JSON.stringify(resolver.channel_record);
  const tails = new Map<string, string>();
  const tail = (snapshot: string | null, variant: string) => {
    const k = `${snapshot} ${variant}`;
    let t = tails.get(k);
    if (t === undefined) {
      const artifacts = JSON.stringify(snapshot ? (resolver.artifacts.get(snapshot) ?? []) : []);
      t = json
        ? `,"snapshot":${JSON.stringify(snapshot)},"variant":"${variant}","artifacts":${artifacts},"channel_record":${record}}`
        : `  ${variant}  ${snapshot ?? '(none)'}\n`;
      tails.set(k, t);
    }
    return t;
  };
  // The units file is read under the checked-read rules (a regular file, bounded: a FIFO or
  // /dev/zero is refused, never read) and must be UTF-8: a unit is the exact text of a line.
  // Lines are walked in place (no array of a million strings): once to check every line
  // before the first answer is written (a bad line is a usage error with no partial output),
  // then to answer.
  const text = await readUnitsFile(o.units!);
  for (const _unit of unitLines(text, o.units!));
  const input = unitLines(text, o.units!);
  let buf = json
    ? `{\n  "command": "resolve",\n  "ok": true,\n  "channel": ${JSON.stringify(o.channel)},\n  "channel_record": ${record},\n  "answers": [`
    : '';
  let n = 0;
  const flush = async () => {
    if (buf.length === 0 || ctx.out.quiet) return void (buf = '');
    // Human lines go through the same filter as all human output (no line of a unit's text
    // may read as a CI workflow command); JSON is JSON.
    const ok = process.stdout.write(json ? buf : printableOutput(buf, ctx.out.color));
    buf = '';
    if (!ok) await new Promise((r) => process.stdout.once('drain', r));
  };
  for (const unit of input) {
    const a = resolver.choose(unit);
    buf += json
      ? `${n > 0 ? ',' : ''}\n    {"unit":${JSON.stringify(unit)}${tail(a.snapshot, a.variant)}`
      : `${printable(unit)}${tail(a.snapshot, a.variant)}`;
    n++;
    if (buf.length > 1 << 20) await flush();
  }
  if (json) buf += `${n > 0 ? '\n  ' : ''}]\n}\n`;
  await flush();
  return 0;
}
