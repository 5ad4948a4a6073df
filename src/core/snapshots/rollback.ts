// `artifacts rollback` (SPEC §7): restore a retained snapshot byte for byte. The plan is
// built and checked completely before anything is written, so the rehearsal (`dryRun`)
// runs the same code and exits 0 exactly when the real rollback would succeed.
import { join } from 'node:path';
import { controlFilesOf } from '../config.js';
import { ArtifactsError, EXIT, finding, type Finding } from '../errors.js';
import { digestBytes, digestFile, parseAddress } from '../hash/digest.js';
import { readDecisionIndex } from '../index/decision-index.js';
import { applyOps, runTransaction, withIndexLock } from '../index/store.js';
import { cacheFingerprint, checkCollection } from '../index/scan.js';
import { inspectFile, SIDECAR_SUFFIXES } from '../metadata/inspect.js';
import type { IndexEntry } from '../index/entry.js';
import { controlPathProblem, pathExists, lstatQuiet } from '../paths.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';
import type { JournalOp } from '../store/journal.js';
import { putObjectBytes, readObject } from '../store/objects.js';
import { readBlobs } from './git-objects.js';
import type { SigningKey } from './keys.js';
import { rfc3339, writeSignedSnapshot } from './promote.js';
import { encodeSnapshot, listSnapshots, resolveSnapshot, seqName, snapshotId, type Snapshot } from './snapshot-store.js';
import { raiseMarks } from './high-water.js';
import { verifyChainForDecision } from './history-check.js';
import { assertMaySign, requireTrust } from '../trust/trust-store.js';

export interface RollbackOptions {
  framework: string;
  stage: string;
  /** `<seq>`, `sha256:…` or `previous`. */
  to: string;
  /** The signing key. Optional for a dry run only: a rehearsal runs in CI without secrets
   * (it checks everything but the key; given one, it checks that the key may sign). */
  key?: SigningKey;
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

/** Refuse paths that leave the root or pass through a symlink or a non-directory. */
function pathProblem(root: string, rel: string): string | undefined {
  if (rel.startsWith('/') || rel.includes('\\') || rel.split('/').some((s) => s === '..' || s === '.' || s === '')) return 'is not a clean relative path';
  const segs = rel.split('/');
  let cur = root;
  for (let i = 0; i < segs.length; i++) {
    cur = join(cur, segs[i]!);
    const st = lstatQuiet(cur);
    if (!st) return undefined; // the rest will be created
    if (st.isSymbolicLink()) return `passes through the symlink ${segs.slice(0, i + 1).join('/')}`;
    if (i < segs.length - 1 && !st.isDirectory()) return `needs ${segs.slice(0, i + 1).join('/')} to be a directory`;
    if (i === segs.length - 1 && !st.isFile()) return 'is not a regular file';
  }
  return undefined;
}

function metadataFileFor(root: string, path: string): string {
  for (const s of SIDECAR_SUFFIXES) if (pathExists(join(root, path + s))) return path + s;
  return path;
}

/**
 * `artifacts rollback`: restore a retained snapshot byte for byte. With `dryRun` it checks
 * everything, writes nothing, and reports findings exactly when the real one would fail.
 *
 * @example
 * ```ts
 * const plan = await rollback(repo, { framework: 'fwk-001', stage: 'design-review', to: 'previous', key, now: new Date(), dryRun: true });
 * if (plan.findings.length === 0) await rollback(repo, { ...options, dryRun: false });
 * ```
 */
export async function rollback(repo: Repo, opts: RollbackOptions): Promise<RollbackResult> {
  return withIndexLock(repo, async (lock) => {
    const findings: Finding[] = [];
    // The rollback appends a snapshot signed by this key: refuse an untrusted one up front.
    // Only a rehearsal may go without a key; it then checks everything else.
    if (!opts.key && !opts.dryRun) throw new ArtifactsError('KEY_MISSING', 'no signing key: a rollback appends a signed snapshot; pass --key FILE or set ARTIFACTS_SIGNING_KEY (only --dry-run works without one)');
    const trust = await requireTrust(repo);
    if (opts.key) assertMaySign(trust, opts.key.keyid, `sign a rollback snapshot of ${opts.framework}/${opts.stage}`);
    const chain = await verifyChainForDecision(repo, opts.framework, opts.stage, { now: opts.now, objects: false }, async () => trust);
    findings.push(...chain.findings.filter((f) => f.code !== 'SNAPSHOT_EXPIRED'));
    const target = await resolveSnapshot(repo, opts.to, { framework: opts.framework, stage: opts.stage });
    const snap = target.snapshot;
    if (!snap) throw new ArtifactsError('SNAPSHOT_CHAIN_BROKEN', `${target.file} is unreadable`, { findings });
    if (snap.expires_at !== undefined && !(Date.parse(snap.expires_at) > opts.now.getTime())) {
      findings.push(finding('SNAPSHOT_EXPIRED', `${target.file}: the rollback target expired at ${snap.expires_at}`, { path: target.file }));
    }
    // Bytes: the object store first, then git's object database.
    const fromGit = await readBlobs(repo.root, snap.artifacts.filter((a) => a.git_blob).map((a) => a.git_blob!));
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
      if (!bytes) findings.push(finding('OBJECT_MISSING', `no intact copy of ${a.path} (${a.content_address}) in the object store or in git`, { path: a.path }));
      // A path into .git/ or onto the tool's own files is never restored, signed or not
      // (the chain check reports it as an integrity failure of the snapshot).
      const control = typeof a.path === 'string' ? controlPathProblem(a.path, controlFilesOf(repo.config)) : 'the path is not a string';
      const problem = control ?? pathProblem(repo.root, a.path);
      if (control) {
        if (!findings.some((f) => f.code === 'PATH_UNSAFE' && f.path === target.file)) {
          findings.push(finding('PATH_UNSAFE', `${target.file}: cannot restore ${JSON.stringify(a.path)}: ${control}`, { path: target.file, exit: EXIT.INTEGRITY }));
        }
      } else if (problem) findings.push(finding('PATH_UNSAFE', `cannot restore ${a.path}: it ${problem}`, { path: a.path }));
      let action: RollbackStep['action'] = bytes && !problem ? 'write' : 'blocked';
      if (action === 'write' && pathExists(join(repo.root, a.path))) {
        const algo = parseAddress(a.content_address)!.algo;
        // Checked open: a FIFO or device at the path is never read (it is replaced).
        const now = await digestFile(algo, join(repo.root, a.path), 0, { root: repo.root, code: 'FILE_NOT_REGULAR', label: a.path }).catch(() => undefined);
        if (now?.address === a.content_address) action = 'unchanged';
      }
      if (bytes && !control) contents.set(a.path, bytes);
      steps.push({ path: a.path, content_address: a.content_address, source, action });
    }
    // The index entries the restored files will have, judged before anything is written.
    const view = await readDecisionIndex(repo);
    const ctx = { root: repo.root, algorithm: view.doc?.digest_algorithm ?? repo.config.digest_algorithm, schemasDir: join(repo.root, repo.config.schemas), schemaGeneration: cacheFingerprint(repo) };
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
    findings.push(...checkCollection(merged, []).filter((f) => ops.some((o) => o.op === 'put' && f.path === o.entry.path)));
    const result: RollbackResult = { dryRun: !!opts.dryRun, target: { seq: target.seq, id: target.id }, steps, findings, ...(opts.key ? {} : { key_required: true }) };
    if (findings.some((f) => f.severity === 'error')) {
      if (opts.dryRun) return result;
      throw new ArtifactsError(findings[0]!.code, `rollback of ${opts.framework}/${opts.stage} to ${seqName(target.seq)} refused: nothing was changed`, { findings });
    }
    const last = chain.snapshots[chain.snapshots.length - 1]!;
    const draft = (index_digest: string, key: SigningKey): Snapshot => ({
      format: 'artifacts-snapshot/1',
      framework: opts.framework,
      stage: opts.stage,
      seq: chain.snapshots.length + 1,
      parent: last.id,
      action: 'rollback',
      rollback_of: target.id,
      created_at: opts.at ?? rfc3339(opts.now),
      artifacts: snap.artifacts,
      selection_digest: snap.selection_digest,
      index_digest,
      signer: { keyid: key.keyid },
    });
    if (opts.dryRun) {
      const seq = chain.snapshots.length + 1;
      if (!opts.key) return { ...result, snapshot: { seq, file: '(not written)' } };
      const planned = draft(view.doc?.index_digest ?? '', opts.key);
      return { ...result, snapshot: { seq, id: snapshotId(encodeSnapshot(planned)), file: `(not written)` } };
    }
    const key = opts.key!;
    // Re-populate the store with bytes that came from git, then restore each file atomically.
    for (const st of steps) if (st.source === 'git') await putObjectBytes(repo, parseAddress(st.content_address)!.algo, contents.get(st.path)!);
    for (const st of steps) {
      if (st.action === 'write') await writeFileDurable(join(repo.root, st.path), contents.get(st.path)!, { root: repo.root, faultHook: repo.faultHook });
    }
    const tx = await runTransaction(repo, async () => ({ ops }), { heldLock: lock });
    await lock.assertHeld();
    const written = await writeSignedSnapshot(repo, draft(tx.after, key), key);
    // After the commit point: a mark that cannot be recorded only weakens later detection.
    await raiseMarks(repo, [{ framework: opts.framework, stage: opts.stage, snapshots: await listSnapshots(repo, opts.framework, opts.stage) }]).catch(() => undefined);
    return { ...result, snapshot: { seq: chain.snapshots.length + 1, ...written }, index_digest: tx.after };
  });
}
