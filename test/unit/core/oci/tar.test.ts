// The deterministic tar of `--layout tar`: long names go into a pax path record, which GNU tar
// reads; the strict reader takes that record and nothing else a pax header could say.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readTar, TAR_END, tarHeader, tarPadding } from '../../../../src/core/oci/tar.js';

function tarOf(files: Array<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [path, bytes] of files) parts.push(tarHeader(path, bytes.length), bytes, tarPadding(bytes.length));
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

async function read(tar: Buffer): Promise<Map<string, Buffer>> {
  const got = new Map<string, Buffer>();
  async function* once(): AsyncIterable<Uint8Array> {
    // (In odd-sized pieces, as a gunzip stream gives them.)
    for (let i = 0; i < tar.length; i += 777) yield tar.subarray(i, i + 777);
  }
  await readTar(
    once(),
    async (path) => {
      const chunks: Buffer[] = [];
      return { write: async (b) => void chunks.push(Buffer.from(b)), end: async () => void got.set(path, Buffer.concat(chunks)) };
    },
    (why) => new Error(why),
  );
  return got;
}

const LONG = `docs/plans/fwk-001/${'m'.repeat(128)}.md`;
const WIDE = `content/${'é'.repeat(60)}.md`; // 63 characters, 123 bytes
const DEEP = `${'d'.repeat(150)}/${'n'.repeat(90)}.md`; // fits ustar's prefix and name

describe('tar with long names', () => {
  test('a file name over 100 bytes round-trips through the reader and GNU tar lists and extracts it', async () => {
    const files: Array<[string, Buffer]> = [
      [DEEP, Buffer.from('deep\n')],
      [LONG, Buffer.from('long\n')],
      [WIDE, Buffer.from('wide\n')],
      ['short.md', Buffer.alloc(0)],
    ];
    const tar = tarOf(files);
    expect(tarOf(files).equals(tar)).toBe(true);
    const got = await read(tar);
    expect([...got.keys()]).toEqual(files.map((f) => f[0]));
    for (const [p, b] of files) expect(got.get(p)!.equals(b)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'tar-'));
    writeFileSync(join(dir, 'x.tar'), tar);
    expect(
      execFileSync('tar', ['-tf', join(dir, 'x.tar')], { encoding: 'utf8' })
        .trim()
        .split('\n'),
    ).toEqual(files.map((f) => f[0]));
    execFileSync('tar', ['-xf', join(dir, 'x.tar'), '-C', dir]);
    expect(readFileSync(join(dir, LONG), 'utf8')).toBe('long\n');
  });

  test('a pax header that says anything but one path, or two in a row, or one at the end, is refused', async () => {
    const pax = (body: string) => {
      const h = tarHeader(LONG, 1); // pax header + record + padding + ustar header
      const record = Buffer.from(body, 'utf8');
      const header = Buffer.from(h.subarray(0, 512));
      header.write(`${record.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of header) sum += b;
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
      return Buffer.concat([header, record, tarPadding(record.length)]);
    };
    const file = Buffer.concat([tarHeader('a.md', 1), Buffer.from('x'), tarPadding(1)]);
    const cases: Array<[string, Buffer]> = [
      ['a linkpath', Buffer.concat([pax('19 linkpath=/etc/x\n'), file, TAR_END])],
      ['two records', Buffer.concat([pax('12 path=a.md\n16 path=b/../c.md\n'), file, TAR_END])],
      ['a wrong length', Buffer.concat([pax('99 path=a.md\n'), file, TAR_END])],
      ['two in a row', Buffer.concat([pax('13 path=ab.md\n'), pax('13 path=ab.md\n'), file, TAR_END])],
      ['one at the end', Buffer.concat([file, pax('13 path=ab.md\n'), TAR_END])],
    ];
    for (const [what, tar] of cases) await expect(read(tar), what).rejects.toThrow(/pax/);
  });
});
