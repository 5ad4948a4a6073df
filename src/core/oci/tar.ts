// A deterministic tar (ustar) of regular files, and a strict reader of one (SPEC §15,
// `--layout tar`): entries sorted by path, mode 0644, uid/gid 0, empty owner names, mtime 0,
// so the same files give the same bytes on every machine; a file name over 100 bytes goes
// into a pax `path` record. The reader takes only regular files (no links, devices or
// directories as entries), each perhaps after a pax header holding its path; the caller
// checks every path with the path rules.
const BLOCK = 512;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** Split a path into ustar's prefix (155) and name (100), or undefined when it cannot be. */
function splitPath(path: string): { prefix: string; name: string } | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  return undefined;
}

/** One ustar header block. */
function ustarHeader(name: string, prefix: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'binary');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A pax record `"<len> path=<path>\n"`, its length counting its own digits. */
function paxPathRecord(path: string): Buffer {
  const body = ` path=${path}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

/** The header of a regular file: one ustar block, preceded by a pax header holding the path
 * when ustar's name and prefix fields cannot (a file name over 100 bytes). */
export function tarHeader(path: string, size: number): Buffer {
  const parts = splitPath(path);
  if (parts) return ustarHeader(parts.name, parts.prefix, size, '0');
  const record = paxPathRecord(path);
  return Buffer.concat([
    ustarHeader('PaxHeader', '', record.length, 'x'),
    record,
    tarPadding(record.length),
    ustarHeader('PaxPath', '', size, '0'),
  ]);
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

export const TAR_END = Buffer.alloc(BLOCK * 2);

export interface TarEntry {
  path: string;
  size: number;
}

/**
 * Read a tar stream strictly: for each regular file, `onFile(path, size)` returns a sink for
 * its bytes. A pax header may give the next file's path (and nothing else). Anything else (a
 * link, a device, a directory, another pax key, a GNU extension, a bad checksum) is refused
 * with `fail`; the caller checks each path.
 */
export async function readTar(
  chunks: AsyncIterable<Uint8Array>,
  onFile: (path: string, size: number) => Promise<{ write(b: Uint8Array): Promise<void>; end(): Promise<void> }>,
  fail: (why: string) => Error,
): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let buf = Buffer.alloc(0);
  let state: { left: number; pad: number; sink?: { write(b: Uint8Array): Promise<void>; end(): Promise<void> } } | undefined;
  let zeros = 0;
  let paxPath: string | undefined;
  for await (const c of chunks) {
    buf = buf.length ? Buffer.concat([buf, c]) : Buffer.from(c);
    for (;;) {
      if (state) {
        if (state.left > 0) {
          if (buf.length === 0) break;
          const n = Math.min(state.left, buf.length);
          await state.sink!.write(buf.subarray(0, n));
          state.left -= n;
          buf = buf.subarray(n);
          if (state.left > 0) break;
          await state.sink!.end();
        }
        if (buf.length < state.pad) break;
        buf = buf.subarray(state.pad);
        state = undefined;
        continue;
      }
      if (buf.length < BLOCK) break;
      const h = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      if (h.every((b) => b === 0)) {
        zeros++;
        continue;
      }
      if (zeros > 0) throw fail('the tar has data after its end');
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
      const stored = parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]+$/, ''), 8);
      if (stored !== sum) throw fail('a tar header has a bad checksum');
      const type = String.fromCharCode(h[156]!);
      if (type !== '0' && type !== '\0' && type !== 'x')
        throw fail(`the tar holds an entry of type ${JSON.stringify(type)}: only regular files are taken`);
      const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      const prefix = h.toString('utf8', 345, 500).replace(/\0.*$/s, '');
      const sizeText = h.toString('ascii', 124, 136).replace(/[\0 ]+$/, '');
      if (!/^[0-7]{1,11}$/.test(sizeText)) throw fail('a tar header has a size that is not octal');
      const size = parseInt(sizeText, 8);
      if (type === 'x') {
        // A pax header: only a path, for the next entry (read whole, it is small).
        if (paxPath !== undefined) throw fail('the tar has two pax headers in a row');
        if (size > 8192) throw fail('the tar has a pax header larger than a path needs');
        const records: Buffer[] = [];
        state = {
          left: size,
          pad: (BLOCK - (size % BLOCK)) % BLOCK,
          sink: {
            write: async (b) => void records.push(Buffer.from(b)),
            end: async () => void (paxPath = parsePaxPath(Buffer.concat(records), fail)),
          },
        };
        if (size === 0) throw fail('the tar has an empty pax header');
        continue;
      }
      const path = paxPath ?? (prefix ? `${prefix}/${name}` : name);
      paxPath = undefined;
      entries.push({ path, size });
      const sink = await onFile(path, size);
      state = { left: size, pad: (BLOCK - (size % BLOCK)) % BLOCK, sink };
      if (size === 0) await sink.end();
    }
  }
  if (state) throw fail('the tar ends inside an entry');
  if (paxPath !== undefined) throw fail('the tar ends after a pax header');
  return entries;
}

/** The path of a pax header that holds exactly one record, `path`. */
function parsePaxPath(bytes: Buffer, fail: (why: string) => Error): string {
  const m = /^([1-9][0-9]{0,4}) path=/.exec(bytes.toString('latin1', 0, 12));
  const len = m ? Number(m[1]) : 0;
  if (!m || len !== bytes.length || bytes[len - 1] !== 0x0a) throw fail('the tar has a pax header that is not one path record');
  const path = bytes.subarray(m[0].length, len - 1).toString('utf8');
  if (Buffer.byteLength(path) !== len - 1 - m[0].length || path.includes('\0')) throw fail('the tar has a pax path that is not UTF-8');
  return path;
}
