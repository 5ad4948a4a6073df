// `artifacts push | pull | export | import`: snapshots through OCI registries and image layouts.
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { lstat, realpath } from 'node:fs/promises';
import type { ControlFiles } from '../../core/paths.js';
import { ArtifactsError } from '../../core/errors.js';
import {
  exportLayout,
  layoutSource,
  pull as pullFromRegistry,
  pullImage,
  push as pushToRegistry,
  type PullResult,
} from '../../core/oci/distribute.js';
import { verifiedChannel } from '../../core/channels/records.js';
import { resolveSnapshot } from '../../core/snapshots/snapshot-store.js';
import { requireTrust } from '../../core/trust/trust-store.js';
import type { Ctx } from '../context.js';
import { CONFIG_FILE, controlFilesOf, DEFAULT_CONFIG, loadConfig } from '../../core/config.js';
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
  let scope: { framework: string; stage: string; seq: number | 'latest' };
  let ref = target;
  let channelHead: { bytes: Buffer; signature: string; keyid: string; publicKey: Uint8Array; name: string } | undefined;
  if (o.channel !== undefined) {
    if (o.framework || o.stage || o.seq)
      throw new ArtifactsError('USAGE', "--channel pushes the channel's stable snapshot: give no --framework, --stage or --seq");
    const trust = await requireTrust(repo);
    const stored = await verifiedChannel(repo, o.channel, trust);
    const head = stored[stored.length - 1]!;
    const stable = head.record!.stable;
    const keyid = head.record!.signer.keyid;
    channelHead = { bytes: head.bytes, signature: head.signature!, keyid, publicKey: trust.trusted.get(keyid)!, name: o.channel };
    if (!stable) throw new ArtifactsError('USAGE', `channel ${o.channel} has no stable snapshot to push`);
    const snap = await resolveSnapshot(repo, stable);
    scope = { framework: snap.framework, stage: snap.stage, seq: snap.seq };
    if (/@/.test(ref) || /:[^/]*$/.test(ref.slice(ref.indexOf('/') + 1)))
      throw new ArtifactsError('USAGE', '--channel tags the image with the channel name: give REGISTRY/REPO without a tag');
    ref = `${ref}:${o.channel}`;
  } else {
    if (!o.framework || !o.stage) throw new ArtifactsError('USAGE', 'give --framework and --stage (or --channel)');
    scope = { framework: o.framework, stage: o.stage, seq: seqOf(o.seq) };
  }
  const r = await pushToRegistry(repo, ref, {
    ...scope,
    plainHttp: !!o.plainHttp,
    layout: layoutOf(o.layout),
    ...(channelHead ? { channelHead } : {}),
    ...(await imageSigner(o.key)),
  });
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

/** When `out` lies in a repository (any: not only the one around the working directory;
 * through symlinks too): that repository's control files, and where `out` is in it, so that
 * no file lands on its config, index, `.artifacts/` or `.git/` from any --out. */
async function repoControl(out: string): Promise<{ control?: ControlFiles; controlBase?: string }> {
  // (The deepest existing ancestor of out, with its links resolved, then the rest.)
  let existing = resolve(out);
  const rest: string[] = [];
  while (!(await exists(existing)) && dirname(existing) !== existing) {
    rest.unshift(basename(existing));
    existing = dirname(existing);
  }
  const real = join(await realpath(existing).catch(() => existing), ...rest);
  // The nearest directory above that is a repository: it has the tool's config or a `.git`.
  for (let dir = await realpath(existing).catch(() => existing); ; dir = dirname(dir)) {
    if ((await exists(join(dir, CONFIG_FILE))) || (await exists(join(dir, '.git')))) {
      // (A config that does not load still leaves the default control files protected.)
      const config = await loadConfig(dir).then(
        (c) => c.config,
        () => DEFAULT_CONFIG,
      );
      return { control: controlFilesOf(config), controlBase: relative(dir, real).split(sep).join('/') };
    }
    if (dirname(dir) === dir) return {};
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
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
  let target = ref;
  if (o.channel !== undefined) {
    if (/@/.test(ref) || /:[^/]*$/.test(ref.slice(ref.indexOf('/') + 1)))
      throw new ArtifactsError('USAGE', '--channel pulls the tag of that name: give REGISTRY/REPO without a tag');
    target = `${ref}:${o.channel}`;
  }
  const r = await pullFromRegistry(target, resolve(o.out), {
    ...(await repoControl(o.out)),
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
    ...(await repoControl(out)),
    ...(repo ? { repo } : {}),
    ...(trustRoot ? { trustRoot } : {}),
  });
  return printPulled(ctx, r, out);
}
