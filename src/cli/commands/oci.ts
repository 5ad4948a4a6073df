// `artifacts push | pull | export | import`: snapshots through OCI registries and image layouts.
import { resolve } from 'node:path';
import { ArtifactsError } from '../../core/errors.js';
import {
  exportLayout,
  layoutSource,
  pull as pullFromRegistry,
  pullImage,
  push as pushToRegistry,
  pushChannel,
  type PullResult,
  type PushResult,
} from '../../core/oci/distribute.js';
import type { Ctx } from '../context.js';
import { h } from '../render.js';
import { signingKey } from '../signing-key.js';
import type { Signer } from '../../core/trust/signer.js';

function layoutOf(layout: string | undefined): 'files' | 'tar' {
  if (layout === undefined || layout === 'files' || layout === 'tar') return layout ?? 'files';
  throw new ArtifactsError('USAGE', `--layout ${JSON.stringify(layout)} is not files or tar`);
}

function seqOf(seq: string | undefined): number | 'latest' {
  if (seq === undefined || seq === 'latest') return 'latest';
  if (!/^[1-9]\d{0,9}$/.test(seq)) throw new ArtifactsError('USAGE', '--seq takes a snapshot number or latest');
  return Number(seq);
}

/** The signer of the image's own attestation: --key, else ARTIFACTS_SIGNING_KEY, else none
 * (then only the snapshot's attestation is attached). */
async function imageSigner(key: string | undefined): Promise<{ signer?: Signer; signerFrom?: 'option' | 'environment' }> {
  if (key === undefined && !process.env.ARTIFACTS_SIGNING_KEY) return {};
  return { signer: await signingKey(key), signerFrom: key === undefined ? 'environment' : 'option' };
}

export async function push(
  ctx: Ctx,
  target: string,
  o: { framework?: string; stage?: string; seq?: string; channel?: string; plainHttp?: boolean; layout?: string; key?: string },
): Promise<number> {
  const repo = await ctx.repo();
  const common = { plainHttp: !!o.plainHttp, layout: layoutOf(o.layout), ...(await imageSigner(o.key)) };
  let r: PushResult;
  if (o.channel !== undefined) {
    if (o.framework || o.stage || o.seq)
      throw new ArtifactsError('USAGE', "--channel pushes the channel's stable snapshot: give no --framework, --stage or --seq");
    r = await pushChannel(repo, target, o.channel, common);
  } else {
    if (!o.framework || !o.stage) throw new ArtifactsError('USAGE', 'give --framework and --stage (or --channel)');
    r = await pushToRegistry(repo, target, { ...common, framework: o.framework, stage: o.stage, seq: seqOf(o.seq) });
  }
  return ctx.result({ ...r }, () => {
    ctx.print(h`pushed ${r.snapshot} as ${r.ref}\n`);
    ctx.print(
      h`blobs: ${r.blobs.pushed} pushed, ${r.blobs.skipped} already there${r.referrer ? `; attestation referrer ${r.referrer}` : ''}\n`,
    );
    ctx.print(
      r.image_attestation
        ? h`image attestation referrer ${r.image_attestation}\n`
        : h`no image attestation (its subject the manifest): pass the snapshot's --key to sign one\n`,
    );
  });
}

function printPulled(ctx: Ctx, r: PullResult, out: string): number {
  return ctx.result({ ...r, out }, () => {
    ctx.print(
      h`verified snapshot ${r.snapshot} (manifest ${r.manifest})${r.attestation ? ', with its attestation' : ''}${r.image_attestation ? " and the image's" : ''}\n`,
    );
    for (const f of r.files) ctx.print(h`  wrote ${f.path} (${f.size} bytes)\n`);
    if (!r.attestation)
      ctx.print(
        h`note: no attestation came with the image (a layout copied without its referrers): the files are checked against the signed snapshot only\n`,
      );
  });
}

/** The repository around the working directory, when there is one (its trust chain judges
 * the signer); none is needed with --trust-root. */
async function maybeRepo(ctx: Ctx) {
  return ctx.repo().catch(() => undefined);
}

export async function pull(
  ctx: Ctx,
  ref: string,
  o: { out: string; plainHttp?: boolean; channel?: string; minSeq?: string },
): Promise<number> {
  const repo = await maybeRepo(ctx);
  const trustRoot = repo?.trustRoot ?? ctx.g.trustRoot ?? process.env.ARTIFACTS_TRUST_ROOT;
  if (o.minSeq !== undefined && (o.channel === undefined || !/^[1-9]\d{0,9}$/.test(o.minSeq)))
    throw new ArtifactsError('USAGE', '--min-seq takes a record number, with --channel');
  const r = await pullFromRegistry(ref, resolve(o.out), {
    ...(repo ? { repo } : {}),
    ...(trustRoot ? { trustRoot } : {}),
    plainHttp: !!o.plainHttp,
    ...(o.channel !== undefined ? { channel: o.channel } : {}),
    ...(o.minSeq !== undefined ? { minSeq: Number(o.minSeq) } : {}),
  });
  return printPulled(ctx, r, o.out);
}

export async function exportCmd(
  ctx: Ctx,
  o: { framework: string; stage: string; seq?: string; ociLayout: string; tag?: string; layout?: string; key?: string },
): Promise<number> {
  const repo = await ctx.repo();
  const r = await exportLayout(repo, resolve(o.ociLayout), {
    framework: o.framework,
    stage: o.stage,
    seq: seqOf(o.seq),
    layout: layoutOf(o.layout),
    ...(await imageSigner(o.key)),
    ...(o.tag ? { tag: o.tag } : {}),
  });
  return ctx.result({ ...r, layout: o.ociLayout }, () => ctx.print(h`exported ${r.digest} to ${o.ociLayout} as ${r.tag}\n`));
}

export async function importCmd(ctx: Ctx, o: { ociLayout: string; tag?: string; out?: string }): Promise<number> {
  const repo = await maybeRepo(ctx);
  const out = o.out ?? repo?.root ?? process.cwd();
  const trustRoot = repo?.trustRoot ?? ctx.g.trustRoot ?? process.env.ARTIFACTS_TRUST_ROOT;
  const r = await pullImage(layoutSource(resolve(o.ociLayout), o.tag), resolve(out), {
    ...(repo ? { repo } : {}),
    ...(trustRoot ? { trustRoot } : {}),
  });
  return printPulled(ctx, r, out);
}
