// Signing goes through an interface (the shape of sigstore-js's Signer): promote, rollback
// and trust records ask a Signer for a signature and never see a private key, so a key
// file, a KMS, an agent or a test double can sign. The key id says which trusted key the
// signature must verify with; every signature is checked against that key before anything
// is written, so a signer that lies about its key id or returns garbage is refused.
import { ArtifactsError } from '../errors.js';
import { verifyStrict } from '../snapshots/ed25519.js';

/** Something that makes Ed25519 signatures with one key. */
export interface Signer {
  /** The key id (hex SHA-256 of the raw 32-byte public key) the signatures verify with. */
  readonly keyid: string;
  /** The detached 64-byte Ed25519 signature of `bytes`. */
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

/**
 * Sign `bytes` with `signer` and check the signature against `publicKey` (the key the trust
 * chain holds for `signer.keyid`, or the key being made the root). Throws KEY_INVALID,
 * before anything is written, when it does not verify.
 */
export async function signVerified(signer: Signer, bytes: Uint8Array, publicKey: Uint8Array, what: string): Promise<Uint8Array> {
  const raw: unknown = await signer.sign(bytes);
  const sig = raw instanceof Uint8Array ? raw : undefined;
  if (sig === undefined || sig.length !== 64 || !verifyStrict(bytes, sig, publicKey)) {
    throw new ArtifactsError(
      'KEY_INVALID',
      `the signer for key ${signer.keyid} returned a signature that does not verify with that key: refusing to ${what}; nothing was written`,
      {
        hint: 'The signer signs with another key than the key id it names, or it is broken: check its configuration.',
      },
    );
  }
  return sig;
}
