// `artifacts init`: create the config, a routing stub and .gitignore entries, and install
// the git merge driver for the index. Idempotent: existing user files are never overwritten,
// and the files it extends (.gitignore, .gitattributes) keep their permission bits.
import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, STATE_DIR } from './config.js';
import { git, isGitWorkTree } from './git.js';
import { sweepTemps, writeFileDurable, writeFileExclusiveDurable } from './store/durable-write.js';
import { readChecked, readProblemOf, READ_LIMITS } from './store/checked-read.js';
import { ArtifactsError } from './errors.js';

export const GITIGNORE_ENTRIES = ['.artifacts/objects/', '.artifacts/journal', '.artifacts/cache/', 'artifacts_index.json.lock/'];

const CONFIG_TEMPLATE = `# artifacts configuration (see \`artifacts --help\`)
digest_algorithm: sha256
routing: artifact_routing.mdc
command_routing: routing_matrix.json
schemas: schemas
frameworks: frameworks
include: ["**/*"]
exclude: ["node_modules/**", "dist/**"]
`;

const ROUTING_TEMPLATE = `---
description: Where each artifact kind lives
routes: []
# - kind: plan
#   path: docs/plans/{framework}/{id}.md
---
Routes for artifacts in this repository. Variables: {id} {version} {framework} {kind} {ext}.
Run \`artifacts route table\` to print them as a table.
`;

export interface InitResult {
  created: string[];
  kept: string[];
  gitignore: string[];
  /** The merge driver: installed, already present, or skipped outside git. */
  mergeDriver: 'installed' | 'present' | 'not a git repository';
  /** The command line git runs for the driver (absent outside git). */
  driverCommand?: string;
}

export const MERGE_ATTRIBUTE = 'artifacts_index.json merge=artifacts-index';

export interface InitOptions {
  /** The command git runs as the driver, used as given (it is a shell command line). */
  driverCommand?: string;
  /** The running installation (node executable and CLI script), used for the driver when the
   * repository has no local installation of the package. */
  installation?: { node: string; bin: string };
}

/** The driver's arguments: git substitutes shell-quoted temporary file names. */
const DRIVER_ARGS = 'index merge-driver %O %A %B';
/** The repository-local CLI after `npm ci`, relative to the top of the work tree (where git
 * runs merge drivers), so that the same line works in every clone. */
export const LOCAL_BIN = 'node_modules/.bin/artifacts';

/** Quote one word for the POSIX shell git runs the driver with: inside single quotes
 * nothing is special, and a single quote is written as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The npm package name (`artifacts` on npm is an unrelated package); the binary is `artifacts`. */
export const PACKAGE_NAME = 'artifacts-cli';

/** Is the package installed in the repository's own node_modules (by npm, not committed)? */
async function localInstallation(root: string): Promise<boolean> {
  // Files under node_modules that git tracks are repository content, not an installation:
  // decide that first, so that nothing committed there (a package.json that is a symlink to
  // /dev/zero, say) is ever read.
  try {
    if ((await git(root, ['ls-files', '-z', '--', 'node_modules'])) !== '') return false;
  } catch {
    return false;
  }
  try {
    await access(join(root, LOCAL_BIN), fsConstants.X_OK);
    const pkg = JSON.parse(await readFile(join(root, 'node_modules', PACKAGE_NAME, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** The driver command line: the local installation when there is one, else the running
 * installation, every word quoted. */
export async function driverCommandFor(root: string, installation: { node: string; bin: string } | undefined): Promise<string> {
  if (await localInstallation(root)) return `${LOCAL_BIN} ${DRIVER_ARGS}`;
  if (installation) return `${shellQuote(installation.node)} ${shellQuote(installation.bin)} ${DRIVER_ARGS}`;
  return `artifacts ${DRIVER_ARGS}`;
}

/** A file init extends (`.gitignore`, `.gitattributes`): '' when absent. It is read like
 * any repository file: a FIFO, a device, a directory or a symlink in its place, or a file
 * over the size cap, is refused before anything is written. */
async function readUserFile(root: string, name: string): Promise<string> {
  try {
    return (await readChecked(join(root, name), { root, maxBytes: READ_LIMITS.config, code: 'FILE_NOT_REGULAR', label: name, allowMissing: true }))?.toString('utf8') ?? '';
  } catch (e) {
    if (readProblemOf(e) === 'too-large') throw new ArtifactsError('FILE_TOO_LARGE', (e as Error).message, { details: (e as ArtifactsError).details });
    throw e;
  }
}

async function gitConfig(root: string, args: string[]): Promise<string | undefined> {
  try {
    return (await git(root, ['config', ...args])).trim();
  } catch {
    return undefined;
  }
}

/** Install the merge driver: `.gitattributes` (committed) and `git config` (this clone). */
async function installMergeDriver(root: string, command: string): Promise<InitResult['mergeDriver']> {
  if (!(await isGitWorkTree(root))) return 'not a git repository';
  let changed = false;
  const ga = join(root, '.gitattributes');
  const attrs = await readUserFile(root, '.gitattributes');
  if (!attrs.split(/\r?\n/).some((l) => l.trim() === MERGE_ATTRIBUTE)) {
    const sep = attrs === '' || attrs.endsWith('\n') ? '' : '\n';
    await writeFileDurable(ga, `${attrs}${sep}${MERGE_ATTRIBUTE}\n`, { root });
    changed = true;
  }
  if ((await gitConfig(root, ['--get', 'merge.artifacts-index.driver'])) !== command) {
    await gitConfig(root, ['merge.artifacts-index.name', 'artifacts index merge driver']);
    await gitConfig(root, ['merge.artifacts-index.driver', command]);
    changed = true;
  }
  return changed ? 'installed' : 'present';
}

export async function initRepo(root: string, opts: InitOptions = {}): Promise<InitResult> {
  // The local state directory every later command writes into must not lead outside the
  // repository (a committed `.artifacts` symlink): refuse before creating anything.
  await sweepTemps(join(root, STATE_DIR), { root, recursive: true });
  // Read what init extends first, so that a file it cannot read stops it before any write.
  const current = await readUserFile(root, '.gitignore');
  await readUserFile(root, '.gitattributes');
  const created: string[] = [];
  const kept: string[] = [];
  for (const [name, text] of [
    [CONFIG_FILE, CONFIG_TEMPLATE],
    ['artifact_routing.mdc', ROUTING_TEMPLATE],
  ] as const) {
    if (await writeFileExclusiveDurable(join(root, name), Buffer.from(text), { root })) created.push(name);
    else kept.push(name);
  }
  const gi = join(root, '.gitignore');
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = GITIGNORE_ENTRIES.filter((e) => !lines.has(e));
  if (missing.length > 0) {
    const sep = current === '' || current.endsWith('\n') ? '' : '\n';
    await writeFileDurable(gi, `${current}${sep}# artifacts: local state\n${missing.join('\n')}\n`, { root });
  }
  const driverCommand = opts.driverCommand ?? (await driverCommandFor(root, opts.installation));
  const mergeDriver = await installMergeDriver(root, driverCommand);
  return { created, kept, gitignore: missing, mergeDriver, ...(mergeDriver === 'not a git repository' ? {} : { driverCommand }) };
}
