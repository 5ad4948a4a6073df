// in-toto Statements (v1) for what the tool signs (SPEC §14). A promotion or a rollback is
// described by SLSA Provenance v1: its subjects are the snapshot's artifacts, its inputs the
// source commit and those artifacts. A channel record binds artifacts to an environment,
// described by this project's deployment predicate (docs/attestations.md): in-toto has no
// released deployment predicate.
import { ArtifactsError } from '../errors.js';
import { firstAdded, git } from '../git.js';
import { digestFile, parseAddress } from '../hash/digest.js';
import type { Repo } from '../repo.js';
import type { Snapshot, SnapshotArtifact } from '../snapshots/snapshot-store.js';
import { contentFile } from '../store/objects.js';
import type { ChannelRecord } from '../channels/records.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** This tool: the builder of every statement it signs (the project's URI namespace, as in
 * its JSON Schemas' `$id`s). */
export const BUILDER_ID = 'https://artifacts.dev/cli';
/** The build type of a promotion or a rollback (SLSA `buildDefinition.buildType`). */
export const PROMOTION_BUILD_TYPE = 'https://artifacts.dev/attestation/promotion/v1';
/** The predicate type of a channel record: what an environment runs (docs/attestations.md). */
export const DEPLOYMENT_PREDICATE = 'https://artifacts.dev/attestation/deployment/v1';

/** A digest set: algorithm → lowercase hex. */
export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  annotations?: Record<string, unknown>;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

/** The digests of an artifact: its content address, and SHA-256 always (OCI and most
 * verifiers know only SHA-256): for a BLAKE3 address it is computed from the stored object. */
export async function artifactDigests(
  repo: Repo,
  a: Pick<SnapshotArtifact, 'content_address' | 'size' | 'path' | 'git_blob' | 'sha256'>,
): Promise<DigestSet> {
  const parsed = parseAddress(a.content_address);
  if (!parsed) throw new ArtifactsError('SNAPSHOT_INVALID', `${a.path} has no valid content address`);
  if (parsed.algo === 'sha256') return { sha256: parsed.hex };
  // (Streamed: an artifact may be large; both digests in one pass over the same bytes.)
  const file = await contentFile(repo, a.content_address, a.path, a.size, a.git_blob);
  const d = await digestFile(parsed.algo, file, 0, undefined, { sha256: true });
  if (d.address !== a.content_address)
    throw new ArtifactsError('OBJECT_CORRUPT', `the content of ${a.path} changed while it was read: it is no longer ${a.content_address}`);
  // A snapshot records the SHA-256 of a BLAKE3 artifact (SPEC §15): it must be its content's.
  if (a.sha256 !== undefined && a.sha256 !== d.sha256)
    throw new ArtifactsError('SNAPSHOT_INVALID', `${a.path}: the snapshot records a sha256 that is not the one of its content`, {
      hint: 'The snapshot was signed over a wrong digest: promote again, and rotate the key if it was not signed by your tooling.',
    });
  return { [parsed.algo]: parsed.hex, sha256: d.sha256! };
}

/** The commit HEAD names, if this is a git work tree with a commit. */
export async function headCommit(repo: Repo): Promise<string | undefined> {
  return git(repo.root, ['rev-parse', '--verify', '-q', 'HEAD^{commit}']).then(
    (out) => out.trim() || undefined,
    () => undefined,
  );
}

/**
 * The commit a record was made from, as its writer saw HEAD: the first parent of the commit
 * that first recorded `file` (a record is written, then committed), else HEAD when the file
 * is not committed yet. So a statement written later (`attest backfill`) names the same
 * commit as one written with the record.
 */
export async function commitOf(repo: Repo, file: string): Promise<string | undefined> {
  const added = await firstAdded(repo.root, file);
  return added ? (added.parent ?? added.commit) : headCommit(repo);
}

function byName(a: ResourceDescriptor, b: ResourceDescriptor): number {
  const x = `${a.name ?? ''}\0${a.uri ?? ''}`;
  const y = `${b.name ?? ''}\0${b.uri ?? ''}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The SLSA Provenance v1 statement of a snapshot (a promotion or a rollback): subjects are
 * its artifacts (name = path); the build's inputs are the source commit and the same
 * artifacts (uri = path); its invocation is the snapshot id, started and finished at its
 * created_at. A pure function of the snapshot, its objects and the commit.
 */
export async function snapshotStatement(repo: Repo, snapshot: Snapshot, id: string, commit: string | undefined): Promise<Statement> {
  const digests = await Promise.all(snapshot.artifacts.map((a) => artifactDigests(repo, a)));
  const subject = snapshot.artifacts.map((a, i) => ({ name: a.path, digest: digests[i]! })).sort(byName);
  const inputs: ResourceDescriptor[] = snapshot.artifacts
    .map((a, i) => ({
      name: `${a.id}@${a.version}`,
      uri: a.path,
      digest: digests[i]!,
      annotations: { slot: a.slot, kind: a.kind, status: a.status },
    }))
    .sort(byName);
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: PROMOTION_BUILD_TYPE,
        externalParameters: {
          framework: snapshot.framework,
          stage: snapshot.stage,
          action: snapshot.action,
          ...(snapshot.rollback_of ? { rollback_of: snapshot.rollback_of } : {}),
        },
        internalParameters: {
          seq: snapshot.seq,
          parent: snapshot.parent,
          selection_digest: snapshot.selection_digest,
          index_digest: snapshot.index_digest,
        },
        resolvedDependencies: [...(commit ? [{ name: 'source', digest: { gitCommit: commit } }] : []), ...inputs],
      },
      runDetails: {
        builder: { id: BUILDER_ID },
        metadata: { invocationId: id, startedOn: snapshot.created_at, finishedOn: snapshot.created_at },
      },
    },
  };
}

/**
 * The deployment statement of a channel record: subjects are the artifacts the record makes
 * units run (the stable snapshot's, and a rollout target's), each annotated with its
 * snapshot and variant; the predicate is the record's decision, with the record id.
 */
export async function channelStatement(
  repo: Repo,
  record: ChannelRecord,
  id: string,
  snapshots: ReadonlyMap<string, Snapshot>,
): Promise<Statement> {
  const subject: ResourceDescriptor[] = [];
  const named: Array<[string, 'stable' | 'target']> = [];
  if (record.stable) named.push([record.stable, 'stable']);
  if (record.rollout && record.rollout.target !== record.stable) named.push([record.rollout.target, 'target']);
  for (const [snapId, variant] of named) {
    const snap = snapshots.get(snapId);
    if (!snap)
      throw new ArtifactsError(
        'SNAPSHOT_NOT_FOUND',
        `channel record ${record.seq} names snapshot ${snapId}, which is not in the repository`,
      );
    for (const a of snap.artifacts)
      subject.push({ name: a.path, digest: await artifactDigests(repo, a), annotations: { snapshot: snapId, variant } });
  }
  subject.sort((a, b) => byName(a, b) || (String(a.annotations!.variant) < String(b.annotations!.variant) ? -1 : 1));
  const r = record.rollout;
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: DEPLOYMENT_PREDICATE,
    predicate: {
      environment: { channel: record.channel, framework: record.framework, stage: record.stage },
      record: { id, seq: record.seq, parent: record.parent, action: record.action, created_at: record.created_at },
      stable: record.stable,
      rollout: r
        ? {
            id: r.id,
            strategy: r.strategy,
            target: r.target,
            fraction_bp: r.strategy === 'canary' ? r.steps[r.step_index]! : r.switched ? 10_000 : 0,
            bucketing: record.bucketing,
            seed: r.seed,
          }
        : null,
      ...(record.action === 'promote' ? { gate_bypassed: true, reason: record.reason ?? '' } : {}),
    },
  };
}
