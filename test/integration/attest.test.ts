// Attestations (SPEC §14): an in-toto Statement v1 in a DSSE envelope next to every
// snapshot and channel record, checked here by tools that share no code with the product:
// openssl (Ed25519 over the PAE it recomputes), python3-securesystemslib when installed,
// sha256sum / b3sum for the subjects, and JSON Schemas written from the specifications.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, test } from 'vitest';
import { channelCreate, rolloutStart } from '../../src/core/channels/operations.js';
import { openRepo } from '../../src/core/repo.js';
import type { Signer } from '../../src/core/trust/signer.js';
import { commitAt, git, run, testdir } from '../helpers.js';
import { blake3Promoted, generateSigners, twoPromotionsCopy } from '../support/two-promotions.js';
import { opensslVerify } from '../support/openssl.js';

let keyDir = '';
let signer: Signer;
beforeAll(async () => {
  const k = await generateSigners(['release', 'stranger']);
  keyDir = k.keyDir;
  signer = k.signers.get('release')!;
}, 60_000);

const SNAPS = '.artifacts/snapshots/fwk-001/design-review';
const env = () => ({ ARTIFACTS_SIGNING_KEY: join(keyDir, 'release.key') });

interface Envelope {
  payload: string;
  payloadType: string;
  signatures: Array<{ keyid: string; sig: string }>;
}
const envelopeOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Envelope;
const statementOf = (e: Envelope) =>
  JSON.parse(Buffer.from(e.payload, 'base64').toString('utf8')) as {
    _type: string;
    subject: Array<{ name: string; digest: Record<string, string> }>;
    predicateType: string;
    predicate: Record<string, unknown>;
  };

/** PAE as the DSSE specification defines it, written here independently of the product. */
function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

/** A repository with two promotions and a channel on the second (all attested). */
async function attested(): Promise<string> {
  const dir = twoPromotionsCopy(keyDir);
  const repo = await openRepo({ cwd: dir });
  const now = new Date('2026-03-03T10:00:00Z');
  await channelCreate(repo, { name: 'prod', framework: 'fwk-001', stage: 'design-review', signer, now });
  await rolloutStart(repo, { channel: 'prod', to: 'latest', signer, now });
  return dir;
}

describe('independent verification', () => {
  test('openssl verifies the Ed25519 signature over the PAE it recomputes, for snapshots and channel records', async () => {
    const dir = await attested();
    const work = testdir();
    for (const file of [`${SNAPS}/000001.intoto.json`, `${SNAPS}/000002.intoto.json`, '.artifacts/channels/prod/000002.intoto.json']) {
      const e = envelopeOf(join(dir, file));
      expect(e.payloadType).toBe('application/vnd.in-toto+json');
      writeFileSync(join(work, 'pae.bin'), pae(e.payloadType, Buffer.from(e.payload, 'base64')));
      writeFileSync(join(work, 'sig.bin'), Buffer.from(e.signatures[0]!.sig, 'base64'));
      const verify = (paeFile: string) => opensslVerify(join(keyDir, 'release.pub'), paeFile, join(work, 'sig.bin'));
      const ok = verify(join(work, 'pae.bin'));
      expect([file, ok.ok, ok.output.trim()]).toEqual([file, true, 'Signature Verified Successfully']);
      // The signature is over the PAE, not the bare payload: openssl refuses that.
      writeFileSync(join(work, 'payload.bin'), Buffer.from(e.payload, 'base64'));
      expect(verify(join(work, 'payload.bin')).ok).toBe(false);
    }
  });

  test('python3-securesystemslib verifies the envelope (skipped with a reason when it is not installed)', async (ctx) => {
    // Debian's package installs for the system interpreter, which another python3 on PATH
    // (pyenv, a virtualenv) may shadow.
    const python = ['python3', '/usr/bin/python3'].find(
      (p) => spawnSync(p, ['-c', 'import securesystemslib.signer'], { encoding: 'utf8' }).status === 0,
    );
    if (!python) {
      console.log('securesystemslib check skipped: python3-securesystemslib is not installed (apt-get install python3-securesystemslib)');
      ctx.skip();
      return;
    }
    const dir = await attested();
    const raw = execFileSync('openssl', ['pkey', '-pubin', '-in', join(keyDir, 'release.pub'), '-outform', 'DER'])
      .subarray(-32)
      .toString('hex');
    const script = `
import base64, json, sys
from securesystemslib.signer import SSlibKey, Signature
def pae(t, b):
    t = t.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(b), b)
raw = sys.argv[1]
for path in sys.argv[2:]:
    e = json.load(open(path))
    s = e["signatures"][0]
    key = SSlibKey(s["keyid"], "ed25519", "ed25519", {"public": raw})
    key.verify_signature(Signature(s["keyid"], base64.b64decode(s["sig"]).hex()), pae(e["payloadType"], base64.b64decode(e["payload"])))
    try:
        bad = base64.b64decode(e["payload"]) + b" "
        key.verify_signature(Signature(s["keyid"], base64.b64decode(s["sig"]).hex()), pae(e["payloadType"], bad))
        print("tampered payload verified", path); sys.exit(3)
    except Exception:
        pass
print("ok")
`;
    const r = spawnSync(
      python,
      ['-c', script, raw, join(dir, SNAPS, '000001.intoto.json'), join(dir, '.artifacts/channels/prod/000002.intoto.json')],
      {
        encoding: 'utf8',
      },
    );
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, 'ok', '']);
  });
});

describe('subjects', () => {
  test('every artifact of the snapshot, with the SHA-256 sha256sum gives; attest verify --subject refuses a changed file and a path not attested', async () => {
    const dir = await attested();
    const snap = JSON.parse(readFileSync(join(dir, SNAPS, '000002.json'), 'utf8')) as { artifacts: Array<{ path: string }> };
    const st = statementOf(envelopeOf(join(dir, SNAPS, '000002.intoto.json')));
    expect(st.subject.map((s) => s.name).sort()).toEqual(snap.artifacts.map((a) => a.path).sort());
    for (const s of st.subject) {
      const sum = execFileSync('sha256sum', [join(dir, s.name)], { encoding: 'utf8' }).split(' ')[0];
      expect([s.name, s.digest.sha256]).toEqual([s.name, sum]);
    }
    const att = `${SNAPS}/000002.intoto.json`;
    const paths = st.subject.map((s) => s.name);
    const ok = run(dir, ['--json', 'attest', 'verify', att, ...paths.flatMap((p) => ['--subject', p])]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // Files pulled into another directory are matched by their trailing path.
    const out = testdir();
    for (const p of paths) cpSync(join(dir, p), join(out, p));
    expect(run(dir, ['attest', 'verify', att, '--subject', join(out, paths[0]!)]).code).toBe(0);
    // Not a subject.
    const notSubject = run(dir, ['--json', 'attest', 'verify', att, '--subject', 'README.md']);
    expect(notSubject.code).toBe(4);
    expect(notSubject.stdout).toContain('ATTESTATION_SUBJECT');
    // Changed.
    writeFileSync(join(dir, paths[0]!), `${readFileSync(join(dir, paths[0]!), 'utf8')}\nchanged\n`);
    const changed = run(dir, ['--json', 'attest', 'verify', att, '--subject', paths[0]!]);
    expect(changed.code).toBe(4);
    expect(changed.stdout).toContain('ATTESTATION_SUBJECT');
  });

  test('under digest_algorithm: blake3 each subject has its BLAKE3 (as b3sum gives, when installed) and its SHA-256', async () => {
    const dir = blake3Promoted(keyDir);
    const st = statementOf(envelopeOf(join(dir, SNAPS, '000001.intoto.json')));
    const b3 = spawnSync('b3sum', ['--version']).status === 0;
    for (const s of st.subject) {
      expect(s.digest.sha256).toBe(execFileSync('sha256sum', [join(dir, s.name)], { encoding: 'utf8' }).split(' ')[0]);
      expect(s.digest.blake3).toMatch(/^[0-9a-f]{64}$/);
      if (b3) expect(s.digest.blake3).toBe(execFileSync('b3sum', [join(dir, s.name)], { encoding: 'utf8' }).split(' ')[0]);
    }
  });
});

describe('determinism', () => {
  test('the same snapshot gives byte-identical envelopes across runs, clones and a backfill', async () => {
    const origin = twoPromotionsCopy(keyDir);
    commitAt(origin, '2026-03-02T11:00:00Z', 'snapshots');
    const clones = ['a', 'b/c'].map((n) => {
      const d = join(testdir(), n);
      git(testdir(), 'clone', '-q', origin, d);
      return d;
    });
    const promote = (d: string) =>
      run(d, ['promote', '--framework', 'fwk-001', '--stage', 'design-review', '--at', '2026-03-04T10:00:00Z', '--allow-dirty'], env());
    const bytes: Buffer[] = [];
    for (const d of clones) {
      expect(promote(d).code).toBe(0);
      bytes.push(readFileSync(join(d, SNAPS, '000003.intoto.json')));
    }
    expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
    expect(readFileSync(join(clones[0]!, SNAPS, '000003.json')).equals(readFileSync(join(clones[1]!, SNAPS, '000003.json')))).toBe(true);
    // Removed and written again by a backfill (after the snapshot was committed): the same bytes.
    commitAt(clones[0]!, '2026-03-04T11:00:00Z', 'snapshot 3');
    for (const seq of ['000001', '000002', '000003']) {
      const f = join(clones[0]!, SNAPS, `${seq}.intoto.json`);
      const before = readFileSync(f);
      rmSync(f);
      expect(run(clones[0]!, ['attest', 'backfill'], env()).code).toBe(0);
      expect([seq, readFileSync(f).equals(before)]).toEqual([seq, true]);
    }
  });
});

describe('tampering', () => {
  test('a changed payload, signature, payloadType or keyid: exit 4; a signer outside the trust root: KEY_NOT_TRUSTED', async () => {
    const dir = await attested();
    const file = join(dir, SNAPS, '000001.intoto.json');
    const good = envelopeOf(file);
    const st = statementOf(good);
    const otherSig = envelopeOf(join(dir, SNAPS, '000002.intoto.json')).signatures[0]!.sig;
    const cases: Record<string, Envelope> = {
      payload: { ...good, payload: Buffer.from(JSON.stringify({ ...st, subject: [] })).toString('base64') },
      'payload (one byte)': {
        ...good,
        payload: Buffer.from(`${Buffer.from(good.payload, 'base64').toString('utf8')} `).toString('base64'),
      },
      signature: { ...good, signatures: [{ ...good.signatures[0]!, sig: otherSig }] },
      payloadType: { ...good, payloadType: 'application/json' },
      keyid: { ...good, signatures: [{ ...good.signatures[0]!, keyid: 'f'.repeat(64) }] },
      'not base64': { ...good, payload: `${good.payload.slice(0, -4)}!!!!` },
    };
    for (const [name, e] of Object.entries(cases)) {
      const f = join(testdir(), 'x.intoto.json');
      writeFileSync(f, JSON.stringify(e));
      const r = run(dir, ['--json', 'attest', 'verify', f]);
      expect([name, r.code]).toEqual([name, 4]);
      expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(false);
    }
    // Signed correctly, by a key the trust chain does not know.
    const untrusted = testdir();
    cpSync(join(dir), untrusted, { recursive: true });
    // The same envelope judged by a repository whose trust chain is another key's.
    rmSync(join(untrusted, '.artifacts/keys'), { recursive: true });
    expect(run(untrusted, ['keys', 'trust', join(keyDir, 'stranger.pub'), '--key', join(keyDir, 'stranger.key')]).code).toBe(0);
    const r = run(untrusted, ['--json', 'attest', 'verify', file]);
    expect(r.code).toBe(4);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('KEY_NOT_TRUSTED');
    // In place, a tampered attestation fails snapshot verify and channel verify.
    writeFileSync(file, JSON.stringify(cases.payload));
    expect(run(dir, ['snapshot', 'verify', '--all']).code).toBe(4);
    const ch = join(dir, '.artifacts/channels/prod/000002.intoto.json');
    writeFileSync(ch, readFileSync(join(dir, '.artifacts/channels/prod/000001.intoto.json')));
    const cv = run(dir, ['--json', 'channel', 'verify', 'prod']);
    expect(cv.code).toBe(4);
    expect(cv.stdout).toContain('ATTESTATION_INVALID');
  });
});

describe('existing chains', () => {
  test('snapshot verify --all warns of a record without an attestation; attest backfill writes them (dry run first), only for chains that verify', async () => {
    const dir = await attested();
    // (Snapshot 1 and its attestation were committed; the others never were.)
    const removed = [join(dir, SNAPS, '000002.intoto.json'), join(dir, '.artifacts/channels/prod/000001.intoto.json')];
    for (const f of removed) rmSync(f);
    const v = run(dir, ['--json', 'snapshot', 'verify', '--all']);
    expect(v.code, v.stdout).toBe(0);
    const warnings = (JSON.parse(v.stdout) as { findings: Array<{ code: string; severity: string }> }).findings.filter(
      (f) => f.code === 'ATTESTATION_MISSING',
    );
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w.severity === 'warning')).toBe(true);
    const dry = run(dir, ['--json', 'attest', 'backfill', '--dry-run'], env());
    expect((JSON.parse(dry.stdout) as { written: string[] }).written).toHaveLength(2);
    expect(removed.some((f) => existsSync(f))).toBe(false);
    // A key the trust chain does not trust writes nothing.
    expect(run(dir, ['attest', 'backfill', '--key', join(keyDir, 'stranger.key')]).code).toBe(4);
    expect(run(dir, ['attest', 'backfill'], env()).code).toBe(0);
    expect(removed.every((f) => existsSync(f))).toBe(true);
    const again = run(dir, ['--json', 'snapshot', 'verify', '--all']);
    expect(again.stdout).not.toContain('ATTESTATION_MISSING');
    // One that was committed and is gone is not "missing": it was removed (exit 4).
    const committed = join(dir, SNAPS, '000001.intoto.json');
    const saved = readFileSync(committed);
    rmSync(committed);
    const gone = run(dir, ['--json', 'snapshot', 'verify', '--all']);
    expect(gone.code).toBe(4);
    expect(gone.stdout).toContain('ATTESTATION_INVALID');
    writeFileSync(committed, saved);
    // A chain that does not verify is not attested.
    rmSync(join(dir, SNAPS, '000002.intoto.json'));
    writeFileSync(join(dir, SNAPS, '000002.sig'), readFileSync(join(dir, SNAPS, '000001.sig')));
    const skippedRun = run(dir, ['--json', 'attest', 'backfill'], env());
    expect(skippedRun.code).toBe(4);
    const skipped = JSON.parse(skippedRun.stdout) as {
      written: string[];
      skipped: Array<{ chain: string }>;
    };
    expect(skipped.written).not.toContain(`${SNAPS}/000002.intoto.json`);
    expect(skipped.skipped.map((s) => s.chain)).toContain('fwk-001/design-review');
  });
});

describe('schemas', () => {
  test('statements validate against in-toto Statement v1, and their predicates against SLSA Provenance v1 or the deployment predicate', async () => {
    const dir = await attested();
    const schemas = join(__dirname, '../../fixtures/schemas');
    const ajv = new Ajv2020.default({ allErrors: true, strict: false });
    for (const f of readdirSync(schemas)) ajv.addSchema(JSON.parse(readFileSync(join(schemas, f), 'utf8')) as object, f);
    const statement = ajv.getSchema('in-toto-statement-v1.schema.json')!;
    const provenance = ajv.getSchema('slsa-provenance-v1.schema.json')!;
    const deployment = ajv.getSchema('deployment-v1.schema.json')!;
    const files = [
      ...readdirSync(join(dir, SNAPS))
        .filter((f) => f.endsWith('.intoto.json'))
        .map((f) => join(dir, SNAPS, f)),
      ...readdirSync(join(dir, '.artifacts/channels/prod'))
        .filter((f) => f.endsWith('.intoto.json'))
        .map((f) => join(dir, '.artifacts/channels/prod', f)),
    ];
    expect(files.length).toBe(4);
    for (const f of files) {
      const st = statementOf(envelopeOf(f));
      expect([f, statement(st), statement.errors]).toEqual([f, true, null]);
      const predicate = st.predicateType === 'https://slsa.dev/provenance/v1' ? provenance : deployment;
      expect([f, predicate(st.predicate), predicate.errors]).toEqual([f, true, null]);
    }
    // The schemas are not vacuous: a statement without digests, or a predicate without a builder, fails.
    const st = statementOf(envelopeOf(files[0]!));
    expect(statement({ ...st, subject: [{ name: 'x' }] })).toBe(false);
    expect(provenance({ ...st.predicate, runDetails: {} })).toBe(false);
  });
});

describe('append-only', () => {
  test('validate --base refuses a change that modifies or deletes an attestation', async () => {
    const dir = await attested();
    commitAt(dir, '2026-03-03T11:00:00Z', 'records');
    const att = join(dir, SNAPS, '000001.intoto.json');
    writeFileSync(att, readFileSync(join(dir, SNAPS, '000002.intoto.json')));
    const r = run(dir, ['--json', 'validate', '--base', 'HEAD']);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('RECORD_NOT_APPEND_ONLY');
    git(dir, 'checkout', '--', '.');
    rmSync(join(dir, '.artifacts/channels/prod/000001.intoto.json'));
    expect(run(dir, ['--json', 'validate', '--base', 'HEAD']).stdout).toContain('RECORD_NOT_APPEND_ONLY');
  });
});
