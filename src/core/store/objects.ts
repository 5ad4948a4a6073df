// The content-addressed object store: `.artifacts/objects/<algo>/<2 hex>/<rest of hex>`.
// Objects are written through the durable-write module (so they are on disk before any
// snapshot that references them) and checked against their address whenever read.
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactsError } from '../errors.js';
import { digestBytes, digestFile, newHasher, parseAddress, type DigestAlgorithm } from '../hash/digest.js';
import type { Repo } from '../repo.js';
import { pathExists } from '../paths.js';
import { removeFileDurable, writeFileExclusiveDurable } from './durable-write.js';

export const OBJECTS_DIR = '.artifacts/objects';

export function objectPath(repo: Repo, address: string): string {
  const a = parseAddress(address);
  if (!a) throw new ArtifactsError('OBJECT_CORRUPT', `not a content address: ${address}`);
  return join(repo.root, OBJECTS_DIR, a.algo, a.hex.slice(0, 2), a.hex.slice(2));
}

/** Copy a file into the store under `address`, verifying the bytes on the way. Returns
 * false when the object already existed (dedup). */
export async function putObjectFromFile(repo: Repo, address: string, source: string): Promise<boolean> {
  const target = objectPath(repo, address);
  if (pathExists(target)) return false;
  const { algo } = parseAddress(address)!;
  // Hash the copy itself, so that a file changed since it was indexed is never stored
  // under the old address.
  const actual = (await digestFile(algo, source)).address;
  if (actual !== address) {
    throw new ArtifactsError('INDEX_STALE_ENTRY', `${source} no longer matches its indexed content ${address} (now ${actual})`, {
      hint: 'Run `artifacts index update` for the file (or restore it), then promote again.',
    });
  }
  const hasher = await newHasher(algo);
  async function* copy(): AsyncIterable<Uint8Array> {
    for await (const chunk of createReadStream(source)) {
      hasher.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  }
  return writeFileExclusiveDurable(target, copy(), {
    root: repo.root,
    faultHook: repo.faultHook,
    // The temp copy is complete here: publish it only if it is the content we hashed.
    beforeCommit: () => {
      const copied = `${algo}:${hasher.digestHex()}`;
      if (copied !== address) throw new ArtifactsError('INDEX_STALE_ENTRY', `${source} changed while it was being stored`);
    },
  });
}

/** Store bytes under their address (rollback re-populates the store from git). */
export async function putObjectBytes(repo: Repo, algo: DigestAlgorithm, bytes: Uint8Array): Promise<string> {
  const address = await digestBytes(algo, bytes);
  await writeFileExclusiveDurable(objectPath(repo, address), bytes, { root: repo.root, faultHook: repo.faultHook });
  return address;
}

export type ObjectState = 'ok' | 'missing' | 'corrupt';

export async function checkObject(repo: Repo, address: string): Promise<ObjectState> {
  const p = objectPath(repo, address);
  if (!pathExists(p)) return 'missing';
  const { algo } = parseAddress(address)!;
  return (await digestFile(algo, p)).address === address ? 'ok' : 'corrupt';
}

/** Read an object, verified; undefined when missing, OBJECT_CORRUPT when damaged. */
export async function readObject(repo: Repo, address: string): Promise<Buffer | undefined> {
  const p = objectPath(repo, address);
  if (!pathExists(p)) return undefined;
  const bytes = await readFile(p);
  const { algo } = parseAddress(address)!;
  if ((await digestBytes(algo, bytes)) !== address) throw new ArtifactsError('OBJECT_CORRUPT', `object ${address} does not match its address`);
  return bytes;
}

/** Every object address in the store. */
export async function listObjects(repo: Repo): Promise<string[]> {
  const out: string[] = [];
  const root = join(repo.root, OBJECTS_DIR);
  for (const algo of await readdir(root).catch(() => [] as string[])) {
    for (const two of await readdir(join(root, algo)).catch(() => [] as string[])) {
      for (const rest of await readdir(join(root, algo, two)).catch(() => [] as string[])) {
        if (!rest.startsWith('.')) out.push(`${algo}:${two}${rest}`);
      }
    }
  }
  return out.sort();
}

export async function deleteObject(repo: Repo, address: string): Promise<void> {
  await removeFileDurable(objectPath(repo, address), { root: repo.root });
}
