// Path helpers shared by every module: repository-relative POSIX paths, containment checks,
// and the location of the files shipped with the package.
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's shipped `schemas/` directory (works from src/ and from dist/). */
export const PACKAGE_SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** Convert an OS path relative to root into a POSIX repo path. */
export function toRepoPath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/** Does a path produced by path.relative climb out of its base? `..` itself or a first
 * segment `..`; a name that merely begins with two dots (`..a`, `.. `) stays inside. */
export function climbsOut(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** Why a directory or file name written by a route would be unportable or deceptive: a
 * control character (tab, newline, DEL, C1 controls: they disguise a path in a terminal
 * and in git's output), or a Windows device name (`CON`, `aux.md`, `COM1`, ...: such a
 * path cannot be checked out on Windows). Undefined when the segment is fine. */
export function segmentNameProblem(seg: string): string | undefined {
  if (/[\u0000-\u001f\u007f-\u009f]/.test(seg)) return 'holds a control character';
  if (/^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?$/i.test(seg)) return `names a Windows device ("${seg}")`;
  return undefined;
}

/** Is `abs` inside `root` (or equal to it)? Purely lexical. */
export function isInside(root: string, abs: string): boolean {
  return !climbsOut(relative(root, abs));
}

/** lstat that answers undefined when nothing can be at `p`: missing, or a path whose
 * directory part is a file, a symlink loop or a device (ENOTDIR, ELOOP) — what a hostile
 * tree gives when a committed directory is replaced by something else. */
export function lstatQuiet(p: string): Stats | undefined {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return undefined;
    throw e;
  }
}

/** Is the real path `real` inside the work tree whose real path is `realRoot`: inside it,
 * and not in git's own directory (a symlink to `.git/config` stays inside the repository
 * but reads git's configuration, credentials included, not repository content). */
export function insideWorkTree(realRoot: string, real: string): boolean {
  const rel = relative(realRoot, real);
  if (rel === '') return true;
  if (climbsOut(rel)) return false;
  return !rel.split(sep).some(isGitSegment);
}

/** The first directory on the way to the repository path `rel` that is a symbolic link in
 * the work tree (as git says when it refuses a path "beyond a symbolic link"), or undefined.
 * A path written or restored through such a link lands wherever the link points — into
 * `.git/`, onto the tool's own files — whatever the path says. */
export function symlinkOnTheWay(root: string, rel: string): string | undefined {
  const segs = rel.split('/');
  let cur = root;
  for (let i = 0; i < segs.length - 1; i++) {
    cur = resolve(cur, segs[i]!);
    const st = lstatQuiet(cur);
    if (!st) return undefined;
    if (st.isSymbolicLink()) return segs.slice(0, i + 1).join('/');
  }
  return undefined;
}

/** Does anything (a file, a directory, even a dangling symlink) exist at `p`? */
export function pathExists(p: string): boolean {
  return lstatQuiet(p) !== undefined;
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

// Characters that file systems ignore when they compare names (HFS+ drops the
// default-ignorable code points; NTFS drops trailing dots and spaces), so `.git\u200c`
// or `.GIT. ` names the same directory as `.git` there. Git refuses the same set.
const IGNORABLE =
  // eslint-disable-next-line no-misleading-character-class -- lone combining and ignorable code points are what this matches
  /[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]/gu;

/** The name a case-insensitive, normalising file system would see for one path segment. */
export function foldSegment(segment: string): string {
  // Printable ASCII is its own NFKC form and holds no ignorable character: skip both (an
  // index of 100,000 paths is folded on every verification).
  if (PRINTABLE_ASCII.test(segment)) return segment.replace(/[. ]+$/u, '').toLowerCase();
  return segment
    .normalize('NFKC')
    .replace(IGNORABLE, '')
    .replace(/[. ]+$/u, '')
    .toLowerCase();
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The folded control names, once per ControlFiles object. */
const foldedControl = new WeakMap<ControlFiles, { dirs: Array<[string, string]>; files: Array<[string, string]> }>();
function foldControl(control: ControlFiles): { dirs: Array<[string, string]>; files: Array<[string, string]> } {
  let f = foldedControl.get(control);
  if (!f) {
    const fold = (p: string) => p.split('/').map(foldSegment).join('/');
    f = { dirs: control.dirs.map((d) => [d, fold(d)]), files: control.files.map((x) => [x, fold(x)]) };
    foldedControl.set(control, f);
  }
  return f;
}

/** Does this path segment name git's directory on some file system (`.git`, `.GIT`,
 * `.git.`, `.g\u200cit`, the NTFS short name `git~1`)? */
export function isGitSegment(segment: string): boolean {
  const f = foldSegment(segment);
  return f === '.git' || f === 'git~1';
}

/** The tool's own files, which no repository content may name as a write target. */
export interface ControlFiles {
  /** Repository-relative POSIX paths: the index, config, routing files (from the config). */
  files: readonly string[];
  /** Repository-relative directories the tool owns (`.artifacts`). */
  dirs: readonly string[];
}

/**
 * Why a repository-relative path must never be written to on the repository's say-so
 * (a route template, a snapshot's artifact path, an index entry, `hydrate --out`, a
 * restore), or undefined when it is an ordinary path. Covers absolute paths, `..`,
 * backslashes, NUL, any segment naming `.git` in any case or normalisation, anything under
 * the tool's own directories, and the tool's own files (compared as a case-insensitive,
 * normalising file system would).
 */
export function controlPathProblem(rel: string, control: ControlFiles): string | undefined {
  if (rel === '' || rel === '.') return 'the path is empty';
  if (rel.includes('\0')) return 'the path contains a NUL byte';
  if (rel.includes('\\')) return 'the path contains a backslash';
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) return 'the path is absolute';
  const folded = simpleFolded(rel) ?? foldedPath(rel);
  if (typeof folded !== 'string') return folded.problem;
  const fc = foldControl(control);
  for (const [d, fd] of fc.dirs) {
    if (folded === fd || folded.startsWith(`${fd}/`)) return `the path lies under the tool's own ${d}/ directory`;
  }
  for (const [f, ff] of fc.files) {
    // Below a control name too: the index lock is a directory.
    if (folded === ff || folded.startsWith(`${ff}/`)) return `the path names the tool's own file ${f}`;
  }
  return undefined;
}

/** The folded form of a path of printable ASCII whose segments are all non-empty and end
 * in neither a dot nor a space (so none is `.` or `..`), and which reaches no `.git`: its
 * lower case, since foldSegment of such a segment is its lower case. Undefined otherwise. */
function simpleFolded(rel: string): string | undefined {
  if (!PRINTABLE_ASCII.test(rel) || /(?:^|\/)(?:\/|$)|[. ](?:\/|$)/.test(rel)) return undefined;
  const lower = rel.toLowerCase();
  return /(?:^|\/)(?:\.git|git~1)(?:\/|$)/.test(lower) ? undefined : lower;
}

/** The folded form of any path (segments folded, empty and `.` ones dropped), or the
 * problem of a `..` or `.git` segment. */
function foldedPath(rel: string): string | { problem: string } {
  const segs = rel.split('/');
  for (const s of segs) {
    if (s === '..' || foldSegment(s) === '..') return { problem: 'the path has a `..` segment' };
    if (isGitSegment(s)) return { problem: 'the path reaches into .git/' };
  }
  return segs
    .filter((s) => s !== '' && s !== '.')
    .map(foldSegment)
    .join('/');
}

/**
 * What the repository path `rel` really names when the work tree sends it through symbolic
 * links: a problem when the real path reaches into `.git/` or onto the tool's own files
 * (`lnk/config` with a committed `lnk -> .git` is git's configuration). Undefined when no
 * link is on the way, or the links lead outside the repository or nowhere (the writers'
 * confined walk refuses those with its own codes).
 */
export function linkedPathProblem(root: string, rel: string, control: ControlFiles): string | undefined {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return undefined;
  }
  let cur = rel;
  // Each round resolves the first link on the way; links inside the target are followed
  // in later rounds, as many as the system itself would follow.
  for (let round = 0; round < 40; round++) {
    const link = symlinkOnTheWay(root, cur);
    if (link === undefined) return undefined;
    let real: string;
    try {
      real = realpathSync(resolve(root, link));
    } catch {
      return undefined;
    }
    const inRepo = relative(realRoot, real);
    if (climbsOut(inRepo)) return undefined;
    if (inRepo.split(sep).some(isGitSegment)) return `it reaches into .git/ through the symbolic link ${JSON.stringify(link)}`;
    const rest = cur.slice(link.length + 1);
    cur = inRepo === '' ? rest : `${inRepo.split(sep).join('/')}/${rest}`;
    const problem = controlPathProblem(cur, control);
    if (problem) return `through the symbolic link ${JSON.stringify(link)} ${problem.replace(/^the path /, 'it ')}`;
  }
  return 'it passes through too many symbolic links';
}

/** Where a file may be restored or written at `rel` under `root`: a clean relative path
 * that neither passes through a symlink or a non-directory nor lands on anything but a
 * regular file; the reason when not. */
export function restorePathProblem(root: string, rel: string): string | undefined {
  if (rel.startsWith('/') || rel.includes('\\') || rel.split('/').some((s) => s === '..' || s === '.' || s === ''))
    return 'is not a clean relative path';
  const segs = rel.split('/');
  let cur = root;
  for (let i = 0; i < segs.length; i++) {
    cur = join(cur, segs[i]!);
    const st = lstatQuiet(cur);
    if (!st) return undefined; // the rest will be created
    if (st.isSymbolicLink()) return `passes through the symlink ${segs.slice(0, i + 1).join('/')}`;
    if (i < segs.length - 1 && !st.isDirectory()) return `needs ${segs.slice(0, i + 1).join('/')} to be a directory`;
    if (i === segs.length - 1 && !st.isFile()) return 'is not a regular file';
  }
  return undefined;
}
