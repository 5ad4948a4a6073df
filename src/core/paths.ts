// Path helpers shared by every module: repository-relative POSIX paths, containment checks,
// and the location of the files shipped with the package.
import { lstatSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's shipped `schemas/` directory (works from src/ and from dist/). */
export const PACKAGE_SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** Convert an OS path relative to root into a POSIX repo path. */
export function toRepoPath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/** Is `abs` inside `root` (or equal to it)? Purely lexical. */
export function isInside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Does anything (a file, a directory, even a dangling symlink) exist at `p`? */
export function pathExists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** Resolve a user-supplied path against a base directory. */
export function resolveFrom(base: string, p: string): string {
  return resolve(base, p);
}

/** Rank of a UTF-16 code unit such that ranks compare like UTF-8 bytes (code points):
 * surrogates (astral characters) sort after U+E000..U+FFFF. */
function rank(c: number): number {
  if (c < 0xd800) return c;
  return c <= 0xdfff ? c + 0x2000 : c - 0x800;
}

/** UTF-8 byte-order comparison of strings, the same on every platform and locale. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) < rank(y) ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}
