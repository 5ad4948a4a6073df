// `artifacts init`: create the config, a routing file and .gitignore entries, and install
// the git merge driver for the index. On a tree that already holds artifacts the routing
// file gets routes that fit them (see routing/infer.ts). Idempotent: existing user files
// are never overwritten, and the files it extends (.gitignore, .gitattributes) keep their
// permission bits.
import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, controlFilesOf, STATE_DIR } from './config.js';
import { git, isGitWorkTree } from './git.js';
import { sweepTemps, writeFileDurable, writeFileExclusiveDurable } from './store/durable-write.js';
import { readChecked, readProblemOf, READ_LIMITS } from './store/checked-read.js';
import { ArtifactsError, type Finding } from './errors.js';
import { pathExists } from './paths.js';
import { openRepo, type Repo } from './repo.js';
import { scanFiles } from './index/scan.js';
import { inferRoutes, routingFileText } from './routing/infer.js';
import type { Route } from './routing/routes.js';

export const GITIGNORE_ENTRIES = ['.artifacts/objects/', '.artifacts/journal', '.artifacts/cache/', 'artifacts_index.json.lock/'];

/** The config init writes: the defaults spelled out, a retention policy (so that
 * `snapshot prune` works from the start), and an example framework contract, commented. */
export const CONFIG_TEMPLATE = `# artifacts configuration (see \`artifacts --help\`)
digest_algorithm: sha256
routing: artifact_routing.mdc
command_routing: routing_matrix.json
schemas: schemas
frameworks: frameworks
include: ["**/*"]
exclude: ["node_modules/**", "dist/**"]
# Which promotion snapshots \`artifacts snapshot prune\` keeps, per framework/stage ("*": all).
retention:
  "*": { keep_last: 10 }
#
# A framework contract lives in frameworks/<framework>.yaml. An example: save the lines
# below (without the leading "# ") as frameworks/fwk-001.yaml and adapt them.
# --- frameworks/fwk-001.yaml ---
# framework: fwk-001
# allowed_kinds: [plan, risk-register]
# stages:
#   design-review:
#     inputs:
#       - slot: plan
#         kind: plan
#         min_status: review
#   release:
#     after: design-review
#     inputs:
#       - slot: plan
#         kind: plan
#         min_status: approved
#       - slot: risks
#         kind: risk-register
#         min_status: approved
# --- end ---
`;

export interface InitResult {
  created: string[];
  kept: string[];
  gitignore: string[];
  /** The merge driver: installed, already present, or skipped outside git. */
  mergeDriver: 'installed' | 'present' | 'not a git repository';
  /** The command line git runs for the driver (absent outside git). */
  driverCommand?: string;
  /** The routes written into a new routing file, fitted to the artifacts already in the
   * tree (empty when there are none, or when the routing file was kept). */
  routes: Route[];
  /** What `route check` will report about those routes: empty on an already-organised
   * tree; otherwise (kinds sharing a directory) the routes are written all the same. */
  routeFindings: Finding[];
}

export const MERGE_ATTRIBUTE = 'artifacts_index.json merge=artifacts-index';

export interface InitOptions {
  /** The command git runs as the driver, used as given (it is a shell command line). */
  driverCommand?: string;
  /** The running installation (node executable and CLI script), used for the driver when the
   * repository has no local installation of the package. */
  installation?: { node: string; bin: string };
  /** The repository (its config says where the routing file goes and what is scanned);
   * opened at `root` when absent. */
  repo?: Repo;
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
    return (
      (
        await readChecked(join(root, name), {
          root,
          maxBytes: READ_LIMITS.config,
          code: 'FILE_NOT_REGULAR',
          label: name,
          allowMissing: true,
        })
      )?.toString('utf8') ?? ''
    );
  } catch (e) {
    if (readProblemOf(e) === 'too-large')
      throw new ArtifactsError('FILE_TOO_LARGE', (e as Error).message, { details: (e as ArtifactsError).details });
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
  const repo = opts.repo ?? (await openRepo({ cwd: root, root }));
  const created: string[] = [];
  const kept: string[] = [];
  let routes: Route[] = [];
  let routeFindings: Finding[] = [];
  const routingName = repo.configPresent ? repo.config.routing : 'artifact_routing.mdc';
  let routingText: string | undefined;
  if (!pathExists(join(root, routingName))) {
    // Routes that fit what is there, found by the same scan every command uses.
    const scan = await scanFiles(repo);
    const inferred = inferRoutes(scan.entries, controlFilesOf(repo.config), {
      routingFile: routingName,
      commandFile: repo.config.command_routing,
    });
    routes = inferred.routes;
    routeFindings = inferred.findings;
    routingText = routingFileText(routes);
  }
  for (const [name, text] of [
    [CONFIG_FILE, CONFIG_TEMPLATE],
    [routingName, routingText],
  ] as const) {
    if (text !== undefined && (await writeFileExclusiveDurable(join(root, name), Buffer.from(text), { root }))) created.push(name);
    else {
      kept.push(name);
      if (name === routingName) {
        routes = [];
        routeFindings = [];
      }
    }
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
  return {
    created,
    kept,
    gitignore: missing,
    mergeDriver,
    ...(mergeDriver === 'not a git repository' ? {} : { driverCommand }),
    routes,
    routeFindings,
  };
}
