// Routing commands that touch the repository: check, the canonical path of one file, fix.
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { scanFiles } from '../index/scan.js';
import { resolveArtifactPaths } from '../index/operations.js';
import { readIndexView, runTransaction } from '../index/store.js';
import { sidecarTarget, type IndexEntry } from '../metadata/inspect.js';
import { compareBytes, pathExists } from '../paths.js';
import type { Repo } from '../repo.js';
import { checkArtifactRoutes, checkRouteTable, expandTemplate, loadRouting, routeFor, type Routing } from './routes.js';
import { git } from '../git.js';

export function repoRouting(repo: Repo): Promise<Routing> {
  return loadRouting(repo.root, repo.config.routing, repo.config.command_routing);
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
  if (!route) throw new ArtifactsError('UNROUTED_KIND', `kind "${entry.kind}" has no route in ${routing.routingFile}`);
  const canonical = expandTemplate(route.path, entry);
  return { path: entry.path, canonical, kind: entry.kind, matches: canonical === entry.path };
}

export interface RouteMove {
  from: string;
  to: string;
  /** Sidecar moved along with the file, if any. */
  sidecar?: { from: string; to: string };
}

/** Plan `route fix`: the moves that put misrouted artifacts at their canonical paths. */
export async function planRouteFix(repo: Repo): Promise<{ moves: RouteMove[]; findings: Finding[] }> {
  const [routing, scan] = await Promise.all([repoRouting(repo), scanFiles(repo)]);
  const moves: RouteMove[] = [];
  const findings: Finding[] = [];
  const targets = new Set<string>();
  const sidecarOf = new Map(scan.files.filter((f) => sidecarTarget(f) !== undefined).map((f) => [sidecarTarget(f)!, f]));
  for (const e of [...scan.entries].sort((a, b) => compareBytes(a.path, b.path))) {
    const route = routeFor(routing, e.kind);
    if (!route) continue;
    const to = expandTemplate(route.path, e);
    if (to === e.path) continue;
    const sc = sidecarOf.get(e.path);
    const scTo = sc ? to + sc.slice(e.path.length) : undefined;
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
  await mkdir(dirname(join(root, to)), { recursive: true });
  if (pathExists(join(root, to))) throw new ArtifactsError('ROUTE_TARGET_EXISTS', `refusing to overwrite ${to}`);
  if (await isTracked(root, from)) await git(root, ['mv', '--', from, to]);
  else await rename(join(root, from), join(root, to));
}

/** Apply `route fix`: move files (git mv when tracked) and re-point their index entries. */
export async function applyRouteFix(repo: Repo, moves: readonly RouteMove[]): Promise<void> {
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

