// Safe YAML: YAML 1.2 core schema (timestamps stay strings), unique keys, no anchors or
// aliases (alias bombs), no custom tags, no prototype-polluting keys. JSON is a subset of
// YAML 1.2, so sidecar .json files go through here too and get duplicate-key checks.
import type { Document, Node } from 'yaml';
import { finding, type Finding } from '../errors.js';
import { parseFlatYaml } from './flat-yaml.js';

// `<<` is YAML 1.1's merge key: other readers merge the mapping it names into this one, so
// `<<: {id: x, ...}` would be an artifact to them and a plain key here. Refused.
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype', '<<']);

export interface SafeYamlResult {
  value: unknown;
  findings: Finding[];
  /** Map a JSON pointer into the source to a 1-based line/column (when known). */
  locate: (pointer: string) => { line: number; column: number } | undefined;
  /** The source text of the scalar at a pointer (e.g. `1.10` for version). */
  sourceOf(pointer: string): string | undefined;
}

export interface SafeYamlOptions {
  path?: string | undefined;
  /** Line number in the file of the first line of `text` (front matter starts on line 2). */
  lineOffset?: number;
}

/** Deepest accepted nesting of mappings and sequences (METADATA_TOO_DEEP beyond). */
export const MAX_METADATA_DEPTH = 64;

type LexerClass = typeof import('yaml').Lexer;

/**
 * Where nesting first exceeds {@link MAX_METADATA_DEPTH}, as a source offset, or undefined.
 * Runs before parsing, on the YAML lexer's tokens (one linear pass, no recursion): the
 * parser and the tree walks after it recurse once per level, so a deeply nested document
 * would otherwise get a verdict that depends on the stack size of the thread that reads
 * it. The count is conservative: block levels are tracked by the columns of `-`, `?` and
 * keys, flow levels by brackets, and a `key: value` pair inside a flow sequence (an
 * implicit one-pair mapping) counts its sequence twice.
 */
export function nestingTooDeepAt(text: string, Lexer: LexerClass, max = MAX_METADATA_DEPTH): number | undefined {
  // Every level the pass below counts is opened by a token starting with one of these
  // characters, so text with at most `max` of them cannot be too deep: most metadata is
  // settled by this one scan, without lexing.
  let indicators = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // [ { - : ?
    if (c === 0x5b || c === 0x7b || c === 0x2d || c === 0x3a || c === 0x3f) indicators++;
  }
  if (indicators <= max) return undefined;
  const block: Array<{ col: number; seq: boolean }> = [];
  const flow: Array<{ seq: boolean; weight: number }> = [];
  let flowWeight = 0;
  let offset = 0;
  let lineStart = 0;
  let lineFirst = true;
  let keyCol = -1;
  let scalarContent = false;
  const tooDeep = () => block.length + flowWeight > max;
  const open = (col: number, seq: boolean): boolean => {
    while (block.length > 0 && block[block.length - 1]!.col > col) block.pop();
    const top = block[block.length - 1];
    if (top && top.col === col) {
      if (top.seq === seq) return false; // a sibling entry
      if (top.seq) {
        // A key at the column of a sequence nested in a mapping value: the sequence ended.
        block.pop();
        const under = block[block.length - 1];
        if (under && under.col === col && !under.seq) return false;
      }
    }
    // A `-` at its mapping's column is a sequence nested in that mapping's value.
    block.push({ col, seq });
    return tooDeep();
  };
  for (const tok of new Lexer().lex(text)) {
    // Control tokens are not part of the source text.
    if (tok === '' || tok === '') continue;
    if (tok === '') {
      scalarContent = true;
      continue;
    }
    const start = offset;
    offset += tok.length;
    const col = start - lineStart;
    const nl = tok.lastIndexOf('\n');
    const wasFirst = lineFirst;
    if (nl >= 0) {
      lineStart = start + nl + 1;
      lineFirst = tok.slice(nl + 1).trim() === '';
      keyCol = -1;
    } else if (tok.trim() !== '') lineFirst = false;
    if (scalarContent) {
      // A plain scalar's or a block scalar's text (which may span lines): never structure.
      scalarContent = false;
      if (nl < 0 && keyCol < 0 && flow.length === 0) keyCol = col;
      continue;
    }
    const c = tok[0];
    if (flow.length === 0) {
      if ((c === '-' || c === '?') && tok.length === 1) {
        if (open(col, c === '-')) return start;
        keyCol = -1;
      } else if (c === ':' && tok.length === 1) {
        const at = wasFirst ? col : keyCol;
        if (at >= 0 && open(at, false)) return start;
        keyCol = -1;
      } else if (c === '[' || c === '{') {
        if (keyCol < 0) keyCol = col;
        flow.push({ seq: c === '[', weight: 1 });
        flowWeight++;
        if (tooDeep()) return start;
      } else if (c === '"' || c === "'" || c === '&' || c === '!' || c === '*') {
        if (keyCol < 0) keyCol = col;
      } else if (c === '-' && tok.startsWith('---')) {
        block.length = 0;
        keyCol = -1;
      }
      continue;
    }
    if (c === '[' || c === '{') {
      flow.push({ seq: c === '[', weight: 1 });
      flowWeight++;
      if (tooDeep()) return start;
    } else if (c === ']' || c === '}') {
      flowWeight -= flow.pop()!.weight;
    } else if ((c === ':' || c === '?') && tok.length === 1) {
      const top = flow[flow.length - 1]!;
      if (top.seq && top.weight === 1) {
        top.weight = 2;
        flowWeight++;
        if (tooDeep()) return start;
      }
    }
  }
  return undefined;
}

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** At most this many characters of repository content are quoted in a message. */
const EXCERPT = 40;

/** A short excerpt of repository text (unquoted). */
export function short(s: string): string {
  return s.length > EXCERPT ? `${s.slice(0, EXCERPT)}…` : s;
}

/** A short, quoted excerpt of repository text (a key, a value) for a message. */
export function quoteExcerpt(s: string): string {
  const short = s.length > EXCERPT ? `${s.slice(0, EXCERPT)}…` : s;
  return JSON.stringify(short);
}

/** A tag as it is written in YAML: the core schema's `tag:yaml.org,2002:str` is `!!str`. */
export function quoteTag(tag: string): string {
  const written = tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
  return written.length > EXCERPT ? `${written.slice(0, EXCERPT)}…` : written;
}

/** Where to report a parser error: for a second document, the `---` or `...` line that
 * started it (the parser points at the text after it). */
function yamlErrorOffset(text: string, code: string, offset: number): number {
  if (code !== 'MULTIPLE_DOCS') return offset;
  const m = /^(?:---|\.\.\.)(?=[ \t\r]|$)/m.exec(text);
  return m && m.index < offset ? m.index : offset;
}

/** A YAML parser error in the words of someone writing front matter: no advice about the
 * parser library's API, and the usual cause named. */
export function yamlProblemInUserTerms(text: string, code: string, libraryMessage: string, offset = 0): string {
  switch (code) {
    case 'MULTIPLE_DOCS':
      return text.startsWith('...', offset)
        ? 'a line "..." ends the metadata early: the lines after it are not read (remove the line, or indent or quote it)'
        : 'a second "---" line starts another YAML document inside the metadata: only one is allowed (remove the line, or indent or quote it)';
    case 'MULTILINE_IMPLICIT_KEY':
      return 'wrongly indented continuation line: a value that goes on over several lines must indent each further line (or be quoted)';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a plain value holds ": " or goes on over a wrongly indented line: quote the value, or indent continuation lines';
    case 'BAD_INDENT':
      return 'wrongly indented line: check the indentation of this line against its key';
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation: YAML indents with spaces only';
    case 'MISSING_CHAR':
      if (/quote/i.test(libraryMessage)) return 'a quoted value is never closed (missing closing quote)';
      if (/map values/i.test(libraryMessage))
        return 'a line is not "key: value" (a wrongly indented continuation line? indent it under its key, or quote the value)';
      break;
    case 'UNEXPECTED_TOKEN':
      return 'unexpected text: this line is not "key: value", a list item or a continuation';
    default:
      break;
  }
  // The library's first line, without any advice about its own API.
  const first = libraryMessage
    .split('\n')[0]!
    .replace(/;?\s*(?:please\s+)?use\s+YAML\.\w+\(\)\.?/gi, '')
    .trim();
  return first.length > 0 ? first : 'the YAML could not be read';
}

/** The yaml package, loaded on first use (it is the largest import). It is CommonJS, so
 * its dynamic import has module.exports as the default export, and in the bundled command
 * line nothing else. */
async function loadYaml(): Promise<typeof import('yaml')> {
  return (await import('yaml')).default;
}

/** Parse YAML safely: flat front matter by {@link parseFlatYaml}, the rest by the YAML
 * library ({@link parseYamlDocument}); both give the same result where the first applies. */
export async function parseSafeYaml(text: string, opts: SafeYamlOptions = {}): Promise<SafeYamlResult> {
  return parseFlatYaml(text, opts.lineOffset) ?? parseYamlDocument(text, opts);
}

/** Parse YAML safely with the YAML library. */
export async function parseYamlDocument(text: string, opts: SafeYamlOptions = {}): Promise<SafeYamlResult> {
  const { Lexer, LineCounter, parseDocument, visit, isMap, isSeq, isScalar } = await loadYaml();
  const lineOffset = opts.lineOffset ?? 0;
  // Depth is judged before the parser sees the text, so that the verdict is a pure function
  // of the bytes (not of the reading thread's stack size).
  const deepAt = nestingTooDeepAt(text, Lexer);
  if (deepAt !== undefined) {
    let line = 1;
    for (let i = text.indexOf('\n'); i !== -1 && i < deepAt; i = text.indexOf('\n', i + 1)) line++;
    const f = finding('METADATA_TOO_DEEP', `nested more than ${MAX_METADATA_DEPTH} levels deep (mappings and sequences)`, {
      ...(opts.path !== undefined ? { path: opts.path } : {}),
      line: line + lineOffset,
    });
    return { value: undefined, findings: [f], locate: () => undefined, sourceOf: () => undefined };
  }
  const lc = new LineCounter();
  const findings: Finding[] = [];
  const pos = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const p = lc.linePos(offset);
    return { line: p.line + lineOffset, column: p.col };
  };
  const at = (extra: { offset?: number | undefined; pointer?: string }) => ({
    ...(opts.path !== undefined ? { path: opts.path } : {}),
    ...pos(extra.offset),
    ...(extra.pointer !== undefined ? { pointer: extra.pointer } : {}),
  });

  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      schema: 'core',
      uniqueKeys: true,
      merge: false,
      strict: true,
      prettyErrors: false,
      lineCounter: lc,
    });
  } catch (e) {
    findings.push(finding('METADATA_PARSE', `YAML could not be parsed: ${(e as Error).message}`, at({})));
    return { value: undefined, findings, locate: () => undefined, sourceOf: () => undefined };
  }

  // Duplicate keys, by the offset of each repetition: the key's name and where it first
  // appeared, for the message.
  const repeats = new Map<number, { key: string; first: number }>();
  if (doc.errors.some((e) => e.code === 'DUPLICATE_KEY')) {
    visit(doc, {
      Map(_k, m) {
        const seen = new Map<string, number>();
        for (const p of m.items) {
          if (!isScalar(p.key) || p.key.range == null) continue;
          const name = String(p.key.value);
          const first = seen.get(name);
          if (first === undefined) seen.set(name, p.key.range[0]);
          else repeats.set(p.key.range[0], { key: name, first });
        }
      },
    });
  }
  const parseLines = new Set<number>();
  for (const err of doc.errors) {
    const code = err.code === 'DUPLICATE_KEY' ? 'METADATA_DUPLICATE_KEY' : 'METADATA_PARSE';
    const where = yamlErrorOffset(text, err.code, err.pos[0]);
    const line = pos(where).line;
    // One message per line: the parser often reports one cause twice (a wrongly indented
    // line is both a "block as implicit key" and a "multi-line implicit key").
    if (code === 'METADATA_PARSE' && line !== undefined) {
      if (parseLines.has(line)) continue;
      parseLines.add(line);
    }
    const dup = repeats.get(err.pos[0]);
    const message = dup
      ? `duplicate key ${quoteExcerpt(dup.key)} (first at line ${pos(dup.first).line ?? '?'})`
      : yamlProblemInUserTerms(text, err.code, err.message, where);
    findings.push(finding(code, message, at({ offset: where })));
  }
  // Walk the tree before converting it: aliases must never be expanded (alias bombs), and
  // tags and dangerous keys are reported with their position.
  visit(doc, {
    Alias(_k, n) {
      findings.push(finding('METADATA_ALIAS', `alias *${short(n.source)} is not allowed`, at({ offset: n.range?.[0] })));
    },
    Node(_k, n) {
      if (n.anchor) findings.push(finding('METADATA_ALIAS', `anchor &${short(n.anchor)} is not allowed`, at({ offset: n.range?.[0] })));
      if (n.tag) findings.push(finding('METADATA_TAG', `tag ${quoteTag(n.tag)} is not allowed`, at({ offset: n.range?.[0] })));
    },
    Pair(_k, p) {
      const key = isScalar(p.key) ? p.key.value : undefined;
      if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) {
        findings.push(
          finding('METADATA_FORBIDDEN_KEY', `key ${quoteExcerpt(key)} is not allowed`, at({ offset: (p.key as Node).range?.[0] })),
        );
      } else if (p.key !== null && !isScalar(p.key)) {
        findings.push(
          finding(
            'METADATA_PARSE',
            'a key that is a list or a mapping (a complex `? ` key) is not allowed: keys must be plain names',
            at({ offset: (p.key as Node).range?.[0] }),
          ),
        );
      }
    },
  });

  const nodeAt = (pointer: string): Node | undefined => {
    if (pointer === '' || pointer === '/') return doc.contents ?? undefined;
    const segs = pointer.split('/').slice(1).map(unescapePointer);
    let node: unknown = doc.contents;
    for (const s of segs) {
      if (isMap(node)) node = node.get(s, true);
      else if (isSeq(node)) node = node.get(Number(s), true);
      else return undefined;
    }
    return node as Node | undefined;
  };
  const locate = (pointer: string) => {
    let p = pointer;
    for (;;) {
      const n = nodeAt(p);
      if (n?.range) {
        const q = pos(n.range[0]);
        if (q.line !== undefined) return { line: q.line, column: q.column };
      }
      if (p === '') return undefined;
      p = p.slice(0, p.lastIndexOf('/'));
    }
  };
  const sourceOf = (pointer: string) => {
    const n = nodeAt(pointer);
    return n?.range ? text.slice(n.range[0], n.range[1]).trim() : undefined;
  };

  if (findings.length > 0) return { value: undefined, findings, locate, sourceOf };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    findings.push(finding('METADATA_PARSE', `YAML could not be converted: ${(e as Error).message}`, at({})));
  }
  return { value, findings, locate, sourceOf };
}
