// Regular expressions from repository content (per-kind schemas' `pattern` and
// `patternProperties`) run on RE2 (re2js): matching time is linear in the subject, so no
// pattern such as `^(a+)+$` can make validation hang. RE2 has no backreferences and no
// lookaround; such a pattern is refused when the schema is compiled.
//
// Linear is not free: the cost is (program size x subject length). Each pattern's compiled
// size is capped, and so is the sum over one schema, which bounds the work one file's
// metadata (itself capped in size) can cost.
import type { RE2JS as RE2JSClass } from 're2js';

/** Longest accepted pattern (characters). */
export const PATTERN_MAX_LENGTH = 4096;
/** Largest compiled program for one pattern (RE2 instructions). */
export const PATTERN_MAX_PROGRAM = 2000;
/** Largest sum of compiled programs over the patterns of one schema. */
export const SCHEMA_PATTERN_BUDGET = 20000;

export interface RegExpLike {
  test(s: string): boolean;
  toString(): string;
}

/** An engine for ajv's `code.regExp` option: `(pattern, flags) => { test }`. */
export type RegExpEngine = ((pattern: string, flags: string) => RegExpLike) & { code: string };

function excerpt(pattern: string): string {
  return JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}...` : pattern);
}

/**
 * An engine that compiles with RE2. `budget` (when given) is drawn down by each pattern's
 * program size; the caller sets it per schema. Errors carry a message fit for a finding.
 */
export function linearEngine(RE2JS: typeof RE2JSClass, budget: () => { left: number } | undefined): RegExpEngine {
  const engine = (pattern: string, flags: string): RegExpLike => {
    if (pattern.length > PATTERN_MAX_LENGTH) throw new Error(`pattern ${excerpt(pattern)} is longer than ${PATTERN_MAX_LENGTH} characters`);
    let re: RE2JSClass;
    try {
      // JSON Schema patterns are ECMA-262 syntax: translate the spellings RE2 writes
      // differently (\uXXXX, (?<name>...), [^]) before compiling.
      re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    } catch (e) {
      const why = (e as Error).message.replace(/^error parsing regexp: /, '');
      throw new Error(
        `pattern ${excerpt(pattern)} is not supported (${why}): patterns run on a linear-time engine (RE2 syntax), which has no backreferences or lookaround`,
        { cause: e },
      );
    }
    const size = re.programSize();
    if (size > PATTERN_MAX_PROGRAM)
      throw new Error(`pattern ${excerpt(pattern)} is too complex (${size} > ${PATTERN_MAX_PROGRAM} RE2 instructions)`);
    const b = budget();
    if (b) {
      b.left -= size;
      if (b.left < 0)
        throw new Error(`the schema's patterns are too complex together (more than ${SCHEMA_PATTERN_BUDGET} RE2 instructions)`);
    }
    // ajv keys compiled patterns by toString(): keep it distinct per pattern and flags.
    return { test: (s: string) => re.test(s), toString: () => `re2/${flags}/${pattern}` };
  };
  return Object.assign(engine, { code: 'linearRegExp' });
}
