// Split Markdown front matter from the body, on raw bytes, so that the body offset is exact
// (the `checksum` field covers the bytes after the closing `---` line). We do this by hand
// rather than with gray-matter: gray-matter works on decoded strings (no byte offsets),
// keeps an unbounded module-level cache, and evaluates `---js` front matter by default.
export const METADATA_LIMIT = 64 * 1024;

export type FrontMatter =
  | { kind: 'none' }
  | { kind: 'language'; language: string }
  | { kind: 'unterminated' }
  | { kind: 'too-large'; size: number }
  | { kind: 'ok'; text: Buffer; firstLine: number; bodyOffset: number };

const NL = 0x0a;

function lineAt(buf: Buffer, start: number): { text: string; next: number } {
  let end = buf.indexOf(NL, start);
  const next = end === -1 ? buf.length : end + 1;
  if (end === -1) end = buf.length;
  let s = buf.toString('latin1', start, end);
  if (s.endsWith('\r')) s = s.slice(0, -1);
  return { text: s, next };
}

/** Detect and split YAML front matter. `buf` may be just the head of a large file. */
export function splitFrontMatter(buf: Buffer, fileSize = buf.length): FrontMatter {
  let start = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
  const first = lineAt(buf, start);
  if (!first.text.startsWith('---')) return { kind: 'none' };
  const rest = first.text.slice(3);
  if (rest.startsWith('-')) return { kind: 'none' }; // a thematic break such as -----
  const language = rest.trim().toLowerCase();
  if (language !== '' && language !== 'yaml' && language !== 'yml') return { kind: 'language', language: rest.trim() };
  const metaStart = first.next;
  let pos = metaStart;
  while (pos < buf.length) {
    const l = lineAt(buf, pos);
    if (l.text.trimEnd() === '---') {
      const size = pos - metaStart;
      if (size > METADATA_LIMIT) return { kind: 'too-large', size };
      return { kind: 'ok', text: buf.subarray(metaStart, pos), firstLine: 2, bodyOffset: l.next };
    }
    pos = l.next;
    if (pos - metaStart > METADATA_LIMIT) return { kind: 'too-large', size: pos - metaStart };
  }
  return buf.length < fileSize ? { kind: 'too-large', size: buf.length - metaStart } : { kind: 'unterminated' };
}
