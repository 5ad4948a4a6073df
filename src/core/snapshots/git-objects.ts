// The git object database as a second source of artifact bytes: blob ids for files
// (`git hash-object`), presence checks and contents (`git cat-file --batch`), each in one
// process for any number of files.
import { spawn } from 'node:child_process';
import { GIT_ENV, isGitWorkTree } from '../git.js';

/** Git blob ids of files (paths relative to root); empty outside git. */
export async function blobIds(root: string, paths: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0 || !(await isGitWorkTree(root))) return out;
  const ids = await new Promise<string>((resolve, reject) => {
    const child = spawn('git', ['hash-object', '--no-filters', '--stdin-paths'], { cwd: root, env: GIT_ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`git hash-object failed: ${stderr.trim()}`))));
    // One path a line, each C-quoted as git reads it: a name holding a line break or
    // starting with a quote must name its own file, never another one.
    child.stdin.end(paths.map((p) => `${cQuote(p)}\n`).join(''));
  });
  ids
    .trim()
    .split('\n')
    .forEach((id, i) => {
      if (id) out.set(paths[i]!, id);
    });
  return out;
}

/** A path as a C-style quoted string (git's `unquote_c_style`): backslash, quote and every
 * control character escaped, other bytes as they are. */
export function cQuote(path: string): string {
  const body = path.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\\' || c === '"') return `\\${c}`;
    return `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`;
  });
  return `"${body}"`;
}

/** Contents of git blobs by id (missing ids are absent from the map). */
export async function readBlobs(root: string, ids: readonly string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const wanted = [...new Set(ids)].filter((id) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(id));
  if (wanted.length === 0 || !(await isGitWorkTree(root))) return out;
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: root, env: GIT_ENV });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks)));
    child.stdin.end(wanted.map((id) => `${id}\n`).join(''));
  });
  // Each answer: "<id> <type> <size>\n<content>\n" or "<id> missing\n".
  let pos = 0;
  for (const id of wanted) {
    const nl = raw.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = raw.toString('utf8', pos, nl).split(' ');
    pos = nl + 1;
    if (header[1] === 'missing' || header.length < 3) continue;
    const size = Number(header[2]);
    if (header[1] === 'blob') out.set(id, raw.subarray(pos, pos + size));
    pos += size + 1;
  }
  return out;
}
