import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@noble/hashes/blake3';
import { bytesToHex } from '@noble/hashes/utils';
import { describe, expect, test } from 'vitest';
import { digestBytes, digestFile } from '../../src/core/hash/digest.js';
import { FIXTURES, plan, repoWith, run, testdir } from '../helpers.js';

interface Blake3Vectors {
  cases: Array<{ input_len: number; hash: string }>;
}
const vectors = JSON.parse(readFileSync(join(FIXTURES, 'vectors/blake3/test_vectors.json'), 'utf8')) as Blake3Vectors;

function vectorInput(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = i % 251;
  return b;
}

const hasB3sum = spawnSync('b3sum', ['--version']).status === 0;

describe('digests', () => {
  test(`official BLAKE3 vectors (${vectors.cases.length} cases), in memory and streamed from a file`, async () => {
    const dir = testdir();
    for (const c of vectors.cases) {
      const input = vectorInput(c.input_len);
      const expected = `blake3:${c.hash.slice(0, 64)}`;
      expect(await digestBytes('blake3', input)).toBe(expected);
      const f = join(dir, `v${c.input_len}`);
      writeFileSync(f, input);
      expect((await digestFile('blake3', f)).address).toBe(expected);
    }
  });

  test('SHA-256 of files equals sha256sum, across the 1 MiB chunk boundary', async () => {
    const dir = testdir();
    for (const size of [0, 1, 1023, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17]) {
      const f = join(dir, `f${size}`);
      writeFileSync(f, randomBytes(size));
      const ref = execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];
      const got = await digestFile('sha256', f);
      expect(got.address).toBe(`sha256:${ref}`);
      expect(got.size).toBe(size);
    }
  });

  test('BLAKE3 of files equals an independent implementation (@noble/hashes) and b3sum where installed', async () => {
    if (!hasB3sum) console.warn('b3sum is not installed: comparing against @noble/hashes only (apt-get install b3sum for the CLI check)');
    const dir = testdir();
    for (const size of [0, 1, 1024, 1025, (1 << 20) + 5, 2 * (1 << 20)]) {
      const data = randomBytes(size);
      const f = join(dir, `f${size}`);
      writeFileSync(f, data);
      const got = (await digestFile('blake3', f)).address;
      expect(got).toBe(`blake3:${bytesToHex(blake3(data))}`);
      if (hasB3sum) expect(got).toBe(`blake3:${execFileSync('b3sum', ['--no-names', f], { encoding: 'utf8' }).trim()}`);
    }
  });

  test('content addresses in the index equal sha256sum, and b3sum under digest_algorithm: blake3', () => {
    for (const algo of ['sha256', 'blake3'] as const) {
      const dir = repoWith({
        'docs/plans/fwk-001/a.md': plan('a'),
        'models/m/1.0.0/m.bin': randomBytes(5000),
        'models/m/1.0.0/m.bin.artifact.yaml': 'id: m\nversion: "1.0.0"\nstatus: draft\nframework: fwk-001\nkind: model\n',
      });
      writeFileSync(join(dir, 'artifacts.config.yaml'), `digest_algorithm: ${algo}\n`);
      const r = run(dir, ['index', 'rebuild']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const doc = JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')) as {
        digest_algorithm: string;
        artifacts: Array<{ path: string; content_address: string; size: number }>;
      };
      expect(doc.digest_algorithm).toBe(algo);
      expect(doc.artifacts).toHaveLength(2);
      for (const e of doc.artifacts) {
        const bytes = readFileSync(join(dir, e.path));
        const ref =
          algo === 'sha256'
            ? execFileSync('sha256sum', [join(dir, e.path)], { encoding: 'utf8' }).split(' ')[0]
            : bytesToHex(blake3(bytes));
        expect(e.content_address).toBe(`${algo}:${ref}`);
        expect(e.size).toBe(bytes.length);
        if (algo === 'blake3' && hasB3sum)
          expect(e.content_address).toBe(`blake3:${execFileSync('b3sum', ['--no-names', join(dir, e.path)], { encoding: 'utf8' }).trim()}`);
      }
    }
  });
});
