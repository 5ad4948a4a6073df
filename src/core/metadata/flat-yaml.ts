// The common shape of artifact front matter, read without the YAML library: one `key: value`
// per line, values that are quoted strings without escapes, plain names, small integers or a
// one-line list of those. Anything else (nesting, comments, escapes, non-ASCII text, numbers
// that are not small integers, keywords, duplicate keys, tabs, CR) is left to the full parser,
// so that on every text this reader accepts it returns exactly what the full parser returns
// (value, positions and source excerpts; a differential property test holds it to that). The
// full parser costs about 80 µs a document and most of a cold `index rebuild`.
import type { SafeYamlResult } from './safe-yaml.js';

/** A key: a name starting with a letter (never a YAML keyword, never a forbidden key). */
const KEY = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;
/** A plain scalar that the core schema reads as a string: it starts with a letter or `_`,
 * holds no indicator or space, and is no keyword (checked separately). */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_./@+-]*$/;
const INT = /^(?:0|[1-9][0-9]{0,14})$/;
/** Printable ASCII without the closing quote or a backslash. */
const DQ = /^"[\x20\x21\x23-\x5b\x5d-\x7e]*"$/;
const SQ = /^'[\x20-\x26\x28-\x7e]*'$/;
const KEYWORDS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL']);
const NOT_DATA = new Set(['constructor', 'prototype']);

interface Node {
  start: number;
  end: number;
}
interface Scalar extends Node {
  value: string | number;
}
interface Seq extends Node {
  items: Scalar[];
}

/** A scalar written at text[start, end), or undefined when it is not one of the simple forms. */
function scalar(src: string, start: number): Scalar | undefined {
  const c = src.charCodeAt(0);
  if (c === 0x22 /* " */) return DQ.test(src) ? { start, end: start + src.length, value: src.slice(1, -1) } : undefined;
  if (c === 0x27 /* ' */) return SQ.test(src) ? { start, end: start + src.length, value: src.slice(1, -1) } : undefined;
  if (INT.test(src)) return { start, end: start + src.length, value: Number(src) };
  if (PLAIN.test(src) && !KEYWORDS.has(src)) return { start, end: start + src.length, value: src };
  return undefined;
}

/** `[]`, `[a, b]` or `[a,b]` of simple scalars (no quoted item holds a comma). */
function sequence(src: string, start: number): Seq | undefined {
  if (src.length < 2 || src[src.length - 1] !== ']') return undefined;
  const items: Scalar[] = [];
  const inner = src.slice(1, -1);
  if (inner.length > 0) {
    let at = 1;
    for (const part of inner.split(',')) {
      const lead = part.startsWith(' ') && items.length > 0 ? 1 : 0;
      const s = scalar(part.slice(lead), start + at + lead);
      if (!s) return undefined;
      items.push(s);
      at += part.length + 1;
    }
  }
  return { start, end: start + src.length, items };
}

/**
 * Read `text` when it has the flat shape; undefined otherwise (the caller then parses it
 * with the YAML library). `lineOffset` as for parseSafeYaml.
 */
export function parseFlatYaml(text: string, lineOffset = 0): SafeYamlResult | undefined {
  // (Control characters, CR, tab, DEL, non-ASCII: the full parser decides.)
  if (!/^[\x20-\x7e\n]*$/.test(text)) return undefined;
  const value: Record<string, unknown> = {};
  const nodes = new Map<string, Scalar | Seq>();
  const lineStarts: number[] = [];
  let first = -1;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    lineStarts.push(pos);
    const line = text.slice(pos, nl);
    if (line.length > 0) {
      const colon = line.indexOf(':');
      if (colon <= 0) return undefined;
      const key = line.slice(0, colon);
      if (!KEY.test(key) || KEYWORDS.has(key) || NOT_DATA.has(key) || nodes.has(key)) return undefined;
      let v = colon + 1;
      while (line.charCodeAt(v) === 0x20) v++;
      if (v === colon + 1 || v === line.length) return undefined;
      const src = line.slice(v);
      const node = src.startsWith('[') ? sequence(src, pos + v) : scalar(src, pos + v);
      if (!node) return undefined;
      if (first < 0) first = pos;
      nodes.set(key, node);
      value[key] = 'items' in node ? node.items.map((s) => s.value) : node.value;
    }
    pos = nl + 1;
  }
  if (first < 0) return undefined;
  let mapEnd = 0;
  for (const n of nodes.values()) mapEnd = Math.max(mapEnd, n.end);
  const map: Node = { start: first, end: mapEnd };

  const nodeAt = (pointer: string): Node | undefined => {
    if (pointer === '' || pointer === '/') return map;
    const segs = pointer.split('/').slice(1);
    if (segs.length > 2) return undefined;
    const top = nodes.get(segs[0]!.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (!top || segs.length === 1) return top;
    if (!('items' in top)) return undefined;
    // (As the YAML library is asked for a sequence item: by Number() of the segment.)
    const i = Number(segs[1]);
    return Number.isInteger(i) && i >= 0 ? top.items[i] : undefined;
  };
  const lineCol = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid;
    }
    return { line: lo + 1 + lineOffset, column: offset - lineStarts[lo]! + 1 };
  };
  return {
    value,
    findings: [],
    locate(pointer) {
      let p = pointer;
      for (;;) {
        const n = nodeAt(p);
        if (n) return lineCol(n.start);
        if (p === '') return undefined;
        p = p.slice(0, p.lastIndexOf('/'));
      }
    },
    sourceOf(pointer) {
      const n = nodeAt(pointer);
      return n ? text.slice(n.start, n.end).trim() : undefined;
    },
  };
}
