// The trust chain (SPEC §12), modelled on TUF's root metadata: which keys may sign is not
// whatever files the repository holds (a pull request can add any file), but a chain of
// signed records. Record 1 is self-signed by a key it lists (the root, pinned out of band);
// record n+1 is signed by a key record n trusts. This module is pure: it judges the bytes
// of the records it is given and answers "may this key have signed this snapshot?".
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError, finding, type ErrorCode } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import { decodeSignature, verifyStrict } from '../snapshots/ed25519.js';
import { keyIdOf, parsePublicKeyPem } from '../snapshots/keys.js';

export const TRUST_DIR = '.artifacts/keys/trust';
export const TRUST_FORMAT = 'artifacts-trust/1';
/** More records than any real repository needs; a bound on the work a hostile chain costs. */
export const MAX_TRUST_RECORDS = 10_000;

export interface TrustedKeyEntry {
  keyid: string;
  /** SPKI PEM. */
  public_key: string;
  /** The key id of the signer of the record that first listed this key. */
  added_by: string;
}

export interface TrustRevocation {
  keyid: string;
  /** Per `<framework>/<stage>`: the id of the last snapshot this key may have signed. */
  last_valid: Record<string, string>;
}

export interface TrustRecord {
  format: typeof TRUST_FORMAT;
  seq: number;
  parent: string | null;
  created_at: string;
  /** The full trusted set after this record (not a delta). */
  keys: TrustedKeyEntry[];
  /** Every key revoked so far (entries are never removed or changed). */
  revoked: TrustRevocation[];
  signer: { keyid: string };
}

/** One record as found on disk: the bytes of `<seq>.json` and the text of `<seq>.sig`. */
export interface StoredTrustRecord {
  seq: number;
  /** Repository path of the .json file. */
  file: string;
  bytes: Buffer;
  signature?: string;
}

/** A verified chain: who may sign now, and who was revoked with what history kept valid. */
export interface TrustState {
  /** The root: the key that self-signed record 1. */
  root: string;
  /** Whether the root was checked against a pin from outside the repository content. */
  pinned: boolean;
  records: Array<{ seq: number; file: string; id: string; record: TrustRecord }>;
  /** The current trusted set (the last record's `keys`). */
  trusted: Map<string, Uint8Array>;
  revoked: Map<string, { publicKey: Uint8Array; lastValid: Record<string, string> }>;
}

const KEYID = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const CHAIN_NAME = /^[^/\s]+\/[^/\s]+$/;

export function isKeyId(s: unknown): s is string {
  return typeof s === 'string' && KEYID.test(s);
}

export function recordId(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

export function encodeTrustRecord(r: TrustRecord): Buffer {
  return Buffer.from(canonicalJson(r), 'utf8');
}

function fail(code: ErrorCode, file: string, message: string): never {
  throw new ArtifactsError(code, `${file}: ${message}`, { findings: [finding(code, `${file}: ${message}`, { path: file })] });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function exactKeys(v: Record<string, unknown>, keys: readonly string[]): boolean {
  const have = Object.keys(v).sort();
  const want = [...keys].sort();
  return have.length === want.length && have.every((k, i) => k === want[i]);
}

/** Parse and check the shape of one record; returns the record and its keys' raw bytes. */
function parseRecord(s: StoredTrustRecord): { record: TrustRecord; publicKeys: Map<string, Uint8Array> } {
  const broken = (m: string): never => fail('TRUST_CHAIN_BROKEN', s.file, m);
  let value: unknown;
  try {
    value = JSON.parse(s.bytes.toString('utf8'));
  } catch {
    return broken('is not valid JSON');
  }
  if (!isPlainObject(value) || !exactKeys(value, ['format', 'seq', 'parent', 'created_at', 'keys', 'revoked', 'signer'])) {
    return broken(`is not an ${TRUST_FORMAT} record (it must have exactly format, seq, parent, created_at, keys, revoked, signer)`);
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalJson(value);
  } catch {
    canonical = undefined;
  }
  // The signature covers these exact bytes; a record that is not canonical was edited.
  if (canonical === undefined || Buffer.compare(Buffer.from(canonical, 'utf8'), s.bytes) !== 0)
    broken('is not in RFC 8785 canonical form (edited after signing?)');
  const r = value as unknown as TrustRecord;
  if (r.format !== TRUST_FORMAT) broken(`format must be "${String(TRUST_FORMAT)}"`);
  if (r.seq !== s.seq) broken(`says seq ${String(r.seq)} but is stored as ${s.seq}`);
  if (typeof r.created_at !== 'string' || !RFC3339.test(r.created_at) || Number.isNaN(Date.parse(r.created_at)))
    broken('created_at must be an RFC 3339 date-time');
  if (!isPlainObject(r.signer) || !exactKeys(r.signer, ['keyid']) || !isKeyId(r.signer.keyid))
    broken('signer must be { "keyid": <64 hex digits> }');
  if (!Array.isArray(r.keys) || r.keys.length === 0) broken('keys must list at least one trusted key');
  const publicKeys = new Map<string, Uint8Array>();
  for (const k of r.keys as unknown[]) {
    if (
      !isPlainObject(k) ||
      !exactKeys(k, ['keyid', 'public_key', 'added_by']) ||
      !isKeyId(k.keyid) ||
      !isKeyId(k.added_by) ||
      typeof k.public_key !== 'string'
    ) {
      broken('each key must be { keyid, public_key, added_by } with 64-hex-digit key ids and an SPKI PEM');
    }
    const entry = k as TrustedKeyEntry;
    let raw: Uint8Array;
    try {
      raw = parsePublicKeyPem(entry.public_key, `key ${entry.keyid}`);
    } catch {
      return broken(`key ${entry.keyid} is not an Ed25519 public key in SPKI PEM`);
    }
    // The key id is the identity everything else refers to: it must be this key's.
    if (keyIdOf(raw) !== entry.keyid) broken(`key ${entry.keyid} does not match its public_key (which has key id ${keyIdOf(raw)})`);
    if (publicKeys.has(entry.keyid)) broken(`key ${entry.keyid} is listed twice`);
    publicKeys.set(entry.keyid, raw);
  }
  if (!Array.isArray(r.revoked)) broken('revoked must be a list');
  const seen = new Set<string>();
  for (const v of r.revoked as unknown[]) {
    if (!isPlainObject(v) || !exactKeys(v, ['keyid', 'last_valid']) || !isKeyId(v.keyid) || !isPlainObject(v.last_valid)) {
      broken('each revocation must be { keyid, last_valid: { "<framework>/<stage>": "sha256:<snapshot id>" } }');
    }
    const rev = v as TrustRevocation;
    for (const [chain, id] of Object.entries(rev.last_valid)) {
      if (!CHAIN_NAME.test(chain) || typeof id !== 'string' || !DIGEST.test(id))
        broken(`revocation of ${rev.keyid}: "${chain}" must map a framework/stage to a sha256: snapshot id`);
    }
    if (seen.has(rev.keyid)) broken(`key ${rev.keyid} is revoked twice`);
    if (publicKeys.has(rev.keyid)) broken(`key ${rev.keyid} is both trusted and revoked`);
    seen.add(rev.keyid);
  }
  return { record: r, publicKeys };
}

/**
 * Verify a chain of trust records (ordered by their file names) strictly: canonical bytes,
 * seq contiguous from 1, parent links, record 1 self-signed by a key it lists (and, with a
 * pin, by exactly the pinned key), each later record signed by a key the previous record
 * trusts, strict Ed25519. Throws TRUST_ROOT_MISMATCH or TRUST_CHAIN_BROKEN.
 */
export function verifyTrustChain(stored: readonly StoredTrustRecord[], pin: string | undefined): TrustState {
  if (stored.length === 0)
    throw new ArtifactsError('TRUST_NOT_INITIALIZED', 'the repository has no trust chain (.artifacts/keys/trust/ has no records)');
  const records: TrustState['records'] = [];
  // Every public key any record listed: a revoked key's old snapshots still need it.
  const everKnown = new Map<string, Uint8Array>();
  let prev: { record: TrustRecord; publicKeys: Map<string, Uint8Array>; id: string } | undefined;
  stored.forEach((s, i) => {
    const broken = (m: string): never => fail('TRUST_CHAIN_BROKEN', s.file, m);
    if (s.seq !== i + 1) broken(`expected record ${i + 1} here: a record is missing or the chain was reordered`);
    const { record, publicKeys } = parseRecord(s);
    const signer = record.signer.keyid;
    let signerKey: Uint8Array | undefined;
    if (!prev) {
      if (record.parent !== null) broken('the first record must have parent null');
      if (record.revoked.length > 0) broken('the first record cannot revoke keys');
      if (pin !== undefined && signer !== pin) {
        fail('TRUST_ROOT_MISMATCH', s.file, `the first trust record is signed by ${signer}, not by the pinned root ${pin}`);
      }
      signerKey = publicKeys.get(signer);
      if (!signerKey) {
        if (pin !== undefined) fail('TRUST_ROOT_MISMATCH', s.file, `the first trust record does not list the pinned root ${pin}`);
        broken(`the first record must be self-signed, but its signer ${signer} is not among its keys`);
      }
      for (const k of record.keys)
        if (k.added_by !== signer) broken(`key ${k.keyid} says it was added by ${k.added_by}, but the record is signed by ${signer}`);
    } else {
      if (record.parent !== prev.id) broken(`parent is ${String(record.parent)}, expected ${prev.id} (the previous record's digest)`);
      // Threshold 1: any key the previous record trusts (and so has not revoked) may sign.
      signerKey = prev.publicKeys.get(signer);
      if (!signerKey) broken(`is signed by ${signer}, which record ${prev.record.seq} does not trust`);
      const prevKeys = new Map(prev.record.keys.map((k) => [k.keyid, k]));
      for (const k of record.keys) {
        const before = prevKeys.get(k.keyid);
        if (before ? before.added_by !== k.added_by || before.public_key !== k.public_key : k.added_by !== signer) {
          broken(`key ${k.keyid}: added_by must be the signer of the record that added it`);
        }
      }
      // Revocations are permanent: each earlier entry stays, unchanged; a new one names a
      // key the previous record trusted; a revoked key never comes back.
      const now = new Map(record.revoked.map((v) => [v.keyid, v]));
      for (const v of prev.record.revoked) {
        const kept = now.get(v.keyid);
        if (!kept || canonicalJson(kept) !== canonicalJson(v)) broken(`drops or changes the earlier revocation of ${v.keyid}`);
      }
      const prevRevoked = new Set(prev.record.revoked.map((v) => v.keyid));
      for (const v of record.revoked) {
        if (!prevRevoked.has(v.keyid) && !prevKeys.has(v.keyid))
          broken(`revokes ${v.keyid}, which record ${prev.record.seq} does not trust`);
      }
    }
    const sig = decodeSignature(s.signature);
    if (!sig) broken('its .sig file is missing or not one base64 line of a 64-byte signature');
    if (!verifyStrict(s.bytes, sig!, signerKey!)) broken(`the signature does not verify with the signer's key ${signer}`);
    const id = recordId(s.bytes);
    for (const [k, pk] of publicKeys) everKnown.set(k, pk);
    records.push({ seq: s.seq, file: s.file, id, record });
    prev = { record, publicKeys, id };
  });
  const last = prev!;
  const revoked = new Map<string, { publicKey: Uint8Array; lastValid: Record<string, string> }>();
  for (const v of last.record.revoked) revoked.set(v.keyid, { publicKey: everKnown.get(v.keyid)!, lastValid: v.last_valid });
  return { root: records[0]!.record.signer.keyid, pinned: pin !== undefined, records, trusted: new Map(last.publicKeys), revoked };
}

/**
 * The public key that may have signed snapshot `index` (0-based) of a chain whose snapshot
 * ids are `chainIds`: a currently trusted key, or a revoked key when this snapshot is at or
 * before the key's `last_valid` snapshot in that chain. Otherwise the reason it may not.
 */
export function snapshotSignerKey(
  trust: TrustState,
  keyid: unknown,
  chain: { framework: string; stage: string },
  chainIds: readonly string[],
  index: number,
): { publicKey: Uint8Array } | { problem: string } {
  if (!isKeyId(keyid)) return { problem: `names no valid signer key id (${JSON.stringify(keyid) ?? 'none'})` };
  const current = trust.trusted.get(keyid);
  if (current) return { publicKey: current };
  const rev = trust.revoked.get(keyid);
  if (!rev) return { problem: `is signed by ${keyid}, which the trust chain rooted at ${trust.root} does not trust` };
  const lastValid = rev.lastValid[`${chain.framework}/${chain.stage}`];
  const at = lastValid === undefined ? -1 : chainIds.indexOf(lastValid);
  if (at >= 0 && index <= at) return { publicKey: rev.publicKey };
  return {
    problem:
      lastValid === undefined
        ? `is signed by ${keyid}, which was revoked before it signed anything in ${chain.framework}/${chain.stage}`
        : at < 0
          ? `is signed by ${keyid}, which was revoked; its last valid snapshot ${lastValid} is not in this chain`
          : `is signed by ${keyid} after its revocation (its last valid snapshot is #${at + 1})`,
  };
}
