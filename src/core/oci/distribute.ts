// push, pull, export and import of promoted snapshots (SPEC §15). Push sends a verified
// snapshot's image (config, one layer per artifact) and its attestation as a referrer.
// Pull and import verify everything — manifest and config digests, the snapshot's signature
// by a trusted key, every layer's digest and size, the attestation — before writing any
// file, then write each artifact at its recorded path.
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, open, realpath, rm, mkdir, stat, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { CONFIG_FILE, controlFilesOf, DEFAULT_CONFIG, loadConfig } from '../config.js';
import { digestFile, parseAddress } from '../hash/digest.js';
import { ArtifactsError } from '../errors.js';
import { openChecked, parseJsonQuiet, readChecked } from '../store/checked-read.js';
import { contentFile } from '../store/objects.js';
import type { Repo } from '../repo.js';
import { listSnapshots, resolveSnapshot, snapshotShapeProblem, type Snapshot, type StoredSnapshot } from '../snapshots/snapshot-store.js';
import { channelRecordProblem, encodeChannelRecord, verifiedChannel, type ChannelRecord } from '../channels/records.js';
import { verifyChain } from '../snapshots/verify-chain.js';
import { decodeSignature, verifyStrict } from '../snapshots/ed25519.js';
import { requireTrust } from '../trust/trust-store.js';
import { snapshotSignerKey, type TrustState } from '../trust/trust-chain.js';
import { controlPathProblem, restorePathProblem } from '../paths.js';
import type { ControlFiles } from '../paths.js';
import { ensureDirConfined, writeFileDurable } from '../store/durable-write.js';
import { encodeAttestation, statementProblem, verifyAttestationBytes } from '../attest/attestations.js';
import { pae, strictBase64, type DsseEnvelope } from '../attest/dsse.js';
import { canonicalJson } from '../canonical-json.js';
import { STATEMENT_TYPE, type Statement } from '../attest/statements.js';
import type { Signer } from '../trust/signer.js';
import {
  ANNOTATION,
  EMPTY_DESCRIPTOR,
  encodeManifest,
  fileDescriptors,
  MEDIA,
  snapshotManifest,
  sha256Digest,
  snapshotImage,
  titleProblem,
  type Descriptor,
  type Manifest,
  type SnapshotImage,
} from './image.js';
import { credentialsFor, formatRef, parseRef, RegistryClient, type RegistryRef } from './registry.js';
import { keyIdOf } from '../snapshots/keys.js';

export interface PushOptions {
  framework: string;
  stage: string;
  /** `files` (default): one layer per artifact; `tar`: one deterministic tar+gzip layer. */
  layout?: 'files' | 'tar';
  /** `push --channel`: the channel's signed head, pushed as a referrer of the image. */
  channelHead?: { bytes: Buffer; signature: string; keyid: string; publicKey: Uint8Array; name: string };
  /** A seq, or 'latest' (default). */
  seq?: number | 'latest';
  plainHttp?: boolean;
  monolithicLimit?: number;
  /** The snapshot's signing key: signs the image's own attestation (its subject the
   * manifest), pushed as a second referrer. Without it only the snapshot's attestation is. */
  signer?: Signer;
  /** Where the signer came from: an explicit key must be the snapshot's; one from the
   * environment that is not is left unused. */
  signerFrom?: 'option' | 'environment';
}

export interface PushResult {
  ref: string;
  digest: string;
  snapshot: string;
  blobs: { pushed: number; skipped: number };
  referrer?: string;
  /** The referrer holding the image's attestation (subject: the manifest), when signed. */
  image_attestation?: string;
}

/** The verified snapshot `seq` (or the latest) of a framework/stage, with its signer's key. */
async function verifiedSnapshot(
  repo: Repo,
  o: PushOptions,
): Promise<{ s: StoredSnapshot; publicKey: Uint8Array; trust: TrustState; signer: Signer | undefined }> {
  const trust = await requireTrust(repo);
  // (Objects are not re-hashed here: the registry checks every blob's digest on upload, and
  // export checks each one as it copies it.)
  const report = await verifyChain(repo, o.framework, o.stage, { now: new Date(), objects: false }, async () => trust);
  const errors = report.findings.filter((f) => f.severity === 'error' && f.code !== 'SNAPSHOT_EXPIRED');
  if (errors.length > 0)
    throw new ArtifactsError('SNAPSHOT_INVALID', `the snapshots of ${o.framework}/${o.stage} do not verify: nothing is pushed from them`, {
      findings: errors,
    });
  const all = await listSnapshots(repo, o.framework, o.stage);
  const i = o.seq === undefined || o.seq === 'latest' ? all.length - 1 : all.findIndex((s) => s.seq === o.seq);
  const s = all[i];
  if (!s?.snapshot) throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `no snapshot ${o.seq ?? 'latest'} in ${o.framework}/${o.stage}`);
  const k = snapshotSignerKey(
    trust,
    s.snapshot.signer.keyid,
    o,
    all.map((x) => x.id),
    i,
  );
  if (!('publicKey' in k)) throw new ArtifactsError('KEY_NOT_TRUSTED', `${s.file} ${k.problem}`);
  // (ARTIFACTS_SIGNING_KEY may hold another key of the team: then only the snapshot's
  // attestation goes up, as without a key. A key given explicitly must be the snapshot's.)
  const mismatch = o.signer !== undefined && o.signer.keyid !== s.snapshot.signer.keyid;
  if (mismatch && o.signerFrom !== 'environment')
    throw new ArtifactsError(
      'USAGE',
      `the signing key ${o.signer?.keyid} is not the key ${s.snapshot.signer.keyid} that signed ${s.file}: the image's attestation is signed with the snapshot's key`,
      {
        hint: 'Pass the key that promoted the snapshot with --key (or ARTIFACTS_SIGNING_KEY), or none to push only the snapshot attestation.',
      },
    );
  return { s, publicKey: k.publicKey, trust, signer: mismatch ? undefined : o.signer };
}

/** Bytes `from`..`from + length` of a file, streamed: 1 MiB read when the consumer asks for
 * it (no read-ahead), into a ring of 8 buffers, so that an upload of any size holds 8 MiB
 * and makes no garbage. A buffer is reused 8 reads after it was handed over; the request
 * writer sends each one (with backpressure) long before that, and were it not so, the
 * registry's digest check would refuse the blob: nothing wrong is ever stored. */
function fileRange(path: string, from: number, length: number): ReadableStream<Uint8Array> {
  let fh: FileHandle | undefined;
  const ring = Array.from({ length: 8 }, () => Buffer.allocUnsafe(0));
  let turn = 0;
  let pos = from;
  const end = from + length;
  const close = async () => {
    const h = fh;
    fh = undefined;
    await h?.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        fh ??= await open(path, 'r');
        const n = Math.min(1 << 20, end - pos);
        if (n <= 0) {
          await close();
          controller.close();
          return;
        }
        const slot = turn++ % ring.length;
        if (ring[slot]!.length < n) ring[slot] = Buffer.allocUnsafe(1 << 20);
        const buf = ring[slot]!;
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead === 0) {
          await close();
          controller.error(new ArtifactsError('OBJECT_CORRUPT', `${path} ended before the bytes it should hold`));
          return;
        }
        pos += bytesRead;
        controller.enqueue(buf.subarray(0, bytesRead));
      },
      cancel: close,
    },
    { highWaterMark: 1 },
  );
}

function bytesRange(bytes: Uint8Array, from: number, length: number): Uint8Array {
  return bytes.subarray(from, from + length);
}

/** `artifacts push --framework F --stage S [--seq N] REGISTRY/REPO[:TAG]`. */
export async function push(repo: Repo, target: string, o: PushOptions): Promise<PushResult> {
  const ref = parseRef(target);
  // (`sha256-<hex>` tags hold the referrers indexes of registries without the referrers API.)
  if (ref.tag && REFERRERS_TAG.test(ref.tag))
    throw new ArtifactsError(
      'USAGE',
      `the tag ${ref.tag} is where a registry keeps an image's referrers: choose another tag or channel name`,
    );
  const { s, publicKey, trust, signer } = await verifiedSnapshot(repo, o);
  const image = await snapshotImage(repo, s, publicKey, o.layout ?? 'files');
  try {
    const own = signer ? await imageAttestation(image, s, trust, signer, publicKey) : undefined;
    return await pushImage(repo, ref, s, image, own, o);
  } finally {
    for (const l of image.layers) if (l.tarFile) await rm(dirname(l.tarFile), { recursive: true, force: true });
  }
}

/**
 * `artifacts push --channel NAME REGISTRY/REPO`: the channel's stable snapshot (its chain
 * verified), tagged with the channel's name, its signed head pushed as a referrer.
 */
export async function pushChannel(
  repo: Repo,
  target: string,
  channel: string,
  o: Omit<PushOptions, 'framework' | 'stage' | 'seq' | 'channelHead'> = {},
): Promise<PushResult> {
  const ref = parseRef(target);
  if (ref.tag || ref.digest)
    throw new ArtifactsError('USAGE', '--channel tags the image with the channel name: give REGISTRY/REPO without a tag');
  const trust = await requireTrust(repo);
  const stored = await verifiedChannel(repo, channel, trust);
  const head = stored[stored.length - 1]!;
  const stable = head.record!.stable;
  if (!stable) throw new ArtifactsError('USAGE', `channel ${channel} has no stable snapshot to push`);
  const snap = await resolveSnapshot(repo, stable);
  const keyid = head.record!.signer.keyid;
  return push(repo, formatRef({ ...ref, tag: channel }), {
    ...o,
    framework: snap.framework,
    stage: snap.stage,
    seq: snap.seq,
    channelHead: { bytes: head.bytes, signature: head.signature!, keyid, publicKey: trust.trusted.get(keyid)!, name: channel },
  });
}

async function pushImage(
  repo: Repo,
  ref: RegistryRef,
  s: StoredSnapshot,
  image: SnapshotImage,
  own: Buffer | undefined,
  o: PushOptions,
): Promise<PushResult> {
  const client = new RegistryClient(ref.registry, { plainHttp: !!o.plainHttp, credentials: credentialsFor(ref.registry) });
  const blobs = { pushed: 0, skipped: 0 };
  const sent = new Set<string>();
  const upload = async (digest: string, size: number, chunks: (from: number, n: number) => Uint8Array | ReadableStream<Uint8Array>) => {
    // (A blob is asked about once: the empty config of every referrer, twin artifacts.)
    if (sent.has(digest)) return;
    sent.add(digest);
    if (await client.hasBlob(ref.repository, digest)) {
      blobs.skipped++;
      return;
    }
    await client.pushBlob(
      ref.repository,
      digest,
      size,
      chunks,
      o.monolithicLimit !== undefined ? { monolithicLimit: o.monolithicLimit } : {},
    );
    blobs.pushed++;
    repo.faultHook?.('blob-pushed', digest);
  };
  await upload(sha256Digest(image.config), image.config.length, (f, n) => bytesRange(image.config, f, n));
  for (const l of image.layers) {
    const file = l.tarFile ?? (await contentFile(repo, l.address, l.path, l.descriptor.size, l.gitBlob, { trustStore: true }));
    try {
      await upload(l.descriptor.digest, l.descriptor.size, (f, n) => fileRange(file, f, n));
    } catch (e) {
      // The store's object was taken unhashed and the registry found it is not its digest: a
      // damaged object. The content is taken again, verified (from git, or the working tree),
      // or OBJECT_CORRUPT / OBJECT_MISSING says it cannot be.
      if (l.tarFile || !(e instanceof ArtifactsError && /DIGEST_INVALID/.test(e.message))) throw e;
      sent.delete(l.descriptor.digest);
      const checked = await contentFile(repo, l.address, l.path, l.descriptor.size, l.gitBlob);
      await upload(l.descriptor.digest, l.descriptor.size, (f, n) => fileRange(checked, f, n));
    }
  }
  if (image.layers.length === 0) await upload(EMPTY_DESCRIPTOR.digest, 2, (f, n) => bytesRange(Buffer.from('{}'), f, n));
  await client.putManifest(ref.repository, ref.tag ?? image.digest, image.manifest, MEDIA.manifest).catch((e: unknown) => {
    throw tagError(e, ref.tag ?? image.digest);
  });
  // A referrer: its one layer, the empty config, then its manifest, listed under the subject.
  const pushReferrer = async (
    r: { bytes: Buffer; digest: string; layer: Buffer; artifactType: string },
    annotations?: Record<string, string>,
  ) => {
    await upload(EMPTY_DESCRIPTOR.digest, 2, (f, n) => bytesRange(Buffer.from('{}'), f, n));
    await upload(sha256Digest(r.layer), r.layer.length, (f, n) => bytesRange(r.layer, f, n));
    await client.putManifest(ref.repository, r.digest, r.bytes, MEDIA.manifest);
    await addReferrer(client, ref.repository, image.digest, {
      mediaType: MEDIA.manifest,
      digest: r.digest,
      size: r.bytes.length,
      artifactType: r.artifactType,
      ...(annotations ? { annotations } : {}),
    });
  };
  let referrer: string | undefined;
  if (image.attestation) {
    const r = referrerManifest(image.digest, image.manifest.length, image.attestation);
    await pushReferrer(r);
    referrer = r.digest;
  }
  let imageReferrer: string | undefined;
  if (own) {
    const r = referrerManifest(image.digest, image.manifest.length, own);
    await pushReferrer(r);
    imageReferrer = r.digest;
  }
  if (o.channelHead) {
    // (The index entry names the channel and the record's seq: a newer head replaces older
    // ones of its channel there, so the index does not grow with every channel change.)
    const seq = (JSON.parse(o.channelHead.bytes.toString('utf8')) as { seq: number }).seq;
    await pushReferrer(channelReferrer(image.digest, image.manifest.length, o.channelHead), {
      [ANNOTATION.channel]: o.channelHead.name,
      [ANNOTATION.channelSeq]: String(seq),
    });
  }
  return {
    ref: formatRef({ ...ref, digest: image.digest }),
    digest: image.digest,
    snapshot: s.id,
    blobs,
    ...(referrer ? { referrer } : {}),
    ...(imageReferrer ? { image_attestation: imageReferrer } : {}),
  };
}

/**
 * The image's own attestation (SPEC §15): the snapshot's provenance statement with the image
 * manifest as its one subject (what a verifier such as cosign checks), signed with the
 * snapshot's key. Undefined for a snapshot without an attestation.
 */
export async function imageAttestation(
  image: SnapshotImage,
  s: StoredSnapshot,
  trust: TrustState,
  signer: Signer,
  publicKey: Uint8Array,
): Promise<Buffer | undefined> {
  if (!image.attestation) return undefined;
  const snap = s.snapshot!;
  const v = verifyAttestationBytes(image.attestation, trust, `the attestation of ${s.file}`, new Map([[snap.signer.keyid, publicKey]]));
  if (invocationOf(v.statement) !== s.id)
    throw new ArtifactsError('ATTESTATION_INVALID', `the attestation beside ${s.file} describes another snapshot`);
  return encodeAttestation(imageStatement(snap, image.digest, v.statement), signer, publicKey);
}

/** The image's statement: the snapshot's provenance with the image manifest as its one subject. */
export function imageStatement(snap: Snapshot, manifestDigest: string, provenance: Statement): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: `${snap.framework}/${snap.stage}/${snap.seq}`, digest: { sha256: manifestDigest.slice('sha256:'.length) } }],
    predicateType: provenance.predicateType,
    predicate: provenance.predicate,
  };
}

/** Without the snapshot's provenance to rebuild it from: one subject, this manifest, and the
 * provenance of this snapshot. */
function isImageStatementOf(st: Statement, manifestDigest: string, snapshotId: string): boolean {
  const only = st.subject.length === 1 ? st.subject[0] : undefined;
  const d = only?.digest;
  return (
    d !== undefined && Object.keys(d).length === 1 && d.sha256 === manifestDigest.slice('sha256:'.length) && invocationOf(st) === snapshotId
  );
}

/** The payload of a DSSE envelope when one of its first 16 signatures verifies with
 * `publicKey` over the PAE (whatever keyid it names: keyids are unsigned hints). */
function signedPayload(bytes: Buffer, publicKey: Uint8Array): Buffer | undefined {
  const parsed = parseJsonQuiet(bytes.toString('utf8'));
  const e = parsed.ok ? (parsed.value as Partial<DsseEnvelope> | null) : null;
  if (e === null || typeof e !== 'object' || typeof e.payloadType !== 'string' || !Array.isArray(e.signatures)) return undefined;
  const payload = strictBase64(e.payload);
  if (!payload) return undefined;
  for (const sig of e.signatures.slice(0, 16) as unknown[]) {
    const raw = sig !== null && typeof sig === 'object' ? strictBase64((sig as { sig?: unknown }).sig) : undefined;
    if (raw?.length === 64 && verifyStrict(pae(e.payloadType, payload), Uint8Array.from(raw), publicKey)) return payload;
  }
  return undefined;
}

/** The snapshot id a provenance statement was made for (its run's invocation id). */
function invocationOf(st: Statement): unknown {
  return (st.predicate as { runDetails?: { metadata?: { invocationId?: unknown } } } | undefined)?.runDetails?.metadata?.invocationId;
}

/** A referrer manifest: one layer of `artifactType`, the empty config, `subject` the
 * snapshot manifest (OCI 1.1). */
function referrerOf(
  subjectDigest: string,
  subjectSize: number,
  artifactType: string,
  layer: Buffer,
  annotations?: Record<string, string>,
): { bytes: Buffer; digest: string; layer: Buffer; artifactType: string } {
  const m: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    artifactType,
    config: { ...EMPTY_DESCRIPTOR },
    layers: [{ mediaType: artifactType, digest: sha256Digest(layer), size: layer.length }],
    subject: { mediaType: MEDIA.manifest, digest: subjectDigest, size: subjectSize },
    ...(annotations ? { annotations } : {}),
  };
  const bytes = encodeManifest(m);
  return { bytes, digest: sha256Digest(bytes), layer, artifactType };
}

/** The referrer manifest of a channel's signed head: the record is its layer; the signature,
 * signer and public key are its annotations. */
export function channelReferrer(
  subjectDigest: string,
  subjectSize: number,
  head: { bytes: Buffer; signature: string; keyid: string; publicKey: Uint8Array; name: string },
): { bytes: Buffer; digest: string; layer: Buffer; artifactType: string } {
  return referrerOf(subjectDigest, subjectSize, MEDIA.channel, head.bytes, {
    [ANNOTATION.channel]: head.name,
    [ANNOTATION.signature]: head.signature.trim(),
    [ANNOTATION.signer]: head.keyid,
    [ANNOTATION.publicKey]: Buffer.from(head.publicKey).toString('base64'),
  });
}

/** The referrer manifest of an attestation (artifactType DSSE). */
export function referrerManifest(
  subjectDigest: string,
  subjectSize: number,
  envelope: Buffer,
): { bytes: Buffer; digest: string; layer: Buffer; artifactType: string } {
  return referrerOf(subjectDigest, subjectSize, MEDIA.dsse, envelope);
}

/** The fallback tag of an image's referrers index (`sha256-<manifest hex>`). */
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}$/;

/** Record a referrer: registries with the referrers API index it themselves (the PUT of a
 * manifest with a subject); others get the tag `sha256-<hex>` holding an image index,
 * updated read-modify-write: with `If-Match` on the ETag the registry gave, and read again
 * when another writer moved the tag meanwhile (412). */
export async function addReferrer(client: RegistryClient, repository: string, subject: string, d: Descriptor): Promise<void> {
  if (await client.referrers(repository, subject)) return;
  const tag = subject.replace(':', '-');
  const read = async () => {
    const existing = await client.getManifest(repository, tag);
    const parsed = existing ? parseJsonQuiet(existing.bytes.toString('utf8')) : undefined;
    return { existing, manifests: parsed?.ok ? descriptorsOf(parsed.value) : [] };
  };
  // Registries that ignore If-Match (CNCF Distribution 2.x) let a concurrent push overwrite the
  // index with a copy read before this one's write: the index is read back after a pause, and
  // the update made again if the referrer is gone. A push succeeds only once it is seen there.
  const ATTEMPTS = 24;
  // A channel head's entry replaces the entries of that channel's older heads.
  const channel = d.artifactType === MEDIA.channel ? d.annotations?.[ANNOTATION.channel] : undefined;
  const older = (x: Descriptor) =>
    channel !== undefined &&
    x.artifactType === MEDIA.channel &&
    x.annotations?.[ANNOTATION.channel] === channel &&
    Number(x.annotations[ANNOTATION.channelSeq]) < Number(d.annotations![ANNOTATION.channelSeq]);
  for (let attempt = 0; ; attempt++) {
    const { existing, manifests: listed } = await read();
    const manifests = listed.filter((x) => !older(x));
    if (manifests.some((x) => x.digest === d.digest)) {
      if (attempt === 0) return;
      await sleep(50 + Math.floor(Math.random() * 100));
      if ((await read()).manifests.some((x) => x.digest === d.digest)) return;
      if (attempt >= ATTEMPTS) break;
      // (Lost to a concurrent writer: back off a random while, longer each time.)
      await sleep(Math.floor(Math.random() * 25 * 2 ** Math.min(attempt, 5)));
      continue;
    }
    if (attempt >= ATTEMPTS) break;
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [...manifests, d] }), 'utf8');
    try {
      await client.putManifest(repository, tag, index, MEDIA.index, existing?.etag);
    } catch (e) {
      const status = e instanceof ArtifactsError && e.code === 'REGISTRY_ERROR' ? e.details.status : undefined;
      if (status !== 412 || attempt >= 4) throw tagError(e, tag);
      // (Another push changed the index since it was read: read it again.)
      await sleep(Math.floor(Math.random() * 100));
    }
  }
  throw new ArtifactsError('REGISTRY_ERROR', `the referrers index ${tag} kept losing ${d.digest} to other writers`, {
    hint: 'Other pushes to the same image ran at the same time: push again.',
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A refused tag PUT: REGISTRY_TAG_IMMUTABLE when the registry says the tag may not move
 * (Distribution-style TAG_INVALID, ECR's "cannot be overwritten", Harbor's "immutable",
 * or 409 Conflict); the error itself otherwise. */
function tagError(e: unknown, tag: string): unknown {
  if (!(e instanceof ArtifactsError) || e.code !== 'REGISTRY_ERROR') return e;
  if (!/TAG_INVALID|immutable|cannot be overwritten/i.test(e.message) && e.details.status !== 409) return e;
  return new ArtifactsError('REGISTRY_TAG_IMMUTABLE', `the registry does not let the tag ${tag} move: ${e.message}`, {
    hint: tag.startsWith('sha256-')
      ? "Let the tags sha256-* move in the registry's tag immutability rules (they hold the referrers index), or use a registry with the OCI referrers API."
      : 'The repository has immutable tags: push to a new tag, or let this one move.',
  });
}

/** Where verified bytes come from: a registry, or an OCI image layout on disk. */
export interface ImageSource {
  what: string;
  /** Whether a manifest's attestation must be found among its referrers (a registry, where
   * push put it); an image layout copied by another tool may lack it. */
  referrersRequired: boolean;
  manifest(): Promise<Buffer>;
  blob(digest: string, maxBytes: number): Promise<Buffer>;
  blobChunks(digest: string): AsyncIterable<Uint8Array>;
  /** Referrer manifests of `digest` of an artifact type (with `channel`: only entries that
   * name that channel, or name none). */
  referrers(digest: string, artifactType: string, channel?: string): Promise<Buffer[]>;
}

export interface PullOptions {
  /** The signer's key id, pinned from outside (outside a repository, the only root of trust). */
  trustRoot?: string;
  /** `pull --channel NAME`: the image must carry that channel's signed head naming it as the
   * stable snapshot, at least at record `minSeq`. */
  channel?: string;
  minSeq?: number;
  repo?: Repo;
  plainHttp?: boolean;
}

export interface PulledFile {
  path: string;
  digest: string;
  size: number;
}

export interface PullResult {
  /** With --channel: the seq of the verified channel head. */
  channel_seq?: number;
  snapshot: string;
  manifest: string;
  files: PulledFile[];
  attestation: boolean;
  /** Whether an attestation of the image itself (subject: its manifest) was found and verified. */
  image_attestation: boolean;
}

const MAX_CONFIG = 16 * 1024 * 1024;

/** Verify an image from `source` completely, then write its files under `out`. */
export async function pullImage(source: ImageSource, out: string, o: PullOptions): Promise<PullResult> {
  const bad = (why: string) => new ArtifactsError('REGISTRY_INVALID', `${source.what}: ${why}; nothing was written`);
  const st = await stat(out).catch(() => undefined);
  if (st && !st.isDirectory()) throw new ArtifactsError('USAGE', `${out} is not a directory: the files are written under --out`);
  const manifestBytes = await source.manifest();
  const manifestDigest = sha256Digest(manifestBytes);
  const parsed = parseJsonQuiet(manifestBytes.toString('utf8'));
  if (!parsed.ok) throw bad('the manifest is not JSON');
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value))
    throw bad('the manifest is not a JSON object');
  const m = parsed.value as Partial<Manifest>;
  if (
    Array.isArray(m.layers) &&
    !m.layers.every((l) => l !== null && typeof l === 'object' && typeof l.digest === 'string' && Number.isSafeInteger(l.size))
  )
    throw bad('the manifest has a layer that is not a descriptor');
  if (
    m.schemaVersion !== 2 ||
    !isDescriptor(m.config) ||
    m.config.mediaType !== MEDIA.snapshot ||
    !Array.isArray(m.layers) ||
    typeof m.annotations !== 'object' ||
    !m.annotations
  )
    throw bad(`the manifest is not an artifacts snapshot image (artifactType ${MEDIA.snapshot})`);
  const config = await source.blob(m.config.digest, MAX_CONFIG);
  if (sha256Digest(config) !== m.config.digest || config.length !== m.config.size)
    throw bad('the config blob is not the one the manifest names');
  const snapshotId = m.config.digest;
  if (m.annotations[ANNOTATION.snapshot] !== snapshotId) throw bad('the manifest names another snapshot than its config');
  const snapParsed = parseJsonQuiet(config.toString('utf8'));
  if (!snapParsed.ok || snapshotShapeProblem(snapParsed.value)) throw bad('the config is not a snapshot');
  const snap = snapParsed.value as Snapshot;
  // The signature: by a key the local trust chain trusts for this snapshot, or by the key
  // pinned with --trust-root (whose id is the SHA-256 of the public key the image carries).
  const keyid = snap.signer.keyid;
  const sig = decodeSignature(`${m.annotations[ANNOTATION.signature] ?? ''}\n`);
  let publicKey: Uint8Array | undefined;
  let trust: TrustState | undefined;
  if (o.repo) trust = await requireTrust(o.repo).catch(() => undefined);
  const chain = trust ? await listSnapshots(o.repo!, snap.framework, snap.stage).catch(() => []) : [];
  if (trust) {
    const idx = chain.findIndex((c) => c.id === snapshotId);
    const k = snapshotSignerKey(
      trust,
      keyid,
      snap,
      chain.map((c) => c.id),
      idx >= 0 ? idx : chain.length,
    );
    if ('publicKey' in k) publicKey = k.publicKey;
    // (A key the local chain revoked stays refused, whatever is pinned; a key it does not know
    // may still be the pinned signer.)
    else if (!o.trustRoot || trust.revoked.has(keyid))
      throw new ArtifactsError('KEY_NOT_TRUSTED', `${source.what}: the snapshot ${k.problem}; nothing was written`);
  }
  let channelSeq: number | undefined;
  if (!publicKey && o.trustRoot) {
    const carried = Buffer.from(m.annotations[ANNOTATION.publicKey] ?? '', 'base64');
    if (carried.length !== 32 || keyIdOf(carried) !== keyid) throw bad("the public key the image carries is not the signer's");
    // With --channel, the channel's head signed by the pinned key names this snapshot's id as
    // its stable one: that vouches for the snapshot, whoever signed it (a key rotated out since).
    if (keyid !== o.trustRoot && o.channel !== undefined)
      channelSeq = await verifyChannelHead(source, manifestDigest, snapshotId, snap, o, trust, bad);
    else if (keyid !== o.trustRoot)
      throw new ArtifactsError(
        'KEY_NOT_TRUSTED',
        `${source.what}: the snapshot is signed by ${keyid}, not by the pinned ${o.trustRoot}; nothing was written`,
      );
    publicKey = Uint8Array.from(carried);
  }
  if (!publicKey)
    throw new ArtifactsError('KEY_NOT_TRUSTED', `${source.what}: no trust root to judge the signer ${keyid} by; nothing was written`, {
      hint: 'Pull inside a repository whose trust chain trusts the signer, or pin the signer with --trust-root KEYID.',
    });
  if (!sig || !verifyStrict(config, sig, publicKey)) throw bad("the snapshot's signature does not verify");
  // When the local chain holds this snapshot's stage, the snapshot must be in it.
  if (trust) {
    // A snapshot the local chain does not hold must be its very next one (its parent the
    // local head): not one of another branch or repository signed by the same key.
    const head = chain[chain.length - 1];
    if (head && !chain.some((c) => c.id === snapshotId) && !(snap.seq === head.seq + 1 && snap.parent === head.id))
      throw bad(`snapshot #${snap.seq} of ${snap.framework}/${snap.stage} is neither in the local chain nor its next snapshot`);
  }
  if (o.channel !== undefined && channelSeq === undefined)
    channelSeq = await verifyChannelHead(source, manifestDigest, snapshotId, snap, o, trust, bad);
  // Layers: one per artifact, titled with its path, of its digest and size. Each path is
  // checked with the path rules, and, when `out` lies in a repository, as that repository's
  // path (never its config, index, `.artifacts/` or `.git/`).
  const { control, base } = await outControl(out);
  const seen = new Set<string>();
  const checkPath = (path: unknown, what: string) => {
    const p = titleProblem(path, seen);
    if (p) throw bad(`${what} ${p}`);
    const why = controlPathProblem(posix.join(base, path as string), control) ?? restorePathProblem(resolve(out), path as string);
    if (why) throw new ArtifactsError('PATH_UNSAFE', `${source.what}: cannot write ${String(path)}: ${why}; nothing was written`);
  };
  // A path that is also another's directory can never be written whole: refused up front.
  const paths = snap.artifacts.map((a) => a.path).sort();
  for (let i = 1; i < paths.length; i++)
    if (paths[i]!.startsWith(`${paths[i - 1]}/`)) throw bad(`${paths[i - 1]} is both a file and the directory of ${paths[i]}`);
  const byPath = new Map(snap.artifacts.map((a) => [a.path, a]));
  const layers = m.layers.filter((l) => l.mediaType !== MEDIA.empty);
  // `--layout tar`: one tar+gzip layer holding every artifact (checked entry by entry below).
  const tarLayer = layers.length === 1 && layers[0]!.mediaType === MEDIA.tarGzip ? layers[0] : undefined;
  // The manifest is not signed, but everything in it follows from the signed snapshot: it must
  // be exactly the manifest push makes of it (layer digests the snapshot does not fix, a tar
  // layer's or a BLAKE3 artifact's without a recorded sha256, are checked against content below).
  const attDigest = m.annotations[ANNOTATION.attestation];
  const titled = new Map(layers.map((l) => [l.annotations?.[ANNOTATION.title], l.digest]));
  const expected = encodeManifest(
    snapshotManifest({
      id: snapshotId,
      size: config.length,
      signature: Buffer.from(sig).toString('base64'),
      keyid,
      publicKey,
      layers:
        snap.artifacts.length === 0 && !tarLayer
          ? [{ ...EMPTY_DESCRIPTOR }]
          : tarLayer
            ? [{ mediaType: MEDIA.tarGzip, digest: tarLayer.digest, size: tarLayer.size }]
            : fileDescriptors(snap.artifacts, (path) => titled.get(path)),
      ...(typeof attDigest === 'string' ? { attestation: attDigest } : {}),
    }),
  );
  if (!expected.equals(manifestBytes)) throw bad('the manifest is not the one its signed snapshot gives: it was changed');
  for (const a of tarLayer ? snap.artifacts : []) checkPath(a.path, 'an artifact');
  if (!tarLayer && layers.length !== snap.artifacts.length)
    throw bad(`the manifest has ${layers.length} layer(s) for ${snap.artifacts.length} artifact(s)`);
  for (const l of tarLayer ? [] : layers) {
    const title = l.annotations?.[ANNOTATION.title];
    checkPath(title, 'a layer');
    const a = byPath.get(title!);
    if (!a || a.size !== l.size || l.mediaType !== MEDIA.file || (a.sha256 !== undefined && l.digest !== `sha256:${a.sha256}`))
      throw bad(`the layer ${title} is not an artifact of the snapshot`);
  }
  const { provenance, imageAttested } = await verifyAttestations(source, {
    manifestDigest,
    snap,
    snapshotId,
    attDigest: typeof attDigest === 'string' ? attDigest : undefined,
    keyid,
    publicKey,
    trust,
    bad,
  });
  // Every layer is fetched to a temporary directory and checked before anything is written.
  const stage = await mkdtemp(join(tmpdir(), 'artifacts-pull-'));
  try {
    const files: PulledFile[] = tarLayer ? await stageTar(source, tarLayer, byPath, stage, bad) : [];
    for (const [i, l] of (tarLayer ? [] : layers).entries()) {
      const a = byPath.get(l.annotations![ANNOTATION.title]!)!;
      const tmp = join(stage, String(i));
      await download(source, l, tmp, () => bad(`the layer ${a.path} is not the blob the manifest names`));
      const [algo, hex] = a.content_address.split(':');
      if (algo === 'sha256' ? hex !== l.digest.slice(7) : !(await matchesAddress(tmp, a.content_address)))
        throw bad(`the layer ${a.path} is not the content the snapshot records`);
      files.push({ path: a.path, digest: l.digest, size: l.size });
    }
    await mkdir(out, { recursive: true });
    for (const [i, f] of files.entries()) {
      await writeFileDurable(join(resolve(out), f.path), createReadStream(join(stage, String(i))), {
        root: resolve(out),
      });
    }
    return {
      snapshot: snapshotId,
      manifest: manifestDigest,
      files,
      attestation: provenance !== undefined,
      image_attestation: imageAttested,
      ...(channelSeq !== undefined ? { channel_seq: channelSeq } : {}),
    };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * The attestations of an image: the snapshot's (the one the manifest names) must be a
 * referrer, verify, and attest this snapshot's files; every DSSE referrer signed by the
 * snapshot's key must be exactly this image's statement. Returns the snapshot's provenance
 * (when found) and whether an image attestation verified.
 */
async function verifyAttestations(
  source: ImageSource,
  c: {
    manifestDigest: string;
    snap: Snapshot;
    snapshotId: string;
    attDigest: string | undefined;
    keyid: string;
    publicKey: Uint8Array;
    trust: TrustState | undefined;
    bad: (why: string) => ArtifactsError;
  },
): Promise<{ provenance: Statement | undefined; imageAttested: boolean }> {
  const { manifestDigest, snap, snapshotId, attDigest, keyid, publicKey, trust, bad } = c;
  // The attestation the manifest names must be a referrer, verify, and describe these files.
  // From a registry the attestation is required (push always sends it; a manifest is not
  // signed, so a missing annotation proves nothing); a layout copied by another tool may lack
  // its referrers.
  if (!attDigest && source.referrersRequired) throw bad('the image names no attestation');
  const dsseRefs = await source.referrers(manifestDigest, MEDIA.dsse);
  // The snapshot's attestation (the one the manifest names): it must verify, and describe
  // this snapshot and its files.
  let provenance: Statement | undefined;
  if (attDigest) {
    for (const r of dsseRefs) {
      const rm = parseJsonQuiet(r.toString('utf8'));
      const layer = rm.ok ? layersOf(rm.value).find((x) => x.digest === attDigest) : undefined;
      if (!layer) continue;
      const env = await source.blob(attDigest, MAX_CONFIG);
      if (sha256Digest(env) !== attDigest) throw bad('the attestation blob is not the one the manifest names');
      const v = verifyAttestationBytes(
        env,
        trust ?? { root: keyid, pinned: true, records: [], trusted: new Map(), revoked: new Map() },
        'the attestation',
        new Map([[keyid, publicKey]]),
      );
      if (invocationOf(v.statement) !== snapshotId) throw bad('the attestation describes another snapshot');
      for (const a of snap.artifacts) {
        const [algo, hex] = a.content_address.split(':') as [string, string];
        if (!v.statement.subject.some((x) => x.name === a.path && x.digest?.[algo] === hex))
          throw bad(`the attestation does not attest ${a.path} as the snapshot records it`);
      }
      provenance = v.statement;
      break;
    }
    if (!provenance && source.referrersRequired)
      throw new ArtifactsError(
        'REGISTRY_INVALID',
        `${source.what}: the attestation ${attDigest} the manifest names is not among its referrers; nothing was written`,
        {
          hint: 'A copy of the image without its referrers (the tag sha256-<manifest hex>) lacks it: copy that tag too (`skopeo copy --all`), or push again from the repository.',
        },
      );
  }
  // The image's own attestations: a DSSE referrer with a signature by the snapshot's key
  // (found by verifying, never by the unsigned keyid) must be exactly the image statement of
  // this manifest; others' attestations are not ours to judge.
  let imageAttested = false;
  const want = provenance ? canonicalJson(imageStatement(snap, manifestDigest, provenance)) : undefined;
  for (const r of dsseRefs) {
    const rm = parseJsonQuiet(r.toString('utf8'));
    const layer = rm.ok ? layersOf(rm.value)[0] : undefined;
    if (!layer || layer.digest === attDigest || layer.mediaType !== MEDIA.dsse || layer.size > MAX_CONFIG) continue;
    const env = await source.blob(layer.digest, MAX_CONFIG);
    if (sha256Digest(env) !== layer.digest) throw bad('an attestation of the image is not the blob its referrer names');
    const statement = signedPayload(env, publicKey);
    if (statement === undefined) continue;
    const st = parseJsonQuiet(statement.toString('utf8'));
    const ok =
      st.ok &&
      !statementProblem(st.value) &&
      (want !== undefined ? canonicalJson(st.value) === want : isImageStatementOf(st.value as Statement, manifestDigest, snapshotId));
    if (!ok) throw bad("an attestation signed by the snapshot's key is not this image's: it names another image or says something else");
    imageAttested = true;
  }
  return { provenance, imageAttested };
}

/** Fetch a tar+gzip layer (checking its digest and size), then unpack it strictly into
 * `stage/<i>`: every entry one artifact of the snapshot, once, of its size and content. */
async function stageTar(
  source: ImageSource,
  layer: Descriptor,
  byPath: Map<string, Snapshot['artifacts'][number]>,
  stage: string,
  bad: (why: string) => ArtifactsError,
): Promise<PulledFile[]> {
  const gz = join(stage, 'layer.tar.gz');
  await download(source, layer, gz, () => bad('the tar layer is not the blob the manifest names'));
  const { readTar } = await import('./tar.js');
  const { createGunzip } = await import('node:zlib');
  const order = [...byPath.keys()];
  const files: PulledFile[] = new Array<PulledFile>(order.length);
  const done = new Set<string>();
  // (Decompressed, the layer holds the artifacts' bytes and headers: anything much larger is a bomb.)
  const cap = [...byPath.values()].reduce((t, a) => t + a.size + 4096, 10240) * 2;
  let inflated = 0;
  async function* gunzipped(): AsyncIterable<Uint8Array> {
    try {
      for await (const c of createReadStream(gz).pipe(createGunzip()) as AsyncIterable<Buffer>) {
        inflated += c.length;
        if (inflated > cap) throw bad('the tar layer inflates to more than its files');
        yield c;
      }
    } catch (e) {
      if (e instanceof ArtifactsError) throw e;
      // (Not gzip, cut short, or followed by bytes that are not another member.)
      throw bad(`the tar layer is not valid gzip data (${(e as Error).message})`);
    }
  }
  await readTar(
    gunzipped(),
    async (path, size) => {
      const a = byPath.get(path);
      if (!a || done.has(path) || a.size !== size)
        throw bad(
          `the tar layer holds ${JSON.stringify(path.slice(0, 200))}, which is not an artifact of the snapshot (once, of its size)`,
        );
      done.add(path);
      const i = order.indexOf(path);
      const tmp = join(stage, String(i));
      const out = await open(tmp, 'w');
      return {
        write: async (b) => void (await out.write(b)),
        end: async () => {
          await out.close();
          if (!(await matchesAddress(tmp, a.content_address))) throw bad(`the tar entry ${path} is not the content the snapshot records`);
          files[i] = { path, digest: a.content_address, size };
        },
      };
    },
    (why) => bad(why),
  );
  if (done.size !== order.length) throw bad("the tar layer lacks some of the snapshot's artifacts");
  return files;
}

/** Fetch blob `d` into `file` (a new file in the private staging directory), streamed; its
 * size and SHA-256 must be the descriptor's (`wrong()` otherwise; no more than its size is
 * ever taken). */
async function download(source: ImageSource, d: Descriptor, file: string, wrong: () => ArtifactsError): Promise<void> {
  const h = createHash('sha256');
  const fh = await open(file, 'wx');
  let n = 0;
  try {
    for await (const c of source.blobChunks(d.digest)) {
      n += c.length;
      if (n > d.size) throw wrong();
      h.update(c);
      await fh.write(c);
    }
  } finally {
    await fh.close();
  }
  if (n !== d.size || `sha256:${h.digest('hex')}` !== d.digest) throw wrong();
}

/** Does the staged `file` hold the content `address` names? */
async function matchesAddress(file: string, address: string): Promise<boolean> {
  const parsed = parseAddress(address);
  return parsed !== undefined && (await digestFile(parsed.algo, file)).address === address;
}

/**
 * The control files `out` must not receive: when `out` lies in a repository (the nearest
 * directory above it, links resolved, with the tool's config or a `.git`), that
 * repository's (its config, index, routing files, `.artifacts/`; `.git/` is refused by the
 * path rules), with `base` where `out` is in it; else the `.artifacts/` directory.
 */
async function outControl(out: string): Promise<{ control: ControlFiles; base: string }> {
  const exists = (p: string) =>
    lstat(p).then(
      () => true,
      () => false,
    );
  // (The deepest existing ancestor of out, with its links resolved, then the rest.)
  let existing = resolve(out);
  const rest: string[] = [];
  while (!(await exists(existing)) && dirname(existing) !== existing) {
    rest.unshift(basename(existing));
    existing = dirname(existing);
  }
  const realExisting = await realpath(existing).catch(() => existing);
  const real = join(realExisting, ...rest);
  for (let dir = realExisting; ; dir = dirname(dir)) {
    if ((await exists(join(dir, CONFIG_FILE))) || (await exists(join(dir, '.git')))) {
      // (A config that does not load still leaves the default control files protected.)
      const config = await loadConfig(dir).then(
        (c) => c.config,
        () => DEFAULT_CONFIG,
      );
      return { control: controlFilesOf(config), base: relative(dir, real).split(sep).join('/') };
    }
    if (dirname(dir) === dir) return { control: { files: [], dirs: ['.artifacts'] }, base: '' };
  }
}

/** A registry as an image source. */
export function registrySource(ref: RegistryRef, o: { plainHttp?: boolean } = {}): ImageSource {
  const client = new RegistryClient(ref.registry, { plainHttp: !!o.plainHttp, credentials: credentialsFor(ref.registry) });
  const reference = ref.digest ?? ref.tag ?? 'latest';
  return {
    what: formatRef(ref),
    referrersRequired: true,
    manifest: async () => {
      const got = await client.getManifest(ref.repository, reference);
      if (!got) throw new ArtifactsError('SNAPSHOT_NOT_FOUND', `${formatRef(ref)}: no such manifest in the registry`);
      if (ref.digest && sha256Digest(got.bytes) !== ref.digest)
        throw new ArtifactsError(
          'REGISTRY_INVALID',
          `${formatRef(ref)}: the registry sent a manifest of another digest; nothing was written`,
        );
      return got.bytes;
    },
    blob: (d, max) => client.getBlob(ref.repository, d, max),
    blobChunks: (d) => client.blobChunks(ref.repository, d),
    referrers: async (d, type, channel) => {
      const index = (await client.referrers(ref.repository, d)) ?? (await client.getManifest(ref.repository, d.replace(':', '-')))?.bytes;
      if (!index) return [];
      const parsed = parseJsonQuiet(index.toString('utf8'));
      const list = parsed.ok ? descriptorsOf(parsed.value) : [];
      // (A copy of the index by another tool may drop the descriptors' artifactType: then the
      // referrer manifest's own says. At most 128 are read, the newest: the last listed.)
      const out: Buffer[] = [];
      for (const x of list.filter((x) => ofType(x, type, channel)).slice(-128)) {
        const got = await client.getManifest(ref.repository, x.digest);
        if (got && sha256Digest(got.bytes) === x.digest && artifactTypeOf(got.bytes) === type) out.push(got.bytes);
      }
      return out;
    },
  };
}

/** `artifacts pull REF --out DIR` (with `o.channel`: REF names no tag; the channel's is pulled). */
export async function pull(ref: string, out: string, o: PullOptions): Promise<PullResult> {
  let r = parseRef(ref);
  if (o.channel !== undefined) {
    if (r.tag || r.digest) throw new ArtifactsError('USAGE', '--channel pulls the tag of that name: give REGISTRY/REPO without a tag');
    // (The channel's name becomes a tag: held to the tag rules before any request.)
    r = parseRef(formatRef({ ...r, tag: o.channel }));
  }
  return pullImage(registrySource(r, o.plainHttp ? { plainHttp: true } : {}), out, o);
}

/** An OCI image layout directory as an image source (`tag`: its ref.name annotation). Every
 * file is read under the checked-read rules (a regular file inside the layout, bounded): a
 * FIFO, a device or a symlink out of it is refused, never read. */
export function layoutSource(dir: string, tag?: string): ImageSource {
  const checked = (path: string, label: string, maxBytes: number) =>
    readChecked(path, { root: dir, maxBytes, code: 'REGISTRY_INVALID', label, allowMissing: true });
  const blobPath = (d: string) => {
    if (!/^sha256:[0-9a-f]{64}$/.test(d))
      throw new ArtifactsError('REGISTRY_INVALID', `${dir}: ${JSON.stringify(d.slice(0, 80))} is not a sha256 digest`);
    return join(dir, 'blobs', 'sha256', d.slice(7));
  };
  const readBlob = async (d: string, max: number) => {
    const bytes = await checked(blobPath(d), `blob ${d}`, max);
    if (!bytes) throw new ArtifactsError('REGISTRY_INVALID', `${dir}: blob ${d} is missing; nothing was written`);
    if (sha256Digest(bytes) !== d)
      throw new ArtifactsError('REGISTRY_INVALID', `${dir}: blob ${d} does not hold its digest; nothing was written`);
    return bytes;
  };
  let index: Descriptor[] | undefined;
  const loadIndex = async () => {
    if (index) return index;
    const bytes = await checked(join(dir, 'index.json'), 'index.json', 4 * 1024 * 1024);
    const parsed = bytes ? parseJsonQuiet(bytes.toString('utf8')) : undefined;
    if (!parsed?.ok) throw new ArtifactsError('USAGE', `${dir} is not an OCI image layout (no readable index.json)`);
    index = descriptorsOf(parsed.value);
    return index;
  };
  return {
    what: `oci:${dir}${tag ? `:${tag}` : ''}`,
    referrersRequired: false,
    manifest: async () => {
      const list = (await loadIndex()).filter(
        (x) => x.mediaType === MEDIA.manifest && x.artifactType !== MEDIA.dsse && x.artifactType !== MEDIA.channel,
      );
      const hits = tag ? list.filter((x) => x.annotations?.[ANNOTATION.ref] === tag) : list;
      if (hits.length !== 1)
        throw new ArtifactsError(
          'USAGE',
          `${dir}: ${hits.length === 0 ? 'no' : 'more than one'} snapshot manifest${tag ? ` tagged ${tag}` : ''} (name one with --tag)`,
        );
      return readBlob(hits[0]!.digest, 4 * 1024 * 1024);
    },
    blob: readBlob,
    blobChunks: async function* (d) {
      const h = await openChecked(blobPath(d), {
        root: dir,
        maxBytes: Number.MAX_SAFE_INTEGER,
        code: 'REGISTRY_INVALID',
        label: `blob ${d}`,
        allowMissing: true,
      });
      if (!h) throw new ArtifactsError('REGISTRY_INVALID', `${dir}: blob ${d} is missing; nothing was written`);
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let pos = 0; ;) {
          const { bytesRead } = await h.fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) return;
          pos += bytesRead;
          yield Buffer.from(buf.subarray(0, bytesRead));
        }
      } finally {
        await h.fh.close().catch(() => undefined);
      }
    },
    referrers: async (d, type, channel) => {
      const out: Buffer[] = [];
      for (const x of (await loadIndex()).filter((x) => ofType(x, type, channel)).slice(-128)) {
        const bytes = await readBlob(x.digest, 4 * 1024 * 1024);
        const parsed = parseJsonQuiet(bytes.toString('utf8'));
        const subject =
          parsed.ok && parsed.value !== null && typeof parsed.value === 'object' ? (parsed.value as Manifest).subject : undefined;
        if (subject && typeof subject === 'object' && subject.digest === d && artifactTypeOf(bytes) === type) out.push(bytes);
      }
      return out;
    },
  };
}

/** `artifacts export --framework F --stage S --oci-layout DIR [--tag T]`. */
export async function exportLayout(repo: Repo, dir: string, o: PushOptions & { tag?: string }): Promise<{ digest: string; tag: string }> {
  const { s, publicKey, trust, signer } = await verifiedSnapshot(repo, o);
  const image = await snapshotImage(repo, s, publicKey, o.layout ?? 'files');
  try {
    const own = signer ? await imageAttestation(image, s, trust, signer, publicKey) : undefined;
    // Every write is confined to the layout directory (never through a symlink in it); the
    // layout's own files are checked before the first blob is written.
    await mkdir(dir, { recursive: true });
    const layoutFile = (name: string) =>
      readChecked(join(dir, name), {
        root: dir,
        maxBytes: 4 * 1024 * 1024,
        code: 'PATH_UNSAFE',
        label: join(dir, name),
        allowMissing: true,
      });
    const old = await layoutFile('index.json');
    await layoutFile('oci-layout');
    const opts = { root: dir };
    await ensureDirConfined(join(dir, 'blobs', 'sha256'), opts);
    const blobFile = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));
    const put = async (bytes: Uint8Array) => writeFileDurable(blobFile(sha256Digest(bytes)), bytes, opts);
    await put(image.config);
    await put(image.manifest);
    await put(Buffer.from('{}'));
    for (const l of image.layers) {
      const file = l.tarFile ?? (await contentFile(repo, l.address, l.path, l.descriptor.size, l.gitBlob));
      // (Streamed, and checked against the layer digest as it is copied.)
      const h = createHash('sha256');
      async function* copy(): AsyncIterable<Uint8Array> {
        for await (const c of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
          h.update(c);
          yield c;
        }
      }
      await writeFileDurable(blobFile(l.descriptor.digest), copy(), {
        ...opts,
        beforeCommit: () => {
          if (`sha256:${h.digest('hex')}` !== l.descriptor.digest)
            throw new ArtifactsError('OBJECT_CORRUPT', `the content of ${l.path || 'the tar layer'} does not hold its digest`);
        },
      });
    }
    const tag = o.tag ?? `${s.snapshot!.stage}-${s.seq}`;
    // Other images of the layout stay listed (a layout may hold several tags).
    const parsedOld = old ? parseJsonQuiet(old.toString('utf8')) : undefined;
    const kept = parsedOld?.ok
      ? descriptorsOf(parsedOld.value).filter((x) => x.annotations?.[ANNOTATION.ref] !== tag && x.digest !== image.digest)
      : [];
    const manifests: Descriptor[] = [
      ...kept,
      {
        mediaType: MEDIA.manifest,
        digest: image.digest,
        size: image.manifest.length,
        artifactType: MEDIA.snapshot,
        annotations: { [ANNOTATION.ref]: tag },
      },
    ];
    for (const envelope of [image.attestation, own]) {
      if (!envelope) continue;
      await put(envelope);
      const r = referrerManifest(image.digest, image.manifest.length, envelope);
      await put(r.bytes);
      if (!manifests.some((x) => x.digest === r.digest))
        manifests.push({ mediaType: MEDIA.manifest, digest: r.digest, size: r.bytes.length, artifactType: MEDIA.dsse });
    }
    await writeFileDurable(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}', opts);
    await writeFileDurable(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests }), opts);
    return { digest: image.digest, tag };
  } finally {
    for (const l of image.layers) if (l.tarFile) await rm(dirname(l.tarFile), { recursive: true, force: true });
  }
}

/**
 * The newest signed head of channel `o.channel` among the image's referrers: canonical, of
 * that channel, naming this snapshot as its stable one, signed by a key the local trust chain
 * trusts or by the pinned key (whose id is the SHA-256 of the public key it carries), and at
 * least at record `o.minSeq` (a registry writer cannot point the tag at an older snapshot
 * that still verifies). Returns its seq.
 */
async function verifyChannelHead(
  source: ImageSource,
  manifestDigest: string,
  snapshotId: string,
  snap: Snapshot,
  o: PullOptions,
  trust: TrustState | undefined,
  bad: (why: string) => ArtifactsError,
): Promise<number> {
  let best: number | undefined;
  for (const r of await source.referrers(manifestDigest, MEDIA.channel, o.channel)) {
    const parsed = parseJsonQuiet(r.toString('utf8'));
    if (!parsed.ok) continue;
    const m = parsed.value as Manifest;
    const layer = layersOf(m)[0];
    if (!layer || typeof m.annotations !== 'object' || m.annotations?.[ANNOTATION.channel] !== o.channel) continue;
    const bytes = await source.blob(layer.digest, MAX_CONFIG);
    if (sha256Digest(bytes) !== layer.digest) throw bad('a channel head is not the blob its referrer names');
    const rec = parseJsonQuiet(bytes.toString('utf8'));
    if (!rec.ok || channelRecordProblem(rec.value)) throw bad('a channel head is not a channel record');
    const record = rec.value as ChannelRecord;
    if (!encodeChannelRecord(record).equals(bytes)) throw bad('a channel head is not in its canonical form');
    if (record.channel !== o.channel) throw bad(`a head labelled as channel ${o.channel} is a record of channel ${record.channel}`);
    if (record.stable !== snapshotId) throw bad(`the head of channel ${o.channel} does not name this snapshot as its stable one`);
    if (record.framework !== snap.framework || record.stage !== snap.stage)
      throw bad(
        `the head of channel ${o.channel} is of ${record.framework}/${record.stage}, not of the snapshot's ${snap.framework}/${snap.stage}`,
      );
    const keyid = record.signer.keyid;
    let key = trust?.trusted.get(keyid);
    if (!key && o.trustRoot === keyid) {
      const carried = Buffer.from(m.annotations?.[ANNOTATION.publicKey] ?? '', 'base64');
      if (carried.length === 32 && keyIdOf(carried) === keyid) key = Uint8Array.from(carried);
    }
    if (!key)
      throw new ArtifactsError(
        'KEY_NOT_TRUSTED',
        `${source.what}: the head of channel ${o.channel} is signed by ${keyid}, which is not trusted; nothing was written`,
      );
    const sig = decodeSignature(`${m.annotations?.[ANNOTATION.signature] ?? ''}\n`);
    if (!sig || !verifyStrict(bytes, sig, key)) throw bad(`the head of channel ${o.channel} has no valid signature`);
    best = Math.max(best ?? 0, record.seq);
  }
  if (best === undefined) throw bad(`the image carries no signed head of channel ${o.channel}`);
  if (o.minSeq !== undefined && best < o.minSeq)
    throw new ArtifactsError(
      'CHANNEL_STALE',
      `${source.what}: the head of channel ${o.channel} is record ${best}, older than the required ${o.minSeq}; nothing was written`,
      {
        hint: `The tag points at an older image than the channel has reached: someone replayed it, or the newest push has not happened yet. Push again from the repository (\`artifacts push --channel ${o.channel} …\`), and never lower --min-seq to get past this.`,
      },
    );
  return best;
}

/** Whether an index entry may be a referrer of `type` (of `channel`): entries copied by other
 * tools may have lost their artifactType and annotations, and are then read to see. */
function ofType(x: Descriptor, type: string, channel?: string): boolean {
  if (x.artifactType !== type && x.artifactType !== undefined) return false;
  const named = x.annotations?.[ANNOTATION.channel];
  return channel === undefined || named === undefined || named === channel;
}

/** The artifactType a manifest's bytes declare, if any. */
function artifactTypeOf(bytes: Buffer): unknown {
  const parsed = parseJsonQuiet(bytes.toString('utf8'));
  return parsed.ok && parsed.value !== null && typeof parsed.value === 'object'
    ? (parsed.value as { artifactType?: unknown }).artifactType
    : undefined;
}

/** The descriptors of an image index (`{ manifests: [...] }`): only well-formed ones. */
function descriptorsOf(v: unknown): Descriptor[] {
  const list = v !== null && typeof v === 'object' ? (v as { manifests?: unknown }).manifests : undefined;
  return Array.isArray(list) ? list.filter(isDescriptor).slice(0, 1024) : [];
}

/** The layers of a manifest: only well-formed descriptors. */
function layersOf(v: unknown): Descriptor[] {
  const list = v !== null && typeof v === 'object' ? (v as { layers?: unknown }).layers : undefined;
  return Array.isArray(list) ? list.filter(isDescriptor) : [];
}

function isDescriptor(x: unknown): x is Descriptor {
  const d = x as Partial<Descriptor> | null;
  return (
    d !== null &&
    typeof d === 'object' &&
    typeof d.digest === 'string' &&
    /^sha256:[0-9a-f]{64}$/.test(d.digest) &&
    typeof d.mediaType === 'string' &&
    Number.isSafeInteger(d.size) &&
    (d.annotations === undefined || (d.annotations !== null && typeof d.annotations === 'object'))
  );
}
