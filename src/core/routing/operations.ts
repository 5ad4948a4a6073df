// Routing commands that touch the repository: check, the canonical path of one file, fix.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { controlFilesOf } from '../config.js';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { scanFiles } from '../index/scan.js';
import { resolveArtifactPaths } from '../index/operations.js';
import { readIndexView, runTransaction } from '../index/store.js';
import { sidecarTarget } from '../metadata/inspect.js';
import type { IndexEntry } from '../index/entry.js';
import { compareBytes, controlPathProblem, insideWorkTree, lstatQuiet, pathExists, symlinkOnTheWay } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkStateDirs } from '../index/store.js';
import { checkDirConfined, ensureDirConfined, fsyncDir, moveFileDurable } from '../store/durable-write.js';
import {
  canonicalPathFor,
  canonicalPathProblem,
  checkArtifactRoutes,
  checkRouteTable,
  loadRouting,
  routeFor,
  routeLabel,
  routeProblems,
  type Routing,
} from './routes.js';
import { git } from '../git.js';

export function repoRouting(repo: Repo): Promise<Routing> {
  return loadRouting(repo.root, repo.config.routing, repo.config.command_routing, controlFilesOf(repo.config));
}

/**
 * `artifacts route check`: every routing conflict among routes, commands and artifacts.
 *
 * @example
 * ```ts
 * const { findings } = await routeCheck(repo);
 * ```
 */
export async function routeCheck(repo: Repo): Promise<{ findings: Finding[]; routes: number; commands: number; artifacts: number }> {
  const [routing, scan] = await Promise.all([repoRouting(repo), scanFiles(repo)]);
  const findings = [...checkRouteTable(routing), ...checkArtifactRoutes(routing, scan.entries)];
  return { findings, routes: routing.routes.length, commands: routing.commands.length, artifacts: scan.entries.length };
}

/** `artifacts route <file>`: the canonical path of one artifact file. */
export async function canonicalPathOf(
  repo: Repo,
  file: string,
): Promise<{ path: string; canonical: string; kind: string; matches: boolean }> {
  const { explicit } = await resolveArtifactPaths(repo, [file]);
  const scan = await scanFiles(repo, { files: explicit, explicit: true });
  const entry = scan.entries[0];
  if (!entry) {
    const f = scan.findings[0];
    throw new ArtifactsError(f?.code ?? 'METADATA_NOT_MAPPING', `${file}: ${f?.message ?? 'not an artifact'}`, { findings: scan.findings });
  }
  const routing = await repoRouting(repo);
  const route = routeFor(routing, entry.kind);
  if (!route) {
    const invalid = routing.routes.find((r) => r.kind === entry.kind);
    if (invalid) {
      throw new ArtifactsError(
        'ROUTE_INVALID_PATH',
        `the route for kind "${entry.kind}" (${routeLabel(invalid)}) ${routeProblems(invalid, routing.control).join(', ')}`,
      );
    }
    throw new ArtifactsError('UNROUTED_KIND', `kind "${entry.kind}" has no route in ${routing.routingFile}`);
  }
  const canonical = canonicalPathFor(route, entry);
  const unsafe = canonicalPathProblem(routing, canonical);
  if (unsafe)
    throw new ArtifactsError('PATH_UNSAFE', `the canonical path of ${entry.path} would be ${JSON.stringify(canonical)}: ${unsafe}`, {
      details: { path: entry.path, canonical },
    });
  return { path: entry.path, canonical, kind: entry.kind, matches: canonical === entry.path };
}

export interface RouteMove {
  from: string;
  to: string;
  /** Sidecar moved along with the file, if any. */
  sidecar?: { from: string; to: string };
}

/** Findings that make `route fix` refuse every move: a route (or its expansion) that
 * reaches `.git/` or the tool's own files. Nothing is moved when any is present. */
export const ROUTE_FIX_REFUSALS: ReadonlySet<string> = new Set(['PATH_UNSAFE', 'ROUTE_INVALID_PATH']);

/** Plan `route fix`: the moves that put misrouted artifacts at their canonical paths. A
 * target that would land in `.git/` or on a control file is a PATH_UNSAFE finding, and an
 * invalid route a ROUTE_INVALID_PATH one; either makes {@link applyRouteFix} refuse. */
export async function planRouteFix(repo: Repo): Promise<{ moves: RouteMove[]; findings: Finding[] }> {
  const [routing, scan] = await Promise.all([repoRouting(repo), scanFiles(repo)]);
  const moves: RouteMove[] = [];
  const control = controlFilesOf(repo.config);
  // An invalid route (one reaching .git/ or a control file, `..`, a backslash, an unknown
  // variable) stops the whole fix: the routing must be corrected before anything moves.
  const findings: Finding[] = routing.routes
    .filter((r) => routeProblems(r, control).length > 0)
    .map((r) =>
      finding('ROUTE_INVALID_PATH', `route for kind "${r.kind}": ${routeLabel(r)} ${routeProblems(r, control).join(', ')}`, {
        path: routing.routingFile,
        ...(r.line !== undefined ? { line: r.line } : {}),
      }),
    );
  const targets = new Set<string>();
  const sidecarOf = new Map(scan.files.filter((f) => sidecarTarget(f) !== undefined).map((f) => [sidecarTarget(f)!, f]));
  for (const e of [...scan.entries].sort((a, b) => compareBytes(a.path, b.path))) {
    const route = routeFor(routing, e.kind);
    if (!route) continue;
    const to = canonicalPathFor(route, e);
    if (to === e.path) continue;
    const sc = sidecarOf.get(e.path);
    const scTo = sc ? to + sc.slice(e.path.length) : undefined;
    const unsafe = controlPathProblem(to, control) ?? (scTo !== undefined ? controlPathProblem(scTo, control) : undefined);
    if (unsafe) {
      findings.push(
        finding('PATH_UNSAFE', `refusing to move ${e.path} to ${JSON.stringify(to)}: ${unsafe}`, {
          path: e.path,
          hint: `Fix the route for kind "${e.kind}" in ${routing.routingFile}; route fix never writes into .git/ or the tool's own files.`,
        }),
      );
      continue;
    }
    if (targets.has(to) || pathExists(join(repo.root, to)) || (scTo !== undefined && pathExists(join(repo.root, scTo)))) {
      findings.push(finding('ROUTE_TARGET_EXISTS', `cannot move ${e.path} to ${to}: the target already exists`, { path: e.path }));
      continue;
    }
    targets.add(to);
    moves.push({ from: e.path, to, ...(sc && scTo ? { sidecar: { from: sc, to: scTo } } : {}) });
  }
  return { moves, findings };
}

/** One stage entry of git's index (`git ls-files -s`). */
interface GitIndexEntry {
  mode: string;
  oid: string;
  stage: string;
}

/** Git's index entries for the work tree below `root` (paths relative to `root`), and the
 * prefix that makes them relative to the top of the work tree; undefined outside git. One
 * git process for all files, however many move. */
async function gitIndexBelow(root: string): Promise<{ prefix: string; entries: Map<string, GitIndexEntry[]> } | undefined> {
  let head: string;
  try {
    head = await git(root, ['rev-parse', '--is-inside-work-tree', '--show-prefix']);
  } catch {
    return undefined;
  }
  const [inside, prefix = ''] = head.split('\n');
  if (inside !== 'true') return undefined;
  const entries = new Map<string, GitIndexEntry[]>();
  for (const rec of (await git(root, ['ls-files', '-s', '-z'])).split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [mode = '', oid = '', stage = ''] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    const list = entries.get(path);
    if (list) list.push({ mode, oid, stage });
    else entries.set(path, [{ mode, oid, stage }]);
  }
  return { prefix, entries };
}

/** Move git's index entries of moved files to their new paths in one `update-index`
 * batch: the entry keeps its staged blob and mode (what `git mv` does; a change not yet
 * staged stays unstaged), then one refresh re-reads the stat data of the moved files. */
async function moveGitIndexEntries(
  root: string,
  index: { prefix: string; entries: Map<string, GitIndexEntry[]> },
  done: ReadonlyArray<{ from: string; to: string }>,
): Promise<void> {
  const records: string[] = [];
  for (const { from, to } of done) {
    const entries = index.entries.get(from);
    if (!entries) continue;
    records.push(`0 ${'0'.repeat(entries[0]!.oid.length)}\t${index.prefix}${from}`);
    for (const e of entries) records.push(`${e.mode} ${e.oid}\t${index.prefix}${to}`);
  }
  if (records.length === 0) return;
  await git(root, ['update-index', '-z', '--index-info'], { input: records.join('\0') + '\0' }).catch(
    (e: { code?: unknown; stderr?: string }) => {
      throw new ArtifactsError(
        'IO_ERROR',
        `git update-index failed (exit ${String(e.code)}): ${String(e.stderr ?? '')
          .trim()
          .slice(0, 4096)}`,
      );
    },
  );
  // Stat data only: a failure leaves entries git re-checks by content, never wrong ones.
  await git(root, ['update-index', '-q', '--unmerged', '--refresh']).catch(() => undefined);
}

/**
 * Apply `route fix`: move files and re-point their index entries. Tracked files stay
 * tracked at their new paths (their git index entries move with them, as `git mv` would),
 * in one git batch for all moves. Refuses, before moving anything, a plan with a refusal
 * finding, a move whose ends are not ordinary repository paths, a target that exists or
 * is claimed twice, a file with an unresolved merge conflict, a
 * destination directory leading outside the repository, or a `.artifacts` that does.
 */
export async function applyRouteFix(repo: Repo, plan: { moves: readonly RouteMove[]; findings?: readonly Finding[] }): Promise<void> {
  const { files, index } = await preflightRouteFix(repo, plan, false);
  if (files.length === 0) return;
  const { moves } = plan;
  const root = repo.root;
  const done: Array<{ from: string; to: string }> = [];
  let failure: Error | undefined;
  try {
    for (const f of files) {
      await moveFileDurable(join(root, f.from), join(root, f.to), { root, durable: false });
      done.push(f);
    }
  } catch (e) {
    failure = e as Error;
  }
  // Each directory a file left or entered is synced once, before any index records the move.
  const touched = new Set(done.flatMap((f) => [dirname(join(root, f.from)), dirname(join(root, f.to))]));
  for (const d of [...touched].sort(compareBytes)) await fsyncDir(d);
  // What moved is recorded even when a later move failed: git's index and ours follow the
  // files that are at their new paths.
  if (index) await moveGitIndexEntries(root, index, done);
  const movedFiles = new Set(done.map((f) => f.from));
  const moved = new Map(moves.filter((m) => movedFiles.has(m.from)).map((m) => [m.from, m.to]));
  const view = await readIndexView(repo);
  if (view.doc && moved.size > 0) {
    await runTransaction(repo, async (current) => {
      const ops = [];
      for (const e of current.doc?.artifacts ?? []) {
        const to = moved.get(e.path);
        if (to === undefined) continue;
        const entry: IndexEntry = { ...e, path: to };
        ops.push({ op: 'remove' as const, path: e.path }, { op: 'put' as const, entry });
      }
      return { ops };
    });
  }
  if (failure !== undefined) throw failure;
}

/** Does the symbolic link at `rel` resolve inside the work tree (and outside .git)? */
function linkStaysInside(root: string, rel: string): boolean {
  try {
    return insideWorkTree(realpathSync(root), realpathSync(join(root, rel)));
  } catch {
    return false; // dangling or a loop: the confined walk refuses it
  }
}

/**
 * Rehearse `route fix` (`--dry-run`): every check {@link applyRouteFix} makes before its
 * first move, with the same errors, but nothing is made, moved or removed. Each target
 * directory is walked through the same confinement checks (a symlink leading outside the
 * repository or into `.git` refuses), so a rehearsal fails exactly when the real run would.
 */
export async function checkRouteFix(repo: Repo, plan: { moves: readonly RouteMove[]; findings?: readonly Finding[] }): Promise<void> {
  await preflightRouteFix(repo, plan, true);
}

/** The checks made before the first move, shared by the real run and the rehearsal; with
 * `dryRun` off it also makes the destination directories. Returns the files to move. */
async function preflightRouteFix(
  repo: Repo,
  plan: { moves: readonly RouteMove[]; findings?: readonly Finding[] },
  dryRun: boolean,
): Promise<{ files: Array<{ from: string; to: string }>; index: Awaited<ReturnType<typeof gitIndexBelow>> }> {
  const { moves } = plan;
  const root = repo.root;
  const control = controlFilesOf(repo.config);
  const refusals = [...(plan.findings ?? []).filter((f) => ROUTE_FIX_REFUSALS.has(f.code))];
  for (const m of moves) {
    for (const p of [m.from, m.to, m.sidecar?.from, m.sidecar?.to]) {
      const problem = p === undefined ? undefined : controlPathProblem(p, control);
      // Like git, never move a file beyond a symbolic link: the link decides where it lands
      // (a committed `out -> .artifacts/snapshots/...` would turn a route into a forged record).
      // (A link leading outside the repository or into .git is the confined walk's to refuse,
      // below, with its own code.)
      const link = p === undefined || problem ? undefined : symlinkOnTheWay(root, p);
      if (link !== undefined && linkStaysInside(root, link)) {
        refusals.push(
          finding(
            'PATH_UNSAFE',
            `refusing to move ${m.from} to ${JSON.stringify(m.to)}: ${p} lies beyond the symbolic link ${JSON.stringify(link)}`,
            {
              path: m.from,
              paths: [m.from, m.to],
              hint: `Replace the symbolic link ${link} with a real directory (or change the route); route fix, like git, never moves a file through a link.`,
            },
          ),
        );
      } else if (problem)
        refusals.push(
          finding('PATH_UNSAFE', `refusing to move ${m.from} to ${JSON.stringify(m.to)}: ${problem}`, {
            path: m.from,
            paths: [m.from, m.to],
          }),
        );
    }
  }
  if (refusals.length > 0) {
    throw new ArtifactsError(
      refusals[0]!.code,
      "route fix refused: a route leads into .git/ or onto the tool's own files; nothing was moved",
      { findings: refusals },
    );
  }
  if (moves.length === 0) return { files: [], index: undefined };
  await checkStateDirs(repo, { dryRun });
  const files = moves.flatMap((m) => [{ from: m.from, to: m.to }, ...(m.sidecar ? [m.sidecar] : [])]);
  const index = await gitIndexBelow(root);
  const blocked: Finding[] = [];
  const claimed = new Set<string>();
  for (const f of files) {
    // (A target git's index still lists but the work tree lacks — a directory renamed
    // outside git — is free: moving the file back is what puts the tree in order.)
    if (claimed.has(f.to) || pathExists(join(root, f.to))) {
      blocked.push(finding('ROUTE_TARGET_EXISTS', `refusing to overwrite ${f.to} (moving ${f.from})`, { path: f.from }));
    }
    claimed.add(f.to);
    // A symbolic link is never moved: its relative target would mean something else at the
    // new depth (a sidecar link would then describe another file, or one outside).
    if (lstatQuiet(join(root, f.from))?.isSymbolicLink()) {
      blocked.push(
        finding('FILE_NOT_REGULAR', `refusing to move ${f.from}: it is a symbolic link, whose target would change meaning at ${f.to}`, {
          path: f.from,
          hint: 'Replace the link with the file it points to, then run route fix again.',
        }),
      );
    }
    if (index?.entries.get(f.from)?.some((e) => e.stage !== '0')) {
      blocked.push(
        finding('USAGE', `${f.from} has an unresolved merge conflict`, {
          path: f.from,
          hint: 'Resolve the conflict and stage the file, then run route fix again.',
        }),
      );
    }
  }
  if (blocked.length > 0)
    throw new ArtifactsError(blocked[0]!.code, `route fix refused: ${blocked[0]!.message}; nothing was moved`, { findings: blocked });
  // Every destination directory is made (or, rehearsing, judged) through the confined walk
  // before the first move: a symlink on the way that leads outside the repository (or into
  // .git) refuses the fix while nothing has moved.
  // The directories the files leave are judged the same way (each move walks them again).
  for (const d of [...new Set(files.map((f) => dirname(join(root, f.from))))].sort(compareBytes)) await checkDirConfined(d, { root });
  for (const d of [...new Set(files.map((f) => dirname(join(root, f.to))))].sort(compareBytes)) {
    if (dryRun) await checkDirConfined(d, { root });
    else await ensureDirConfined(d, { root });
  }
  return { files, index };
}
