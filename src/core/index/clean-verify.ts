// The record of the last clean `index verify`, in .artifacts/cache/ (git's index plays the
// same part for `git status`). It says: with this index file, this journal (empty), this
// configuration and tool, and this tree — every metadata file, its stamp and the directories
// on its way, taken before anything was read — verification found nothing. A later verify
// whose inputs carry the same stamps would find nothing again, so it can answer after one
// lstat per file without reading the index or any artifact. Any difference, or any stamp too
// recent to trust (the racy-timestamp rule), sends it down the full path. Like the stat
// cache, the record is only an accelerator: losing or damaging it costs time, never a result.
import { readCacheJson } from '../config.js';
import { join } from 'node:path';
import type { Repo } from '../repo.js';
import { writeFileDurable } from '../store/durable-write.js';
import { cacheFingerprint } from './scan.js';
import { cacheIdentity, FORMAT_VERSIONS, stampOf, stampSettled, stampString } from '../stamp.js';
import { lstatQuiet } from '../paths.js';

const RECORD_FILE = 'clean-verify.json';
const RECORD_VERSION = FORMAT_VERSIONS.cleanVerify;

export interface CleanRecord {
  version: number;
  /** The cache identity (stamp.ts) the record was written under: see verifyFingerprint. */
  fingerprint: string;
  /** Stamp of artifacts_index.json. */
  index: string;
  index_digest: string;
  indexed: number;
  scanned: number;
  tree: string;
}

/** Everything besides the index and the tree that a verification's result depends on, as
 * a cache identity: the tool's version and format versions, the digest algorithm and
 * schemas (the stat cache's fingerprint) and the whole configuration. */
export function verifyFingerprint(repo: Repo): string {
  return cacheIdentity('cleanVerify', `${cacheFingerprint(repo)}\n${JSON.stringify(repo.config)}`);
}

/** The index file's stamp, or undefined when it is missing or too recent to be trusted. */
export function settledIndexStamp(repo: Repo, nowMs: number): string | undefined {
  const st = stampOf(repo.indexPath);
  return st && stampSettled(st, nowMs) ? stampString(st) : undefined;
}

/** Is the journal empty (no transaction pending or half-written)? */
export function journalEmpty(repo: Repo): boolean {
  const st = lstatQuiet(repo.journalPath);
  return st === undefined || (st.isFile() && st.size === 0);
}

export function readCleanRecord(repo: Repo): CleanRecord | undefined {
  try {
    const r = readCacheJson(repo.root, join(repo.cacheDir, RECORD_FILE)) as Partial<CleanRecord> | undefined;
    if (r === undefined || r === null || typeof r !== 'object') return undefined;
    if (r.version !== RECORD_VERSION || typeof r.fingerprint !== 'string' || typeof r.index !== 'string' || typeof r.tree !== 'string')
      return undefined;
    if (typeof r.index_digest !== 'string' || typeof r.indexed !== 'number' || typeof r.scanned !== 'number') return undefined;
    return r as CleanRecord;
  } catch {
    return undefined;
  }
}

export async function writeCleanRecord(repo: Repo, record: Omit<CleanRecord, 'version'>): Promise<void> {
  const text = JSON.stringify({ version: RECORD_VERSION, ...record });
  await writeFileDurable(join(repo.cacheDir, RECORD_FILE), text, { root: repo.root, durable: false }).catch(() => undefined);
}
