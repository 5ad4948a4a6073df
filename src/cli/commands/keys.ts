// `artifacts keys generate | trust | revoke | list | migrate`: signing keys and the trust chain.
import { isGitWorkTree } from '../../core/git.js';
import { generateKeys } from '../../core/snapshots/keys.js';
import { listTrust, migrateLegacyKeys, revokeKey, trustKey } from '../../core/trust/trust-operations.js';
import { hasTrustChain } from '../../core/trust/trust-store.js';
import { abs, type Ctx } from '../context.js';
import { signingKey } from '../signing-key.js';
import { h } from '../render.js';

export async function generate(ctx: Ctx, opts: { out: string }): Promise<number> {
  const repo = await ctx.repo();
  // Only a real repository (a config file or a git work tree) is protected from keys.
  const isRepo = repo.configPresent || (await isGitWorkTree(repo.root));
  const r = await generateKeys(abs(opts.out), isRepo ? repo.root : undefined);
  // The next step depends on whether this repository already has a trust chain (asked
  // only for the human output).
  const chain = !ctx.out.json && isRepo && (await hasTrustChain(repo).catch(() => true));
  const next = chain
    ? `next: artifacts keys trust ${r.publicKey} --key SIGNER.key   (SIGNER: a key the trust chain already trusts to add keys)`
    : `next: artifacts keys trust ${r.publicKey} --key ${r.privateKey}   (the first key of a new trust chain is its root and signs itself)`;
  return ctx.result({ private_key: r.privateKey, public_key: r.publicKey, keyid: r.keyid }, () =>
    ctx.print(h`wrote ${r.privateKey} (private, 0600) and ${r.publicKey}\nkeyid ${r.keyid}\n${next}\n`),
  );
}

export async function trust(ctx: Ctx, file: string, o: { key?: string }): Promise<number> {
  const repo = await ctx.repo();
  const r = await trustKey(repo, abs(file), await signingKey(o.key), new Date());
  return ctx.result({ ...r }, () => {
    ctx.print(h`trusted ${r.keyid}: ${r.file} (record ${r.seq})\n`);
    if (r.created)
      ctx.print(
        `the trust chain starts here: its root is ${r.keyid}\npin it in CI from a source pull requests cannot change: ARTIFACTS_TRUST_ROOT=${r.keyid}\n`,
      );
  });
}

export async function revoke(ctx: Ctx, keyid: string, o: { key?: string }): Promise<number> {
  const r = await revokeKey(await ctx.repo(), keyid, await signingKey(o.key), new Date());
  return ctx.result({ ...r }, () => {
    ctx.print(h`revoked ${r.keyid}: ${r.file} (record ${r.seq})\n`);
    const chains = Object.entries(r.last_valid);
    if (chains.length === 0) ctx.print('it signed no snapshot: none signed by it is valid\n');
    for (const [chain, id] of chains) ctx.print(h`  ${chain}: valid up to ${id}\n`);
  });
}

export async function list(ctx: Ctx): Promise<number> {
  const r = await listTrust(await ctx.repo());
  return ctx.result({ ...r }, () => {
    if (!r.initialized) {
      ctx.print(
        `no trust chain yet: start one with \`artifacts keys trust ROOT.pub --key ROOT.key\`${r.legacy.length ? `, or \`artifacts keys migrate --key SIGNER\` for the ${r.legacy.length} key(s) in .artifacts/keys/trusted/` : ''}\n`,
      );
      return;
    }
    ctx.print(h`root ${r.root}${r.pinned ? ' (pinned)' : ' (not pinned)'}, ${r.records} record(s)\n`);
    for (const k of r.trusted) ctx.print(h`trusted ${k.keyid}${k.keyid === r.root ? '  root' : `  added by ${k.added_by}`}\n`);
    for (const k of r.revoked) ctx.print(h`revoked ${k.keyid}\n`);
    if (r.legacy.length)
      ctx.print(h`note: .artifacts/keys/trusted/ still holds ${r.legacy.length} file(s); they are not trusted and may be deleted\n`);
  });
}

export async function migrate(ctx: Ctx, o: { key?: string }): Promise<number> {
  const r = await migrateLegacyKeys(await ctx.repo(), await signingKey(o.key), new Date());
  return ctx.result({ ...r }, () => {
    ctx.print(h`wrote ${r.file}: ${r.migrated.length} key(s), root ${r.keyid}\n`);
    for (const k of r.migrated) ctx.print(h`  trusted ${k}\n`);
    for (const k of r.skipped) ctx.print(h`  skipped ${k.file}: ${k.reason}\n`);
    ctx.print('check this list: the legacy directory was repository content; it is no longer read and may be deleted\n');
  });
}
