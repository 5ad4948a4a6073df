// Path helpers shared by every module: repository-relative POSIX paths, containment checks,
// and the location of the files shipped with the package.
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

/** Resolve a user-supplied path against a base directory. */
export function resolveFrom(base: string, p: string): string {
  return resolve(base, p);
}

/** Byte-order comparison of strings (UTF-16 code units agree with UTF-8 byte order for BMP;
 * we compare UTF-8 bytes explicitly so that ordering is the same on every platform). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
