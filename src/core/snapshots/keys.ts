// Signing keys: Ed25519, stored as PKCS#8 PEM (private, mode 0600) and SPKI PEM (public).
// The key id is the hex SHA-256 of the raw 32-byte public key. Private keys are never
// written into the repository, printed, or put in a snapshot.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { dirname, parse, resolve } from 'node:path';
import { ArtifactsError } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import { isInside, pathExists } from '../paths.js';
import { READ_LIMITS, readUserFile } from '../store/checked-read.js';
import { ensureDirConfined, writeFileDurable } from '../store/durable-write.js';
import type { Signer } from '../trust/signer.js';
import { publicKeyFromSeed, signDetached } from './ed25519.js';

/** The legacy plain key directory: read only by `keys migrate` (SPEC §12 replaced it with
 * the signed trust chain, because any pull request can add a file here). */
export const LEGACY_TRUSTED_DIR = '.artifacts/keys/trusted';

/** A private key as read from its file. Internal: it never leaves this module except to
 * tests; everything else signs through a {@link Signer} ({@link loadSigner}). */
export interface SigningKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  keyid: string;
}

export function keyIdOf(publicKey: Uint8Array): string {
  return sha256Hex(publicKey);
}

/** Raw 32-byte public key from an SPKI PEM. */
export function parsePublicKeyPem(pem: string, file = 'public key'): Uint8Array {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${key.asymmetricKeyType} key`);
    const der = key.export({ format: 'der', type: 'spki' });
    return Uint8Array.from(der.subarray(der.length - 32));
  } catch (e) {
    throw new ArtifactsError('KEY_INVALID', `${file} is not an Ed25519 public key (${(e as Error).message})`);
  }
}

/** Load a PKCS#8 PEM private key file. Errors never include the key material. */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  const pem = (await readUserFile(file, { maxBytes: READ_LIMITS.key, code: 'KEY_INVALID', label: `the signing key ${file}` })).toString(
    'utf8',
  );
  let seed: Uint8Array;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${key.asymmetricKeyType} key`);
    const der = key.export({ format: 'der', type: 'pkcs8' });
    seed = Uint8Array.from(der.subarray(der.length - 32));
  } catch (e) {
    throw new ArtifactsError('KEY_INVALID', `${file} is not an Ed25519 private key in PKCS#8 PEM (${(e as Error).message.split('\n')[0]})`);
  }
  const publicKey = publicKeyFromSeed(seed);
  return { seed, publicKey, keyid: keyIdOf(publicKey) };
}

/**
 * The {@link Signer} of a PKCS#8 PEM private key file (what `artifacts keys generate`
 * writes): the one place a private key is read. The key stays inside the signer.
 *
 * @example
 * ```ts
 * const signer = await loadSigner('/secure/release.key');
 * await promote(repo, { framework: 'fwk-001', stage: 'design-review', signer, now: new Date() });
 * ```
 */
export async function loadSigner(file: string): Promise<Signer> {
  const { seed, keyid } = await loadSigningKey(file);
  return { keyid, sign: (bytes) => Promise.resolve(signDetached(bytes, seed)) };
}

/** `artifacts keys generate --out NAME`: NAME.key (0600) and NAME.pub, outside the repo. */
export async function generateKeys(out: string, repoRoot?: string): Promise<{ privateKey: string; publicKey: string; keyid: string }> {
  const base = resolve(out);
  const priv = `${base}.key`;
  const pub = `${base}.pub`;
  if (repoRoot) {
    await ensureDirConfined(dirname(base), { root: parse(base).root });
    const realDir = await realpath(dirname(base));
    if (isInside(await realpath(repoRoot), realDir)) {
      throw new ArtifactsError('KEY_IN_REPOSITORY', `refusing to write a private key inside the repository (${priv})`);
    }
  }
  for (const f of [priv, pub]) if (pathExists(f)) throw new ArtifactsError('KEY_EXISTS', `${f} already exists`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  const keyid = keyIdOf(Uint8Array.from(raw.subarray(raw.length - 32)));
  // The user chose where the key pair goes (outside the repository, checked above).
  const root = parse(base).root;
  await writeFileDurable(priv, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { root, mode: 0o600 });
  await writeFileDurable(pub, publicKey.export({ format: 'pem', type: 'spki' }) as string, { root });
  return { privateKey: priv, publicKey: pub, keyid };
}
