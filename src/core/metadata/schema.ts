// JSON Schema validation with ajv (draft 2020-12). Compiling is the expensive part, so
// validators are built lazily, once per process, and only when something must be validated.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finding, type Finding } from '../errors.js';
import { PACKAGE_SCHEMAS_DIR } from '../paths.js';
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

let ajvPromise: Promise<AjvLike> | undefined;
/** The pattern budget of the schema being compiled (compiling is synchronous). */
let patternBudget: { left: number } | undefined;

/** One shared ajv instance (2020-12, all errors, formats, strict schema checking). Its
 * `pattern`/`patternProperties` run on RE2 (linear time): per-kind schemas are repository
 * content. (The shipped schemas are compiled ahead of time with the default engine: they
 * are ours, and their few patterns have no nested quantifiers.) */
export function getAjv(): Promise<AjvLike> {
  ajvPromise ??= (async () => {
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
  return ajvPromise;
}

const compiled = new Map<string, Promise<ValidateFn>>();

/** Drop compiled per-kind schemas (their files may have changed). */
export function clearCompiledSchemas(): void {
  compiled.clear();
}

/** Compile (once) a user's schema stored in `file` (per-kind schemas). */
export function compileSchemaFile(file: string): Promise<ValidateFn> {
  let p = compiled.get(file);
  if (!p) {
    p = (async () => {
      const schema = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      // Per-kind schemas from users may reuse an $id; drop it so ajv never sees a clash.
      const { $id: _ignored, ...rest } = schema;
      const ajv = await getAjv();
      patternBudget = { left: SCHEMA_PATTERN_BUDGET };
      try {
        return ajv.compile(rest);
      } finally {
        patternBudget = undefined;
      }
    })();
    compiled.set(file, p);
  }
  return p;
}

export const BASE_SCHEMA_FILE = join(PACKAGE_SCHEMAS_DIR, 'framework-artifact.schema.json');
export const CONFIG_SCHEMA_FILE = join(PACKAGE_SCHEMAS_DIR, 'config.schema.json');

/** Validators for the shipped schemas, compiled ahead of time (scripts/gen-validators.mjs)
 * so that the common path never loads the ajv compiler. */
export async function getBaseValidator(): Promise<ValidateFn> {
  return (await import('../../generated/validators.js')).validateBase as unknown as ValidateFn;
}
export async function getContractValidator(): Promise<ValidateFn> {
  return (await import('../../generated/validators.js')).validateContract as unknown as ValidateFn;
}
export async function getConfigValidator(): Promise<ValidateFn> {
  return (await import('../../generated/validators.js')).validateConfig as unknown as ValidateFn;
}

const NAME_FIELDS = new Set(['/id', '/framework', '/kind']);

/** Turn ajv errors into findings with a JSON pointer and, through `locate`, a line. */
export function schemaFindings(
  errors: readonly AjvError[],
  opts: { path?: string | undefined; locate?: (pointer: string) => { line: number; column: number } | undefined; schemaName: string },
): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let pointer = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      pointer = `${pointer}/${String(e.params.missingProperty)}`;
      message = `required field "${String(e.params.missingProperty)}" is missing`;
    } else if (e.keyword === 'additionalProperties') {
      pointer = `${pointer}/${String(e.params.additionalProperty)}`;
      message = `field "${String(e.params.additionalProperty)}" is not allowed`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
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
      }),
    );
  }
  return out;
}
