// File stamps: (size, mtime ns, ctime ns, inode), the evidence every cache in the tool uses
// to decide that a file is unchanged, and the racy-timestamp rule that goes with them: a
// stamp younger than two seconds may still change within the same timestamp tick, so
// nothing is remembered against it.
import { lstatSync, statSync, type BigIntStats } from 'node:fs';

/** Stamps closer than this to "now" (or to a scan's start) are racy. */
export const RACY_WINDOW_MS = 2_000;

export interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** The stamp of a file (of a symlink itself unless `follow`), or undefined if missing. */
export function stampOf(abs: string, opts: { follow?: boolean } = {}): FileStamp | undefined {
  let st: BigIntStats | undefined;
  try {
    st = (opts.follow ? statSync : lstatSync)(abs, { bigint: true, throwIfNoEntry: false }) as BigIntStats | undefined;
  } catch {
    // A path through a file, a symlink loop: nothing stampable is there.
    return undefined;
  }
  if (!st) return undefined;
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}

/** A stamp as one comparable string. */
export function stampString(s: FileStamp): string {
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
}

/** Are both of a stamp's times older than the racy window before `nowMs`? */
export function stampSettled(s: FileStamp, nowMs: number = Date.now()): boolean {
  const limit = BigInt(nowMs - RACY_WINDOW_MS) * 1_000_000n;
  return BigInt(s.mtimeNs) < limit && BigInt(s.ctimeNs) < limit;
}
