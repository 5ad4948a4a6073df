// A snapshot as an OCI image manifest (SPEC §15): the config is the snapshot's canonical
// bytes (so the config digest is the snapshot id), one layer per artifact (its SHA-256, its
// path as the title), annotations carrying the signature, the signer and the attestation
// digest. Canonical JSON and no timestamps: the same snapshot gives the same manifest
// digest on every machine.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { READ_LIMITS, readChecked } from '../store/checked-read.js';
import { mkdtemp } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { ArtifactsError } from '../errors.js';
import { parseAddress } from '../hash/digest.js';
import type { Repo } from '../repo.js';
import type { StoredSnapshot } from '../snapshots/snapshot-store.js';
import { artifactDigests } from '../attest/statements.js';
import { attestationPathOf } from '../attest/attestations.js';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  snapshot: 'application/vnd.artifacts.snapshot.v1+json',
  file: 'application/vnd.artifacts.file.v1',
  dsse: 'application/vnd.dsse.envelope.v1+json',
  channel: 'application/vnd.artifacts.channel.v1+json',
  empty: 'application/vnd.oci.empty.v1+json',
  tarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const ANNOTATION = {
  title: 'org.opencontainers.image.title',
  signature: 'dev.artifacts.snapshot.signature',
  signer: 'dev.artifacts.snapshot.signer',
  publicKey: 'dev.artifacts.snapshot.signer.public-key',
  attestation: 'dev.artifacts.snapshot.attestation',
  snapshot: 'dev.artifacts.snapshot.id',
  channel: 'dev.artifacts.channel',
  channelSeq: 'dev.artifacts.channel.seq',
  ref: 'org.opencontainers.image.ref.name',
} as const;

/** The empty descriptor (OCI 1.1): `{}`, for an empty snapshot's layers and a referrer's config. */
export const EMPTY_DESCRIPTOR = {
  mediaType: MEDIA.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

/** The most layers of the per-file layout (some registries cap layer counts). */
export const MAX_FILE_LAYERS = 500;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  data?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A layer and where its bytes are: the object store address of the artifact. */
export interface FileLayer {
  descriptor: Descriptor;
  path: string;
  address: string;
  /** The git blob the snapshot recorded, to restore the content from when the store lacks it. */
  gitBlob?: string;
  /** `--layout tar`: the temporary file holding the layer (the caller removes its directory). */
  tarFile?: string;
}

export interface SnapshotImage {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  layers: FileLayer[];
  /** The record's attestation envelope, when it has one. */
  attestation?: Buffer;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function encodeManifest(m: Manifest): Buffer {
  return Buffer.from(canonicalJson(m), 'utf8');
}

/** The image of a stored snapshot (its signature and attestation read from beside it). */
export async function snapshotImage(
  repo: Repo,
  s: StoredSnapshot,
  publicKey: Uint8Array,
  layout: 'files' | 'tar' = 'files',
): Promise<SnapshotImage> {
  const snap = s.snapshot;
  if (!snap || s.signature === undefined) throw new ArtifactsError('SNAPSHOT_INVALID', `${s.file} is not a signed snapshot`);
  if (layout === 'tar') return tarImage(repo, s, publicKey);
  if (snap.artifacts.length > MAX_FILE_LAYERS)
    throw new ArtifactsError(
      'OCI_TOO_MANY_LAYERS',
      `${s.file} has ${snap.artifacts.length} artifacts; the per-file layout takes at most ${MAX_FILE_LAYERS}`,
    );
  // (A BLAKE3 artifact's recorded SHA-256 is used as it is: the registry, and export's copy,
  // check every blob against its digest. One without is hashed.)
  const computed = new Map<string, string>();
  for (const a of snap.artifacts)
    if (!a.sha256 && !a.content_address.startsWith('sha256:')) computed.set(a.path, `sha256:${(await artifactDigests(repo, a)).sha256}`);
  const byPath = new Map(snap.artifacts.map((a) => [a.path, a]));
  const layers: FileLayer[] = fileDescriptors(snap.artifacts, (path) => computed.get(path)).map((descriptor) => {
    const a = byPath.get(descriptor.annotations![ANNOTATION.title]!)!;
    return { descriptor, path: a.path, address: a.content_address, ...(a.git_blob ? { gitBlob: a.git_blob } : {}) };
  });
  return imageOf(
    s,
    publicKey,
    layers,
    layers.length > 0 ? layers.map((l) => l.descriptor) : [{ ...EMPTY_DESCRIPTOR }],
    await readAttestation(repo, s),
  );
}

/** The attestation beside a snapshot, read like every repository file (a regular file inside
 * the repository, bounded: never a FIFO, a device or a symlink out). */
async function readAttestation(repo: Repo, s: StoredSnapshot): Promise<Buffer | undefined> {
  return readChecked(join(repo.root, attestationPathOf(s.file)), {
    root: repo.root,
    maxBytes: READ_LIMITS.record,
    code: 'ATTESTATION_INVALID',
    label: attestationPathOf(s.file),
    allowMissing: true,
  });
}

function imageOf(
  s: StoredSnapshot,
  publicKey: Uint8Array,
  layers: FileLayer[],
  descriptors: Descriptor[],
  attestation: Buffer | undefined,
): SnapshotImage {
  const bytes = encodeManifest(
    snapshotManifest({
      id: s.id,
      size: s.bytes.length,
      signature: s.signature!.trim(),
      keyid: s.snapshot!.signer.keyid,
      publicKey,
      layers: descriptors,
      ...(attestation ? { attestation: sha256Digest(attestation) } : {}),
    }),
  );
  return { manifest: bytes, digest: sha256Digest(bytes), config: s.bytes, layers, ...(attestation ? { attestation } : {}) };
}

/** The one manifest of a signed snapshot: everything in it follows from the snapshot, its
 * signature, its signer's key, its attestation's digest and its layers. Pull rebuilds it to
 * check the manifest it was given byte for byte. */
export function snapshotManifest(p: {
  id: string;
  size: number;
  signature: string;
  keyid: string;
  publicKey: Uint8Array;
  layers: Descriptor[];
  attestation?: string;
}): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    artifactType: MEDIA.snapshot,
    config: { mediaType: MEDIA.snapshot, digest: p.id, size: p.size },
    layers: p.layers,
    annotations: {
      [ANNOTATION.snapshot]: p.id,
      [ANNOTATION.signature]: p.signature,
      [ANNOTATION.signer]: p.keyid,
      [ANNOTATION.publicKey]: Buffer.from(p.publicKey).toString('base64'),
      ...(p.attestation ? { [ANNOTATION.attestation]: p.attestation } : {}),
    },
  };
}

/** The per-file layers of a snapshot's artifacts, sorted by path; `digestOf` gives the SHA-256
 * digest of an artifact whose address is not SHA-256 and that records none. */
export function fileDescriptors(
  artifacts: ReadonlyArray<{ path: string; size: number; content_address: string; sha256?: string }>,
  digestOf: (path: string) => string | undefined,
): Descriptor[] {
  return [...artifacts]
    .sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))
    .map((a) => ({
      mediaType: MEDIA.file,
      digest: a.sha256
        ? `sha256:${a.sha256}`
        : a.content_address.startsWith('sha256:')
          ? a.content_address
          : (digestOf(a.path) ?? a.content_address),
      size: a.size,
      annotations: { [ANNOTATION.title]: a.path },
    }));
}

/** Check a layer title with the path rules: relative, no `..`, no duplicates. */
export function titleProblem(title: unknown, seen: Set<string>): string | undefined {
  if (typeof title !== 'string' || title === '') return 'has no title';
  if (title.startsWith('/') || /^[A-Za-z]:/.test(title) || title.includes('\\'))
    return `has the title ${JSON.stringify(title)}, which is not a relative path`;
  const parts = title.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..'))
    return `has the title ${JSON.stringify(title)}, which leaves its directory or is not normal`;
  // (Other control characters are legal in file names, and the index and rollback take
  // them: output escapes them wherever they are shown.)
  if (title.includes('\0')) return 'has a title with a NUL character';
  if (Buffer.byteLength(title) > 1024 || parts.some((p) => Buffer.byteLength(p) > 255)) return 'has a title too long for a file system';
  // (Case and Unicode normalisation: twins collide on some file systems.)
  const key = title.normalize('NFC').toLowerCase();
  if (seen.has(key)) return `has the title ${JSON.stringify(title)} twice`;
  seen.add(key);
  return undefined;
}

/** The address algorithm of a content address. */
export function algoOf(address: string): string {
  return parseAddress(address)?.algo ?? 'sha256';
}

/**
 * The `--layout tar` image: one deterministic tar+gzip layer of every artifact (sorted,
 * fixed modes, owners and times), written to a temporary file in the repository's cache
 * while its SHA-256 is computed. What Flux's OCIRepository extracts.
 */
async function tarImage(repo: Repo, s: StoredSnapshot, publicKey: Uint8Array): Promise<SnapshotImage> {
  const snap = s.snapshot!;
  const { tarHeader, tarPadding, TAR_END } = await import('./tar.js');
  const { contentFile } = await import('../store/objects.js');
  const { ensureDirConfined } = await import('../store/durable-write.js');
  await ensureDirConfined(repo.cacheDir, { root: repo.root });
  const dir = await mkdtemp(join(repo.cacheDir, 'layer-'));
  const file = join(dir, 'layer.tar.gz');
  const hash = createHash('sha256');
  let size = 0;
  const artifacts = [...snap.artifacts].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  async function* tar(): AsyncIterable<Uint8Array> {
    for (const a of artifacts) {
      yield tarHeader(a.path, a.size);
      const src = await contentFile(repo, a.content_address, a.path, a.size, a.git_blob);
      let n = 0;
      for await (const c of createReadStream(src, { highWaterMark: 1 << 20 })) {
        n += (c as Buffer).length;
        yield c as Buffer;
      }
      if (n !== a.size) throw new ArtifactsError('OBJECT_CORRUPT', `${a.path} does not have its recorded size`);
      yield tarPadding(a.size);
    }
    yield TAR_END;
  }
  const gzip = createGzip({ level: 6 });
  gzip.on('data', (c: Buffer) => {
    hash.update(c);
    size += c.length;
  });
  await pipeline(Readable.from(tar()), gzip, createWriteStream(file));
  const digest = `sha256:${hash.digest('hex')}`;
  const descriptor: Descriptor = { mediaType: MEDIA.tarGzip, digest, size };
  const layer: FileLayer = { descriptor, path: '', address: '', tarFile: file };
  return imageOf(s, publicKey, [layer], [descriptor], await readAttestation(repo, s));
}
