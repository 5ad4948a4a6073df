// JSON Schema validation with ajv (draft 2020-12). Compiling is the expensive part, so
// validators are built lazily, once per process (users' schemas once per repository), and
// only when something must be validated.
import { join } from 'node:path';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { PACKAGE_SCHEMAS_DIR, toRepoPath } from '../paths.js';
import { parseJsonQuiet, readChecked, READ_LIMITS } from '../store/checked-read.js';
import { linearEngine, SCHEMA_PATTERN_BUDGET } from './linear-regexp.js';

type ValidateFn = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}
interface AjvLike {
  compile(schema: unknown): ValidateFn;
}

/** The pattern budget of the schema being compiled (compiling is synchronous). */
let patternBudget: { left: number } | undefined;

/** A new ajv instance (2020-12, all errors, formats, strict schema checking). Its
 * `pattern`/`patternProperties` run on RE2 (linear time): per-kind schemas are repository
 * content. (The shipped schemas are compiled ahead of time with the default engine: they
 * are ours, and their few patterns have no nested quantifiers.) */
function createAjv(): Promise<AjvLike> {
  return (async () => {
    const [ajvMod, formatsMod, re2Mod] = await Promise.all([import('ajv/dist/2020.js'), import('ajv-formats'), import('re2js')]);
    const Ajv = ((ajvMod as { default?: unknown }).default ?? ajvMod) as new (o: object) => AjvLike;
    const addFormats = ((formatsMod as { default?: unknown }).default ?? formatsMod) as (a: AjvLike, f: string[]) => void;
    const ajv = new Ajv({
      allErrors: true,
      strict: false,
      validateFormats: true,
      // The library never prints: unknown formats and the like are ignored quietly.
      logger: false,
      code: { regExp: linearEngine(re2Mod.RE2JS, () => patternBudget) },
    });
    addFormats(ajv, ['date-time', 'date', 'uri']);
    return ajv;
  })();
}

/**
 * What one repository's per-kind schemas have cached: lookups, compiled validators and the
 * ajv instance they were compiled into (ajv registers every nested `$id` it compiles, so an
 * instance shared between repositories would let one repository's schema answer another's
 * `$ref`, or make it fail as a duplicate). Everything is keyed by the repository root and
 * dropped when the schemas' generation changes.
 */
export interface KindSchemaCache {
  root: string;
  generation: string | undefined;
  ajv?: Promise<AjvLike>;
  compiled: Map<string, Promise<ValidateFn>>;
  exists: Map<string, Promise<boolean>>;
}

/** Repositories whose schema caches are kept (a long-lived process may open many). */
const MAX_CACHED_REPOSITORIES = 16;
const kindCaches = new Map<string, KindSchemaCache>();

/** The per-kind schema cache of the repository at `root` for this generation of its
 * schemas (an undefined generation means nothing may be reused across calls). */
export function kindSchemaCache(root: string, generation: string | undefined): KindSchemaCache {
  let c = kindCaches.get(root);
  if (c && generation !== undefined && c.generation === generation) return c;
  c = { root, generation, compiled: new Map(), exists: new Map() };
  kindCaches.delete(root);
  kindCaches.set(root, c);
  if (kindCaches.size > MAX_CACHED_REPOSITORIES) kindCaches.delete(kindCaches.keys().next().value!);
  return c;
}

/** Compile (once per cache) a repository's per-kind schema stored in `file`. The file is
 * read under the checked-read rules; every problem is a KIND_SCHEMA_INVALID error whose
 * message never quotes the file. */
export function compileSchemaFile(cache: KindSchemaCache, file: string): Promise<ValidateFn> {
  let p = cache.compiled.get(file);
  if (!p) {
    p = (async () => {
      const bytes = (await readChecked(file, { root: cache.root, maxBytes: READ_LIMITS.config, code: 'KIND_SCHEMA_INVALID' }))!;
      const parsed = parseJsonQuiet(bytes.toString('utf8'));
      if (!parsed.ok) throw new ArtifactsError('KIND_SCHEMA_INVALID', `${toRepoPath(cache.root, file)} is not JSON (${parsed.error})`);
      const schema = parsed.value;
      if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
        throw new ArtifactsError('KIND_SCHEMA_INVALID', `${toRepoPath(cache.root, file)} is not a JSON Schema object`);
      }
      // Per-kind schemas from users may reuse an $id; drop it so ajv never sees a clash.
      const { $id: _ignored, ...rest } = schema as Record<string, unknown>;
      cache.ajv ??= createAjv();
      const ajv = await cache.ajv;
      patternBudget = { left: SCHEMA_PATTERN_BUDGET };
      try {
        return ajv.compile(rest);
      } finally {
        patternBudget = undefined;
      }
    })();
    cache.compiled.set(file, p);
  }
  return p;
}

export const BASE_SCHEMA_FILE = join(PACKAGE_SCHEMAS_DIR, 'framework-artifact.schema.json');

/** Validators for the shipped schemas, compiled ahead of time (scripts/gen-validators.mjs)
 * so that the common path never loads the ajv compiler. */
export async function getBaseValidator(): Promise<ValidateFn> {
  return (await import('../../generated/validators.js')).validateBase;
}
export async function getContractValidator(): Promise<ValidateFn> {
  return (await import('../../generated/validators.js')).validateContract;
}
export async function getConfigValidator(): Promise<ValidateFn> {
  return (await import('../../generated/validators.js')).validateConfig;
}

const NAME_FIELDS = new Set(['/id', '/framework', '/kind']);

/** What a missing required field of the base schema looks like, for the hint. */
const FIELD_EXAMPLES: Record<string, string> = {
  id: 'id: my-artifact',
  version: 'version: "1.0.0"',
  status: 'status: draft',
  framework: 'framework: fwk-001',
  kind: 'kind: plan',
  created_at: 'created_at: "2026-01-05T09:00:00Z"',
  updated_at: 'updated_at: "2026-01-05T09:00:00Z"',
};

/** Edit distance (Levenshtein), for "did you mean" suggestions on short names. */
export function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The allowed value closest to `given` (case-insensitive), when it is close enough to be a
 * typo: at most a third of its length, and at least one, edit away. */
export function closestValue(given: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const g = given.toLowerCase();
  for (const a of allowed) {
    const d = editDistance(g, a.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** The value at a JSON pointer in parsed metadata. */
function valueAt(data: unknown, pointer: string): unknown {
  let v = data;
  for (const seg of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    v = Object.prototype.hasOwnProperty.call(v, key) ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

function excerpt(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** Turn ajv errors into findings with a JSON pointer and, through `locate`, a line. */
export function schemaFindings(
  errors: readonly AjvError[],
  opts: {
    path?: string | undefined;
    locate?: (pointer: string) => { line: number; column: number } | undefined;
    schemaName: string;
    data?: unknown;
  },
): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let pointer = e.instancePath;
    let message = e.message ?? 'is invalid';
    let hint: string | undefined;
    if (e.keyword === 'required') {
      const field = String(e.params.missingProperty);
      pointer = `${pointer}/${field}`;
      message = `required field "${field}" is missing`;
      const example = e.instancePath === '' ? FIELD_EXAMPLES[field] : undefined;
      hint = `Add \`${example ?? `${field}: …`}\` to the metadata${e.instancePath === '' ? '' : ` at ${e.instancePath}`}.`;
      // A key present but misspelt (`statsu:`) is the likelier cause: name it.
      const here = opts.data === undefined ? undefined : valueAt(opts.data, e.instancePath);
      if (here !== null && typeof here === 'object' && !Array.isArray(here)) {
        const typo = Object.keys(here).find((k) => k !== field && !(k in FIELD_EXAMPLES) && closestValue(k, [field]) === field);
        if (typo !== undefined) {
          message += ` (is ${excerpt(typo)} a misspelling of "${field}"?)`;
          hint = `Rename ${excerpt(typo)} to \`${field}\`${example ? ` (\`${example}\`)` : ''}.`;
        }
      }
    } else if (e.keyword === 'additionalProperties') {
      pointer = `${pointer}/${String(e.params.additionalProperty)}`;
      message = `field ${excerpt(String(e.params.additionalProperty))} is not allowed`;
    } else if (e.keyword === 'enum') {
      const allowed = (e.params.allowedValues as unknown[]) ?? [];
      message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      const given = opts.data === undefined ? undefined : valueAt(opts.data, pointer);
      if (typeof given === 'string') {
        message = `${excerpt(given)} ${message}`;
        const near = closestValue(
          given,
          allowed.filter((v): v is string => typeof v === 'string'),
        );
        if (near !== undefined) {
          message += ` (did you mean "${near}"?)`;
          hint = `Did you mean \`${near}\`? Write ${pointer.slice(1) || 'the value'}: ${near}`;
        }
      }
    } else if (e.keyword === 'not' || e.keyword === 'pattern') {
      message = e.keyword === 'not' ? 'is a reserved or unsafe name' : `does not match ${String(e.params.pattern)}`;
    }
    const isName = NAME_FIELDS.has(pointer) && ['pattern', 'not', 'maxLength', 'minLength'].includes(e.keyword);
    const key = `${pointer}|${isName ? 'name' : e.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const loc = opts.locate?.(pointer);
    out.push(
      finding(isName ? 'INVALID_ID' : 'SCHEMA_VIOLATION', `${pointer || '/'} ${message} (${opts.schemaName})`, {
        ...(opts.path !== undefined ? { path: opts.path } : {}),
        ...(loc ?? {}),
        pointer,
        ...(hint !== undefined ? { hint } : {}),
      }),
    );
  }
  return out;
}
