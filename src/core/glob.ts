// Glob matching for the config's include/exclude patterns: `**` (any number of segments),
// `*` and `?` (within a segment), `{a,b}` alternatives (nestable). Patterns are matched
// against POSIX repository paths; a pattern without a slash matches a base name at any depth
// (like git); a leading `./` or `/` anchors the pattern at the repository root.
//
// The patterns come from the repository's config, so they are attacker input: no regular
// expression with backtracking is built from them. Braces are expanded (a bounded number of
// alternatives), each alternative is split into segments, a segment is matched with the
// classic two-pointer wildcard algorithm (O(segment pattern x path segment)), and `**` is
// handled by a set of states over the pattern's segments, so one match costs
// O(alternatives x pattern x path) in the worst case.
import { ArtifactsError } from './errors.js';

/** Longest accepted pattern (characters). */
export const GLOB_MAX_LENGTH = 1024;
/** Most alternatives one pattern may expand to through its braces. */
export const GLOB_MAX_ALTERNATIVES = 256;

/** `**` as a whole segment: any number of segments (one or more when it ends the pattern). */
const GLOBSTAR: unique symbol = Symbol('globstar');
type Segment = string | typeof GLOBSTAR;

interface CompiledGlob {
  /** Each alternative as segments; a string segment may hold `*` and `?`. */
  alternatives: Segment[][];
}

/** Most alternatives all the include and exclude patterns of a config may expand to. */
export const GLOB_MAX_TOTAL_ALTERNATIVES = 1024;

/** Why a pattern cannot be used (too long, too many alternatives, unbalanced braces). */
export function globProblem(pattern: string): string | undefined {
  try {
    compile(pattern);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** How many alternatives a usable pattern expands to (each is matched against every path). */
export function globAlternatives(pattern: string): number {
  return compiled(pattern).alternatives.length;
}

/** Expand `{a,b}` alternatives, nested ones too, refusing more than the bound. */
function expandBraces(p: string): string[] {
  // Parse into a tree of sequences and choices, then expand with a running count, so that
  // a pattern like `{a,b}{a,b}...` is refused before its alternatives are materialised.
  interface Seq {
    parts: Array<string | Seq[]>;
  }
  const root: Seq = { parts: [] };
  const open: Array<{ parent: Seq; branches: Seq[] }> = [];
  let cur = root;
  let lit = '';
  const flush = () => {
    if (lit) cur.parts.push(lit);
    lit = '';
  };
  for (const c of p) {
    if (c === '{') {
      flush();
      const branch: Seq = { parts: [] };
      open.push({ parent: cur, branches: [branch] });
      cur = branch;
    } else if (c === ',' && open.length > 0) {
      flush();
      cur = { parts: [] };
      open[open.length - 1]!.branches.push(cur);
    } else if (c === '}' && open.length > 0) {
      flush();
      const { parent, branches } = open.pop()!;
      parent.parts.push(branches);
      cur = parent;
    } else lit += c;
  }
  flush();
  if (open.length > 0) throw new Error('has a "{" that is never closed');
  const tooMany = () => new Error(`expands to more than ${GLOB_MAX_ALTERNATIVES} alternatives`);
  const expand = (seq: Seq): string[] => {
    let acc = [''];
    for (const part of seq.parts) {
      if (typeof part === 'string') {
        acc = acc.map((a) => a + part);
        continue;
      }
      const options: string[] = [];
      for (const branch of part) {
        options.push(...expand(branch));
        if (options.length > GLOB_MAX_ALTERNATIVES) throw tooMany();
      }
      if (acc.length * options.length > GLOB_MAX_ALTERNATIVES) throw tooMany();
      acc = acc.flatMap((a) => options.map((o) => a + o));
    }
    return acc;
  };
  return expand(root);
}

function compile(pattern: string): CompiledGlob {
  if (pattern.length > GLOB_MAX_LENGTH) throw new Error(`is longer than ${GLOB_MAX_LENGTH} characters`);
  // A leading `./` or `/` anchors the pattern at the root; otherwise a pattern without a
  // slash matches at any depth.
  const anchored = pattern.startsWith('./') || pattern.startsWith('/');
  const p = pattern.startsWith('./') ? pattern.slice(2) : pattern.startsWith('/') ? pattern.slice(1) : pattern;
  const anywhere = !anchored && !p.includes('/');
  const alternatives = expandBraces(p).map((alt): Segment[] => {
    const segs: Segment[] = alt.split('/').map((s): Segment => (s === '**' ? GLOBSTAR : s.replace(/\*+/g, '*')));
    return anywhere ? [GLOBSTAR, ...segs] : segs;
  });
  return { alternatives };
}

const cache = new Map<string, CompiledGlob>();
const CACHE_MAX = 1024;

function compiled(pattern: string): CompiledGlob {
  let c = cache.get(pattern);
  if (!c) {
    try {
      c = compile(pattern);
    } catch (e) {
      throw new ArtifactsError('CONFIG_INVALID', `include/exclude pattern ${JSON.stringify(pattern.slice(0, 80))} ${(e as Error).message}`);
    }
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(pattern, c);
  }
  return c;
}

/** Does one path segment match a segment pattern with `*` and `?`? Two pointers: on a
 * mismatch, resume just after the last `*`, one character further along the subject. */
export function matchSegment(pat: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    const c = pat[p];
    if (c === '*') {
      star = p++;
      mark = i;
    } else if (c !== undefined && (c === '?' || c === s[i])) {
      p++;
      i++;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else return false;
  }
  while (pat[p] === '*') p++;
  return p === pat.length;
}

const isLiteral = (seg: Segment): seg is string => seg !== GLOBSTAR && !seg.includes('*') && !seg.includes('?');

function matchSegments(segs: readonly Segment[], parts: readonly string[]): boolean {
  const n = segs.length;
  // Most patterns start with a plain directory name (`node_modules/**`): settle those at once.
  if (n > 0 && isLiteral(segs[0]!) && segs[0] !== parts[0]) return false;
  // states[k]: the first k pattern segments match the path segments consumed so far.
  let states = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  states[0] = 1;
  // A `**` that is not last may match no segment at all: skip over it for free.
  const close = (st: Uint8Array) => {
    for (let k = 0; k < n; k++) if (st[k] && segs[k] === GLOBSTAR && k < n - 1) st[k + 1] = 1;
  };
  close(states);
  for (const part of parts) {
    next.fill(0);
    let any = false;
    for (let k = 0; k < n; k++) {
      if (!states[k]) continue;
      const seg = segs[k]!;
      if (seg === GLOBSTAR) {
        // Consume this path segment and stay (more may follow), or finish the `**` here.
        next[k] = 1;
        next[k + 1] = 1;
        any = true;
      } else if (seg === part || (seg.length > 0 && (seg.includes('*') || seg.includes('?')) && matchSegment(seg, part))) {
        next[k + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(next);
    [states, next] = [next, states];
  }
  return states[n] === 1;
}

/** Does `path` (a POSIX repository path) match one of the globs? Throws CONFIG_INVALID for
 * a pattern that cannot be used (see {@link globProblem}). */
export function matchesAny(path: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  const parts = path.split('/');
  for (const p of patterns) if (compiled(p).alternatives.some((segs) => matchSegments(segs, parts))) return true;
  return false;
}
