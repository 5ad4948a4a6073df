// `artifacts keys trust | revoke | list | migrate` (SPEC §12): each change to the trusted set
// is a new record appended to the trust chain, signed by a key the current record trusts.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactsError, finding } from '../errors.js';
import { withIndexLock } from '../index/store.js';
import type { Repo } from '../repo.js';
import { decodeSignature, verifyStrict } from '../snapshots/ed25519.js';
import { keyIdOf, LEGACY_TRUSTED_DIR, parsePublicKeyPem } from '../snapshots/keys.js';
import { allSnapshots, rfc3339 } from '../snapshots/snapshot-store.js';
import { READ_LIMITS, readChecked, readUserFile } from '../store/checked-read.js';
import type { Signer } from './signer.js';
import { TRUST_DIR, TRUST_FORMAT, type TrustedKeyEntry, type TrustRecord, type TrustRevocation, type TrustState } from './trust-chain.js';
import { assertMaySign, loadTrust, trustPinOf, writeTrustRecord } from './trust-store.js';

export interface TrustChange {
  /** The key added or revoked (for migrate: the signer). */
  keyid: string;
  seq: number;
  id: string;
  file: string;
  /** Whether this change started the chain (record 1). */
  created: boolean;
}

/** The SPKI PEM of a key as the trust record stores it: what Node exports, one canonical text. */
function canonicalPem(raw: Uint8Array): string {
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(raw)]);
  return `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`;
}

function entryFor(raw: Uint8Array, addedBy: string): TrustedKeyEntry {
  return { keyid: keyIdOf(raw), public_key: canonicalPem(raw), added_by: addedBy };
}

const byKeyid = (a: { keyid: string }, b: { keyid: string }) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0);

async function readPublicKeyFile(file: string): Promise<Uint8Array> {
  const pem = (await readUserFile(file, { maxBytes: READ_LIMITS.key, code: 'KEY_INVALID', label: file })).toString('utf8');
  if (/PRIVATE KEY/.test(pem)) throw new ArtifactsError('KEY_IN_REPOSITORY', `${file} holds a private key; trust the .pub file instead`);
  return parsePublicKeyPem(pem, file);
}

function nextRecord(trust: TrustState, keys: TrustedKeyEntry[], revoked: TrustRevocation[], signer: Signer, now: Date): TrustRecord {
  const last = trust.records[trust.records.length - 1]!;
  return {
    format: TRUST_FORMAT,
    seq: last.seq + 1,
    parent: last.id,
    created_at: rfc3339(now),
    keys: [...keys].sort(byKeyid),
    revoked: [...revoked].sort(byKeyid),
    signer: { keyid: signer.keyid },
  };
}

function firstRecord(keys: TrustedKeyEntry[], signer: Signer, now: Date): TrustRecord {
  return {
    format: TRUST_FORMAT,
    seq: 1,
    parent: null,
    created_at: rfc3339(now),
    keys: [...keys].sort(byKeyid),
    revoked: [],
    signer: { keyid: signer.keyid },
  };
}

/** Starting a chain: the signer becomes the root, so it must agree with a pin if one is set. */
function assertRootMatchesPin(repo: Repo, signer: Signer): void {
  const pin = trustPinOf(repo);
  if (pin !== undefined && pin !== signer.keyid) {
    throw new ArtifactsError('TRUST_ROOT_MISMATCH', `refusing to start a trust chain rooted at ${signer.keyid}: the pinned root is ${pin}`);
  }
}

/**
 * `artifacts keys trust NAME.pub --key SIGNER`: append a record that adds the key. With no
 * chain yet, NAME.pub must be the signer's own public key: record 1, self-signed (the root).
 *
 * @example
 * ```ts
 * const root = await loadSigner('/secure/root.key');
 * await trustKey(repo, '/secure/root.pub', root, new Date()); // record 1
 * await trustKey(repo, 'release.pub', root, new Date());      // record 2
 * ```
 */
export async function trustKey(repo: Repo, pubFile: string, signer: Signer, now: Date): Promise<TrustChange> {
  const raw = await readPublicKeyFile(pubFile);
  const keyid = keyIdOf(raw);
  return withIndexLock(repo, async (lock) => {
    const trust = await loadTrust(repo);
    if (!trust) {
      if (keyid !== signer.keyid) {
        throw new ArtifactsError(
          'TRUST_NOT_INITIALIZED',
          `there is no trust chain yet, and its first record must be self-signed: sign ${pubFile} with its own private key (keys trust ROOT.pub --key ROOT.key), then add other keys`,
        );
      }
      assertRootMatchesPin(repo, signer);
      const w = await writeTrustRecord(repo, firstRecord([entryFor(raw, signer.keyid)], signer, now), signer, raw, () => lock.assertHeld());
      return { keyid, seq: 1, ...w, created: true };
    }
    const signerKey = assertMaySign(trust, signer.keyid, 'sign a trust record');
    if (trust.revoked.has(keyid))
      throw new ArtifactsError('USAGE', `key ${keyid} was revoked and cannot be trusted again; generate a new key`);
    const last = trust.records[trust.records.length - 1]!.record;
    if (trust.trusted.has(keyid)) throw new ArtifactsError('USAGE', `key ${keyid} is already trusted (record ${last.seq})`);
    const record = nextRecord(trust, [...last.keys, entryFor(raw, signer.keyid)], last.revoked, signer, now);
    const w = await writeTrustRecord(repo, record, signer, signerKey, () => lock.assertHeld());
    return { keyid, seq: record.seq, ...w, created: false };
  });
}

/**
 * The `last_valid` map of a revocation: for each framework/stage chain, the newest snapshot
 * whose signature by this key verifies. Everything up to it stays valid (its id commits to
 * the whole prefix through the parent links); anything the key signs later does not. A chain
 * the key never signed gets no entry, so no snapshot of it may carry this key.
 */
async function lastValidOf(repo: Repo, keyid: string, publicKey: Uint8Array): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of await allSnapshots(repo)) {
    if (s.snapshot?.signer?.keyid !== keyid) continue;
    const sig = decodeSignature(s.signature);
    if (sig && verifyStrict(s.bytes, sig, publicKey)) out[`${s.framework}/${s.stage}`] = s.id;
  }
  return out;
}

/**
 * `artifacts keys revoke KEYID --key SIGNER`: append a record that moves the key to
 * `revoked`, keeping valid the snapshots it signed so far (see {@link lastValidOf}).
 *
 * @example
 * ```ts
 * await revokeKey(repo, 'c0ffee…', await loadSigner('/secure/root.key'), new Date());
 * ```
 */
export async function revokeKey(
  repo: Repo,
  keyid: string,
  signer: Signer,
  now: Date,
): Promise<TrustChange & { last_valid: Record<string, string> }> {
  const id = keyid.trim().toLowerCase();
  return withIndexLock(repo, async (lock) => {
    const trust = await loadTrust(repo);
    if (!trust) throw new ArtifactsError('TRUST_NOT_INITIALIZED', 'there is no trust chain: nothing to revoke');
    const signerKey = assertMaySign(trust, signer.keyid, 'sign a trust record');
    const last = trust.records[trust.records.length - 1]!.record;
    const pk = trust.trusted.get(id);
    if (!pk)
      throw new ArtifactsError(
        'USAGE',
        `key ${keyid} is not in the current trust record${trust.revoked.has(id) ? ' (it is already revoked)' : ''}`,
      );
    const keys = last.keys.filter((k) => k.keyid !== id);
    if (keys.length === 0)
      throw new ArtifactsError(
        'USAGE',
        `refusing to revoke ${id}: it is the only trusted key, and a chain with no trusted key can never be extended; trust its replacement first`,
      );
    const last_valid = await lastValidOf(repo, id, pk);
    const record = nextRecord(trust, keys, [...last.revoked, { keyid: id, last_valid }], signer, now);
    const w = await writeTrustRecord(repo, record, signer, signerKey, () => lock.assertHeld());
    return { keyid: id, seq: record.seq, ...w, created: false, last_valid };
  });
}

/**
 * `artifacts keys migrate --key SIGNER`: turn a legacy `.artifacts/keys/trusted/<keyid>.pub`
 * directory into record 1, self-signed by SIGNER, which must be one of those keys. Files
 * whose content is not the key their name says are skipped (the old code ignored them too).
 *
 * @example
 * ```ts
 * const r = await migrateLegacyKeys(repo, await loadSigner('/secure/release.key'), new Date());
 * console.log(r.migrated, r.skipped);
 * ```
 */
export async function migrateLegacyKeys(
  repo: Repo,
  signer: Signer,
  now: Date,
): Promise<TrustChange & { migrated: string[]; skipped: Array<{ file: string; reason: string }> }> {
  return withIndexLock(repo, async (lock) => {
    if (await loadTrust(repo))
      throw new ArtifactsError('USAGE', `the repository already has a trust chain (${TRUST_DIR}/): there is nothing to migrate`);
    const dir = join(repo.root, LEGACY_TRUSTED_DIR);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.pub')).sort();
    const keys = new Map<string, Uint8Array>();
    const skipped: Array<{ file: string; reason: string }> = [];
    for (const n of names) {
      const file = `${LEGACY_TRUSTED_DIR}/${n}`;
      try {
        const bytes = await readChecked(join(dir, n), { root: repo.root, maxBytes: READ_LIMITS.key, code: 'KEY_INVALID', label: file });
        const raw = parsePublicKeyPem(bytes!.toString('utf8'), file);
        if (`${keyIdOf(raw)}.pub` !== n) skipped.push({ file, reason: `holds key ${keyIdOf(raw)}, not the one its name says` });
        else keys.set(keyIdOf(raw), raw);
      } catch (e) {
        skipped.push({ file, reason: (e as Error).message });
      }
    }
    if (keys.size === 0) throw new ArtifactsError('USAGE', `no usable keys in ${LEGACY_TRUSTED_DIR}/ to migrate`);
    if (!keys.has(signer.keyid)) {
      throw new ArtifactsError(
        'KEY_NOT_TRUSTED',
        `the signing key ${signer.keyid} is not among the keys of ${LEGACY_TRUSTED_DIR}/: sign the first record with one of them`,
        {
          findings: [finding('KEY_NOT_TRUSTED', `${signer.keyid} is not in ${LEGACY_TRUSTED_DIR}/`)],
        },
      );
    }
    assertRootMatchesPin(repo, signer);
    const record = firstRecord(
      [...keys.values()].map((raw) => entryFor(raw, signer.keyid)),
      signer,
      now,
    );
    const w = await writeTrustRecord(repo, record, signer, keys.get(signer.keyid)!, () => lock.assertHeld());
    return { keyid: signer.keyid, seq: 1, ...w, created: true, migrated: [...keys.keys()].sort(), skipped };
  });
}

export interface TrustListing {
  initialized: boolean;
  root?: string;
  pinned: boolean;
  /** The number of records in the chain. */
  records: number;
  trusted: Array<{ keyid: string; added_by: string }>;
  revoked: TrustRevocation[];
  /** Key files left in the legacy directory (they are not trusted). */
  legacy: string[];
}

/**
 * `artifacts keys list`: the current trusted set and the revoked keys, after verifying the
 * chain against the pin.
 *
 * @example
 * ```ts
 * const { trusted, revoked } = await listTrust(repo);
 * ```
 */
export async function listTrust(repo: Repo): Promise<TrustListing> {
  const legacy = (await readdir(join(repo.root, LEGACY_TRUSTED_DIR)).catch(() => [] as string[])).filter((n) => n.endsWith('.pub')).sort();
  const trust = await loadTrust(repo);
  if (!trust) return { initialized: false, pinned: false, records: 0, trusted: [], revoked: [], legacy };
  const last = trust.records[trust.records.length - 1]!.record;
  return {
    initialized: true,
    root: trust.root,
    pinned: trust.pinned,
    records: trust.records.length,
    trusted: last.keys.map((k) => ({ keyid: k.keyid, added_by: k.added_by })),
    revoked: last.revoked,
    legacy,
  };
}
