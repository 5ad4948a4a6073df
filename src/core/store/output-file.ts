// Files the user names on the command line (`hydrate --out FILE`). A path outside the
// repository is the user's choice and is allowed; a path that lands inside it — lexically,
// or through a symlink on the way — may not name `.git` or the tool's own files, because
// the same command runs in CI on whatever the repository's content makes of that path.
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, parse, relative, resolve, sep } from 'node:path';
import { controlFilesOf } from '../config.js';
import { ArtifactsError } from '../errors.js';
import { climbsOut, controlPathProblem } from '../paths.js';
import type { Repo } from '../repo.js';
import { writeFileDurable } from './durable-write.js';

function relInside(root: string, abs: string): string | undefined {
  const rel = relative(root, abs);
  return rel === '' || climbsOut(rel) ? undefined : rel.split(sep).join('/');
}

/** Where `abs` really lands: the real path of its nearest existing ancestor, plus the rest. */
async function realDestination(abs: string): Promise<string> {
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(await realpath(cur), ...rest.reverse());
    } catch {
      const up = dirname(cur);
      if (up === cur) return abs;
      rest.push(basename(cur));
      cur = up;
    }
  }
}

/**
 * Write a file the user named on the command line, atomically. Refuses (`PATH_UNSAFE`,
 * nothing written) a path inside the repository that names `.git` or a control file.
 *
 * @example
 * ```ts
 * await writeOutputFile(repo, '/tmp/hydration.json', JSON.stringify(doc));
 * ```
 */
export async function writeOutputFile(repo: Repo, file: string, data: string | Uint8Array): Promise<void> {
  const abs = resolve(file);
  const control = controlFilesOf(repo.config);
  const lexical = relInside(resolve(repo.root), abs);
  const real = relInside(await realpath(repo.root), await realDestination(abs));
  for (const rel of [lexical, real]) {
    const problem = rel === undefined ? undefined : controlPathProblem(rel, control);
    if (problem) {
      throw new ArtifactsError('PATH_UNSAFE', `refusing to write ${file}: ${problem}`, {
        hint: "Write the output outside the repository or to an ordinary path inside it; .git/ and the tool's own files are never output targets.",
        details: { path: rel },
      });
    }
  }
  await writeFileDurable(abs, data, { root: lexical !== undefined ? repo.root : parse(abs).root });
}
