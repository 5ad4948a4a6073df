// Routing commands that touch the repository: check, the canonical path of one file, fix.
import { dirname, join } from 'node:path';
import { controlFilesOf } from '../config.js';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { scanFiles } from '../index/scan.js';
import { resolveArtifactPaths } from '../index/operations.js';
import { readIndexView, runTransaction } from '../index/store.js';
import { sidecarTarget, type IndexEntry } from '../metadata/inspect.js';
import { compareBytes, controlPathProblem, pathExists } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkStateDirs } from '../index/store.js';
import { ensureDirConfined, moveFileDurable } from '../store/durable-write.js';
import { canonicalPathProblem, checkArtifactRoutes, checkRouteTable, expandTemplate, loadRouting, routeFor, templateProblems, type Routing } from './routes.js';
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
export async function canonicalPathOf(repo: Repo, file: string): Promise<{ path: string; canonical: string; kind: string; matches: boolean }> {
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
      throw new ArtifactsError('ROUTE_INVALID_PATH', `the route for kind "${entry.kind}" (${invalid.path}) ${templateProblems(invalid.path, routing.control).join(', ')}`);
    }
    throw new ArtifactsError('UNROUTED_KIND', `kind "${entry.kind}" has no route in ${routing.routingFile}`);
  }
  const canonical = expandTemplate(route.path, entry);
  const unsafe = canonicalPathProblem(routing, canonical);
  if (unsafe) throw new ArtifactsError('PATH_UNSAFE', `the canonical path of ${entry.path} would be ${JSON.stringify(canonical)}: ${unsafe}`, { details: { path: entry.path, canonical } });
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
    .filter((r) => templateProblems(r.path, control).length > 0)
    .map((r) => finding('ROUTE_INVALID_PATH', `route for kind "${r.kind}": ${r.path} ${templateProblems(r.path, control).join(', ')}`, { path: routing.routingFile, ...(r.line !== undefined ? { line: r.line } : {}) }));
  const targets = new Set<string>();
  const sidecarOf = new Map(scan.files.filter((f) => sidecarTarget(f) !== undefined).map((f) => [sidecarTarget(f)!, f]));
  for (const e of [...scan.entries].sort((a, b) => compareBytes(a.path, b.path))) {
    const route = routeFor(routing, e.kind);
    if (!route) continue;
    const to = expandTemplate(route.path, e);
    if (to === e.path) continue;
    const sc = sidecarOf.get(e.path);
    const scTo = sc ? to + sc.slice(e.path.length) : undefined;
    const unsafe = controlPathProblem(to, control) ?? (scTo !== undefined ? controlPathProblem(scTo, control) : undefined);
    if (unsafe) {
      findings.push(finding('PATH_UNSAFE', `refusing to move ${e.path} to ${JSON.stringify(to)}: ${unsafe}`, { path: e.path, hint: `Fix the route for kind "${e.kind}" in ${routing.routingFile}; route fix never writes into .git/ or the tool's own files.` }));
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

async function isTracked(root: string, rel: string): Promise<boolean> {
  try {
    await git(root, ['ls-files', '--error-unmatch', '--', rel]);
    return true;
  } catch {
    return false;
  }
}

async function moveOne(root: string, from: string, to: string): Promise<void> {
  // The destination directory is made through the confined walk: a symlink on the way that
  // leads outside the repository (or into .git) refuses the move before anything changes.
  await ensureDirConfined(dirname(join(root, to)), { root });
  if (pathExists(join(root, to))) throw new ArtifactsError('ROUTE_TARGET_EXISTS', `refusing to overwrite ${to}`);
  if (await isTracked(root, from)) await git(root, ['mv', '--', from, to]);
  else await moveFileDurable(join(root, from), join(root, to), { root });
}

/**
 * Apply `route fix`: move files (git mv when tracked) and re-point their index entries.
 * Refuses, before moving anything, a plan with a refusal finding, a move whose ends are
 * not ordinary repository paths, or a `.artifacts` that leads outside the repository.
 */
export async function applyRouteFix(repo: Repo, plan: { moves: readonly RouteMove[]; findings?: readonly Finding[] }): Promise<void> {
  const { moves } = plan;
  const control = controlFilesOf(repo.config);
  const refusals = [...(plan.findings ?? []).filter((f) => ROUTE_FIX_REFUSALS.has(f.code))];
  for (const m of moves) {
    for (const p of [m.from, m.to, m.sidecar?.from, m.sidecar?.to]) {
      const problem = p === undefined ? undefined : controlPathProblem(p, control);
      if (problem) refusals.push(finding('PATH_UNSAFE', `refusing to move ${m.from} to ${JSON.stringify(m.to)}: ${problem}`, { path: m.from }));
    }
  }
  if (refusals.length > 0) {
    throw new ArtifactsError(refusals[0]!.code, 'route fix refused: a route leads into .git/ or onto the tool\'s own files; nothing was moved', { findings: refusals });
  }
  if (moves.length > 0) await checkStateDirs(repo);
  for (const m of moves) {
    await moveOne(repo.root, m.from, m.to);
    if (m.sidecar) await moveOne(repo.root, m.sidecar.from, m.sidecar.to);
  }
  const view = await readIndexView(repo);
  if (!view.doc || moves.length === 0) return;
  const moved = new Map(moves.map((m) => [m.from, m.to]));
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

