// DSSE (Dead Simple Signing Envelope, v1): the envelope in-toto attestations travel in.
// The signature is over PAE("DSSEv1", payloadType, payload), never over the JSON of the
// envelope, so that what is verified is exactly the bytes that are then parsed:
//   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
// with LEN the ASCII decimal byte length.
import { canonicalJson } from '../canonical-json.js';
import { verifyStrict } from '../snapshots/ed25519.js';
import { signVerified, type Signer } from '../trust/signer.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** The pre-authentication encoding of DSSE v1. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

/** Sign `payload` into an envelope, as canonical JSON bytes (Ed25519 is deterministic, so
 * the same payload and key give the same bytes). The signature is checked against
 * `publicKey` (the key the trust chain holds for the signer) before it is returned. */
export async function signEnvelope(payloadType: string, payload: Uint8Array, signer: Signer, publicKey: Uint8Array): Promise<Buffer> {
  const sig = await signVerified(signer, pae(payloadType, payload), publicKey, 'sign an attestation');
  const envelope: DsseEnvelope = {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: [{ keyid: signer.keyid, sig: Buffer.from(sig).toString('base64') }],
  };
  return Buffer.from(`${canonicalJson(envelope)}\n`, 'utf8');
}

/** Strict standard base64 (the alphabet, padding, no whitespace), or undefined. */
export function strictBase64(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** Why a parsed value is not a DSSE envelope, if it is not. */
export function envelopeProblem(v: unknown): string | undefined {
  const e = v as Partial<DsseEnvelope> | null;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return 'is not a JSON object';
  if (typeof e.payloadType !== 'string') return 'has no payloadType';
  if (strictBase64(e.payload) === undefined) return 'has no base64 payload';
  if (!Array.isArray(e.signatures) || e.signatures.length === 0) return 'has no signatures';
  for (const s of e.signatures) {
    if (s === null || typeof s !== 'object' || typeof s.keyid !== 'string' || typeof s.sig !== 'string') return 'has a malformed signature';
  }
  return undefined;
}

/** Does `s` verify over the envelope's PAE with `publicKey`? */
export function signatureVerifies(e: DsseEnvelope, s: DsseSignature, publicKey: Uint8Array): boolean {
  const payload = strictBase64(e.payload);
  const sig = strictBase64(s.sig);
  if (!payload || !sig || sig.length !== 64) return false;
  return verifyStrict(pae(e.payloadType, payload), Uint8Array.from(sig), publicKey);
}
