// The trust chain on disk: `.artifacts/keys/trust/<seq>.json` (RFC 8785 canonical bytes) and
// `<seq>.sig` (base64 Ed25519 signature of those bytes, one line), read through the checked
// reader (every byte is repository content), and loaded against the pinned root.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactsError, finding, findingOf, isArtifactsError } from '../errors.js';
import type { Repo } from '../repo.js';
import { seqName } from '../snapshots/snapshot-store.js';
import { READ_LIMITS, readChecked } from '../store/checked-read.js';
import { writeFileDurable, writeFileExclusiveDurable } from '../store/durable-write.js';
import { signVerified, type Signer } from './signer.js';
import {
  encodeTrustRecord,
  isKeyId,
  MAX_TRUST_RECORDS,
  recordId,
  TRUST_DIR,
  verifyTrustChain,
  type StoredTrustRecord,
  type TrustRecord,
  type TrustState,
} from './trust-chain.js';

/** The pinned root key id, if any: the Repo's pin (flag or environment, set by the
 * caller) before the config's `trust_root` (repository content, the weakest source). */
export function trustPinOf(repo: Repo): string | undefined {
  const pin = repo.trustRoot ?? repo.config.trust_root;
  if (pin === undefined) return undefined;
  const norm = pin.trim().toLowerCase();
  if (!isKeyId(norm)) throw new ArtifactsError('USAGE', `the trust root pin must be a key id (64 hex digits), got "${pin}"`);
  return norm;
}

/** Whether the repository has any trust record (cheap; no verification). */
export async function hasTrustChain(repo: Repo): Promise<boolean> {
  return (await trustRecordNames(repo)).length > 0;
}

async function trustRecordNames(repo: Repo): Promise<string[]> {
  const dir = join(repo.root, TRUST_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    const message = `${TRUST_DIR} is not a readable directory (${code ?? 'error'})`;
    throw new ArtifactsError('TRUST_CHAIN_BROKEN', message, { findings: [finding('TRUST_CHAIN_BROKEN', message, { path: TRUST_DIR })] });
  }
  const out = names.filter((n) => /^\d{6}\.json$/.test(n)).sort();
  if (out.length > MAX_TRUST_RECORDS) {
    const message = `${TRUST_DIR} holds ${out.length} records, more than the limit of ${MAX_TRUST_RECORDS}`;
    throw new ArtifactsError('TRUST_CHAIN_BROKEN', message, { findings: [finding('TRUST_CHAIN_BROKEN', message, { path: TRUST_DIR })] });
  }
  return out;
}

/** The records as stored, ordered by file name (unverified). */
export async function readTrustRecords(repo: Repo): Promise<StoredTrustRecord[]> {
  const dir = join(repo.root, TRUST_DIR);
  const out: StoredTrustRecord[] = [];
  for (const n of await trustRecordNames(repo)) {
    const base = n.slice(0, 6);
    const file = `${TRUST_DIR}/${n}`;
    const read = (name: string, allowMissing: boolean) =>
      readChecked(join(dir, name), {
        root: repo.root,
        maxBytes: READ_LIMITS.record,
        code: 'TRUST_CHAIN_BROKEN',
        label: `${TRUST_DIR}/${name}`,
        allowMissing,
      }).catch((e: unknown) => {
        // A record that cannot be read safely (a symlink, a FIFO, too large) breaks the chain.
        if (!isArtifactsError(e)) throw e;
        throw new ArtifactsError(e.code, e.message, {
          details: e.details,
          exit: e.exitCode,
          findings: [findingOf(e, { path: `${TRUST_DIR}/${name}` })],
        });
      });
    const bytes = (await read(n, false))!;
    const sig = await read(`${base}.sig`, true);
    out.push({ seq: Number(base), file, bytes, ...(sig ? { signature: sig.toString('utf8') } : {}) });
  }
  return out;
}

const warned = new WeakSet<Repo>();

/**
 * Load and verify the trust chain against the pin. Returns undefined when the repository
 * has no trust record at all. Without a pin, warns once per Repo (TRUST_ROOT_UNPINNED)
 * through `repo.warn`: the chain is then only as strong as the repository.
 */
export async function loadTrust(repo: Repo): Promise<TrustState | undefined> {
  const pin = trustPinOf(repo);
  const stored = await readTrustRecords(repo);
  if (stored.length === 0) return undefined;
  const state = verifyTrustChain(stored, pin);
  if (pin === undefined && !warned.has(repo)) {
    warned.add(repo);
    repo.warn?.(
      finding(
        'TRUST_ROOT_UNPINNED',
        `no trust root is pinned: trusting the self-signed root ${state.root} of ${TRUST_DIR}/000001.json, which is only as strong as the repository`,
        {
          severity: 'warning',
          path: `${TRUST_DIR}/000001.json`,
        },
      ),
    );
  }
  return state;
}

/** {@link loadTrust}, but a repository without a trust chain is TRUST_NOT_INITIALIZED. */
export async function requireTrust(repo: Repo): Promise<TrustState> {
  const state = await loadTrust(repo);
  if (!state) {
    throw new ArtifactsError(
      'TRUST_NOT_INITIALIZED',
      `the repository has snapshots to sign or verify but no trust chain (${TRUST_DIR}/ has no records)`,
      {
        findings: [
          finding('TRUST_NOT_INITIALIZED', `no trust chain in ${TRUST_DIR}/: no snapshot signature can be trusted`, { path: TRUST_DIR }),
        ],
      },
    );
  }
  return state;
}

/** Refuse (before anything is written) to sign with a key the current record does not
 * trust; returns the trusted public key, which the signature must verify with. */
export function assertMaySign(trust: TrustState, keyid: string, what: string): Uint8Array {
  const publicKey = trust.trusted.get(keyid);
  if (publicKey) return publicKey;
  const why = trust.revoked.has(keyid) ? 'was revoked' : 'is not in the current trust record';
  const message = `refusing to ${what} with key ${keyid}: it ${why} (trust chain rooted at ${trust.root}, record ${trust.records.length})`;
  throw new ArtifactsError('KEY_NOT_TRUSTED', message, { findings: [finding('KEY_NOT_TRUSTED', message)] });
}

/**
 * Append a signed record. The caller holds the repository lock and built `record` from the
 * verified chain; `publicKey` is the key `signer` signs with (checked before anything is
 * written). The signature is written first, then the record bytes by exclusive create:
 * the .json appearing is the commit point, and a second writer of the same seq loses.
 */
export async function writeTrustRecord(
  repo: Repo,
  record: TrustRecord,
  signer: Signer,
  publicKey: Uint8Array,
  beforeCommit?: () => Promise<void>,
): Promise<{ id: string; file: string }> {
  const bytes = encodeTrustRecord(record);
  const sig = await signVerified(signer, bytes, publicKey, `sign trust record ${record.seq}`);
  const dir = join(repo.root, TRUST_DIR);
  const base = seqName(record.seq);
  const file = `${TRUST_DIR}/${base}.json`;
  // A .sig without its .json is what a killed writer leaves: it is not part of the chain.
  const st = await lstat(join(dir, `${base}.json`)).catch(() => undefined);
  if (st)
    throw new ArtifactsError(
      'TRUST_CHAIN_BROKEN',
      `${file} already exists: another process appended to the trust chain; run the command again`,
    );
  const opts = { root: repo.root, faultHook: repo.faultHook, beforeCommit };
  await writeFileDurable(join(dir, `${base}.sig`), `${Buffer.from(sig).toString('base64')}\n`, opts);
  if (!(await writeFileExclusiveDurable(join(dir, `${base}.json`), bytes, opts))) {
    throw new ArtifactsError(
      'TRUST_CHAIN_BROKEN',
      `${file} appeared while this record was being written: another process appended to the trust chain; run the command again`,
    );
  }
  return { id: recordId(bytes), file };
}
