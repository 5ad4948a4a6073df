// Content digests. SHA-256 uses node:crypto (native); BLAKE3 uses hash-wasm (WebAssembly,
// ~20x faster than a pure-JS BLAKE3). Both stream, so a file of any size is hashed in
// bounded memory. Every digest equals `sha256sum` / `b3sum` on the same bytes.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ErrorCode } from '../errors.js';
import { openChecked } from '../store/checked-read.js';
import type { IHasher } from 'hash-wasm';

export type DigestAlgorithm = 'sha256' | 'blake3';
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'blake3'];

const CHUNK = 1 << 20;

export interface Hasher {
  update(data: Uint8Array): void;
  digestHex(): string;
}

const blake3Pool: IHasher[] = [];

/** An incremental hasher (update, then digestHex once). */
export async function newHasher(algo: DigestAlgorithm): Promise<Hasher> {
  if (algo === 'sha256') {
    const h = createHash('sha256');
    return { update: (d) => void h.update(d), digestHex: () => h.digest('hex') };
  }
  // hash-wasm instances are reusable after init(); keep a small pool so concurrent
  // hashing does not instantiate a WebAssembly module per file.
  // Loaded on first use: most repositories use SHA-256 and need no WebAssembly.
  const h = blake3Pool.pop() ?? (await (await import('hash-wasm')).createBLAKE3());
  h.init();
  return {
    update: (d) => void h.update(d),
    digestHex: () => {
      const hex = h.digest('hex');
      if (blake3Pool.length < 8) blake3Pool.push(h);
      return hex;
    },
  };
}

/** `<algo>:<hex>` of a byte string. */
export async function digestBytes(algo: DigestAlgorithm, data: Uint8Array): Promise<string> {
  const h = await newHasher(algo);
  h.update(data);
  return `${algo}:${h.digestHex()}`;
}

/** SHA-256 of bytes, synchronously (small documents: index, journal records). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Stream a file (from byte `start`) through the hasher in 1 MiB chunks; returns the
 * address and the number of bytes hashed. With `check`, the file is a repository file and
 * is opened like every other one (see store/checked-read.ts): never through a final
 * symlink, never a FIFO or device, never outside the repository. */
export async function digestFile(
  algo: DigestAlgorithm,
  file: string,
  start = 0,
  check?: DigestCheck,
  also: { sha256?: boolean } = {},
): Promise<{ address: string; size: number; sha256?: string }> {
  if (check) {
    const h = (await openChecked(file, { maxBytes: Infinity, ...check }))!;
    try {
      return await digestHandle(algo, h.fh, start, also);
    } finally {
      await h.fh.close().catch(() => undefined);
    }
  }
  const fh = await open(file, 'r');
  try {
    return await digestHandle(algo, fh, start, also);
  } finally {
    await fh.close();
  }
}

/** How {@link digestFile} checks a repository file: its root and the code of a refusal. */
export interface DigestCheck {
  root: string;
  code: ErrorCode;
  label?: string;
}

/** Digest an open file from byte `start`, in bounded memory; with `also.sha256`, its
 * SHA-256 in the same pass (a BLAKE3 artifact's digest for OCI and in-toto). */
export async function digestHandle(
  algo: DigestAlgorithm,
  fh: FileHandle,
  start = 0,
  also: { sha256?: boolean } = {},
): Promise<{ address: string; size: number; sha256?: string }> {
  const h = await newHasher(algo);
  const s = also.sha256 ? createHash('sha256') : undefined;
  const buf = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  let pos = start;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    pos += bytesRead;
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    s?.update(buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { address: `${algo}:${h.digestHex()}`, size, ...(s ? { sha256: s.digest('hex') } : {}) };
}

const ADDRESS_RE = /^(sha256|blake3):([0-9a-f]{64})$/;

/** Parse `<algo>:<hex>`; undefined when malformed or of an unknown algorithm. */
export function parseAddress(s: string): { algo: DigestAlgorithm; hex: string } | undefined {
  const m = ADDRESS_RE.exec(s);
  if (!m) return undefined;
  return { algo: m[1] as DigestAlgorithm, hex: m[2]! };
}
