// `artifacts attest backfill --key K`: write the attestation of every snapshot and channel
// record that has none, for chains made before attestations existed. Only a verified chain
// is attested: a record that does not verify is never turned into a signed statement.
import { join } from 'node:path';
import { ArtifactsError, finding, isArtifactsError, type Finding } from '../errors.js';
import { git } from '../git.js';
import { lstatQuiet } from '../paths.js';
import { withIndexLock } from '../index/store.js';
import type { Repo } from '../repo.js';
import { listStages, listSnapshots, resolveSnapshot, type Snapshot } from '../snapshots/snapshot-store.js';
import { verifyChain } from '../snapshots/verify-chain.js';
import { writeFileDurable } from '../store/durable-write.js';
import type { Signer } from '../trust/signer.js';
import { assertMaySign, requireTrust } from '../trust/trust-store.js';
import { listChannelNames, recordId, verifyChannel } from '../channels/records.js';
import { attestationPathOf, encodeAttestation } from './attestations.js';
import { channelStatement, commitOf, snapshotStatement } from './statements.js';

export interface BackfillResult {
  /** Attestation files written (or, with dryRun, that would be). */
  written: string[];
  /** Chains left alone, and why (they do not verify). */
  skipped: Array<{ chain: string; why: string }>;
  /** Why the backfill is not complete: a chain that does not verify, an attestation path
   * holding something that is not a regular file, a write that failed. */
  findings: Finding[];
  dryRun: boolean;
}

/** Write the missing attestations of every verified snapshot chain and channel. */
export async function attestBackfill(repo: Repo, o: { signer: Signer; dryRun?: boolean }): Promise<BackfillResult> {
  return withIndexLock(repo, async (lock) => {
    const trust = await requireTrust(repo);
    const publicKey = assertMaySign(trust, o.signer.keyid, 'write attestations');
    // The source commit of a backfilled statement is found in history: a shallow clone may
    // not have it, and would sign another one.
    if ((await git(repo.root, ['rev-parse', '--is-shallow-repository']).catch(() => 'false')).trim() === 'true')
      throw new ArtifactsError(
        'USAGE',
        'this clone is shallow: the commits backfilled attestations name cannot be found; nothing was written',
        {
          hint: 'Fetch the full history (`git fetch --unshallow`), then run again.',
        },
      );
    const out: BackfillResult = { written: [], skipped: [], findings: [], dryRun: !!o.dryRun };
    const write = async (file: string, bytes: () => Promise<Buffer>) => {
      const st = lstatQuiet(join(repo.root, file));
      if (st?.isFile()) return;
      if (st) {
        out.findings.push(finding('ATTESTATION_INVALID', `${file} is not a regular file: it is left alone`, { path: file }));
        return;
      }
      try {
        const data = o.dryRun ? undefined : await bytes();
        if (data) {
          await lock.assertHeld();
          await writeFileDurable(join(repo.root, file), data, { root: repo.root, faultHook: repo.faultHook });
        }
        out.written.push(file);
      } catch (e) {
        if (!isArtifactsError(e)) throw e;
        out.findings.push(finding(e.code, `${file}: ${e.message}`, { path: file }));
      }
    };
    for (const { framework, stage } of await listStages(repo)) {
      const report = await verifyChain(repo, framework, stage, { now: new Date() }, async () => trust);
      // (An expired snapshot is still a verified fact of its time: it is attested.)
      const errors = report.findings.filter((f) => f.severity === 'error' && f.code !== 'SNAPSHOT_EXPIRED');
      if (errors.length > 0) {
        out.skipped.push({ chain: `${framework}/${stage}`, why: `${errors[0]!.code}: ${errors[0]!.message}` });
        out.findings.push(...errors);
        continue;
      }
      for (const s of await listSnapshots(repo, framework, stage)) {
        if (!s.snapshot) continue;
        const snap = s.snapshot;
        await write(attestationPathOf(s.file), async () =>
          encodeAttestation(await snapshotStatement(repo, snap, s.id, await commitOf(repo, s.file)), o.signer, publicKey),
        );
      }
    }
    for (const name of await listChannelNames(repo)) {
      const v = await verifyChannel(repo, name, trust);
      if (v.findings.length > 0) {
        out.skipped.push({ chain: `channel ${name}`, why: `${v.findings[0]!.code}: ${v.findings[0]!.message}` });
        out.findings.push(...v.findings);
        continue;
      }
      for (const s of v.records) {
        const record = s.record!;
        await write(attestationPathOf(s.file), async () => {
          const snapshots = new Map<string, Snapshot>();
          for (const id of [record.stable, record.rollout?.target]) {
            if (!id || snapshots.has(id)) continue;
            const snap = (await resolveSnapshot(repo, id)).snapshot;
            if (!snap) throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `${s.file} names ${id}, which is not in the repository`);
            snapshots.set(id, snap);
          }
          return encodeAttestation(await channelStatement(repo, record, recordId(s.bytes), snapshots), o.signer, publicKey);
        });
      }
    }
    return out;
  });
}
