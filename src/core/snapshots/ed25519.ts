// Ed25519 signatures with tweetnacl, made strict: tweetnacl's verify accepts malleable
// signatures (S >= L) and small-order public keys, both of which let an attacker produce a
// second valid signature or a key that "verifies" unrelated messages. We reject them, as
// the Wycheproof vectors require.
import nacl from 'tweetnacl';

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0x10,
]);

/** Encodings of the points of small order (and their non-canonical aliases). */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];
const SMALL_ORDER_SET = new Set(SMALL_ORDER);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Is the 32-byte little-endian scalar strictly below the group order? */
export function scalarBelowOrder(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L[i]!) return true;
    if (s[i]! > L[i]!) return false;
  }
  return false; // equal to L
}

export function isSmallOrderKey(publicKey: Uint8Array): boolean {
  return SMALL_ORDER_SET.has(hex(publicKey));
}

/** Strict verification: 64-byte signature, S < L, no small-order key or R. */
export function verifyStrict(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  if (!scalarBelowOrder(signature.subarray(32))) return false;
  if (isSmallOrderKey(publicKey) || SMALL_ORDER_SET.has(hex(signature.subarray(0, 32)))) return false;
  try {
    return nacl.sign.detached.verify(message, signature, publicKey);
  } catch {
    return false;
  }
}

/** Sign with a 32-byte seed (the private key as stored in PKCS#8). */
export function signDetached(message: Uint8Array, seed: Uint8Array): Uint8Array {
  const { secretKey } = nacl.sign.keyPair.fromSeed(seed);
  return nacl.sign.detached(message, secretKey);
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return nacl.sign.keyPair.fromSeed(seed).publicKey;
}

const SIGNATURE_LINE = /^[A-Za-z0-9+/]{86}==\n?$/;

/** Decode a `.sig` file strictly: one base64 line of exactly 64 bytes. */
export function decodeSignature(text: string | undefined): Uint8Array | undefined {
  if (text === undefined || !SIGNATURE_LINE.test(text)) return undefined;
  const raw = Buffer.from(text.trim(), 'base64');
  return raw.length === 64 ? Uint8Array.from(raw) : undefined;
}
