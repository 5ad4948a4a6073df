// `artifacts rollback` (SPEC §7): restore a retained snapshot byte for byte. planRollback
// builds and checks the whole plan and writes nothing (it is what the rehearsal, `dryRun`,
// reports); applyRollback carries a plan without findings out. The rehearsal runs the same
// planning code, so it exits 0 exactly when the real rollback would succeed.
import { join } from 'node:path';
import { controlFilesOf } from '../config.js';
import { ArtifactsError, EXIT, finding, findingConcerns, type Finding } from '../errors.js';
import { digestBytes, digestFile, parseAddress } from '../hash/digest.js';
import { readDecisionIndex } from '../index/decision-index.js';
import { applyOps, runTransaction, withIndexLock } from '../index/store.js';
import { cacheFingerprint, checkCollection } from '../index/scan.js';
import { inspectFile, SIDECAR_SUFFIXES } from '../metadata/inspect.js';
import type { IndexEntry } from '../index/entry.js';
import { controlPathProblem, pathExists, restorePathProblem as pathProblem } from '../paths.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';
import type { JournalOp } from '../store/journal.js';
import { putObjectBytes, readObject } from '../store/objects.js';
import { readBlobs } from './git-objects.js';
import type { LockHandle } from '../store/lock.js';
import {
  draftSnapshot,
  encodeSnapshot,
  listSnapshots,
  resolveSnapshot,
  rfc3339,
  seqName,
  snapshotId,
  writeSignedSnapshot,
  type SnapshotDraft,
} from './snapshot-store.js';
import { raiseMarks } from './high-water.js';
import { verifyChainForDecision } from './history-check.js';
import type { Signer } from '../trust/signer.js';
import { assertMaySign, requireTrust } from '../trust/trust-store.js';

export interface RollbackOptions {
  framework: string;
  stage: string;
  /** `<seq>`, `sha256:…` or `previous`. */
  to: string;
  /** Signs the rollback snapshot. Optional for a dry run only: a rehearsal runs in CI
   * without secrets (it checks everything but the key; given a signer, it checks that its
   * key may sign). */
  signer?: Signer;
  now: Date;
  at?: string;
  dryRun?: boolean;
}

export interface RollbackStep {
  path: string;
  content_address: string;
  source: 'objects' | 'git' | 'unavailable';
  action: 'write' | 'unchanged' | 'blocked';
}

export interface RollbackResult {
  dryRun: boolean;
  target: { seq: number; id: string };
  steps: RollbackStep[];
  findings: Finding[];
  /** The appended rollback snapshot (not written in a dry run; a dry run without a key
   * cannot know its id, which depends on the signer). */
  snapshot?: { seq: number; id?: string; file: string };
  /** A dry run without a key: the real rollback needs `--key` (a key the trust chain trusts). */
  key_required?: boolean;
  index_digest?: string;
}

function metadataFileFor(root: string, path: string): string {
  for (const s of SIDECAR_SUFFIXES) if (pathExists(join(root, path + s))) return path + s;
  return path;
}

/** A rollback decided and checked, nothing written: {@link planRollback}'s answer. */
export interface RollbackPlan {
  readonly framework: string;
  readonly stage: string;
  /** What the rehearsal reports (`findings` empty exactly when the rollback can proceed). */
  readonly result: RollbackResult;
  /** The bytes to restore, by path. */
  readonly contents: ReadonlyMap<string, Buffer>;
  /** The index changes the restored files make. */
  readonly ops: readonly JournalOp[];
  /** The rollback snapshot, but for its index digest (known once the index is written). */
  readonly draft: Omit<SnapshotDraft, 'index_digest'>;
  /** The signer the plan was made for, if one was given, with its trusted public key. */
  readonly signerKey?: { readonly keyid: string; readonly publicKey: Uint8Array };
}

/**
 * Decide a rollback without writing anything: verify the chain, resolve the target, find
 * an intact copy of every file, judge the paths and the index entries the restored files
 * will have. What `rollback --dry-run` reports is `plan.result`. The caller should hold
 * the repository lock if it means to apply the plan ({@link rollback} does both).
 *
 * @example
 * ```ts
 * const { result } = await planRollback(repo, { framework: 'fwk-001', stage: 'design-review', to: 'previous', now: new Date() });
 * for (const step of result.steps) console.log(step.action, step.path);
 * ```
 */
export async function planRollback(repo: Repo, opts: RollbackOptions): Promise<RollbackPlan> {
  const findings: Finding[] = [];
  // The rollback appends a snapshot signed by this key: refuse an untrusted one up front.
  const trust = await requireTrust(repo);
  const signerKey = opts.signer
    ? {
        keyid: opts.signer.keyid,
        publicKey: assertMaySign(trust, opts.signer.keyid, `sign a rollback snapshot of ${opts.framework}/${opts.stage}`),
      }
    : undefined;
  const chain = await verifyChainForDecision(repo, opts.framework, opts.stage, { now: opts.now, objects: false }, async () => trust);
  findings.push(...chain.findings.filter((f) => f.code !== 'SNAPSHOT_EXPIRED'));
  const target = await resolveSnapshot(repo, opts.to, { framework: opts.framework, stage: opts.stage });
  const snap = target.snapshot;
  if (!snap) throw new ArtifactsError('SNAPSHOT_CHAIN_BROKEN', `${target.file} is unreadable`, { findings });
  if (snap.expires_at !== undefined && !(Date.parse(snap.expires_at) > opts.now.getTime())) {
    findings.push(finding('SNAPSHOT_EXPIRED', `${target.file}: the rollback target expired at ${snap.expires_at}`, { path: target.file }));
  }
  // Bytes: the object store first, then git's object database.
  const fromGit = await readBlobs(
    repo.root,
    snap.artifacts.filter((a) => a.git_blob).map((a) => a.git_blob!),
  );
  const steps: RollbackStep[] = [];
  const contents = new Map<string, Buffer>();
  for (const a of snap.artifacts) {
    let bytes: Buffer | undefined;
    let source: RollbackStep['source'] = 'unavailable';
    try {
      bytes = await readObject(repo, a.content_address);
      if (bytes) source = 'objects';
    } catch (e) {
      findings.push(finding('OBJECT_CORRUPT', (e as Error).message, { path: a.path }));
    }
    if (!bytes && a.git_blob) {
      const g = fromGit.get(a.git_blob);
      const algo = parseAddress(a.content_address)?.algo;
      if (g && algo && (await digestBytes(algo, g)) === a.content_address) {
        bytes = g;
        source = 'git';
      }
    }
    if (!bytes)
      findings.push(
        finding('OBJECT_MISSING', `no intact copy of ${a.path} (${a.content_address}) in the object store or in git`, { path: a.path }),
      );
    // A path into .git/ or onto the tool's own files is never restored, signed or not
    // (the chain check reports it as an integrity failure of the snapshot).
    const control = typeof a.path === 'string' ? controlPathProblem(a.path, controlFilesOf(repo.config)) : 'the path is not a string';
    const problem = control ?? pathProblem(repo.root, a.path);
    if (control) {
      if (!findings.some((f) => f.code === 'PATH_UNSAFE' && f.path === target.file)) {
        findings.push(
          finding('PATH_UNSAFE', `${target.file}: cannot restore ${JSON.stringify(a.path)}: ${control}`, {
            path: target.file,
            exit: EXIT.INTEGRITY,
          }),
        );
      }
    } else if (problem) findings.push(finding('PATH_UNSAFE', `cannot restore ${a.path}: it ${problem}`, { path: a.path }));
    let action: RollbackStep['action'] = bytes && !problem ? 'write' : 'blocked';
    if (action === 'write' && pathExists(join(repo.root, a.path))) {
      const algo = parseAddress(a.content_address)!.algo;
      // Checked open: a FIFO or device at the path is never read (it is replaced).
      const now = await digestFile(algo, join(repo.root, a.path), 0, { root: repo.root, code: 'FILE_NOT_REGULAR', label: a.path }).catch(
        () => undefined,
      );
      if (now?.address === a.content_address) action = 'unchanged';
    }
    if (bytes && !control) contents.set(a.path, bytes);
    steps.push({ path: a.path, content_address: a.content_address, source, action });
  }
  // The index entries the restored files will have, judged before anything is written.
  const view = await readDecisionIndex(repo);
  const ctx = {
    root: repo.root,
    algorithm: view.doc?.digest_algorithm ?? repo.config.digest_algorithm,
    schemasDir: join(repo.root, repo.config.schemas),
    schemaGeneration: cacheFingerprint(repo),
  };
  const ops: JournalOp[] = [];
  for (const a of snap.artifacts) {
    const bytes = contents.get(a.path);
    if (!bytes) continue;
    const r = await inspectFile(ctx, metadataFileFor(repo.root, a.path), { explicit: true, content: bytes });
    if (r.type === 'artifact') ops.push({ op: 'put', entry: r.entry });
    else if (r.type === 'invalid') findings.push(...r.findings);
  }
  const current = view.doc?.artifacts ?? [];
  const merged: IndexEntry[] = applyOps(current, ops);
  // Collisions and duplicates that concern a restored file, by the paths and versions each
  // finding names (a collision names both files, and either may be the restored one).
  const restoredPaths = new Set(ops.flatMap((o) => (o.op === 'put' ? [o.entry.path] : [])));
  const restoredRefs = new Set(ops.flatMap((o) => (o.op === 'put' ? [`${o.entry.id}@${o.entry.version}`] : [])));
  findings.push(...checkCollection(merged, []).filter((f) => findingConcerns(f, restoredPaths, restoredRefs)));
  const seq = chain.snapshots.length + 1;
  const draft = {
    framework: opts.framework,
    stage: opts.stage,
    seq,
    parent: chain.snapshots[chain.snapshots.length - 1]?.id ?? null,
    action: 'rollback' as const,
    rollback_of: target.id,
    created_at: opts.at ?? rfc3339(opts.now),
    artifacts: snap.artifacts,
    selection_digest: snap.selection_digest,
  };
  const result: RollbackResult = {
    dryRun: !!opts.dryRun,
    target: { seq: target.seq, id: target.id },
    steps,
    findings,
    ...(opts.signer ? {} : { key_required: true }),
  };
  // The id the rehearsal reports: that of the snapshot this signer would sign now (a
  // rehearsal without a signer cannot know it, the id depends on the signer).
  if (!findings.some((f) => f.severity === 'error')) {
    const planned = opts.signer
      ? snapshotId(encodeSnapshot(draftSnapshot({ ...draft, index_digest: view.doc?.index_digest ?? '' }, opts.signer.keyid)))
      : undefined;
    result.snapshot = { seq, ...(planned ? { id: planned } : {}), file: '(not written)' };
  }
  return { framework: opts.framework, stage: opts.stage, result, contents, ops, draft, ...(signerKey ? { signerKey } : {}) };
}

/**
 * Carry out a plan of {@link planRollback} made under the held `lock`: re-populate the
 * object store, restore each file atomically, update the index in one transaction, then
 * append the signed rollback snapshot. A plan with error findings is refused.
 */
export async function applyRollback(repo: Repo, plan: RollbackPlan, signer: Signer, lock: LockHandle): Promise<RollbackResult> {
  const { result, contents } = plan;
  const errors = result.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw new ArtifactsError(
      errors[0]!.code,
      `rollback of ${plan.framework}/${plan.stage} to ${seqName(result.target.seq)} refused: nothing was changed`,
      { findings: result.findings },
    );
  }
  if (!plan.signerKey || signer.keyid !== plan.signerKey.keyid) {
    throw new ArtifactsError('USAGE', 'a rollback plan is applied with the signer it was made for (pass the same signer to planRollback)');
  }
  for (const st of result.steps)
    if (st.source === 'git') await putObjectBytes(repo, parseAddress(st.content_address)!.algo, contents.get(st.path)!);
  for (const st of result.steps) {
    if (st.action === 'write')
      await writeFileDurable(join(repo.root, st.path), contents.get(st.path)!, { root: repo.root, faultHook: repo.faultHook });
  }
  const tx = await runTransaction(repo, async () => ({ ops: [...plan.ops] }), { heldLock: lock });
  await lock.assertHeld();
  const written = await writeSignedSnapshot(
    repo,
    draftSnapshot({ ...plan.draft, index_digest: tx.after }, signer.keyid),
    signer,
    plan.signerKey.publicKey,
  );
  // After the commit point: a mark that cannot be recorded only weakens later detection.
  await raiseMarks(repo, [
    { framework: plan.framework, stage: plan.stage, snapshots: await listSnapshots(repo, plan.framework, plan.stage) },
  ]).catch(() => undefined);
  return { ...result, snapshot: { seq: plan.draft.seq, ...written }, index_digest: tx.after };
}

/**
 * `artifacts rollback`: restore a retained snapshot byte for byte, under the repository
 * lock. With `dryRun` it checks everything, writes nothing, and reports findings exactly
 * when the real one would fail.
 *
 * @example
 * ```ts
 * const signer = await loadSigner('/secure/release.key');
 * const options = { framework: 'fwk-001', stage: 'design-review', to: 'previous', signer, now: new Date() };
 * const rehearsal = await rollback(repo, { ...options, dryRun: true });
 * if (rehearsal.findings.length === 0) await rollback(repo, options);
 * ```
 */
export async function rollback(repo: Repo, opts: RollbackOptions): Promise<RollbackResult> {
  return withIndexLock(repo, async (lock) => {
    // Only a rehearsal may go without a signer; it then checks everything else.
    if (!opts.signer && !opts.dryRun)
      throw new ArtifactsError(
        'KEY_MISSING',
        'no signing key: a rollback appends a signed snapshot; pass --key FILE or set ARTIFACTS_SIGNING_KEY (only --dry-run works without one)',
      );
    const plan = await planRollback(repo, opts);
    if (opts.dryRun) return plan.result;
    return applyRollback(repo, plan, opts.signer!, lock);
  });
}
