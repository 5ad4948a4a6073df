import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { describe, expect, test } from 'vitest';
import { verifyStrict } from '../../src/core/snapshots/ed25519.js';
import { FIXTURES } from '../helpers.js';

interface Wycheproof {
  testGroups: Array<{
    publicKey: { pk: string };
    tests: Array<{ tcId: number; comment: string; msg: string; sig: string; result: 'valid' | 'invalid'; flags: string[] }>;
  }>;
}
const data = JSON.parse(readFileSync(join(FIXTURES, 'vectors/wycheproof/ed25519_test.json'), 'utf8')) as Wycheproof;
const cases = data.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

describe('Ed25519 strict verification (Wycheproof)', () => {
  test(`all ${cases.length} cases give the expected result`, () => {
    expect(cases).toHaveLength(151);
    const wrong = cases
      .filter((c) => verifyStrict(hex(c.msg), hex(c.sig), hex(c.pk)) !== (c.result === 'valid'))
      .map((c) => `${c.tcId} ${c.flags.join(',')} ${c.comment}`);
    expect(wrong).toEqual([]);
  });

  test('plain tweetnacl accepts invalid cases (malleable S >= L) that the strict check rejects', () => {
    const invalid = cases.filter((c) => c.result === 'invalid');
    const naclAccepts = invalid.filter((c) => {
      try {
        return nacl.sign.detached.verify(hex(c.msg), hex(c.sig), hex(c.pk));
      } catch {
        return false;
      }
    });
    // Without the added checks these would pass: 4 malleability cases and one small-order one.
    expect(naclAccepts.map((c) => c.tcId)).toEqual([63, 64, 65, 66, 85]);
    for (const c of naclAccepts) expect(verifyStrict(hex(c.msg), hex(c.sig), hex(c.pk))).toBe(false);
  });
});
