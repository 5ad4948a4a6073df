// Inspect one file: is it an artifact, is its metadata valid, what is its index entry.
import { isUtf8 } from 'node:buffer';
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finding, type Finding } from '../errors.js';
import { digestBytes, digestFile, parseAddress, type DigestAlgorithm } from '../hash/digest.js';
import { isInside } from '../paths.js';
import { METADATA_LIMIT, splitFrontMatter } from './front-matter.js';
import { parseSafeYaml, type SafeYamlResult } from './safe-yaml.js';
import { clearCompiledSchemas, compileSchemaFile, getBaseValidator, schemaFindings } from './schema.js';

export const MARKDOWN_EXTENSIONS = ['.md', '.mdc', '.markdown'];
export const SIDECAR_SUFFIXES = ['.artifact.yaml', '.artifact.json'];
const STATUSES = ['draft', 'review', 'approved'] as const;
export type ArtifactStatus = (typeof STATUSES)[number];

/** One artifact as the index records it (SPEC §5). */
export interface IndexEntry {
  id: string;
  version: string;
  status: ArtifactStatus;
  framework: string;
  kind: string;
  path: string;
  content_address: string;
  size: number;
  checksum?: string;
  created_at?: string;
  updated_at?: string;
  derived_from?: string[];
  metadata_address?: string;
}

export type Inspection =
  | { type: 'not-artifact' }
  | { type: 'artifact'; entry: IndexEntry; findings: Finding[] }
  | { type: 'invalid'; findings: Finding[]; metadataPath: string };

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

const kindSchemaExists = new Map<string, Promise<boolean>>();
let cachedGeneration: string | undefined;

/** Forget cached schema lookups when the schemas' generation changes (or is unknown). */
function syncSchemaCaches(ctx: InspectContext): void {
  if (ctx.schemaGeneration !== undefined && ctx.schemaGeneration === cachedGeneration) return;
  kindSchemaExists.clear();
  clearCompiledSchemas();
  cachedGeneration = ctx.schemaGeneration;
}

function hasKindSchema(file: string): Promise<boolean> {
  let p = kindSchemaExists.get(file);
  if (!p) {
    p = stat(file).then(
      () => true,
      () => false,
    );
    kindSchemaExists.set(file, p);
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
    const src = parsed.sourceOf('/version') ?? String(m.version);
    out.push(
      finding('VERSION_NOT_STRING', `version ${src} is a number, not a string`, {
        path,
        ...(parsed.locate('/version') ?? {}),
        pointer: '/version',
        hint: `Quote it: version: "${src}" (unquoted, YAML reads ${src} as the number ${m.version}).`,
      }),
    );
  }
  const base = await getBaseValidator();
  if (!base(m)) {
    const errs = (base.errors ?? []).filter((e) => !(out.length > 0 && e.instancePath === '/version'));
    out.push(...schemaFindings(errs, { path, locate: parsed.locate, schemaName: 'framework-artifact schema' }));
  }
  if (typeof m.kind === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(m.kind)) {
    const file = join(ctx.schemasDir, 'kinds', `${m.kind}.schema.json`);
    syncSchemaCaches(ctx);
    if (await hasKindSchema(file)) {
      let validate;
      try {
        validate = await compileSchemaFile(file);
      } catch (e) {
        out.push(finding('KIND_SCHEMA_INVALID', `schema for kind "${m.kind}" cannot be used: ${(e as Error).message}`, { path }));
      }
      if (validate && !validate(m)) {
        out.push(...schemaFindings(validate.errors ?? [], { path, locate: parsed.locate, schemaName: `${m.kind} schema` }));
      }
    }
  }
  return out;
}

async function readHead(abs: string, size: number): Promise<Buffer> {
  // Small files are read synchronously: for thousands of 4 KB files the promise machinery
  // of fs/promises costs more than the reads (scans run in worker threads anyway).
  if (size <= READ_WHOLE_LIMIT) return readFileSync(abs);
  const fh = await open(abs, 'r');
  try {
    const buf = Buffer.alloc(METADATA_LIMIT + 4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Digest of a byte range of a file: `data` when it holds the whole file, else streamed. */
async function bodyDigest(algo: DigestAlgorithm, abs: string, data: Buffer, size: number, offset: number): Promise<string> {
  if (data.length === size) return digestBytes(algo, data.subarray(offset));
  return (await digestFile(algo, abs, offset)).address;
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
      inside = isInside(memo.root, realpathSync(dir));
    } catch {
      inside = true; // a directory that vanished: the file check below reports nothing
    }
    memo.inside.set(dir, inside);
  }
  return inside;
}

/** Check that a path is a regular file inside the root (following in-repo symlinks only). */
function checkTarget(ctx: InspectContext, rel: string): { abs: string; size: number } | Finding | undefined {
  const root = ctx.root;
  const abs = join(root, rel);
  let st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (!dirInside(ctx, dirname(abs))) {
    return finding('SYMLINK_OUTSIDE_ROOT', `${rel} is reached through a symlinked directory that leads outside the repository`, { path: rel });
  }
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return undefined; // dangling link: not a file
    }
    if (!isInside(realpathSync(root), real)) {
      return finding('SYMLINK_OUTSIDE_ROOT', `${rel} is a symlink to a location outside the repository`, { path: rel });
    }
    st = statSync(real);
  }
  if (!st.isFile()) return undefined;
  return { abs, size: st.size };
}

/** The index entry, built with its keys already in sorted order (the index's order), so
 * that writing a large index needs no second, re-keyed copy of every entry. */
function buildEntry(meta: Record<string, unknown>, path: string, address: string, size: number, metadataAddress?: string): IndexEntry {
  const str = (k: string) => (typeof meta[k] === 'string' ? (meta[k] as string) : undefined);
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

async function checkChecksum(meta: Record<string, unknown>, compute: (algo: DigestAlgorithm) => Promise<string>, path: string, parsed: SafeYamlResult): Promise<Finding[]> {
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
export async function inspectFile(ctx: InspectContext, rel: string, opts: { explicit?: boolean; content?: Buffer } = {}): Promise<Inspection> {
  const target = sidecarTarget(rel);
  if (target !== undefined) return inspectSidecar(ctx, target, rel, opts.content);
  // `content` stands in for the file's bytes (rollback judges content before writing it).
  const checked = opts.content ? { abs: join(ctx.root, rel), size: opts.content.length } : checkTarget(ctx, rel);
  if (checked === undefined) return { type: 'not-artifact' };
  if ('code' in checked) return { type: 'invalid', findings: [checked], metadataPath: rel };
  const { abs, size } = checked;
  if (!isMarkdownPath(rel)) return { type: 'not-artifact' };
  const data = opts.content ?? (await readHead(abs, size));
  const fm = splitFrontMatter(data, size);
  const invalid = (f: Finding): Inspection => ({ type: 'invalid', findings: [f], metadataPath: rel });
  switch (fm.kind) {
    case 'none':
      return opts.explicit ? invalid(finding('METADATA_NOT_MAPPING', `${rel} has no front matter and no sidecar: it is not an artifact`, { path: rel, hint: 'Add YAML front matter (--- ... ---) or an F.artifact.yaml sidecar.' })) : { type: 'not-artifact' };
    case 'language':
      return invalid(finding('FRONT_MATTER_LANGUAGE', `front matter language "${fm.language}" is not allowed (it is never evaluated)`, { path: rel, line: 1, column: 1 }));
    case 'unterminated':
      return invalid(finding('FRONT_MATTER_UNTERMINATED', 'front matter opened with --- is never closed', { path: rel, line: 1, column: 1 }));
    case 'too-large':
      return invalid(finding('METADATA_TOO_LARGE', `front matter is larger than ${METADATA_LIMIT} bytes`, { path: rel, line: 2 }));
    case 'ok':
      break;
  }
  if (data.length === size ? !isUtf8(data) : !isUtf8(fm.text)) {
    return invalid(finding('INVALID_UTF8', `${rel} is not valid UTF-8`, { path: rel }));
  }
  const parsed = await parseSafeYaml(fm.text.toString('utf8'), { path: rel, lineOffset: fm.firstLine - 1 });
  if (parsed.findings.length > 0) return { type: 'invalid', findings: parsed.findings, metadataPath: rel };
  const meta = parsed.value;
  if (!opts.explicit && meta !== null && typeof meta === 'object' && !Array.isArray(meta) && !('id' in meta) && !('kind' in meta)) {
    // Front matter of some other tool (a docs site, an editor rule): not artifact metadata.
    return { type: 'not-artifact' };
  }
  const findings = await validateMetadata(ctx, meta, parsed, rel);
  if (findings.length > 0) return { type: 'invalid', findings, metadataPath: rel };
  const m = meta as Record<string, unknown>;
  const address = data.length === size ? await digestBytes(ctx.algorithm, data) : (await digestFile(ctx.algorithm, abs)).address;
  const sumFindings = await checkChecksum(m, (algo) => bodyDigest(algo, abs, data, size, fm.bodyOffset), rel, parsed);
  if (sumFindings.length > 0) return { type: 'invalid', findings: sumFindings, metadataPath: rel };
  return { type: 'artifact', entry: buildEntry(m, rel, address, size), findings: [] };
}

async function inspectSidecar(ctx: InspectContext, target: string, sidecarRel: string, content?: Buffer): Promise<Inspection> {
  const invalid = (f: Finding): Inspection => ({ type: 'invalid', findings: [f], metadataPath: sidecarRel });
  const sc = checkTarget(ctx, sidecarRel);
  if (sc === undefined) return { type: 'not-artifact' };
  if ('code' in sc) return invalid(sc);
  if (sc.size > METADATA_LIMIT) return invalid(finding('METADATA_TOO_LARGE', `sidecar is larger than ${METADATA_LIMIT} bytes`, { path: sidecarRel }));
  const raw = readFileSync(sc.abs);
  if (!isUtf8(raw)) return invalid(finding('INVALID_UTF8', `${sidecarRel} is not valid UTF-8`, { path: sidecarRel }));
  const parsed = await parseSafeYaml(raw.toString('utf8'), { path: sidecarRel });
  if (parsed.findings.length > 0) return { type: 'invalid', findings: parsed.findings, metadataPath: sidecarRel };
  const findings = await validateMetadata(ctx, parsed.value, parsed, sidecarRel);
  const t = content ? { abs: join(ctx.root, target), size: content.length } : checkTarget(ctx, target);
  if (t === undefined) findings.push(finding('SIDECAR_ORPHAN', `${sidecarRel} describes ${target}, which does not exist`, { path: sidecarRel }));
  else if ('code' in t) findings.push(t);
  if (findings.length > 0 || t === undefined || 'code' in t) return { type: 'invalid', findings, metadataPath: sidecarRel };
  const m = parsed.value as Record<string, unknown>;
  const digestOf = async (algo: DigestAlgorithm) => (content ? digestBytes(algo, content) : (await digestFile(algo, t.abs)).address);
  const address = await digestOf(ctx.algorithm);
  const size = t.size;
  const sumFindings = await checkChecksum(
    m,
    async (algo) => (algo === ctx.algorithm ? address : digestOf(algo)),
    sidecarRel,
    parsed,
  );
  if (sumFindings.length > 0) return { type: 'invalid', findings: sumFindings, metadataPath: sidecarRel };
  const entry = buildEntry(m, target, address, size, await digestBytes(ctx.algorithm, raw));
  return { type: 'artifact', entry, findings: [] };
}
