// The content-addressed object store: `.artifacts/objects/<algo>/<2 hex>/<rest of hex>`.
// Objects are written through the durable-write module (so they are on disk before any
// snapshot that references them) and checked against their address whenever read.
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactsError } from '../errors.js';
import { digestBytes, digestHandle, newHasher, parseAddress, type DigestAlgorithm } from '../hash/digest.js';
import { openChecked, readdirChecked } from './checked-read.js';
import type { Repo } from '../repo.js';
import { isInside, lstatQuiet, pathExists, toRepoPath } from '../paths.js';
import { realpath } from 'node:fs/promises';
import { ensureDirConfined, removeFileDurable, writeFileExclusiveDurable } from './durable-write.js';

export const OBJECTS_DIR = '.artifacts/objects';

export function objectPath(repo: Repo, address: string): string {
  const a = parseAddress(address);
  if (!a) throw new ArtifactsError('OBJECT_CORRUPT', `not a content address: ${address}`);
  return join(repo.root, OBJECTS_DIR, a.algo, a.hex.slice(0, 2), a.hex.slice(2));
}

/** Dedup only onto an intact object: true when the object is already there and matches
 * its address; otherwise whatever occupies its path (damaged bytes, a FIFO, a symlink to
 * /dev/zero) is removed, so that the caller writes a good copy instead of vouching for a
 * bad one. */
async function objectIntactOrCleared(repo: Repo, address: string): Promise<boolean> {
  const target = objectPath(repo, address);
  if (!pathExists(target)) return false;
  const state = await checkObject(repo, address).catch(() => 'corrupt' as const);
  if (state === 'ok') return true;
  if (state === 'corrupt') {
    // A directory cannot be cleared with an unlink, and is not removed recursively: its
    // contents are the user's to inspect.
    if (lstatQuiet(target)?.isDirectory()) {
      const shown = toRepoPath(repo.root, target);
      throw new ArtifactsError('OBJECT_CORRUPT', `${shown} is a directory, not the object ${address}`, {
        details: { path: shown },
        hint: `Remove the directory (\`rm -r ${shown}\`) after inspecting it; the object is written again from the artifact's file.`,
      });
    }
    await removeFileDurable(target, { root: repo.root });
  }
  return false;
}

/** Copy a file into the store under `address`, verifying the bytes on the way. Returns
 * false when the object already existed (dedup). The source is a repository file: it is
 * opened once, under the checked-read rules (never a FIFO, a device or a final symlink),
 * and streamed. */
export async function putObjectFromFile(repo: Repo, address: string, source: string): Promise<boolean> {
  const target = objectPath(repo, address);
  if (await objectIntactOrCleared(repo, address)) return false;
  const { algo } = parseAddress(address)!;
  const h = (await openChecked(source, { root: repo.root, maxBytes: Infinity, code: 'FILE_NOT_REGULAR' }))!;
  try {
    // Hash the copy itself, so that a file changed since it was indexed is never stored
    // under the old address.
    const actual = (await digestHandle(algo, h.fh)).address;
    if (actual !== address) {
      throw new ArtifactsError('INDEX_STALE_ENTRY', `${source} no longer matches its indexed content ${address} (now ${actual})`, {
        hint: 'Restore the file to its indexed content, or index the change (`artifacts index update <path>`; an approved version needs a new `version` first), then promote again.',
      });
    }
    const hasher = await newHasher(algo);
    async function* copy(): AsyncIterable<Uint8Array> {
      for await (const chunk of chunksOf(h.fh)) {
        hasher.update(chunk);
        yield chunk;
      }
    }
    return await writeFileExclusiveDurable(target, copy(), {
      root: repo.root,
      faultHook: repo.faultHook,
      // The temp copy is complete here: publish it only if it is the content we hashed.
      beforeCommit: () => {
        const copied = `${algo}:${hasher.digestHex()}`;
        if (copied !== address) throw new ArtifactsError('INDEX_STALE_ENTRY', `${source} changed while it was being stored`);
      },
    });
  } finally {
    await h.fh.close().catch(() => undefined);
  }
}

/** An open file's bytes from the start, in 1 MiB chunks (each a fresh buffer). */
async function* chunksOf(fh: FileHandle): AsyncIterable<Uint8Array> {
  let pos = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(1 << 20);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Store bytes under their address (rollback re-populates the store from git). */
export async function putObjectBytes(repo: Repo, algo: DigestAlgorithm, bytes: Uint8Array): Promise<string> {
  const address = await digestBytes(algo, bytes);
  if (await objectIntactOrCleared(repo, address)) return address;
  await writeFileExclusiveDurable(objectPath(repo, address), bytes, { root: repo.root, faultHook: repo.faultHook });
  return address;
}

export type ObjectState = 'ok' | 'missing' | 'corrupt';

/** How an object is opened: a regular file inside the repository (never a FIFO, a device,
 * a directory or a symlink), of the recorded size when the caller knows it. */
function objectReadOptions(repo: Repo, address: string, expectedSize?: number) {
  return {
    root: repo.root,
    maxBytes: expectedSize ?? Infinity,
    code: 'OBJECT_CORRUPT' as const,
    label: `object ${address}`,
    allowMissing: true,
  };
}

/** Is the object present and intact? Streamed: an object may be large. Anything other than
 * a regular file at its path (or one larger than `expectedSize`) is OBJECT_CORRUPT. */
export async function checkObject(repo: Repo, address: string, expectedSize?: number): Promise<ObjectState> {
  const p = objectPath(repo, address);
  const h = await openChecked(p, objectReadOptions(repo, address, expectedSize));
  if (!h) return 'missing';
  try {
    const { algo } = parseAddress(address)!;
    return (await digestHandle(algo, h.fh)).address === address ? 'ok' : 'corrupt';
  } finally {
    await h.fh.close().catch(() => undefined);
  }
}

/** Read an object, verified; undefined when missing, OBJECT_CORRUPT when damaged or not a
 * regular file. The digest is checked by streaming before the bytes are held in memory. */
export async function readObject(repo: Repo, address: string, expectedSize?: number): Promise<Buffer | undefined> {
  const p = objectPath(repo, address);
  const h = await openChecked(p, objectReadOptions(repo, address, expectedSize));
  if (!h) return undefined;
  try {
    const { algo } = parseAddress(address)!;
    if ((await digestHandle(algo, h.fh)).address !== address)
      throw new ArtifactsError('OBJECT_CORRUPT', `object ${address} does not match its address`);
    const bytes = Buffer.allocUnsafe(h.size);
    let n = 0;
    while (n < h.size) {
      const { bytesRead } = await h.fh.read(bytes, n, h.size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    // Read twice: the second read must hold the bytes that were verified.
    if (n !== h.size || (await digestBytes(algo, bytes)) !== address)
      throw new ArtifactsError('OBJECT_CORRUPT', `object ${address} changed while it was read`);
    return bytes;
  } finally {
    await h.fh.close().catch(() => undefined);
  }
}

/** Every object address in the store. Directories of the store that lead outside the
 * repository through a symlink are refused (OBJECT_CORRUPT), never listed. */
export async function listObjects(repo: Repo): Promise<string[]> {
  const out: string[] = [];
  const root = join(repo.root, OBJECTS_DIR);
  const opts = (label: string) => ({ root: repo.root, code: 'OBJECT_CORRUPT' as const, label });
  for (const algo of await readdirChecked(root, opts(OBJECTS_DIR))) {
    for (const two of await readdirChecked(join(root, algo), opts(`${OBJECTS_DIR}/${algo}`))) {
      for (const rest of await readdirChecked(join(root, algo, two), opts(`${OBJECTS_DIR}/${algo}/${two}`))) {
        if (!rest.startsWith('.')) out.push(`${algo}:${two}${rest}`);
      }
    }
  }
  return out.sort();
}

export async function deleteObject(repo: Repo, address: string): Promise<void> {
  await removeFileDurable(objectPath(repo, address), { root: repo.root });
}

/**
 * A file holding the content `address` names: the stored object when it is intact, else the
 * working-tree file at `rel` when it holds that very content (a fresh clone has no object
 * store: it is not committed). OBJECT_MISSING when neither does.
 */
export async function contentFile(
  repo: Repo,
  address: string,
  rel: string,
  size?: number,
  gitBlob?: string,
  /** `trustStore`: a stored object of the right size is taken without hashing it (the caller's
   * reader checks the digest, as a registry does on upload). */
  opts: { trustStore?: boolean } = {},
): Promise<string> {
  if (opts.trustStore && size !== undefined) {
    // Only a regular file that really lies in this repository's store (no symlinked
    // directory on the way can point it elsewhere).
    const p = objectPath(repo, address);
    const st = lstatQuiet(p);
    const real = await realpath(p).catch(() => undefined);
    const realRoot = await realpath(repo.root).catch(() => undefined);
    if (st?.isFile() && st.size === size && real && realRoot && isInside(join(realRoot, OBJECTS_DIR), real)) return p;
  }
  if ((await checkObject(repo, address, size).catch(() => 'corrupt' as const)) === 'ok') return objectPath(repo, address);
  // The git blob the snapshot recorded, when git has it: restored into the object store.
  if (gitBlob && /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(gitBlob)) {
    const restored = await restoreFromGit(repo, address, gitBlob).catch(() => false);
    if (restored) return objectPath(repo, address);
  }
  const { algo } = parseAddress(address)!;
  const abs = join(repo.root, rel);
  const h = await openChecked(abs, {
    root: repo.root,
    code: 'OBJECT_MISSING',
    label: rel,
    allowMissing: true,
    maxBytes: Number.MAX_SAFE_INTEGER,
  }).catch(() => undefined);
  if (h) {
    try {
      if ((await digestHandle(algo, h.fh)).address === address) return abs;
    } finally {
      await h.fh.close().catch(() => undefined);
    }
  }
  throw new ArtifactsError('OBJECT_MISSING', `the content ${address} of ${rel} is neither in the object store nor in the working tree`, {
    hint: 'Restore the object store (a rollback rehearsal, `artifacts rollback --dry-run`, shows what is missing), or check out the commit that has the file.',
  });
}

/** Copy git blob `blob` into the object store under `address` if it holds that content.
 * (git writes the blob straight into a temporary file: a child's pipe that is not read before
 * it exits loses its data.) */
async function restoreFromGit(repo: Repo, address: string, blob: string): Promise<boolean> {
  const { spawn } = await import('node:child_process');
  const { mkdtemp, open: openFile, rm } = await import('node:fs/promises');
  const { GIT_ENV } = await import('../git.js');
  // Inside the repository's cache (confined), so that the copy into the store is a checked read.
  await ensureDirConfined(repo.cacheDir, { root: repo.root });
  const dir = await mkdtemp(join(repo.cacheDir, 'blob-'));
  const tmp = join(dir, 'blob');
  try {
    const fh = await openFile(tmp, 'w');
    let code: number | null;
    try {
      const child = spawn('git', ['cat-file', 'blob', blob], { cwd: repo.root, env: GIT_ENV, stdio: ['ignore', fh.fd, 'ignore'] });
      code = await new Promise<number | null>((resolve) => {
        child.once('error', () => resolve(-1));
        child.once('close', resolve);
      });
    } finally {
      await fh.close();
    }
    if (code !== 0) return false;
    await putObjectFromFile(repo, address, tmp);
    return (await checkObject(repo, address)) === 'ok';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
