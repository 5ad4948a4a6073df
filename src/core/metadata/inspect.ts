// Inspect one file: is it an artifact, is its metadata valid, what is its index entry.
import { isUtf8 } from 'node:buffer';
import { closeSync, readSync, realpathSync } from 'node:fs';
import { lstat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ErrorCode, finding, type Finding, isArtifactsError } from '../errors.js';
import { digestBytes, digestFile, digestHandle, parseAddress, type DigestAlgorithm } from '../hash/digest.js';
import { insideWorkTree, lstatQuiet } from '../paths.js';
import { METADATA_LIMIT, splitFrontMatter } from './front-matter.js';
import { parseSafeYaml, short, type SafeYamlResult } from './safe-yaml.js';
import { compileSchemaFile, getBaseValidator, kindSchemaCache, schemaFindings, type KindSchemaCache } from './schema.js';
import { kindOf, openChecked, openCheckedSync, readCheckedSync, readProblemOf } from '../store/checked-read.js';
import type { ArtifactStatus, IndexEntry } from '../index/entry.js';

export const MARKDOWN_EXTENSIONS = ['.md', '.mdc', '.markdown'];
export const SIDECAR_SUFFIXES = ['.artifact.yaml', '.artifact.json'];
export type { ArtifactStatus, IndexEntry } from '../index/entry.js';

export type Inspection =
  | { type: 'not-artifact' }
  | {
      type: 'artifact';
      entry: IndexEntry;
      findings: Finding[];
      /** With `withMeta`: the parsed metadata. */ meta?: Record<string, unknown>;
    }
  /** `foreign`: Markdown front matter that could not be read as metadata (broken or refused
   * YAML, not a mapping, another language) and does not name `id` or `kind` at its top
   * level: it may belong to another tool. Whether that is an error depends on where the
   * file lies (see scanFiles); the inspection itself is independent of that, so it can be
   * cached. */
  | { type: 'invalid'; findings: Finding[]; metadataPath: string; foreign?: true };

export interface InspectContext {
  root: string;
  algorithm: DigestAlgorithm;
  /** Absolute directory holding per-kind schemas (`kinds/<kind>.schema.json`). */
  schemasDir: string;
  /** Identifies the per-kind schemas' state (names, sizes, mtimes). Lookups and compiled
   * schemas are reused only within one generation, so that a long-lived process notices a
   * schema added or edited between scans; without it nothing is reused across calls. */
  schemaGeneration?: string | undefined;
}

/** Files larger than this are streamed instead of read whole. */
const READ_WHOLE_LIMIT = 8 * 1024 * 1024;

export function isMarkdownPath(p: string): boolean {
  const lower = p.toLowerCase();
  return MARKDOWN_EXTENSIONS.some((e) => lower.endsWith(e));
}

export function sidecarTarget(p: string): string | undefined {
  for (const s of SIDECAR_SUFFIXES) if (p.endsWith(s) && p.length > s.length) return p.slice(0, -s.length);
  return undefined;
}

function hasKindSchema(cache: KindSchemaCache, file: string): Promise<boolean> {
  let p = cache.exists.get(file);
  if (!p) {
    // lstat: a symlink, FIFO or directory in place of a schema is reported when it is read.
    p = lstat(file).then(
      () => true,
      () => false,
    );
    cache.exists.set(file, p);
  }
  return p;
}

/** Validate a parsed metadata object against the base schema and the kind's schema. */
export async function validateMetadata(
  ctx: InspectContext,
  meta: unknown,
  parsed: Pick<SafeYamlResult, 'locate' | 'sourceOf'>,
  path: string,
): Promise<Finding[]> {
  const out: Finding[] = [];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    return [finding('METADATA_NOT_MAPPING', 'metadata must be a mapping of fields', { path, line: parsed.locate('')?.line ?? 1 })];
  }
  const m = meta as Record<string, unknown>;
  if (typeof m.version === 'number') {
    // (A short excerpt: a number may be written with thousands of digits.)
    const written = parsed.sourceOf('/version') ?? String(m.version);
    const src = written.length > 40 ? `${written.slice(0, 40)}…` : written;
    out.push(
      finding('VERSION_NOT_STRING', `version ${src} is a number, not a string`, {
        path,
        ...(parsed.locate('/version') ?? {}),
        pointer: '/version',
        hint: `Quote it: version: "${src}" (unquoted, YAML reads ${src} as the number ${short(String(m.version))}).`,
      }),
    );
  }
  const base = await getBaseValidator();
  if (!base(m)) {
    const errs = (base.errors ?? []).filter((e) => !(out.length > 0 && e.instancePath === '/version'));
    out.push(...schemaFindings(errs, { path, locate: parsed.locate, schemaName: 'framework-artifact schema', data: m }));
  }
  if (typeof m.kind === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(m.kind)) {
    const file = join(ctx.schemasDir, 'kinds', `${m.kind}.schema.json`);
    const cache = kindSchemaCache(ctx.root, ctx.schemaGeneration);
    if (await hasKindSchema(cache, file)) {
      let validate;
      try {
        validate = await compileSchemaFile(cache, file);
      } catch (e) {
        out.push(finding('KIND_SCHEMA_INVALID', `schema for kind "${m.kind}" cannot be used: ${(e as Error).message}`, { path }));
      }
      if (validate) {
        let valid: boolean;
        try {
          valid = validate(m);
        } catch (e) {
          // A schema that refers to itself without consuming input (`{"$ref": "#"}`,
          // `not`/`if` around such a reference) recurses until the stack runs out, for any
          // metadata: that is a broken schema, reported as such (the same on every thread,
          // since metadata nesting is capped).
          out.push(
            finding(
              'KIND_SCHEMA_INVALID',
              `schema for kind "${m.kind}" cannot be used: validating with it failed (${e instanceof RangeError ? 'it recurses without end' : (e as Error).message})`,
              { path },
            ),
          );
          valid = true;
        }
        if (!valid)
          out.push(...schemaFindings(validate.errors ?? [], { path, locate: parsed.locate, schemaName: `${m.kind} schema`, data: m }));
      }
    }
  }
  return out;
}

/** An artifact or sidecar opened under the checked-read rules: its head (the whole file
 * when small) and, for a large file, the open handle its body is streamed from. */
interface Opened {
  data: Buffer;
  size: number;
  fh?: FileHandle | undefined;
}

/** The finding for a repository file the checked read refused. */
function readFinding(e: unknown, rel: string, tooLarge: ErrorCode = 'FILE_TOO_LARGE'): Finding {
  if (!isArtifactsError(e)) throw e;
  const problem = readProblemOf(e);
  const code: ErrorCode =
    problem === 'too-large'
      ? tooLarge
      : problem === 'timeout'
        ? 'READ_TIMEOUT'
        : problem === 'outside'
          ? 'SYMLINK_OUTSIDE_ROOT'
          : 'FILE_NOT_REGULAR';
  return finding(code, e.message, { path: rel });
}

/** Open `abs` (the file itself, or the in-repository target of a symlink) without
 * following a final symlink and without blocking; undefined when it vanished. */
async function openTarget(ctx: InspectContext, abs: string, rel: string): Promise<Opened | Finding | undefined> {
  // checkTarget has judged the directory (once per directory, memoised per scan).
  const opts = { root: ctx.root, maxBytes: Infinity, code: 'FILE_NOT_REGULAR' as const, label: rel, parentChecked: true };
  try {
    // Small files are read synchronously: for thousands of 4 KB files the promise machinery
    // of fs/promises costs more than the reads (scans run in worker threads anyway).
    const o = openCheckedSync(abs, opts);
    if (!o) return undefined;
    if (o.size <= READ_WHOLE_LIMIT) {
      try {
        const buf = Buffer.allocUnsafe(o.size);
        let n = 0;
        while (n < o.size) {
          const r = readSync(o.fd, buf, n, o.size - n, n);
          if (r === 0) break;
          n += r;
        }
        return { data: buf.subarray(0, n), size: n };
      } finally {
        closeSync(o.fd);
      }
    }
    closeSync(o.fd);
    const h = await openChecked(abs, opts);
    if (!h) return undefined;
    try {
      const buf = Buffer.alloc(METADATA_LIMIT + 4096);
      const { bytesRead } = await h.fh.read(buf, 0, buf.length, 0);
      return { data: buf.subarray(0, bytesRead), size: h.size, fh: h.fh };
    } catch (e) {
      await h.fh.close().catch(() => undefined);
      throw e;
    }
  } catch (e) {
    if (isArtifactsError(e)) return readFinding(e, rel);
    return finding('FILE_NOT_REGULAR', `${rel} could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { path: rel });
  }
}

/** Digest of a byte range of a file: `data` when it holds the whole file, else streamed. */
async function bodyDigest(algo: DigestAlgorithm, opened: Opened, offset: number): Promise<string> {
  if (!opened.fh) return digestBytes(algo, opened.data.subarray(offset));
  return (await digestHandle(algo, opened.fh, offset)).address;
}

/** Per scan (per context object): the real path of the root, and whether each directory
 * seen so far really lies inside it. */
const realDirs = new WeakMap<InspectContext, { root: string; inside: Map<string, boolean> }>();

/** Does `dir` (absolute) resolve inside the root? A symlinked directory on the way may lead
 * elsewhere; symlinks that stay inside the repository are followed. */
function dirInside(ctx: InspectContext, dir: string): boolean {
  let memo = realDirs.get(ctx);
  if (!memo) {
    memo = { root: realpathSync(ctx.root), inside: new Map() };
    realDirs.set(ctx, memo);
  }
  let inside = memo.inside.get(dir);
  if (inside === undefined) {
    try {
      inside = insideWorkTree(memo.root, realpathSync(dir));
    } catch {
      inside = true; // a directory that vanished: the file check below reports nothing
    }
    memo.inside.set(dir, inside);
  }
  return inside;
}

/** What a repository path holds, judged without opening it. */
type Target =
  | { abs: string; size: number; regular: true }
  /** Something other than a regular file (a FIFO, a device, a directory, a socket). */
  | { abs: string; regular: false; what: string };

/** Check that a path is a regular file inside the root (following in-repo symlinks only).
 * `abs` of the answer is the path to open: the file, or the in-repository target of a
 * symlink. */
function checkTarget(ctx: InspectContext, rel: string): Target | Finding | undefined {
  const root = ctx.root;
  const abs = join(root, rel);
  let st = lstatQuiet(abs);
  if (!st) return undefined;
  if (!dirInside(ctx, dirname(abs))) {
    return finding('SYMLINK_OUTSIDE_ROOT', `${rel} is reached through a symlinked directory that leads outside the repository`, {
      path: rel,
    });
  }
  let open = abs;
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return undefined; // dangling link: not a file
    }
    if (!insideWorkTree(realpathSync(root), real)) {
      return finding('SYMLINK_OUTSIDE_ROOT', `${rel} is a symlink to a location outside the repository (or into .git/)`, { path: rel });
    }
    st = lstatQuiet(real);
    if (!st) return undefined;
    open = real;
  }
  if (!st.isFile()) return { abs: open, regular: false, what: kindOf(st) };
  return { abs: open, size: st.size, regular: true };
}

function notRegular(rel: string, t: { what: string }): Finding {
  return finding('FILE_NOT_REGULAR', `${rel} is ${t.what}, not a regular file`, { path: rel });
}

/** The index entry, built with its keys already in sorted order (the index's order), so
 * that writing a large index needs no second, re-keyed copy of every entry. */
function buildEntry(meta: Record<string, unknown>, path: string, address: string, size: number, metadataAddress?: string): IndexEntry {
  const str = (k: string) => (typeof meta[k] === 'string' ? meta[k] : undefined);
  const checksum = str('checksum');
  const created = str('created_at');
  const updated = str('updated_at');
  const derived = Array.isArray(meta.derived_from) ? [...(meta.derived_from as string[])] : undefined;
  return {
    ...(checksum !== undefined ? { checksum } : {}),
    content_address: address,
    ...(created !== undefined ? { created_at: created } : {}),
    ...(derived !== undefined ? { derived_from: derived } : {}),
    framework: meta.framework as string,
    id: meta.id as string,
    kind: meta.kind as string,
    ...(metadataAddress !== undefined ? { metadata_address: metadataAddress } : {}),
    path,
    size,
    status: meta.status as ArtifactStatus,
    ...(updated !== undefined ? { updated_at: updated } : {}),
    version: meta.version as string,
  };
}

async function checkChecksum(
  meta: Record<string, unknown>,
  compute: (algo: DigestAlgorithm) => Promise<string>,
  path: string,
  parsed: SafeYamlResult,
): Promise<Finding[]> {
  if (typeof meta.checksum !== 'string') return [];
  const declared = parseAddress(meta.checksum);
  if (!declared) return []; // the schema reports the malformed value
  const actual = await compute(declared.algo);
  if (actual === meta.checksum) return [];
  return [
    finding('CHECKSUM_MISMATCH', `checksum ${meta.checksum} does not match the body (${actual})`, {
      path,
      ...(parsed.locate('/checksum') ?? {}),
      pointer: '/checksum',
      hint: `Set checksum: ${actual}, or remove the field.`,
    }),
  ];
}

/**
 * Inspect a repository file. `rel` is a POSIX path relative to the root. A sidecar path
 * (`F.artifact.yaml`) inspects the artifact F it describes; `explicit` makes a file without
 * artifact metadata a finding instead of being ignored.
 */
export async function inspectFile(
  ctx: InspectContext,
  rel: string,
  opts: { explicit?: boolean; content?: Buffer; withMeta?: boolean } = {},
): Promise<Inspection> {
  const r = await inspectAny(ctx, rel, opts);
  if (!opts.withMeta && r.type === 'artifact') delete r.meta;
  return r;
}

async function inspectAny(ctx: InspectContext, rel: string, opts: { explicit?: boolean; content?: Buffer }): Promise<Inspection> {
  const target = sidecarTarget(rel);
  if (target !== undefined) return inspectSidecar(ctx, target, rel, opts.content);
  const invalid = (f: Finding): Inspection => ({ type: 'invalid', findings: [f], metadataPath: rel });
  // `content` stands in for the file's bytes (rollback judges content before writing it).
  if (opts.content) return inspectMarkdown(ctx, rel, { data: opts.content, size: opts.content.length }, opts.explicit ?? false);
  const checked = checkTarget(ctx, rel);
  if (checked === undefined) return { type: 'not-artifact' };
  if ('code' in checked) return invalid(checked);
  if (!isMarkdownPath(rel)) return { type: 'not-artifact' };
  if (!checked.regular) return invalid(notRegular(rel, checked));
  const opened = await openTarget(ctx, checked.abs, rel);
  if (opened === undefined) return { type: 'not-artifact' };
  if ('code' in opened) return invalid(opened);
  try {
    return await inspectMarkdown(ctx, rel, opened, opts.explicit ?? false);
  } finally {
    await opened.fh?.close().catch(() => undefined);
  }
}

/**
 * Does front matter text name `id` or `kind` at its top level? Judged on the text, so that
 * it answers for YAML that cannot be parsed: a line that starts (column 0) with `id:` or
 * `kind:` (the key may be quoted), or with a merge key `<<:` (which other YAML readers
 * expand into this mapping, possibly naming both). One linear pass, no regular expression.
 */
export function namesIdOrKind(text: string): boolean {
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let i = start;
    let quote = '';
    if (text[i] === '"' || text[i] === "'") quote = text[i++]!;
    for (const key of ['id', 'kind', '<<']) {
      if (!text.startsWith(key, i)) continue;
      let j = i + key.length;
      if (quote !== '') {
        if (text[j] !== quote) continue;
        j++;
      }
      while (j < end && (text[j] === ' ' || text[j] === '\t')) j++;
      if (text[j] === ':') return true;
    }
    start = end + 1;
  }
  return false;
}

async function inspectMarkdown(ctx: InspectContext, rel: string, opened: Opened, explicit: boolean): Promise<Inspection> {
  const { data, size } = opened;
  const fm = splitFrontMatter(data, size);
  // A front matter problem: `text` is what the metadata block holds (or may hold), judged
  // for `id:`/`kind:` keys to tell artifact metadata from another tool's front matter.
  const problem = (findings: Finding[], text: string | undefined): Inspection =>
    text !== undefined && namesIdOrKind(text)
      ? { type: 'invalid', findings, metadataPath: rel }
      : { type: 'invalid', findings, metadataPath: rel, foreign: true };
  const head = () => data.toString('latin1', 0, Math.min(data.length, METADATA_LIMIT + 4096));
  switch (fm.kind) {
    case 'none':
      return explicit
        ? {
            type: 'invalid',
            findings: [
              finding('METADATA_NOT_MAPPING', `${rel} has no front matter and no sidecar: it is not an artifact`, {
                path: rel,
                hint: 'Add YAML front matter (--- ... ---) or an F.artifact.yaml sidecar.',
              }),
            ],
            metadataPath: rel,
          }
        : { type: 'not-artifact' };
    case 'language':
      return problem(
        [
          finding(
            'FRONT_MATTER_LANGUAGE',
            `front matter language ${JSON.stringify(fm.language.slice(0, 40))} is not allowed (it is never evaluated)`,
            { path: rel, line: 1, column: 1 },
          ),
        ],
        head(),
      );
    case 'unterminated':
      // (A Markdown file may also simply begin with a `---` thematic break.)
      return problem(
        [finding('FRONT_MATTER_UNTERMINATED', 'front matter opened with --- is never closed', { path: rel, line: 1, column: 1 })],
        head(),
      );
    case 'too-large':
      return problem(
        [finding('METADATA_TOO_LARGE', `front matter is larger than ${METADATA_LIMIT} bytes`, { path: rel, line: 2 })],
        head(),
      );
    case 'ok':
      break;
  }
  if (data.length === size ? !isUtf8(data) : !isUtf8(fm.text)) {
    return problem([finding('INVALID_UTF8', `${rel} is not valid UTF-8`, { path: rel })], fm.text.toString('latin1'));
  }
  const text = fm.text.toString('utf8');
  const parsed = await parseSafeYaml(text, { path: rel, lineOffset: fm.firstLine - 1 });
  if (parsed.findings.length > 0) return problem(parsed.findings, text);
  const meta = parsed.value;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    // Empty front matter, a comment only, a list, a scalar: not a mapping of fields.
    return problem(await validateMetadata(ctx, meta, parsed, rel), text);
  }
  if (!explicit && !('id' in meta) && !('kind' in meta)) {
    // Front matter of some other tool (a docs site, an editor rule): not artifact metadata.
    return { type: 'not-artifact' };
  }
  const findings = await validateMetadata(ctx, meta, parsed, rel);
  if (findings.length > 0) return { type: 'invalid', findings, metadataPath: rel };
  const m = meta as Record<string, unknown>;
  const address = await bodyDigest(ctx.algorithm, opened, 0);
  const sumFindings = await checkChecksum(m, (algo) => bodyDigest(algo, opened, fm.bodyOffset), rel, parsed);
  if (sumFindings.length > 0) return { type: 'invalid', findings: sumFindings, metadataPath: rel };
  return { type: 'artifact', entry: buildEntry(m, rel, address, size), findings: [], meta: m };
}

async function inspectSidecar(ctx: InspectContext, target: string, sidecarRel: string, content?: Buffer): Promise<Inspection> {
  const invalid = (f: Finding): Inspection => ({ type: 'invalid', findings: [f], metadataPath: sidecarRel });
  const sc = checkTarget(ctx, sidecarRel);
  if (sc === undefined) return { type: 'not-artifact' };
  if ('code' in sc) return invalid(sc);
  if (!sc.regular) return invalid(notRegular(sidecarRel, sc));
  let raw: Buffer | undefined;
  try {
    raw = readCheckedSync(sc.abs, {
      root: ctx.root,
      maxBytes: METADATA_LIMIT,
      code: 'FILE_NOT_REGULAR',
      label: sidecarRel,
      parentChecked: true,
    });
  } catch (e) {
    if (readProblemOf(e) === 'too-large')
      return invalid(finding('METADATA_TOO_LARGE', `sidecar is larger than ${METADATA_LIMIT} bytes`, { path: sidecarRel }));
    return invalid(readFinding(e, sidecarRel));
  }
  if (raw === undefined) return { type: 'not-artifact' };
  if (!isUtf8(raw)) return invalid(finding('INVALID_UTF8', `${sidecarRel} is not valid UTF-8`, { path: sidecarRel }));
  const parsed = await parseSafeYaml(raw.toString('utf8'), { path: sidecarRel });
  if (parsed.findings.length > 0) return { type: 'invalid', findings: parsed.findings, metadataPath: sidecarRel };
  const findings = await validateMetadata(ctx, parsed.value, parsed, sidecarRel);
  const t = content ? { abs: join(ctx.root, target), size: content.length, regular: true as const } : checkTarget(ctx, target);
  if (t === undefined)
    findings.push(finding('SIDECAR_ORPHAN', `${sidecarRel} describes ${target}, which does not exist`, { path: sidecarRel }));
  else if ('code' in t) findings.push(t);
  else if (!t.regular) {
    findings.push(
      finding('FILE_NOT_REGULAR', `${sidecarRel} describes ${target}, which is ${t.what}, not a regular file`, { path: sidecarRel }),
    );
  }
  if (findings.length > 0 || t === undefined || 'code' in t || !t.regular) return { type: 'invalid', findings, metadataPath: sidecarRel };
  const m = parsed.value as Record<string, unknown>;
  // The described file is streamed (it may be large) through the checked open.
  const check = { root: ctx.root, code: 'FILE_NOT_REGULAR' as const, label: target };
  const digestOf = async (algo: DigestAlgorithm) =>
    content ? digestBytes(algo, content) : (await digestFile(algo, t.abs, 0, check)).address;
  let address: string;
  try {
    address = await digestOf(ctx.algorithm);
  } catch (e) {
    return invalid({ ...readFinding(e, target), path: sidecarRel });
  }
  const size = t.size;
  const sumFindings = await checkChecksum(m, async (algo) => (algo === ctx.algorithm ? address : digestOf(algo)), sidecarRel, parsed);
  if (sumFindings.length > 0) return { type: 'invalid', findings: sumFindings, metadataPath: sidecarRel };
  const entry = buildEntry(m, target, address, size, await digestBytes(ctx.algorithm, raw));
  return { type: 'artifact', entry, findings: [], meta: m };
}
