// Snapshot verification (SPEC §7): every signature by a trusted key (strict Ed25519), every
// parent link, seq contiguous from 1, canonical bytes, expiry, and the referenced objects
// present and intact (in the object store, or in git's object database via `git_blob`).
import { canonicalJson } from '../canonical-json.js';
import { controlFilesOf } from '../config.js';
import { git } from '../git.js';
import { EXIT, finding, type Finding, findingOf, isArtifactsError } from '../errors.js';
import { controlPathProblem, linkedPathProblem } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkObject } from '../store/objects.js';
import { digestBytes, parseAddress } from '../hash/digest.js';
import { decodeSignature, verifyStrict } from './ed25519.js';
import { readBlobs } from './git-objects.js';
import { checkHistory } from './history-check.js';
import { retainedSeqs } from './retention.js';
import { snapshotSignerKey, type TrustState } from '../trust/trust-chain.js';
import { requireTrust } from '../trust/trust-store.js';
import { listSnapshots, listStages, SNAPSHOT_FORMAT, type StoredSnapshot } from './snapshot-store.js';

export interface VerifyOptions {
  /** The current time, for expiry (the core never reads the clock itself). */
  now: Date;
  /** Check referenced objects too (default true). */
  objects?: boolean;
}

export interface ChainReport {
  framework: string;
  stage: string;
  snapshots: StoredSnapshot[];
  findings: Finding[];
}

// Signature decoding lives with Ed25519 (the trust chain uses it too).
export { decodeSignature };

/** Where a chain's signers are judged: the verified trust chain, loaded only when needed. */
export type TrustSource = () => Promise<TrustState>;

async function isShallow(root: string): Promise<boolean> {
  return git(root, ['rev-parse', '--is-shallow-repository']).then(
    (out) => out.trim() === 'true',
    () => false,
  );
}

export async function verifyChain(
  repo: Repo,
  framework: string,
  stage: string,
  opts: VerifyOptions,
  trustSource?: TrustSource,
): Promise<ChainReport> {
  const snapshots = await listSnapshots(repo, framework, stage);
  const findings: Finding[] = [];
  // An empty chain needs no trust chain. A missing or broken one is reported, and the
  // rest of the chain is still checked (a malformed snapshot is an integrity failure
  // whatever the state of the keys); no signer can then be trusted.
  let trust: TrustState | undefined;
  if (snapshots.length > 0) {
    try {
      trust = await (trustSource ?? (() => requireTrust(repo)))();
    } catch (e) {
      if (!isArtifactsError(e)) throw e;
      findings.push(...(e.findings.length > 0 ? e.findings : [findingOf(e)]));
    }
  }
  const chainIds = snapshots.map((s) => s.id);
  const control = controlFilesOf(repo.config);
  const objectChecks: Array<{ s: StoredSnapshot; address: string; git_blob?: string | undefined; path: string }> = [];
  const retained = retainedSeqs(repo, snapshots, opts.now);
  snapshots.forEach((s, i) => {
    const at = { path: s.file };
    const broken = (msg: string) => findings.push(finding('SNAPSHOT_CHAIN_BROKEN', `${s.file}: ${msg}`, at));
    if (s.seq !== i + 1) broken(`expected seq ${i + 1} here: snapshot ${i + 1} is missing or the chain was reordered`);
    const snap = s.snapshot;
    if (!snap) {
      findings.push(finding('SNAPSHOT_INVALID', `${s.file}: ${s.invalid ?? 'is not a snapshot'}`, at));
      return;
    }
    let canonical: string | undefined;
    try {
      canonical = canonicalJson(snap);
    } catch {
      canonical = undefined;
    }
    if (canonical === undefined || Buffer.compare(Buffer.from(canonical, 'utf8'), s.bytes) !== 0)
      broken('is not in RFC 8785 canonical form (edited after signing?)');
    if (snap.format !== SNAPSHOT_FORMAT || snap.framework !== framework || snap.stage !== stage)
      broken(`does not belong to ${framework}/${stage}`);
    if (snap.seq !== s.seq) broken(`says seq ${String(snap.seq)} but is stored as ${s.seq}`);
    const expectedParent = i === 0 ? null : snapshots[i - 1]!.id;
    if (snap.parent !== expectedParent)
      broken(`parent is ${String(snap.parent)}, expected ${String(expectedParent)} (the previous snapshot's digest)`);
    // Signature: a key the trust chain vouches for at this point of this chain, a strict
    // 64-byte signature, over these exact bytes.
    const sig = decodeSignature(s.signature);
    const keyid = snap.signer?.keyid;
    if (!sig) findings.push(finding('SIGNATURE_INVALID', `${s.file}: signature file is missing or not one base64 line of 64 bytes`, at));
    else if (trust) {
      // (Without a verified trust chain no signer can be judged: reported once above.)
      const signer = snapshotSignerKey(trust, keyid, { framework, stage }, chainIds, i);
      if ('problem' in signer) findings.push(finding('KEY_NOT_TRUSTED', `${s.file} ${signer.problem}`, at));
      else if (!verifyStrict(s.bytes, sig, signer.publicKey))
        findings.push(finding('SIGNATURE_INVALID', `${s.file}: signature does not verify with trusted key ${String(keyid)}`, at));
    }
    if (snap.expires_at !== undefined && !(Date.parse(snap.expires_at) > opts.now.getTime())) {
      // Only the newest snapshot's expiry is the chain's state (TUF's freeze check); an
      // older one expiring is history, said but not an error (gate, rollback and resolve
      // judge the snapshot they use themselves).
      if (i === snapshots.length - 1) findings.push(finding('SNAPSHOT_EXPIRED', `${s.file}: expired at ${snap.expires_at}`, at));
      else
        findings.push(
          finding('SNAPSHOT_EXPIRED', `${s.file}: expired at ${snap.expires_at} (superseded by a later snapshot)`, {
            ...at,
            severity: 'info',
          }),
        );
    }
    // A valid signature does not make a path safe: rollback writes each artifact to its
    // recorded path, so one naming .git/ or the tool's own files fails verification.
    for (const a of Array.isArray(snap.artifacts) ? (snap.artifacts as unknown[]) : []) {
      const p = (a as { path?: unknown } | null)?.path;
      let problem = typeof p === 'string' ? controlPathProblem(p, control) : 'the path is not a string';
      // ...and so does one that the work tree sends elsewhere through a symbolic link (a
      // committed `lnk -> .git` makes `lnk/config` git's configuration).
      if (typeof p === 'string' && !problem) problem = linkedPathProblem(repo.root, p, control);
      if (problem)
        findings.push(
          finding('PATH_UNSAFE', `${s.file}: artifact path ${JSON.stringify(p)} is unsafe: ${problem}`, {
            ...at,
            exit: EXIT.INTEGRITY,
            hint: 'A snapshot may only name ordinary paths inside the repository; restore .artifacts/snapshots from a trusted clone and rotate the key that signed this one.',
          }),
        );
    }
    if (opts.objects !== false && retained.has(s.seq) && Array.isArray(snap.artifacts)) {
      for (const a of snap.artifacts) objectChecks.push({ s, address: a.content_address, git_blob: a.git_blob, path: a.path });
    }
  });
  if (objectChecks.length > 0) {
    const states = await Promise.all(objectChecks.map((c) => checkObject(repo, c.address).catch(() => 'corrupt' as const)));
    // Objects absent from the store may still be in git (a fresh clone has no store).
    const fromGit = await readBlobs(
      repo.root,
      objectChecks.filter((_c, i) => states[i] === 'missing' && _c.git_blob).map((c) => c.git_blob!),
    );
    const absent = objectChecks.map((c, i) => states[i] === 'missing' && !(c.git_blob && fromGit.has(c.git_blob)));
    // A blob found in git must hold the bytes the snapshot addresses (a signed snapshot
    // naming another file's blob would restore the wrong bytes).
    await Promise.all(
      objectChecks.map(async (c, i) => {
        const bytes = states[i] === 'missing' && c.git_blob ? fromGit.get(c.git_blob) : undefined;
        const addr = bytes && parseAddress(c.address);
        if (bytes && (!addr || (await digestBytes(addr.algo, bytes)) !== c.address)) states[i] = 'corrupt';
      }),
    );
    // A shallow clone (CI's default checkout) lacks the commits that hold older blobs: what it
    // cannot see is said, not reported as missing.
    const shallow = absent.some(Boolean) && (await isShallow(repo.root));
    objectChecks.forEach((c, i) => {
      const at = { path: c.s.file };
      if (states[i] === 'corrupt')
        findings.push(
          finding(
            'OBJECT_CORRUPT',
            `${c.s.file}: object ${c.address} (${c.path}) does not match its address${c.git_blob && fromGit.has(c.git_blob) ? ` (git blob ${c.git_blob})` : ''}`,
            at,
          ),
        );
      else if (absent[i] && shallow) {
        findings.push(
          finding(
            'OBJECT_MISSING',
            `${c.s.file}: object ${c.address} (${c.path}) is not in the object store, and this shallow clone lacks the history that may hold it: not checked`,
            {
              ...at,
              severity: 'warning',
              hint: 'Fetch the full history (`git fetch --unshallow`) to check every kept object.',
            },
          ),
        );
      } else if (absent[i]) {
        findings.push(finding('OBJECT_MISSING', `${c.s.file}: object ${c.address} (${c.path}) is in neither the object store nor git`, at));
      }
    });
  }
  return { framework, stage, snapshots, findings };
}

/**
 * `artifacts snapshot verify`: signatures, chain, expiry and objects of every (or one)
 * framework/stage.
 *
 * @example
 * ```ts
 * const reports = await verifySnapshots(repo, { now: new Date() });
 * const broken = reports.flatMap((r) => r.findings);
 * ```
 */
export async function verifySnapshots(repo: Repo, opts: VerifyOptions & { framework?: string; stage?: string }): Promise<ChainReport[]> {
  // One verification of the trust chain serves every snapshot chain.
  let trust: Promise<TrustState> | undefined;
  const trustSource = () => (trust ??= requireTrust(repo));
  const stages = opts.framework && opts.stage ? [{ framework: opts.framework, stage: opts.stage }] : await listStages(repo);
  const out: ChainReport[] = [];
  const seenTrust = new Set<string>();
  for (const { framework, stage } of stages) {
    const report = await verifyChain(repo, framework, stage, opts, trustSource);
    // A trust chain problem is one problem, however many snapshot chains it affects.
    report.findings = report.findings.filter((f) => {
      if (!f.code.startsWith('TRUST_')) return true;
      const k = `${f.code}\0${f.message}`;
      if (seenTrust.has(k)) return false;
      seenTrust.add(k);
      return true;
    });
    out.push(report);
  }
  return checkHistory(repo, out, opts);
}
