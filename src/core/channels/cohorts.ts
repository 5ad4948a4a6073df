// Cohorts of a canary rollout (SPEC §13): `--include FILE` (units always on the target) and
// `--exclude FILE` (never), applied before bucketing. A cohort is a units file, stored
// content-addressed under `.artifacts/cohorts/<sha256 hex>` so that the signed record, which
// names only its digest, still answers on every clone: the bytes are checked against that
// digest each time they are read.
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { ArtifactsError, type ErrorCode } from '../errors.js';
import type { Repo } from '../repo.js';
import { readChecked, readUserFile } from '../store/checked-read.js';
import { writeFileDurable, writeFileExclusiveDurable } from '../store/durable-write.js';
import { unitOf } from './bucket.js';

export const COHORTS_DIR = '.artifacts/cohorts';

/** The largest cohort file (about a million units). */
export const COHORT_LIMIT = 64 * 1024 * 1024;

/** The largest units file `resolve --units` reads (about ten million units; below the
 * longest string V8 makes, about 512 MiB, so that a file under the limit is never a crash). */
export const UNITS_FILE_LIMIT = 500 * 1024 * 1024;

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export function isCohortDigest(v: unknown): v is string {
  return typeof v === 'string' && DIGEST.test(v);
}

/**
 * The units of a units file's text, one per line, walked in place (no array of lines): a
 * trailing CR is dropped, a final newline ends the last line; an empty line or a NUL is a
 * usage error naming the line (`label: line N: ...`).
 */
export function* unitLines(text: string, label: string, code: ErrorCode = 'USAGE'): Generator<string> {
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  // A byte-order mark some editors put first marks the encoding; it is not part of a unit.
  const start = text.startsWith('\uFEFF') ? 1 : 0;
  if (text.length === start) return;
  let k = 0;
  for (let at = start; at <= end; k++) {
    let nl = text.indexOf('\n', at);
    if (nl < 0 || nl > end) nl = end;
    const line = text.slice(at, nl);
    let unit: string;
    try {
      unit = unitOf(line);
    } catch (e) {
      throw new ArtifactsError(code, `${label}: line ${k + 1}: ${(e as Error).message}`);
    }
    yield unit;
    at = nl + 1;
  }
}

/** Read a units file a user names (checked: a regular file, bounded, UTF-8). */
export async function readUnitsFile(path: string, maxBytes = UNITS_FILE_LIMIT): Promise<string> {
  const bytes = await readUserFile(path, { maxBytes, code: 'USAGE', label: path });
  if (!isUtf8(bytes)) throw new ArtifactsError('USAGE', `${path} is not UTF-8: a unit is the exact UTF-8 text of a line`);
  return bytes.toString('utf8');
}

export interface Cohort {
  digest: string;
  bytes: Buffer;
  units: Set<string>;
}

/** A cohort file given on the command line, checked line by line, with its digest. */
export async function readCohortFile(path: string): Promise<Cohort> {
  const text = await readUnitsFile(path, COHORT_LIMIT);
  const units = new Set(unitLines(text, path));
  const bytes = Buffer.from(text, 'utf8');
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes, units };
}

function cohortPath(repo: Repo, digest: string): string {
  return join(repo.root, COHORTS_DIR, DIGEST.exec(digest)![1]!);
}

/** Store a cohort under its digest. Something already at that name (a planted file, a
 * FIFO) is replaced unless it holds exactly these bytes: the record about to be signed must
 * never name a cohort that does not verify. */
export async function storeCohort(repo: Repo, c: Cohort): Promise<void> {
  const file = cohortPath(repo, c.digest);
  const opts = { root: repo.root, faultHook: repo.faultHook };
  if (await writeFileExclusiveDurable(file, c.bytes, opts)) return;
  const there = await readChecked(file, {
    root: repo.root,
    maxBytes: COHORT_LIMIT,
    code: 'CHANNEL_INVALID',
    label: file,
    allowMissing: true,
  }).catch(() => undefined);
  if (there?.equals(c.bytes)) return;
  await writeFileDurable(file, c.bytes, opts);
}

/** The units of the cohort a record names, read under the checked-read rules and checked
 * against the digest: missing or altered bytes are CHANNEL_INVALID (no answer from it). */
export async function loadCohort(repo: Repo, digest: string, what: string): Promise<Set<string>> {
  if (!isCohortDigest(digest)) throw new ArtifactsError('CHANNEL_INVALID', `${what} names a cohort that is not a sha256 digest`);
  const rel = `${COHORTS_DIR}/${DIGEST.exec(digest)![1]}`;
  const bytes = await readChecked(cohortPath(repo, digest), {
    root: repo.root,
    maxBytes: COHORT_LIMIT,
    code: 'CHANNEL_INVALID',
    label: rel,
    allowMissing: true,
  });
  if (!bytes)
    throw new ArtifactsError('CHANNEL_INVALID', `${what} names cohort ${digest}, but ${rel} does not exist`, {
      hint: 'Restore .artifacts/cohorts/ from git history: the signed record names the cohort by its digest.',
    });
  if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest)
    throw new ArtifactsError('CHANNEL_INVALID', `${rel} does not hold the cohort ${digest} that ${what} names`);
  if (!isUtf8(bytes)) throw new ArtifactsError('CHANNEL_INVALID', `${rel} is not UTF-8`);
  return new Set(unitLines(bytes.toString('utf8'), rel, 'CHANNEL_INVALID'));
}
