// Distribution through OCI registries (SPEC §15), against a real registry (CNCF
// Distribution from Debian, started per file) and an independent client (skopeo).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { opensslVerify } from '../support/openssl.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { channelCreate, rolloutAdvance, rolloutStart } from '../../src/core/channels/operations.js';
import { openRepo } from '../../src/core/repo.js';
import { RegistryClient } from '../../src/core/oci/registry.js';
import { contentFile } from '../../src/core/store/objects.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { commitAt, git, run, testdir } from '../helpers.js';
import { registryMissing, skopeoMissing, startRegistry, type Registry } from '../support/registry.js';
import { blake3Promoted, generateSigners, twoPromotionsCopy } from '../support/two-promotions.js';

const missing = registryMissing() ?? skopeoMissing();
if (missing) console.log(`OCI registry tests skipped: ${missing}`);
const suite = missing ? describe.skip : describe;

let keyDir = '';
let signer: Signer;
let reg: Registry;
beforeAll(async () => {
  const k = await generateSigners(['release', 'stranger']);
  keyDir = k.keyDir;
  signer = k.signers.get('release')!;
  if (!missing) reg = await startRegistry();
}, 60_000);
afterAll(async () => {
  await reg?.stop();
});

const DR = ['--framework', 'fwk-001', '--stage', 'design-review'];
/** The release key's id: the hex SHA-256 of its raw public key. */
function releaseKeyId(): string {
  const raw = execFileSync('openssl', ['pkey', '-pubin', '-in', join(keyDir, 'release.pub'), '-outform', 'DER']).subarray(-32);
  return execFileSync('sha256sum', { input: raw, encoding: 'utf8' }).split(' ')[0]!;
}

/** Every file of a snapshot's artifacts, by path → bytes. */
function filesOf(dir: string, seq = 2): Map<string, Buffer> {
  const snap = JSON.parse(readFileSync(join(dir, `.artifacts/snapshots/fwk-001/design-review/00000${seq}.json`), 'utf8')) as {
    artifacts: Array<{ path: string }>;
  };
  return new Map(snap.artifacts.map((a) => [a.path, readFileSync(join(dir, a.path))]));
}

function skopeo(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('skopeo', args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

suite('push, skopeo, import', () => {
  test('skopeo inspect --raw shows artifactType and the snapshot id as config digest; skopeo copy to an OCI layout; import into an empty repository reproduces every file', () => {
    const dir = twoPromotionsCopy(keyDir);
    const ref = `${reg.host}/team/artifacts:dr-2`;
    const p = run(dir, ['--json', 'push', ...DR, ref]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const pushed = JSON.parse(p.stdout) as { digest: string; snapshot: string };
    const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    expect(raw.code, raw.stderr).toBe(0);
    const m = JSON.parse(raw.stdout) as {
      artifactType: string;
      config: { digest: string; mediaType: string };
      layers: Array<{ annotations: Record<string, string> }>;
    };
    expect(m.artifactType).toBe('application/vnd.artifacts.snapshot.v1+json');
    expect(m.config).toMatchObject({ digest: pushed.snapshot, mediaType: 'application/vnd.artifacts.snapshot.v1+json' });
    expect(`sha256:${execFileSync('sha256sum', { input: raw.stdout, encoding: 'utf8' }).split(' ')[0]}`).toBe(pushed.digest);
    const layout = join(testdir(), 'layout');
    const copy = skopeo(['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:dr-2`]);
    expect(copy.code, copy.stderr).toBe(0);
    const empty = testdir();
    git(empty, 'init', '-q');
    const imp = run(empty, ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout]);
    expect(imp.code, imp.stdout + imp.stderr).toBe(0);
    const want = filesOf(dir);
    expect(want.size).toBeGreaterThan(0);
    for (const [path, bytes] of want) expect([path, readFileSync(join(empty, path)).equals(bytes)]).toEqual([path, true]);
  });

  test('the same snapshot pushed from two clones has the same manifest digest', () => {
    const origin = twoPromotionsCopy(keyDir);
    commitAt(origin, '2026-03-02T11:00:00Z', 'snapshots');
    const digests = ['a', 'b'].map((n) => {
      const d = join(testdir(), n);
      git(testdir(), 'clone', '-q', origin, d);
      const r = run(d, ['--json', 'push', ...DR, '--seq', '1', `${reg.host}/clones/${n}:one`]);
      expect(r.code, r.stdout).toBe(0);
      return (JSON.parse(r.stdout) as { digest: string }).digest;
    });
    expect(digests[1]).toBe(digests[0]);
  });
});

suite('pull', () => {
  test('writes byte-identical files into a fresh directory, with the attestation verified; a second push skips every blob', () => {
    const dir = twoPromotionsCopy(keyDir);
    const ref = `${reg.host}/pull/ok:latest`;
    expect(run(dir, ['push', ...DR, ref]).code).toBe(0);
    const again = JSON.parse(run(dir, ['--json', 'push', ...DR, ref]).stdout) as { blobs: { pushed: number; skipped: number } };
    expect(again.blobs.pushed).toBe(0);
    const out = join(testdir(), 'fresh');
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', out]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { attestation: boolean }).attestation).toBe(true);
    for (const [path, bytes] of filesOf(dir)) expect([path, readFileSync(join(out, path)).equals(bytes)]).toEqual([path, true]);
    // Inside the repository the trust chain judges the signer: no pin needed.
    const inRepo = join(testdir(), 'in-repo');
    expect(run(dir, ['pull', ref, '--out', inRepo]).code).toBe(0);
  });

  test('a blob, a manifest or the attestation tampered in the registry storage: exit 4, nothing written; an untrusted signer: KEY_NOT_TRUSTED', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const blobsDir = join(reg.storage, 'docker/registry/v2/blobs/sha256');
    const blobFile = (digest: string) => join(blobsDir, digest.slice(7, 9), digest.slice(7), 'data');
    const cases = ['layer', 'manifest', 'attestation'];
    for (const [i, what] of cases.entries()) {
      const ref = `${reg.host}/tamper/${what}:x`;
      const pushed = JSON.parse(run(dir, ['--json', 'push', ...DR, '--seq', String(1 + (i % 2)), ref]).stdout) as {
        digest: string;
        referrer: string;
      };
      const manifest = JSON.parse(readFileSync(blobFile(pushed.digest), 'utf8')) as {
        layers: Array<{ digest: string }>;
        annotations: Record<string, string>;
      };
      const victim =
        what === 'layer'
          ? blobFile(manifest.layers[0]!.digest)
          : what === 'manifest'
            ? blobFile(pushed.digest)
            : blobFile(manifest.annotations['dev.artifacts.snapshot.attestation']!);
      const bytes = readFileSync(victim);
      // (Each blob is shared by content: a fresh repository name per case keeps the others intact.)
      writeFileSync(
        victim,
        what === 'manifest'
          ? bytes.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":2,"x":1')
          : Buffer.concat([bytes, Buffer.from(' ')]),
      );
      const out = join(testdir(), 'out');
      const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', out]);
      expect([what, r.code]).toEqual([what, 4]);
      expect([what, existsSync(out) ? readdirSync(out) : []]).toEqual([what, []]);
      writeFileSync(victim, bytes);
    }
    // Signed by a key that is not the pinned one, or that the local trust chain does not trust.
    const ref = `${reg.host}/tamper/untrusted:x`;
    expect(run(dir, ['push', ...DR, ref]).code).toBe(0);
    const r = run(testdir(), ['--json', '--trust-root', 'f'.repeat(64), 'pull', ref, '--out', join(testdir(), 'o')]);
    expect([r.code, (JSON.parse(r.stdout) as { error: { code: string } }).error.code]).toEqual([4, 'KEY_NOT_TRUSTED']);
    const stranger = testdir();
    git(stranger, 'init', '-q');
    expect(run(stranger, ['keys', 'trust', join(keyDir, 'stranger.pub'), '--key', join(keyDir, 'stranger.key')]).code).toBe(0);
    const s = run(stranger, ['--json', 'pull', ref, '--out', join(testdir(), 'o')]);
    expect([s.code, (JSON.parse(s.stdout) as { error: { code: string } }).error.code]).toEqual([4, 'KEY_NOT_TRUSTED']);
    // A repository whose chain revoked the signer refuses it, and says so, with its root pinned.
    const sk = join(keyDir, 'stranger.key');
    expect(run(stranger, ['keys', 'trust', join(keyDir, 'release.pub'), '--key', sk]).code).toBe(0);
    expect(run(stranger, ['keys', 'revoke', releaseKeyId(), '--key', sk]).code).toBe(0);
    const strangerId = (JSON.parse(run(stranger, ['--json', 'keys', 'list']).stdout) as { root: string }).root;
    const rv = run(stranger, ['--json', '--trust-root', strangerId, 'pull', ref, '--out', join(testdir(), 'o')]);
    const err = (JSON.parse(rv.stdout) as { error: { code: string; message: string } }).error;
    expect([rv.code, err.code]).toEqual([4, 'KEY_NOT_TRUSTED']);
    expect(err.message).toMatch(/revoked/);
  });
});

suite('a manifest changed in the registry', () => {
  test('an extra annotation, reordered layers or another attestation digest, with the referrers moved along: exit 4, nothing written', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const ref = `${reg.host}/changed/app:orig`;
    const pushed = JSON.parse(run(dir, ['--json', 'push', ...DR, ref]).stdout) as { digest: string };
    const client = new RegistryClient(reg.host);
    const original = JSON.parse((await client.getManifest('changed/app', pushed.digest))!.bytes.toString('utf8')) as {
      layers: unknown[];
      annotations: Record<string, unknown>;
    };
    expect(original.layers.length).toBeGreaterThan(1);
    const index = (await client.getManifest('changed/app', pushed.digest.replace(':', '-')))!.bytes.toString('utf8');
    const changes: Array<[string, (m: typeof original) => void]> = [
      ['an extra annotation', (m) => (m.annotations.x = 'y')],
      ['reordered layers', (m) => m.layers.reverse()],
      ['another attestation digest', (m) => (m.annotations['dev.artifacts.snapshot.attestation'] = `sha256:${'a'.repeat(64)}`)],
    ];
    for (const [what, change] of changes) {
      const m = structuredClone(original);
      change(m);
      const bytes = Buffer.from(JSON.stringify(m));
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const tag = `t${changes.findIndex((c) => c[0] === what)}`;
      await client.putManifest('changed/app', tag, bytes, 'application/vnd.oci.image.manifest.v1+json');
      // The referrers, moved to the changed manifest: their subject and the fallback tag.
      const moved = (JSON.parse(index) as { manifests: Array<{ digest: string; size: number }> }).manifests;
      for (const d of moved) {
        const r = JSON.parse((await client.getManifest('changed/app', d.digest))!.bytes.toString('utf8')) as {
          subject: { digest: string; size: number };
        };
        r.subject = { ...r.subject, digest, size: bytes.length };
        const rb = Buffer.from(JSON.stringify(r));
        d.digest = `sha256:${createHash('sha256').update(rb).digest('hex')}`;
        d.size = rb.length;
        await client.putManifest('changed/app', d.digest, rb, 'application/vnd.oci.image.manifest.v1+json');
      }
      await client.putManifest(
        'changed/app',
        digest.replace(':', '-'),
        Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: moved })),
        'application/vnd.oci.image.index.v1+json',
      );
      const out = join(testdir(), 'out');
      const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', `${reg.host}/changed/app:${tag}`, '--out', out]);
      expect([what, r.code], r.stdout).toEqual([what, 4]);
      expect([what, existsSync(out)]).toEqual([what, false]);
    }
    // The original still pulls.
    const ok = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', join(testdir(), 'ok')]);
    expect(ok.code, ok.stdout).toBe(0);
  });
});

suite('mirrored images', () => {
  test('an image and its referrers tag mirrored with `skopeo copy --all` (which drops artifactType from the index) pull with their attestation', () => {
    const dir = twoPromotionsCopy(keyDir);
    const src = `${reg.host}/mirror/src`;
    const dst = `${reg.host}/mirror/dst`;
    const pushed = JSON.parse(run(dir, ['--json', 'push', ...DR, '--key', join(keyDir, 'release.key'), `${src}:two`]).stdout) as {
      digest: string;
    };
    const tag = pushed.digest.replace(':', '-');
    for (const t of ['two', tag]) {
      const c = skopeo([
        'copy',
        '--all',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${src}:${t}`,
        `docker://${dst}:${t}`,
      ]);
      expect(c.code, c.stderr).toBe(0);
    }
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', `${dst}:two`, '--out', join(testdir(), 'o')]);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ attestation: true, image_attestation: true });
    // Without its referrers tag the image is refused, with a hint saying how to copy it.
    const bare = `${reg.host}/mirror/bare`;
    expect(skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src}:two`, `docker://${bare}:two`]).code).toBe(
      0,
    );
    const b = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', `${bare}:two`, '--out', join(testdir(), 'o2')]);
    expect(b.code).toBe(4);
    expect((JSON.parse(b.stdout) as { error: { hint: string } }).error.hint).toMatch(/skopeo copy --all/);
  });
});

suite("the image's own attestation", () => {
  /** The DSSE envelopes listed as referrers of `digest` in the registry (tag fallback). */
  function dsseReferrers(repository: string, digest: string): Array<{ digest: string; envelope: Buffer }> {
    const index = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repository}:${digest.replace(':', '-')}`]);
    expect(index.code, index.stderr).toBe(0);
    const blobs = join(reg.storage, 'docker/registry/v2/blobs/sha256');
    const blob = (d: string) => readFileSync(join(blobs, d.slice(7, 9), d.slice(7), 'data'));
    return (JSON.parse(index.stdout) as { manifests: Array<{ digest: string; artifactType: string }> }).manifests
      .filter((m) => m.artifactType === 'application/vnd.dsse.envelope.v1+json')
      .map((m) => {
        const layer = (JSON.parse(blob(m.digest).toString('utf8')) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
        return { digest: m.digest, envelope: blob(layer) };
      });
  }
  const statementOf = (envelope: Buffer) =>
    JSON.parse(Buffer.from((JSON.parse(envelope.toString('utf8')) as { payload: string }).payload, 'base64').toString('utf8')) as {
      subject: Array<{ name: string; digest: Record<string, string> }>;
      predicateType: string;
      predicate: { runDetails: { metadata: { invocationId: string } } };
    };

  test('push --key adds a second DSSE referrer whose subject is the manifest digest, signed with the snapshot key (openssl checks it); pull verifies it', () => {
    const dir = twoPromotionsCopy(keyDir);
    const ref = `${reg.host}/own/app:two`;
    const p = run(dir, ['--json', 'push', ...DR, '--key', join(keyDir, 'release.key'), ref]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const pushed = JSON.parse(p.stdout) as { digest: string; snapshot: string; referrer: string; image_attestation: string };
    const refs = dsseReferrers('own/app', pushed.digest);
    expect(refs.map((r) => r.digest).sort()).toEqual([pushed.referrer, pushed.image_attestation].sort());
    const own = refs.find((r) => r.digest === pushed.image_attestation)!;
    const st = statementOf(own.envelope);
    expect(st.subject).toEqual([{ name: 'fwk-001/design-review/2', digest: { sha256: pushed.digest.slice(7) } }]);
    expect(st.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(st.predicate.runDetails.metadata.invocationId).toBe(pushed.snapshot);
    // Ed25519 over the DSSE PAE, checked by openssl.
    const e = JSON.parse(own.envelope.toString('utf8')) as { payload: string; payloadType: string; signatures: Array<{ sig: string }> };
    const body = Buffer.from(e.payload, 'base64');
    const work = testdir();
    writeFileSync(
      join(work, 'pae.bin'),
      Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(e.payloadType)} ${e.payloadType} ${body.length} `), body]),
    );
    writeFileSync(join(work, 'sig.bin'), Buffer.from(e.signatures[0]!.sig, 'base64'));
    expect(opensslVerify(join(keyDir, 'release.pub'), join(work, 'pae.bin'), join(work, 'sig.bin')).ok).toBe(true);
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', join(testdir(), 'o')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ attestation: true, image_attestation: true });
    // The same in an image layout: export --key writes it, import verifies it.
    const layout = join(testdir(), 'layout');
    expect(run(dir, ['export', ...DR, '--key', join(keyDir, 'release.key'), '--oci-layout', layout]).code).toBe(0);
    const imp = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', join(testdir(), 'i')]);
    expect(imp.code, imp.stdout).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ attestation: true, image_attestation: true });
    // Without a key only the snapshot's attestation goes up (and pull says so).
    const plain = `${reg.host}/own/plain:two`;
    const q = run(dir, ['--json', 'push', ...DR, plain], { ARTIFACTS_SIGNING_KEY: '' });
    expect(q.code, q.stdout).toBe(0);
    expect(JSON.parse(q.stdout)).not.toHaveProperty('image_attestation');
    const r2 = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', plain, '--out', join(testdir(), 'o')]);
    expect(JSON.parse(r2.stdout)).toMatchObject({ attestation: true, image_attestation: false });
  });

  test("a key that is not the snapshot's is refused with --key and left unused from the environment", () => {
    const dir = twoPromotionsCopy(keyDir);
    const ref = `${reg.host}/own/other:two`;
    const bad = run(dir, ['--json', 'push', ...DR, '--key', join(keyDir, 'stranger.key'), ref]);
    expect([bad.code, (JSON.parse(bad.stdout) as { error: { code: string } }).error.code]).toEqual([2, 'USAGE']);
    const env = run(dir, ['--json', 'push', ...DR, ref], { ARTIFACTS_SIGNING_KEY: join(keyDir, 'stranger.key') });
    expect(env.code, env.stdout).toBe(0);
    expect(JSON.parse(env.stdout)).not.toHaveProperty('image_attestation');
    const viaEnv = run(dir, ['--json', 'push', ...DR, ref], { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') });
    expect(JSON.parse(viaEnv.stdout)).toHaveProperty('image_attestation');
  });

  test("an image attestation signed by the snapshot's key for another image fails the pull (exit 4, nothing written); another signer's is ignored", async () => {
    const dir = twoPromotionsCopy(keyDir);
    const key = join(keyDir, 'release.key');
    // Image one's own attestation is replayed as a referrer of image two.
    const one = JSON.parse(run(dir, ['--json', 'push', ...DR, '--seq', '1', '--key', key, `${reg.host}/own/replay:one`]).stdout) as {
      image_attestation: string;
    };
    const ref = `${reg.host}/own/replay:two`;
    const two = JSON.parse(run(dir, ['--json', 'push', ...DR, ref]).stdout) as { digest: string };
    const client = new RegistryClient(reg.host);
    const oneRef = (await client.getManifest('own/replay', one.image_attestation))!.bytes;
    const m = JSON.parse(oneRef.toString('utf8')) as { subject: { digest: string; size: number }; layers: Array<{ digest: string }> };
    const envelope = readFileSync(
      join(reg.storage, 'docker/registry/v2/blobs/sha256', m.layers[0]!.digest.slice(7, 9), m.layers[0]!.digest.slice(7), 'data'),
    );
    const twoManifest = (await client.getManifest('own/replay', two.digest))!.bytes;
    const { referrerManifest } = await import('../../src/core/oci/distribute.js');
    const forged = referrerManifest(two.digest, twoManifest.length, envelope);
    await client.putManifest('own/replay', forged.digest, forged.bytes, 'application/vnd.oci.image.manifest.v1+json');
    const tag = two.digest.replace(':', '-');
    const index = JSON.parse((await client.getManifest('own/replay', tag))!.bytes.toString('utf8')) as { manifests: unknown[] };
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: forged.digest,
      size: forged.bytes.length,
      artifactType: 'application/vnd.dsse.envelope.v1+json',
    });
    await client.putManifest('own/replay', tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');
    const out = join(testdir(), 'out');
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', out]);
    expect(r.code, r.stdout).toBe(4);
    expect(existsSync(out)).toBe(false);
    // The same attestation signed by a stranger only: not the snapshot key's, not checked.
    const stranger = await generateSigners(['other']);
    const { encodeAttestation } = await import('../../src/core/attest/attestations.js');
    const st = JSON.parse(
      Buffer.from((JSON.parse(envelope.toString('utf8')) as { payload: string }).payload, 'base64').toString('utf8'),
    ) as import('../../src/core/attest/statements.js').Statement;
    const { parsePublicKeyPem } = await import('../../src/core/snapshots/keys.js');
    const env2 = await encodeAttestation(
      st,
      stranger.signers.get('other')!,
      parsePublicKeyPem(readFileSync(join(stranger.keyDir, 'other.pub'), 'utf8')),
    );
    const foreign = referrerManifest(two.digest, twoManifest.length, env2);
    expect(foreign.digest).not.toBe(forged.digest);
    index.manifests[index.manifests.length - 1] = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: foreign.digest,
      size: foreign.bytes.length,
      artifactType: 'application/vnd.dsse.envelope.v1+json',
    };
    await client.pushBlob('own/replay', `sha256:${createHash('sha256').update(env2).digest('hex')}`, env2.length, () => env2);
    await client.putManifest('own/replay', foreign.digest, foreign.bytes, 'application/vnd.oci.image.manifest.v1+json');
    await client.putManifest('own/replay', tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');
    const ok = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', out]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ image_attestation: false });
  });
});

suite('a BLAKE3 repository', () => {
  test('each snapshot artifact records its sha256; layers use it; pull writes the files; a recorded sha256 that lies is refused', () => {
    const dir = blake3Promoted(keyDir);
    const file = join(dir, '.artifacts/snapshots/fwk-001/design-review/000001.json');
    const snap = JSON.parse(readFileSync(file, 'utf8')) as {
      artifacts: Array<{ path: string; content_address: string; sha256: string }>;
    };
    expect(snap.artifacts.length).toBeGreaterThan(0);
    for (const a of snap.artifacts) {
      expect(a.content_address).toMatch(/^blake3:/);
      expect(a.sha256).toBe(execFileSync('sha256sum', [join(dir, a.path)], { encoding: 'utf8' }).split(' ')[0]);
    }
    const ref = `${reg.host}/blake3/app:one`;
    const p = run(dir, ['--json', 'push', ...DR, ref]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    const layers = (JSON.parse(raw.stdout) as { layers: Array<{ digest: string; annotations: Record<string, string> }> }).layers;
    expect(layers.map((l) => [l.annotations['org.opencontainers.image.title'], l.digest]).sort()).toEqual(
      snap.artifacts.map((a) => [a.path, `sha256:${a.sha256}`]).sort(),
    );
    const out = join(testdir(), 'out');
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', out]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const a of snap.artifacts) expect(readFileSync(join(out, a.path)).equals(readFileSync(join(dir, a.path)))).toBe(true);
  });

  test('a snapshot signed over a wrong sha256 does not verify and is not pushed', async () => {
    const dir = blake3Promoted(keyDir);
    const rel = '.artifacts/snapshots/fwk-001/design-review/000001.json';
    const snap = JSON.parse(readFileSync(join(dir, rel), 'utf8')) as { artifacts: Array<{ sha256: string }> };
    snap.artifacts[0]!.sha256 = '0'.repeat(64);
    const { canonicalJson } = await import('../../src/core/canonical-json.js');
    const bytes = Buffer.from(canonicalJson(snap), 'utf8');
    writeFileSync(join(dir, rel), bytes);
    writeFileSync(join(dir, rel.replace('.json', '.sig')), `${Buffer.from(await signer.sign(bytes)).toString('base64')}\n`);
    const v = run(dir, ['--json', 'snapshot', 'verify', ...DR]);
    expect(v.code, v.stdout).toBe(4);
    // (The registry checks every blob against the digest it is sent under: no manifest names it.)
    const p = run(dir, ['--json', 'push', ...DR, `${reg.host}/blake3/lie:one`]);
    expect(p.code, p.stdout).not.toBe(0);
    expect(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/blake3/lie:one`]).code).not.toBe(0);
  });
});

suite('channels', () => {
  test('push --channel prod tags the stable snapshot; after a canary completes the tag follows', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const repo = await openRepo({ cwd: dir });
    const now = new Date('2026-03-03T10:00:00Z');
    await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer, now });
    await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/1', signer, now });
    const target = `${reg.host}/channels/app`;
    const configOf = () => {
      const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${target}:prod`]);
      return (JSON.parse(raw.stdout) as { config: { digest: string } }).config.digest;
    };
    expect(run(dir, ['push', '--channel', 'prod', target]).code).toBe(0);
    const first = (
      await openRepo({ cwd: dir }).then(async (r) => (await import('../../src/core/channels/operations.js')).channelResolver(r, 'prod'))
    ).stable;
    expect(configOf()).toBe(first);
    const second = (await rolloutStart(repo, { channel: 'prod', to: 'latest', strategy: 'canary', steps: '50,100', signer, now })).record
      .rollout!.target;
    expect(run(dir, ['push', '--channel', 'prod', target]).code).toBe(0);
    expect(configOf()).toBe(first);
    // Two heads were pushed for this image: the newer replaced the older in the referrers index.
    const manifestDigest = `sha256:${createHash('sha256')
      .update(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${target}:prod`]).stdout)
      .digest('hex')}`;
    const index = JSON.parse(
      skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${target}:${manifestDigest.replace(':', '-')}`]).stdout,
    ) as { manifests: Array<{ artifactType: string; annotations?: Record<string, string> }> };
    const heads = index.manifests.filter((m) => m.artifactType === 'application/vnd.artifacts.channel.v1+json');
    expect(heads.map((m) => m.annotations)).toEqual([{ 'dev.artifacts.channel': 'prod', 'dev.artifacts.channel.seq': '3' }]);
    await rolloutAdvance(repo, { channel: 'prod', signer, now });
    await rolloutAdvance(repo, { channel: 'prod', signer, now });
    expect(run(dir, ['push', '--channel', 'prod', target]).code).toBe(0);
    expect(configOf()).toBe(second);
    // A deploy target pulls what prod runs, with the channel's signed head, fresh enough.
    const head = (await import('../../src/core/channels/records.js')).listChannelRecords(repo, 'prod').then((r) => r.length);
    const seq = await head;
    const pin = ['--trust-root', releaseKeyId()];
    const pullProd = () =>
      run(testdir(), ['--json', ...pin, 'pull', target, '--channel', 'prod', '--min-seq', String(seq), '--out', join(testdir(), 'o')]);
    const ok = pullProd();
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ snapshot: second, channel_seq: seq });
    // A registry writer moves the tag back to the older image (which carries an older, validly
    // signed head): --min-seq refuses it.
    expect(run(dir, ['push', ...DR, '--seq', '1', `${target}:prod`]).code).toBe(0);
    const stale = pullProd();
    expect([stale.code, (JSON.parse(stale.stdout) as { error: { code: string } }).error.code]).toEqual([1, 'CHANNEL_STALE']);
    // An image without any head of the channel: refused.
    expect(run(dir, ['push', ...DR, '--seq', '1', `${target}:other`]).code).toBe(0);
    const none = run(testdir(), ['--json', ...pin, 'pull', target, '--channel', 'other', '--out', join(testdir(), 'o')]);
    expect(none.code).toBe(4);
  });
});

suite('channel heads among many referrers', () => {
  test("a channel's head is found behind 200 entries of other channels; a head re-signed for another stage is refused", async () => {
    const dir = twoPromotionsCopy(keyDir);
    const repo = await openRepo({ cwd: dir });
    const now = new Date('2026-03-03T10:00:00Z');
    await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer, now });
    await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/2', signer, now });
    const target = `${reg.host}/crowd/app`;
    expect(run(dir, ['push', '--channel', 'prod', target]).code).toBe(0);
    const client = new RegistryClient(reg.host);
    const manifest = (await client.getManifest('crowd/app', 'prod'))!.bytes;
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    const tag = digest.replace(':', '-');
    const index = JSON.parse((await client.getManifest('crowd/app', tag))!.bytes.toString('utf8')) as {
      manifests: Array<{ mediaType?: string; digest: string; size: number; artifactType: string; annotations?: Record<string, string> }>;
    };
    const head = index.manifests.find((m) => m.artifactType === 'application/vnd.artifacts.channel.v1+json')!;
    // 200 later entries of other channels (a busy image): prod's head is first of all.
    for (let i = 0; i < 200; i++)
      index.manifests.push({ ...head, annotations: { 'dev.artifacts.channel': `c${i}`, 'dev.artifacts.channel.seq': '9' } });
    await client.putManifest('crowd/app', tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');
    const pin = ['--trust-root', releaseKeyId()];
    const ok = run(testdir(), ['--json', ...pin, 'pull', target, '--channel', 'prod', '--min-seq', '2', '--out', join(testdir(), 'o')]);
    expect(ok.code, ok.stdout).toBe(0);
    // The head re-signed by the same key for another stage (seq 50), attached to this image.
    const { encodeChannelRecord } = await import('../../src/core/channels/records.js');
    const { channelReferrer } = await import('../../src/core/oci/distribute.js');
    const headManifest = JSON.parse((await client.getManifest('crowd/app', head.digest))!.bytes.toString('utf8')) as {
      layers: Array<{ digest: string }>;
      annotations: Record<string, string>;
    };
    const blobs = join(reg.storage, 'docker/registry/v2/blobs/sha256');
    const d0 = headManifest.layers[0]!.digest;
    const record = JSON.parse(readFileSync(join(blobs, d0.slice(7, 9), d0.slice(7), 'data'), 'utf8')) as Record<string, unknown>;
    const forged = encodeChannelRecord({ ...record, stage: 'release', seq: 50 } as never);
    const sig = Buffer.from(await signer.sign(forged)).toString('base64');
    const { parsePublicKeyPem } = await import('../../src/core/snapshots/keys.js');
    const publicKey = parsePublicKeyPem(readFileSync(join(keyDir, 'release.pub'), 'utf8'));
    const r = channelReferrer(digest, manifest.length, { bytes: forged, signature: sig, keyid: signer.keyid, publicKey, name: 'prod' });
    await client.pushBlob('crowd/app', `sha256:${createHash('sha256').update(forged).digest('hex')}`, forged.length, () => forged);
    await client.putManifest('crowd/app', r.digest, r.bytes, 'application/vnd.oci.image.manifest.v1+json');
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: r.digest,
      size: r.bytes.length,
      artifactType: r.artifactType,
    });
    await client.putManifest('crowd/app', tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');
    const out = join(testdir(), 'o2');
    const bad = run(testdir(), ['--json', ...pin, 'pull', target, '--channel', 'prod', '--min-seq', '50', '--out', out]);
    expect(bad.code, bad.stdout).toBe(4);
    expect((JSON.parse(bad.stdout) as { error: { message: string } }).error.message).toMatch(
      /not of the snapshot's fwk-001\/design-review/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

suite('reserved tags and damaged objects', () => {
  test('a tag (or channel name) of the form sha256-<hex>, where referrers indexes live, is refused before anything is pushed', () => {
    const dir = twoPromotionsCopy(keyDir);
    const r = run(dir, ['--json', 'push', ...DR, `${reg.host}/reserved/app:sha256-${'a'.repeat(64)}`]);
    expect([r.code, (JSON.parse(r.stdout) as { error: { code: string } }).error.code]).toEqual([2, 'USAGE']);
  });

  test('an object damaged in the store (same size, other bytes) is not what goes up: the push takes the verified content from git and the image pulls', () => {
    const dir = twoPromotionsCopy(keyDir);
    const snap = JSON.parse(readFileSync(join(dir, '.artifacts/snapshots/fwk-001/design-review/000002.json'), 'utf8')) as {
      artifacts: Array<{ content_address: string; size: number }>;
    };
    const hex = snap.artifacts[0]!.content_address.slice(7);
    const object = join(dir, '.artifacts/objects/sha256', hex.slice(0, 2), hex.slice(2));
    writeFileSync(object, Buffer.alloc(snap.artifacts[0]!.size, 0x58));
    const ref = `${reg.host}/damaged/app:two`;
    const p = run(dir, ['--json', 'push', ...DR, ref]);
    expect(p.code, p.stdout).toBe(0);
    const out = join(testdir(), 'o');
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', ref, '--out', out]);
    expect(r.code, r.stdout).toBe(0);
    for (const [path, bytes] of filesOf(dir)) expect([path, readFileSync(join(out, path)).equals(bytes)]).toEqual([path, true]);
  });
});

suite('key rotation', () => {
  test('a deploy target pinned to the new key pulls a channel whose stable snapshot the old key signed: the pinned head vouches for it; without --channel it is refused', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const next = await generateSigners(['release2']);
    expect(run(dir, ['keys', 'trust', join(next.keyDir, 'release2.pub'), '--key', join(keyDir, 'release.key')]).code).toBe(0);
    const signer2 = next.signers.get('release2')!;
    const repo = await openRepo({ cwd: dir });
    const now = new Date('2026-03-03T10:00:00Z');
    await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer: signer2, now });
    await rolloutStart(repo, { channel: 'prod', to: 'fwk-001/design-review/2', signer: signer2, now });
    const target = `${reg.host}/rotation/app`;
    expect(run(dir, ['push', '--channel', 'prod', target]).code).toBe(0);
    const pin = ['--trust-root', signer2.keyid];
    const ok = run(testdir(), ['--json', ...pin, 'pull', target, '--channel', 'prod', '--min-seq', '2', '--out', join(testdir(), 'o')]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ channel_seq: 2, attestation: true });
    const bare = run(testdir(), ['--json', ...pin, 'pull', `${target}:prod`, '--out', join(testdir(), 'o2')]);
    expect([bare.code, (JSON.parse(bare.stdout) as { error: { code: string } }).error.code]).toEqual([4, 'KEY_NOT_TRUSTED']);
    // A head signed by a key that is not the pinned one vouches for nothing.
    const other = run(testdir(), [
      '--json',
      '--trust-root',
      'e'.repeat(64),
      'pull',
      target,
      '--channel',
      'prod',
      '--out',
      join(testdir(), 'o3'),
    ]);
    expect([other.code, (JSON.parse(other.stdout) as { error: { code: string } }).error.code]).toEqual([4, 'KEY_NOT_TRUSTED']);
  });
});

suite('large and interrupted uploads', () => {
  test('a blob above the monolithic limit goes up in chunks; a push killed half-way resumes, skipping the blobs already there', () => {
    const dir = twoPromotionsCopy(keyDir);
    const plan = join(dir, 'docs/plans/fwk-001/plan-checkout.md');
    // A 40 MiB artifact: above the 32 MiB monolithic limit.
    writeFileSync(plan, `${readFileSync(plan, 'utf8').replace('version: "1.2.0"', 'version: "1.3.0"')}\n${'x'.repeat(40 * 1024 * 1024)}\n`);
    expect(run(dir, ['index', 'update', 'docs/plans/fwk-001/plan-checkout.md']).code).toBe(0);
    commitAt(dir, '2026-03-03T09:00:00Z', 'big plan');
    expect(run(dir, ['promote', ...DR, '--at', '2026-03-03T10:00:00Z'], { ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') }).code).toBe(
      0,
    );
    const ref = `${reg.host}/big/plan:x`;
    const r = run(dir, ['--json', 'push', ...DR, ref]);
    expect(r.code, r.stderr).toBe(0);
    const out = join(testdir(), 'o');
    expect(run(dir, ['pull', ref, '--out', out]).code).toBe(0);
    expect(readFileSync(join(out, 'docs/plans/fwk-001/plan-checkout.md')).equals(readFileSync(plan))).toBe(true);
    // Interrupted: the first run is killed after it has sent some blobs; the rerun skips them.
    const ref2 = `${reg.host}/big/resumed:x`;
    const killed = spawnSync(process.execPath, [join(__dirname, '../../bin/artifacts.js'), 'push', ...DR, ref2], {
      cwd: dir,
      env: { ...process.env, ARTIFACTS_FAULT_INJECT: 'blob-pushed:2' },
      encoding: 'utf8',
    });
    expect(killed.signal).toBe('SIGKILL');
    const resumed = JSON.parse(run(dir, ['--json', 'push', ...DR, ref2]).stdout) as { blobs: { pushed: number; skipped: number } };
    expect(resumed.blobs.skipped).toBeGreaterThanOrEqual(2);
    expect(resumed.blobs.pushed).toBeGreaterThan(0);
  });
});

suite('auth', () => {
  test('htpasswd basic auth: credentials from the environment or ~/.docker/config.json; none: REGISTRY_AUTH', async () => {
    const secured = await startRegistry({ username: 'ci', password: 's3cret' });
    try {
      const dir = twoPromotionsCopy(keyDir);
      const ref = `${secured.host}/auth/app:x`;
      const home = testdir();
      const none = run(dir, ['--json', 'push', ...DR, ref], { HOME: home, DOCKER_CONFIG: join(home, '.docker') });
      expect([none.code, (JSON.parse(none.stdout) as { error: { code: string } }).error.code]).toEqual([2, 'REGISTRY_AUTH']);
      const wrong = run(dir, ['--json', 'push', ...DR, ref], {
        HOME: home,
        ARTIFACTS_REGISTRY_USER: 'ci',
        ARTIFACTS_REGISTRY_PASSWORD: 'nope',
      });
      expect((JSON.parse(wrong.stdout) as { error: { code: string } }).error.code).toBe('REGISTRY_AUTH');
      expect(
        run(dir, ['push', ...DR, ref], { HOME: home, ARTIFACTS_REGISTRY_USER: 'ci', ARTIFACTS_REGISTRY_PASSWORD: 's3cret' }).code,
      ).toBe(0);
      mkdirSync(join(home, '.docker'));
      writeFileSync(
        join(home, '.docker/config.json'),
        JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }),
      );
      const out = join(testdir(), 'o');
      const pulled = run(dir, ['pull', ref, '--out', out], { HOME: home, DOCKER_CONFIG: join(home, '.docker') });
      expect(pulled.code, pulled.stdout + pulled.stderr).toBe(0);
    } finally {
      await secured.stop();
    }
  });

  test('plain HTTP only to a loopback registry, or with --plain-http', () => {
    expect(new RegistryClient('127.0.0.1:5000').base).toBe('http://127.0.0.1:5000');
    expect(new RegistryClient('localhost:5000').base).toBe('http://localhost:5000');
    expect(new RegistryClient('registry.example.com').base).toBe('https://registry.example.com');
    expect(new RegistryClient('10.1.2.3:5000').base).toBe('https://10.1.2.3:5000');
    expect(new RegistryClient('10.1.2.3:5000', { plainHttp: true }).base).toBe('http://10.1.2.3:5000');
  });
});

suite('--layout tar', () => {
  test('one deterministic tar+gzip layer: the same digest twice, `tar -xzf` gives the files, pull verifies and writes them; a tampered entry: exit 4', () => {
    const dir = twoPromotionsCopy(keyDir);
    const refOf = (n: string) => `${reg.host}/tar/app:${n}`;
    const digests = ['a', 'b'].map((n) => {
      const r = run(dir, ['--json', 'push', ...DR, '--layout', 'tar', refOf(n)]);
      expect(r.code, r.stdout).toBe(0);
      return (JSON.parse(r.stdout) as { digest: string }).digest;
    });
    expect(digests[1]).toBe(digests[0]);
    const raw = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${refOf('a')}`]).stdout) as {
      layers: Array<{ mediaType: string; digest: string }>;
    };
    expect(raw.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip']);
    const blob = join(
      reg.storage,
      'docker/registry/v2/blobs/sha256',
      raw.layers[0]!.digest.slice(7, 9),
      raw.layers[0]!.digest.slice(7),
      'data',
    );
    const extracted = testdir();
    execFileSync('tar', ['-xzf', blob, '-C', extracted]);
    for (const [path, bytes] of filesOf(dir)) expect([path, readFileSync(join(extracted, path)).equals(bytes)]).toEqual([path, true]);
    const out = join(testdir(), 'o');
    const pulled = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', refOf('a'), '--out', out]);
    expect(pulled.code, pulled.stdout).toBe(0);
    for (const [path, bytes] of filesOf(dir)) expect([path, readFileSync(join(out, path)).equals(bytes)]).toEqual([path, true]);
    // An exported layout in tar form imports the same files.
    const layout = join(testdir(), 'layout');
    expect(run(dir, ['export', ...DR, '--layout', 'tar', '--oci-layout', layout]).code).toBe(0);
    const imported = join(testdir(), 'imported');
    expect(run(testdir(), ['--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', imported]).code).toBe(0);
    for (const [path, bytes] of filesOf(dir)) expect([path, readFileSync(join(imported, path)).equals(bytes)]).toEqual([path, true]);
    // A tar entry changed in the layout (its blob rewritten under the same name): exit 4, nothing written.
    const layer = join(layout, 'blobs/sha256', raw.layers[0]!.digest.slice(7));
    writeFileSync(layer, Buffer.concat([readFileSync(layer), Buffer.from([0])]));
    const bad = join(testdir(), 'bad');
    expect(run(testdir(), ['--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', bad]).code).toBe(4);
    expect(existsSync(bad) ? readdirSync(bad) : []).toEqual([]);
  });
});

test('pull --channel holds the channel name to the tag rules before any request', () => {
  for (const name of ['../../a/manifests/prod', 'prod#x', 'prod?x=1', 'prod:x', 'a/b']) {
    const r = run(testdir(), [
      '--json',
      '--trust-root',
      'a'.repeat(64),
      'pull',
      '127.0.0.1:1/team/app',
      '--channel',
      name,
      '--out',
      join(testdir(), 'o'),
    ]);
    expect([name, r.code, (JSON.parse(r.stdout) as { error: { code: string } }).error.code]).toEqual([name, 2, 'USAGE']);
  }
});

describe('malformed image layouts (no registry needed)', () => {
  /** Export snapshot 2 to a layout, then let `change` rewrite its manifest (and blobs); the
   * manifest is re-stored under its new digest and index.json names it. */
  function changedLayout(dir: string, layoutArgs: string[], change: (m: Record<string, unknown>, layout: string) => void): string {
    const layout = join(testdir(), 'layout');
    const e = run(dir, ['--json', 'export', ...DR, ...layoutArgs, '--oci-layout', layout]);
    expect(e.code, e.stdout).toBe(0);
    const digest = (JSON.parse(e.stdout) as { digest: string }).digest;
    const m = JSON.parse(readFileSync(join(layout, 'blobs/sha256', digest.slice(7)), 'utf8')) as Record<string, unknown>;
    change(m, layout);
    const bytes = Buffer.from(JSON.stringify(m));
    const nd = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(layout, 'blobs/sha256', nd), bytes);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
    for (const x of index.manifests) if (x.digest === digest) Object.assign(x, { digest: `sha256:${nd}`, size: bytes.length });
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    return layout;
  }
  /** Replace the one (tar) layer's bytes, fixing its descriptor. */
  const newLayer = (bytes: (old: Buffer) => Buffer) => (m: Record<string, unknown>, layout: string) => {
    const l = (m.layers as Array<{ digest: string; size: number }>)[0]!;
    const b = bytes(readFileSync(join(layout, 'blobs/sha256', l.digest.slice(7))));
    const d = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(layout, 'blobs/sha256', d), b);
    Object.assign(l, { digest: `sha256:${d}`, size: b.length });
  };

  test('a tar layer that is not gzip, is cut short or has trailing bytes; a config digest that is not a string: exit 4, never an internal error', () => {
    const dir = twoPromotionsCopy(keyDir);
    const cases: Array<[string, string[], (m: Record<string, unknown>, layout: string) => void]> = [
      ['plain tar', ['--layout', 'tar'], newLayer((old) => gunzipSync(old))],
      ['cut short', ['--layout', 'tar'], newLayer((old) => old.subarray(0, old.length - 9))],
      ['trailing bytes', ['--layout', 'tar'], newLayer((old) => Buffer.concat([old, Buffer.from('garbage!')]))],
      ['a numeric config digest', [], (m) => ((m.config as Record<string, unknown>).digest = 5)],
    ];
    for (const [what, args, change] of cases) {
      const layout = changedLayout(dir, args, change);
      const out = join(testdir(), 'out');
      const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', out]);
      expect([what, r.code], r.stdout + r.stderr).toEqual([what, 4]);
      expect([what, existsSync(out)]).toEqual([what, false]);
    }
  });

  test('--out naming a file, or a symlink to one, is a usage error, and the file is untouched', () => {
    const dir = twoPromotionsCopy(keyDir);
    const layout = join(testdir(), 'layout');
    expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).toBe(0);
    const work = testdir();
    writeFileSync(join(work, 'file'), 'keep');
    execFileSync('ln', ['-s', 'file', join(work, 'link')]);
    for (const name of ['file', 'link']) {
      const r = run(work, ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', name]);
      expect([name, r.code], r.stdout + r.stderr).toEqual([name, 2]);
      expect(readFileSync(join(work, 'file'), 'utf8')).toBe('keep');
    }
  });
});

describe('image attestations in a layout (no registry needed)', () => {
  /** Add a DSSE referrer of the layout's snapshot manifest holding `envelope`. */
  async function addReferrer(layout: string, envelope: Buffer): Promise<void> {
    const { referrerManifest } = await import('../../src/core/oci/distribute.js');
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; size: number; artifactType?: string; mediaType: string }>;
    };
    const main = index.manifests.find((m) => m.artifactType === 'application/vnd.artifacts.snapshot.v1+json')!;
    const r = referrerManifest(main.digest, main.size, envelope);
    writeFileSync(join(layout, 'blobs/sha256', createHash('sha256').update(envelope).digest('hex')), envelope);
    writeFileSync(join(layout, 'blobs/sha256', r.digest.slice(7)), r.bytes);
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: r.digest,
      size: r.bytes.length,
      artifactType: r.artifactType,
    });
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  }
  const importLayout = (layout: string) => {
    const out = join(testdir(), 'out');
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', out]);
    return { ...r, wrote: existsSync(out) };
  };
  /** The image attestation export --key writes for snapshot `seq`, as an object. */
  function imageEnvelope(dir: string, seq: number): { payload: string; payloadType: string; signatures: Array<Record<string, string>> } {
    const layout = join(testdir(), 'layout');
    const e = run(dir, ['--json', 'export', ...DR, '--seq', String(seq), '--key', join(keyDir, 'release.key'), '--oci-layout', layout]);
    expect(e.code, e.stdout).toBe(0);
    const digest = (JSON.parse(e.stdout) as { digest: string }).digest;
    for (const f of readdirSync(join(layout, 'blobs/sha256'))) {
      const text = readFileSync(join(layout, 'blobs/sha256', f), 'utf8');
      if (!text.startsWith('{"payload"')) continue;
      const env = JSON.parse(text) as { payload: string; payloadType: string; signatures: Array<Record<string, string>> };
      const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { subject: Array<{ digest: { sha256: string } }> };
      if (st.subject[0]!.digest.sha256 === digest.slice(7)) return env;
    }
    throw new Error('no image attestation in the layout');
  }

  test("snapshot 1's image attestation replayed onto snapshot 2, its keyid removed, blanked or another's: exit 4, nothing written", async () => {
    const dir = twoPromotionsCopy(keyDir);
    const env = imageEnvelope(dir, 1);
    const variants: Array<[string, (sig: Record<string, string>) => void]> = [
      ['as it is', () => undefined],
      ['keyid removed', (sig) => delete sig.keyid],
      ['keyid blank', (sig) => (sig.keyid = '')],
      ["a stranger's keyid", (sig) => (sig.keyid = 'f'.repeat(64))],
    ];
    for (const [what, change] of variants) {
      const copy = structuredClone(env);
      change(copy.signatures[0]!);
      const layout = join(testdir(), 'two');
      expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).toBe(0);
      await addReferrer(layout, Buffer.from(JSON.stringify(copy)));
      const r = importLayout(layout);
      expect([what, r.code, r.wrote], r.stdout).toEqual([what, 4, false]);
    }
  });

  test('a statement signed by the snapshot key naming this image and another one, or another predicate: exit 4', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const { encodeAttestation } = await import('../../src/core/attest/attestations.js');
    const { parsePublicKeyPem } = await import('../../src/core/snapshots/keys.js');
    const publicKey = parsePublicKeyPem(readFileSync(join(keyDir, 'release.pub'), 'utf8'));
    const own = imageEnvelope(dir, 2);
    const st = JSON.parse(Buffer.from(own.payload, 'base64').toString('utf8')) as import('../../src/core/attest/statements.js').Statement;
    const variants: Array<[string, (s: typeof st) => void]> = [
      ['a second subject', (s) => s.subject.push({ name: 'other', digest: { sha256: 'a'.repeat(64) } })],
      ['another predicate', (s) => (s.predicate = { ...s.predicate, extra: true })],
    ];
    for (const [what, change] of variants) {
      const forged = structuredClone(st);
      change(forged);
      const layout = join(testdir(), 'two');
      expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).toBe(0);
      await addReferrer(layout, await encodeAttestation(forged, signer, publicKey));
      const r = importLayout(layout);
      expect([what, r.code, r.wrote], r.stdout).toEqual([what, 4, false]);
    }
    // The genuine one is accepted.
    const layout = join(testdir(), 'genuine');
    expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).toBe(0);
    await addReferrer(layout, Buffer.from(JSON.stringify(own)));
    const ok = importLayout(layout);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ attestation: true, image_attestation: true });
  });

  test('DSSE referrers that are null, a list, a number or not JSON are not ours: ignored, never an internal error', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const layout = join(testdir(), 'junk');
    expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).toBe(0);
    for (const junk of [
      'null',
      '[]',
      '5',
      'not json',
      '{"payload":null,"signatures":null}',
      '{"payloadType":"x","payload":"e30=","signatures":[null,5,{"sig":7}]}',
    ])
      await addReferrer(layout, Buffer.from(junk));
    const r = importLayout(layout);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ attestation: true, image_attestation: false });
  });
});

suite('a hostile registry or layout', () => {
  test('a manifest whose attestation annotation was removed is refused (exit 4); a layout with a FIFO index or a symlink out of it is refused at once; export never writes through a symlink', () => {
    const dir = twoPromotionsCopy(keyDir);
    const ref = `${reg.host}/hostile/app:x`;
    const pushed = JSON.parse(run(dir, ['--json', 'push', ...DR, ref]).stdout) as { digest: string };
    // The manifest is not signed: drop the annotation and put it back under another tag.
    const raw = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]).stdout) as {
      annotations: Record<string, string>;
    };
    expect(pushed.digest).toMatch(/^sha256:/);
    delete raw.annotations['dev.artifacts.snapshot.attestation'];
    const put = spawnSync(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-X',
        'PUT',
        '-H',
        'content-type: application/vnd.oci.image.manifest.v1+json',
        '--data-binary',
        JSON.stringify(raw),
        `http://${reg.host}/v2/hostile/app/manifests/stripped`,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(put.stdout).toBe('201');
    const out = join(testdir(), 'o');
    const r = run(testdir(), ['--json', '--trust-root', releaseKeyId(), 'pull', `${reg.host}/hostile/app:stripped`, '--out', out]);
    expect(r.code).toBe(4);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    // A layout whose index.json is a FIFO, or a symlink to /dev/zero: refused, never read.
    for (const kind of ['fifo', 'zero']) {
      const layout = testdir();
      if (kind === 'fifo') execFileSync('mkfifo', [join(layout, 'index.json')]);
      else execFileSync('ln', ['-s', '/dev/zero', join(layout, 'index.json')]);
      const started = Date.now();
      const imp = spawnSync(
        process.execPath,
        [
          join(__dirname, '../../bin/artifacts.js'),
          '--trust-root',
          releaseKeyId(),
          'import',
          '--oci-layout',
          layout,
          '--out',
          join(testdir(), 'i'),
        ],
        {
          cwd: testdir(),
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      expect([kind, imp.status !== 0 && imp.status !== null]).toEqual([kind, true]);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
    // Export into a layout holding a symlink where index.json goes: refused, the target untouched.
    const layout = testdir();
    const victim = join(testdir(), 'victim');
    writeFileSync(victim, 'untouched\n');
    execFileSync('ln', ['-s', victim, join(layout, 'index.json')]);
    expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).not.toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    // ... and refused before anything is written into the layout.
    expect(readdirSync(layout)).toEqual(['index.json']);
  });
});

describe('a hostile repository', () => {
  test('a symlinked object store is never read for an upload: its same-size file from elsewhere is not taken', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const snap = JSON.parse(readFileSync(join(dir, '.artifacts/snapshots/fwk-001/design-review/000002.json'), 'utf8')) as {
      artifacts: Array<{ path: string; content_address: string; size: number; git_blob?: string }>;
    };
    const a = snap.artifacts[0]!;
    const hex = a.content_address.slice(7);
    const outside = testdir();
    mkdirSync(join(outside, 'sha256', hex.slice(0, 2)), { recursive: true });
    const decoy = join(outside, 'sha256', hex.slice(0, 2), hex.slice(2));
    writeFileSync(decoy, Buffer.alloc(a.size, 0x5a)); // the size of the artifact, not its bytes
    execFileSync('rm', ['-rf', join(dir, '.artifacts/objects')]);
    execFileSync('ln', ['-s', outside, join(dir, '.artifacts/objects')]);
    const repo = await openRepo({ cwd: dir });
    const file = await contentFile(repo, a.content_address, a.path, a.size, a.git_blob, { trustStore: true });
    expect(readFileSync(file).equals(readFileSync(join(dir, a.path)))).toBe(true);
    expect(readFileSync(file).equals(readFileSync(decoy))).toBe(false);
  });
});

describe('importing a signed image into a repository', () => {
  /** An OCI image layout of a snapshot of fwk-001/design-review made from `dir`'s snapshot 2
   * by `change`, signed with the release key (trusted by `dir`'s chain): no push or export is
   * involved, so nothing the exporter checks stands in the way. */
  async function signedLayout(dir: string, change: (snap: Record<string, unknown>, head: string) => void): Promise<string> {
    const { canonicalJson } = await import('../../src/core/canonical-json.js');
    const { encodeManifest, sha256Digest, MEDIA, ANNOTATION } = await import('../../src/core/oci/image.js');
    const rel = '.artifacts/snapshots/fwk-001/design-review/000002.json';
    const headBytes = readFileSync(join(dir, rel));
    const snap = JSON.parse(headBytes.toString('utf8')) as Record<string, unknown> & {
      artifacts: Array<{ path: string; size: number; content_address: string }>;
    };
    change(snap, sha256Digest(headBytes));
    const bytes = Buffer.from(canonicalJson(snap), 'utf8');
    const layout = join(testdir(), 'layout');
    const blob = (b: Buffer) => {
      const d = sha256Digest(b);
      mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
      writeFileSync(join(layout, 'blobs/sha256', d.slice(7)), b);
      return d;
    };
    const layers = snap.artifacts.map((a) => ({
      mediaType: MEDIA.file,
      digest: a.content_address,
      size: a.size,
      annotations: { [ANNOTATION.title]: a.path },
    }));
    blob(readFileSync(join(dir, 'docs/plans/fwk-001/plan-checkout.md')));
    const { parsePublicKeyPem } = await import('../../src/core/snapshots/keys.js');
    const publicKey = parsePublicKeyPem(readFileSync(join(keyDir, 'release.pub'), 'utf8'));
    const manifest = encodeManifest({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      artifactType: MEDIA.snapshot,
      config: { mediaType: MEDIA.snapshot, digest: blob(bytes), size: bytes.length },
      layers,
      annotations: {
        [ANNOTATION.snapshot]: sha256Digest(bytes),
        [ANNOTATION.signature]: Buffer.from(await signer.sign(bytes)).toString('base64'),
        [ANNOTATION.signer]: (snap.signer as { keyid: string }).keyid,
        [ANNOTATION.publicKey]: Buffer.from(publicKey).toString('base64'),
      },
    });
    const digest = blob(manifest);
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: MEDIA.manifest, digest, size: manifest.length, artifactType: MEDIA.snapshot }],
      }),
    );
    return layout;
  }
  /** Make every artifact of `snap` the plan file, at `path` for the first one. */
  function onePlan(dir: string, snap: { artifacts: Array<Record<string, unknown>> }, path: string): void {
    const plan = readFileSync(join(dir, 'docs/plans/fwk-001/plan-checkout.md'));
    const a = snap.artifacts[0]!;
    Object.assign(a, { path, size: plan.length, content_address: `sha256:${createHash('sha256').update(plan).digest('hex')}` });
    delete a.git_blob;
    snap.artifacts = [a];
  }

  test("an artifact at the repository's config, index or .artifacts/ path is refused (PATH_UNSAFE), and nothing is written", async () => {
    const dir = twoPromotionsCopy(keyDir);
    for (const path of ['artifacts.config.yaml', 'artifacts_index.json', '.artifacts/keys/trust/000002.json', '.git/hooks/post-checkout']) {
      const layout = await signedLayout(dir, (snap, head) => {
        onePlan(dir, snap as never, path);
        Object.assign(snap, { seq: 3, parent: head });
      });
      const before = readFileSync(join(dir, 'artifacts.config.yaml'));
      const r = run(dir, ['--json', 'import', '--oci-layout', layout]);
      expect([path, r.code]).toEqual([path, 2]);
      expect([path, (JSON.parse(r.stdout) as { error: { code: string } }).error.code], r.stdout).toEqual([path, 'PATH_UNSAFE']);
      expect(readFileSync(join(dir, 'artifacts.config.yaml')).equals(before)).toBe(true);
      expect(existsSync(join(dir, '.artifacts/keys/trust/000002.json'))).toBe(false);
      expect(existsSync(join(dir, '.git/hooks/post-checkout'))).toBe(false);
    }
  });

  test('--out inside the repository (.artifacts, .git, a link to .git, a new directory under .artifacts) is held to the same rules: PATH_UNSAFE, nothing written', async () => {
    const dir = twoPromotionsCopy(keyDir);
    execFileSync('ln', ['-s', '.git', join(dir, 'gitlink')]);
    const cases: Array<[string, string]> = [
      ['.artifacts', 'keys/trust/000009.json'],
      ['.git', 'hooks/post-checkout'],
      ['gitlink', 'hooks/post-merge'],
      ['.artifacts/new/dir', 'x.json'],
      ['./docs/..', 'artifacts.config.yaml'],
    ];
    for (const [out, path] of cases) {
      const layout = await signedLayout(dir, (snap, head) => {
        onePlan(dir, snap as never, path);
        Object.assign(snap, { seq: 3, parent: head });
      });
      const before = readFileSync(join(dir, 'artifacts.config.yaml'));
      const r = run(dir, ['--json', 'import', '--oci-layout', layout, '--out', out]);
      expect([out, r.code, (JSON.parse(r.stdout) as { error?: { code: string } }).error?.code], r.stdout).toEqual([out, 2, 'PATH_UNSAFE']);
      expect(existsSync(join(dir, '.artifacts/keys/trust/000009.json'))).toBe(false);
      expect(existsSync(join(dir, '.git/hooks/post-checkout')) || existsSync(join(dir, '.git/hooks/post-merge'))).toBe(false);
      expect(readFileSync(join(dir, 'artifacts.config.yaml')).equals(before)).toBe(true);
    }
  });

  test('run from outside the repository, --out into it is held to its rules too; a broken config in the working directory does not lose --trust-root', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const outside = testdir();
    const cases: Array<[string, string]> = [
      [join(dir, '.artifacts'), 'keys/trust/000009.json'],
      [dir, 'artifacts.config.yaml'],
      [join(dir, 'docs'), 'artifacts_index.json'], // docs/artifacts_index.json is an ordinary file
    ];
    for (const [out, path] of cases) {
      const layout = await signedLayout(dir, (snap, head) => {
        onePlan(dir, snap as never, path);
        Object.assign(snap, { seq: 3, parent: head });
      });
      const before = readFileSync(join(dir, 'artifacts.config.yaml'));
      const r = run(outside, ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', out]);
      const code = (JSON.parse(r.stdout) as { error?: { code: string } }).error?.code;
      if (out === join(dir, 'docs')) expect([out, r.code], r.stdout).toEqual([out, 0]);
      else expect([out, r.code, code], r.stdout).toEqual([out, 2, 'PATH_UNSAFE']);
      expect(existsSync(join(dir, '.artifacts/keys/trust/000009.json'))).toBe(false);
      expect(readFileSync(join(dir, 'artifacts.config.yaml')).equals(before)).toBe(true);
    }
    // A working directory whose config does not load: the pin still judges the signer.
    const broken = testdir();
    writeFileSync(join(broken, 'artifacts.config.yaml'), '#!/bin/sh\necho not a config\n: [\n');
    const layout = join(testdir(), 'plain');
    expect(run(dir, ['export', ...DR, '--oci-layout', layout]).code).toBe(0);
    const r = run(broken, ['--json', '--trust-root', releaseKeyId(), 'import', '--oci-layout', layout, '--out', join(testdir(), 'o')]);
    expect(r.code, r.stdout).toBe(0);
  });

  test('paths with a tab, DEL, U+0085 or U+2028 (which the index and rollback take) are written, not refused as tampering', async () => {
    const dir = twoPromotionsCopy(keyDir);
    for (const ch of ['\t', '\x7f', '\u0085', '\u2028']) {
      const path = `docs/plans/fwk-001/a${ch}b.md`;
      const layout = await signedLayout(dir, (snap, head) => {
        onePlan(dir, snap as never, path);
        Object.assign(snap, { seq: 3, parent: head });
      });
      const out = join(testdir(), 'out');
      const r = run(dir, ['--json', 'import', '--oci-layout', layout, '--out', out]);
      expect([JSON.stringify(ch), r.code], r.stdout).toEqual([JSON.stringify(ch), 0]);
      expect(existsSync(join(out, path))).toBe(true);
    }
  });

  test('a snapshot the local chain does not hold must be its next one: another seq, or seq 3 of another parent, is refused (exit 4); the true next one is written', async () => {
    const dir = twoPromotionsCopy(keyDir);
    const out = join(testdir(), 'out');
    const cases: Array<[string, (snap: Record<string, unknown>, head: string) => void, number]> = [
      ['a later seq', (snap, head) => Object.assign(snap, { seq: 5, parent: head }), 4],
      ['a fork of seq 3', (snap) => Object.assign(snap, { seq: 3, parent: `sha256:${'0'.repeat(64)}` }), 4],
      ['the next one', (snap, head) => Object.assign(snap, { seq: 3, parent: head }), 0],
    ];
    for (const [what, change, code] of cases) {
      const layout = await signedLayout(dir, (snap, head) => {
        onePlan(dir, snap as never, 'docs/plans/fwk-001/plan-checkout.md');
        change(snap, head);
      });
      const r = run(dir, ['--json', 'import', '--oci-layout', layout, '--out', out]);
      expect([what, r.code], r.stdout).toEqual([what, code]);
      if (code !== 0)
        expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(/neither in the local chain nor its next/);
      expect([what, existsSync(out)]).toEqual([what, code === 0]);
    }
  });
});
