// Attestations on disk (SPEC §14): `<seq6>.intoto.json` next to every snapshot and channel
// record, a DSSE envelope of an in-toto Statement signed with the record's key; checked by
// `attest verify`, `snapshot verify` and `channel verify`, and written for older records by
// `attest backfill`.
import { existsSync } from 'node:fs';
import { digestFile } from '../hash/digest.js';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import type { Repo } from '../repo.js';
import { parseJsonQuiet, READ_LIMITS, readChecked, readUserFile } from '../store/checked-read.js';
import type { Signer } from '../trust/signer.js';
import { snapshotSignerKey, type TrustState } from '../trust/trust-chain.js';
import { envelopeProblem, IN_TOTO_PAYLOAD_TYPE, signEnvelope, signatureVerifies, strictBase64, type DsseEnvelope } from './dsse.js';
import { channelStatement, snapshotStatement, STATEMENT_TYPE, type Statement } from './statements.js';
import { git } from '../git.js';
import type { ChannelRecord } from '../channels/records.js';
import { resolveSnapshot } from '../snapshots/snapshot-store.js';
import type { Snapshot } from '../snapshots/snapshot-store.js';

export const ATTESTATION_SUFFIX = '.intoto.json';

/** `<dir>/000012.json` → `<dir>/000012.intoto.json`. */
export function attestationPathOf(recordFile: string): string {
  return recordFile.replace(/\.json$/, ATTESTATION_SUFFIX);
}

/** The envelope bytes of a statement: its canonical JSON, signed in DSSE. */
export async function encodeAttestation(statement: Statement, signer: Signer, publicKey: Uint8Array): Promise<Buffer> {
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(statement), 'utf8'), signer, publicKey);
}

export interface VerifiedAttestation {
  statement: Statement;
  /** The trusted key whose signature verified. */
  keyid: string;
  envelope: DsseEnvelope;
}

function invalid(label: string, why: string): ArtifactsError {
  return new ArtifactsError('ATTESTATION_INVALID', `${label} ${why}`);
}

/** Why a parsed payload is not an in-toto Statement v1, if it is not. */
export function statementProblem(v: unknown): string | undefined {
  const s = v as Partial<Statement> | null;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return 'is not a JSON object';
  if (s._type !== STATEMENT_TYPE) return `has _type ${JSON.stringify(s._type)}, not ${STATEMENT_TYPE}`;
  if (typeof s.predicateType !== 'string' || s.predicateType === '') return 'has no predicateType';
  if (!Array.isArray(s.subject)) return 'has no subject list';
  for (const x of s.subject) {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return 'has a subject that is not an object';
    const d = x.digest as unknown;
    if (d === null || typeof d !== 'object' || Array.isArray(d) || Object.keys(d).length === 0) return 'has a subject without a digest';
    if (!Object.values(d).every((h) => typeof h === 'string' && /^[0-9a-f]+$/.test(h)))
      return 'has a subject digest that is not lowercase hex';
    if (x.name !== undefined && typeof x.name !== 'string') return 'has a subject whose name is not text';
  }
  if (s.predicate !== undefined && (s.predicate === null || typeof s.predicate !== 'object' || Array.isArray(s.predicate)))
    return 'has a predicate that is not an object';
  return undefined;
}

/**
 * Verify an envelope's bytes: a DSSE envelope of an in-toto Statement, signed over its PAE
 * by a key the trust chain trusts. A signature only by keys the chain does not know is
 * KEY_NOT_TRUSTED; anything else wrong is ATTESTATION_INVALID (both exit 4).
 */
export function verifyAttestationBytes(
  bytes: Buffer,
  trust: TrustState,
  label: string,
  /** Keys that may also sign this attestation (a revoked key, for a record it validly signed). */
  extra: ReadonlyMap<string, Uint8Array> = new Map(),
): VerifiedAttestation {
  const parsed = parseJsonQuiet(bytes.toString('utf8'));
  if (!parsed.ok) throw invalid(label, `is not JSON (${parsed.error})`);
  const problem = envelopeProblem(parsed.value);
  if (problem) throw invalid(label, `is not a DSSE envelope: it ${problem}`);
  const e = parsed.value as DsseEnvelope;
  if (e.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw invalid(label, `has payloadType ${JSON.stringify(e.payloadType.slice(0, 80))}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  let keyid: string | undefined;
  let known = false;
  for (const s of e.signatures) {
    const key = trust.trusted.get(s.keyid) ?? extra.get(s.keyid);
    if (!key) continue;
    known = true;
    if (signatureVerifies(e, s, key)) {
      keyid = s.keyid;
      break;
    }
  }
  if (!keyid) {
    if (!known)
      throw new ArtifactsError(
        'KEY_NOT_TRUSTED',
        `${label} is signed by ${e.signatures.map((s) => JSON.stringify(s.keyid.slice(0, 80))).join(', ')}, which the trust chain rooted at ${trust.root} does not trust`,
      );
    throw invalid(label, 'has no signature that verifies over its payload with a trusted key');
  }
  const payload = strictBase64(e.payload)!;
  const statement = parseJsonQuiet(payload.toString('utf8'));
  if (!statement.ok) throw invalid(label, `has a payload that is not JSON (${statement.error})`);
  const bad = statementProblem(statement.value);
  if (bad) throw invalid(label, `has a payload that is not an in-toto Statement v1: it ${bad}`);
  return { statement: statement.value as Statement, keyid, envelope: e };
}

/** Read and verify an attestation file a user names. A key revoked since is accepted for
 * the provenance of a snapshot of this repository that it validly signed (at or before its
 * last valid snapshot), as `snapshot verify` accepts the snapshot itself. */
export async function verifyAttestationFile(path: string, trust: TrustState, repo?: Repo): Promise<VerifiedAttestation> {
  if (!existsSync(path)) throw new ArtifactsError('USAGE', `${path} does not exist`);
  // Anything there that is not a readable envelope (a FIFO, a directory, a huge file) is not one.
  const bytes = await readUserFile(path, { maxBytes: READ_LIMITS.record, code: 'ATTESTATION_INVALID', label: path });
  const extra = repo ? await revokedSigners(repo, trust, bytes) : undefined;
  const v = verifyAttestationBytes(bytes, trust, path, extra?.keys);
  if (extra && repo && !trust.trusted.has(v.keyid)) {
    // Signed by a key revoked since: only the exact statement of the snapshot it signed.
    const why = await statementProblemFor(repo, v.statement, expectedSnapshotStatement(repo, extra.snapshot, extra.id));
    if (why)
      throw new ArtifactsError(
        'KEY_NOT_TRUSTED',
        `${path} is signed by ${v.keyid}, which was revoked, and is not the exact provenance of the snapshot it validly signed (it ${why.text})`,
      );
  }
  return v;
}

/** For an envelope signed by a revoked key: that key, when the (not yet verified) statement
 * names a snapshot of this repository the key validly signed. */
async function revokedSigners(
  repo: Repo,
  trust: TrustState,
  bytes: Buffer,
): Promise<{ keys: Map<string, Uint8Array>; id: string; snapshot: Snapshot } | undefined> {
  const parsed = parseJsonQuiet(bytes.toString('utf8'));
  if (!parsed.ok || envelopeProblem(parsed.value)) return undefined;
  const e = parsed.value as DsseEnvelope;
  const keyid = e.signatures.find((s) => trust.revoked.has(s.keyid))?.keyid;
  if (!keyid) return undefined;
  const st = parseJsonQuiet(strictBase64(e.payload)?.toString('utf8') ?? '');
  const id = st.ok
    ? (st.value as { predicate?: { runDetails?: { metadata?: { invocationId?: unknown } } } })?.predicate?.runDetails?.metadata
        ?.invocationId
    : undefined;
  if (typeof id !== 'string') return undefined;
  const { allSnapshots, listSnapshots } = await import('../snapshots/snapshot-store.js');
  const hit = (await allSnapshots(repo)).find((s) => s.id === id);
  if (!hit?.snapshot || hit.snapshot.signer.keyid !== keyid) return undefined;
  const chain = await listSnapshots(repo, hit.framework, hit.stage);
  const k = snapshotSignerKey(
    trust,
    keyid,
    hit,
    chain.map((c) => c.id),
    chain.findIndex((c) => c.id === id),
  );
  return 'publicKey' in k ? { keys: new Map([[keyid, k.publicKey]]), id, snapshot: hit.snapshot } : undefined;
}

/**
 * Check that each file is a subject of the statement: a subject whose name is the file's
 * path (relative to `root` when the file is inside it, or a trailing part of the path given,
 * as when files were pulled into another directory) and whose SHA-256 is the file's.
 * Findings are ATTESTATION_SUBJECT (exit 4): a changed file, or a path no subject names.
 */
export async function subjectFindings(statement: Statement, paths: readonly string[], cwd: string, root?: string): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    const rel =
      root && !relative(root, abs).startsWith('..') && !isAbsolute(relative(root, abs))
        ? relative(root, abs).split(sep).join('/')
        : undefined;
    const given = abs.split(sep).join('/');
    const named = statement.subject.filter(
      (s) => typeof s.name === 'string' && s.name !== '' && (s.name === rel || given.endsWith(`/${s.name}`)),
    );
    if (named.length === 0) {
      out.push(finding('ATTESTATION_SUBJECT', `${p} is not a subject of this attestation (no subject is named ${rel ?? p})`, { path: p }));
      continue;
    }
    // A path inside the repository is read under the checked-read rules (a symlink out of the
    // repository, a FIFO: refused); one outside it is the user's own choice.
    const digest =
      root && rel !== undefined
        ? (await digestFile('sha256', abs, 0, { root, code: 'ATTESTATION_SUBJECT', label: rel })).address.slice(7)
        : (await digestFile('sha256', abs, 0, { root: dirname(abs), code: 'USAGE', label: p })).address.slice(7);
    if (!named.some((s) => s.digest?.sha256 === digest))
      out.push(
        finding(
          'ATTESTATION_SUBJECT',
          `${p} has SHA-256 ${digest}, not the attested ${named.map((s) => s.digest?.sha256 ?? '(none)').join(' or ')}: the file changed`,
          {
            path: p,
          },
        ),
      );
  }
  return out;
}

/** What a record's attestation must say: its statement, recomputed from the verified
 * record, with the source commit the attestation names (checked separately). */
export type ExpectedStatement = (commit: string | undefined) => Promise<Statement>;

/** The source commit a provenance statement names, if any. */
export function sourceCommitOf(st: Statement): string | undefined {
  const deps = (
    st.predicate as { buildDefinition?: { resolvedDependencies?: Array<{ name?: unknown; digest?: { gitCommit?: unknown } }> } }
  ).buildDefinition?.resolvedDependencies;
  const c = Array.isArray(deps) ? deps.find((d) => d?.name === 'source')?.digest?.gitCommit : undefined;
  return typeof c === 'string' ? c : undefined;
}

/** Why the commit a statement names is not one of this history, if it is not (unknown in a
 * shallow clone or outside git: then nothing is said). */
async function commitProblem(repo: Repo, commit: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(commit))
    return `names the source commit ${JSON.stringify(commit.slice(0, 80))}, which is not a commit id`;
  const shallow = await git(repo.root, ['rev-parse', '--is-shallow-repository']).then(
    (o) => o.trim(),
    () => 'unknown',
  );
  if (shallow !== 'false') return undefined;
  const known = await git(repo.root, ['merge-base', '--is-ancestor', commit, 'HEAD']).then(
    () => true,
    () => false,
  );
  return known ? undefined : `names the source commit ${commit}, which is not in the history of HEAD`;
}

/**
 * The attestation findings of a record: ATTESTATION_MISSING (a warning) when the record has
 * none; ATTESTATION_INVALID when it does not verify, is not signed by the record's signer or
 * a key the trust chain trusts now, or is not exactly the statement of this record
 * (recomputed from it: every subject and digest, every parameter, the builder), or names a
 * source commit this history does not have.
 */
export async function recordAttestationFindings(
  repo: Repo,
  recordFile: string,
  trust: TrustState,
  record: { signer: string; expected: ExpectedStatement },
  extra: ReadonlyMap<string, Uint8Array> = new Map(),
): Promise<Finding[]> {
  const file = attestationPathOf(recordFile);
  let bytes: Buffer | undefined;
  try {
    bytes = await readChecked(resolve(repo.root, file), {
      root: repo.root,
      maxBytes: READ_LIMITS.record,
      code: 'ATTESTATION_INVALID',
      label: file,
      allowMissing: true,
    });
  } catch (e) {
    return [finding('ATTESTATION_INVALID', (e as Error).message, { path: file })];
  }
  if (!bytes)
    return [
      finding('ATTESTATION_MISSING', `${recordFile} has no attestation (${file})`, {
        path: recordFile,
        severity: 'warning',
        hint: 'Write statements for older records with `artifacts attest backfill --key K`.',
      }),
    ];
  let v: VerifiedAttestation;
  try {
    v = verifyAttestationBytes(bytes, trust, file, extra);
  } catch (e) {
    return [
      finding((e as ArtifactsError).code === 'KEY_NOT_TRUSTED' ? 'KEY_NOT_TRUSTED' : 'ATTESTATION_INVALID', (e as Error).message, {
        path: file,
      }),
    ];
  }
  if (v.keyid !== record.signer && !trust.trusted.has(v.keyid))
    return [
      finding('ATTESTATION_INVALID', `${file} is signed by ${v.keyid}, neither the record's signer nor a key trusted now`, { path: file }),
    ];
  const why = await statementProblemFor(repo, v.statement, record.expected);
  if (!why) return [];
  return [
    why.warning
      ? finding('ATTESTATION_MISSING', `${file} ${why.text}`, { path: file, severity: 'warning' })
      : finding('ATTESTATION_INVALID', `${file} ${why.text}`, { path: file }),
  ];
}

/** Why a verified statement is not the record's, if it is not. */
export async function statementProblemFor(
  repo: Repo,
  st: Statement,
  expected: ExpectedStatement,
): Promise<{ text: string; warning?: boolean } | undefined> {
  const commit = sourceCommitOf(st);
  let want: Statement;
  try {
    want = await expected(commit);
  } catch (e) {
    // (The content of a BLAKE3-addressed artifact is needed for its SHA-256: content that
    // is not here is a warning; a record whose digests contradict its content is not.)
    const code = e instanceof ArtifactsError ? e.code : undefined;
    return {
      text: `cannot be compared with its record: ${(e as Error).message}`,
      ...(code === 'SNAPSHOT_INVALID' || code === 'OBJECT_CORRUPT' ? {} : { warning: true }),
    };
  }
  if (canonicalJson(st) !== canonicalJson(want))
    return { text: 'is not the statement of its record: a subject, a digest or a parameter differs' };
  if (commit) {
    const p = await commitProblem(repo, commit);
    if (p) return { text: p };
  }
  return undefined;
}

/** The expected statement of a stored snapshot. */
export function expectedSnapshotStatement(repo: Repo, snapshot: Snapshot, id: string): ExpectedStatement {
  return (commit) => snapshotStatement(repo, snapshot, id, commit);
}

/** The expected statement of a channel record (the snapshots it names resolved here). */
export function expectedChannelStatement(repo: Repo, record: ChannelRecord, id: string): ExpectedStatement {
  return async () => {
    const snapshots = new Map<string, Snapshot>();
    for (const sid of [record.stable, record.rollout?.target]) {
      if (!sid || snapshots.has(sid)) continue;
      const snap = (await resolveSnapshot(repo, sid)).snapshot;
      if (snap) snapshots.set(sid, snap);
    }
    return channelStatement(repo, record, id, snapshots);
  };
}

/** The attestation findings of the snapshots of a chain that verified: each attestation
 * is judged with the key that validly signed its snapshot (a revoked key too, for a
 * snapshot at or before its last valid one). */
export async function snapshotAttestationFindings(
  repo: Repo,
  trust: TrustState,
  chain: { framework: string; stage: string; snapshots: ReadonlyArray<{ file: string; id: string; snapshot?: Snapshot }> },
): Promise<Finding[]> {
  const out: Finding[] = [];
  const ids = chain.snapshots.map((s) => s.id);
  for (const [i, s] of chain.snapshots.entries()) {
    if (!s.snapshot) continue;
    const signer = snapshotSignerKey(trust, s.snapshot.signer.keyid, chain, ids, i);
    const extra = new Map<string, Uint8Array>('publicKey' in signer ? [[s.snapshot.signer.keyid, signer.publicKey]] : []);
    out.push(
      ...(await recordAttestationFindings(
        repo,
        s.file,
        trust,
        { signer: s.snapshot.signer.keyid, expected: expectedSnapshotStatement(repo, s.snapshot, s.id) },
        extra,
      )),
    );
  }
  return out;
}

/** The attestation findings of a channel's records. */
export async function channelAttestationFindings(
  repo: Repo,
  trust: TrustState,
  records: ReadonlyArray<{ file: string; id: string; record?: ChannelRecord }>,
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const s of records)
    if (s.record)
      out.push(
        ...(await recordAttestationFindings(repo, s.file, trust, {
          signer: s.record.signer.keyid,
          expected: expectedChannelStatement(repo, s.record, s.id),
        })),
      );
  return out;
}

/** Attestations git knew of (in HEAD or its history) that are gone from the working tree:
 * a record that had one and lost it is not merely "without one". */
export async function deletedAttestationFindings(repo: Repo, dir: string): Promise<Finding[]> {
  const { deletedRecordFiles } = await import('../snapshots/history-check.js');
  const scan = await deletedRecordFiles(repo, dir, /\.intoto\.json$/);
  return scan.deleted.map((d) =>
    finding(
      'ATTESTATION_INVALID',
      `${d.path} ${d.how === 'head' ? 'is in the last commit' : 'was committed'} and is gone: attestations are append-only`,
      {
        path: d.path,
        hint: `Restore it: \`git checkout HEAD -- ${d.path}\` (or from the commit that deleted it).`,
      },
    ),
  );
}
