// Artifact routing (SPEC §4): parse `artifact_routing.mdc` and `routing_matrix.json`, expand
// route templates, and find every conflict. Everything here except the loaders is pure:
// same inputs, same canonical path, on every OS.
import { extname, join } from 'node:path';
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { splitFrontMatter } from '../metadata/front-matter.js';
import { parseSafeYaml } from '../metadata/safe-yaml.js';
import type { IndexEntry } from '../metadata/inspect.js';
import { CONFIG_FILE, INDEX_FILE, STATE_DIR } from '../config.js';
import { compareBytes, controlPathProblem, type ControlFiles } from '../paths.js';
import { parseJsonQuiet, readChecked, READ_LIMITS } from '../store/checked-read.js';

export const TEMPLATE_VARIABLES = ['id', 'version', 'framework', 'kind', 'ext'] as const;
type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

export interface Route {
  kind: string;
  path: string;
  line?: number;
}

export interface CommandRoute {
  command: string;
  kind: string;
  writes: string;
}

export interface Routing {
  routes: Route[];
  commands: CommandRoute[];
  /** Was an artifact_routing.mdc found? Without one, artifacts are not route-checked. */
  present: boolean;
  routingFile: string;
  commandFile: string;
  findings: Finding[];
  /** The tool's own files and directories, which no route may reach (see controlFilesOf);
   * derived from the routing file names when absent. */
  control?: ControlFiles;
}

/** The control files a routing table is judged against. */
export function routingControl(routing: Pick<Routing, 'routingFile' | 'commandFile' | 'control'>): ControlFiles {
  return routing.control ?? { files: [INDEX_FILE, `${INDEX_FILE}.lock`, CONFIG_FILE, routing.routingFile, routing.commandFile], dirs: [STATE_DIR] };
}

// Stand-ins for the variables when a template's literal part is judged: an ordinary name,
// and for {ext} (taken from the artifact's file name) also the empty and the bare-dot
// extension, so that `.git{ext}/…` is caught before any artifact expands it to `.git.`.
const LITERAL_PROBES: ReadonlyArray<Record<TemplateVariable, string>> = [
  { id: 'x', version: 'x', framework: 'x', kind: 'x', ext: '.x' },
  { id: 'x', version: 'x', framework: 'x', kind: 'x', ext: '' },
  { id: 'x', version: 'x', framework: 'x', kind: 'x', ext: '.' },
];

/** Why a template's fixed part reaches `.git/` or the tool's own files, if it does. */
function literalControlProblem(template: string, control: ControlFiles): string | undefined {
  for (const probe of LITERAL_PROBES) {
    const p = controlPathProblem(template.replace(/\{(id|version|framework|kind|ext)\}/g, (_m, v: TemplateVariable) => probe[v]), control);
    if (p) return p;
  }
  return undefined;
}

/** Validate a route template; returns problems as messages. With `control`, a template
 * whose fixed part reaches `.git/` (any case or normalisation) or the tool's own files is
 * a problem too. */
export function templateProblems(template: string, control?: ControlFiles): string[] {
  const out: string[] = [];
  if (template.length === 0) return ['is empty'];
  if (template.startsWith('/') || /^[A-Za-z]:/.test(template)) out.push('is absolute');
  if (template.includes('\\')) out.push('contains a backslash');
  const segs = template.split('/');
  if (segs.some((s) => s === '..')) out.push('has a ".." segment');
  if (segs.some((s, i) => s === '' && i > 0) || segs.includes('.')) out.push('has an empty or "." segment');
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(m[1]!)) out.push(`uses unknown variable {${m[1]}}`);
  }
  if (/[{}]/.test(template.replace(/\{[^{}]*\}/g, ''))) out.push('has an unbalanced brace');
  if (out.length === 0 && control) {
    const problem = literalControlProblem(template, control);
    if (problem) out.push(`is unsafe: ${problem}`);
  }
  return out;
}

/** The directory a route owns: the leading segments before the first variable. */
export function routeDirectory(template: string): string {
  const segs = template.split('/');
  const out: string[] = [];
  for (let i = 0; i < segs.length - 1; i++) {
    if (segs[i]!.includes('{')) break;
    out.push(segs[i]!);
  }
  return out.join('/');
}

/** Every directory a route owns (a template route: the one before its first variable;
 * "" is the repository root). */
export function routeDirectories(route: Route): string[] {
  return [routeDirectory(route.path)];
}

function normDir(d: string): string {
  return d.replace(/^\.\//, '').replace(/\/+$/, '');
}

function nestedOrEqual(a: string, b: string): boolean {
  const x = normDir(a);
  const y = normDir(b);
  if (x === y) return true;
  if (x === '' || y === '') return true;
  return x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}

function inside(child: string, parent: string): boolean {
  const c = normDir(child);
  const p = normDir(parent);
  return p === '' || c === p || c.startsWith(`${p}/`);
}

/** The canonical path of an artifact under a route template. */
export function expandTemplate(template: string, entry: Pick<IndexEntry, 'id' | 'version' | 'framework' | 'kind' | 'path'>): string {
  const vars: Record<TemplateVariable, string> = {
    id: entry.id,
    version: entry.version,
    framework: entry.framework,
    kind: entry.kind,
    ext: extname(entry.path),
  };
  return template.replace(/\{(id|version|framework|kind|ext)\}/g, (_m, v: TemplateVariable) => vars[v]);
}

/** Parse the text of artifact_routing.mdc. */
export async function parseRoutingText(text: string, file: string): Promise<{ routes: Route[]; findings: Finding[] }> {
  const findings: Finding[] = [];
  const fm = splitFrontMatter(Buffer.from(text, 'utf8'));
  if (fm.kind !== 'ok') {
    return { routes: [], findings: [finding('ROUTING_INVALID', `${file} has no readable YAML front matter with a routes list`, { path: file, line: 1 })] };
  }
  const parsed = await parseSafeYaml(fm.text.toString('utf8'), { path: file, lineOffset: fm.firstLine - 1 });
  if (parsed.findings.length > 0) return { routes: [], findings: parsed.findings.map((f) => ({ ...f, code: 'ROUTING_INVALID' as const })) };
  const v = parsed.value as { routes?: unknown } | null;
  const list = v && typeof v === 'object' ? v.routes : undefined;
  if (list === undefined) return { routes: [], findings };
  if (!Array.isArray(list)) return { routes: [], findings: [finding('ROUTING_INVALID', '`routes` must be a list of {kind, path}', { path: file, ...(parsed.locate('/routes') ?? {}) })] };
  const routes: Route[] = [];
  list.forEach((r: unknown, i) => {
    const loc = parsed.locate(`/routes/${i}`);
    const rr = r as { kind?: unknown; path?: unknown };
    if (!rr || typeof rr.kind !== 'string' || typeof rr.path !== 'string') {
      findings.push(finding('ROUTING_INVALID', `route ${i + 1} needs string fields kind and path`, { path: file, ...(loc ?? {}), pointer: `/routes/${i}` }));
      return;
    }
    routes.push({ kind: rr.kind, path: rr.path, ...(loc ? { line: loc.line } : {}) });
  });
  return { routes, findings };
}

/** Parse the text of routing_matrix.json. */
export function parseCommandMatrix(text: string, file: string): { commands: CommandRoute[]; findings: Finding[] } {
  // The parser's own message would quote the text: never echo a routing file into CI logs.
  const parsed = parseJsonQuiet(text);
  if (!parsed.ok) return { commands: [], findings: [finding('ROUTING_INVALID', `${file} is not valid JSON (${parsed.error})`, { path: file })] };
  const v = parsed.value;
  const cmds = (v as { commands?: unknown })?.commands;
  if (!Array.isArray(cmds)) return { commands: [], findings: [finding('ROUTING_INVALID', `${file} must hold {"version": 1, "commands": [...]}`, { path: file })] };
  const commands: CommandRoute[] = [];
  const findings: Finding[] = [];
  cmds.forEach((c: unknown, i) => {
    const cc = c as Partial<CommandRoute>;
    if (!cc || typeof cc.command !== 'string' || typeof cc.kind !== 'string' || typeof cc.writes !== 'string') {
      findings.push(finding('ROUTING_INVALID', `command ${i + 1} needs string fields command, kind and writes`, { path: file, pointer: `/commands/${i}` }));
      return;
    }
    commands.push({ command: cc.command, kind: cc.kind, writes: cc.writes });
  });
  return { commands, findings };
}

/** Read a routing file under the checked-read rules: the text, undefined when absent, or
 * the finding that says why it cannot be read (a FIFO, a symlink, too large...). */
async function readRoutingFile(root: string, file: string): Promise<string | undefined | Finding> {
  try {
    return (await readChecked(join(root, file), { root, maxBytes: READ_LIMITS.config, code: 'ROUTING_INVALID', label: file, allowMissing: true }))?.toString('utf8');
  } catch (e) {
    if (e instanceof ArtifactsError) return finding('ROUTING_INVALID', e.message, { path: file });
    throw e;
  }
}

/** Load both routing files from a repository root (`control`: see controlFilesOf). */
export async function loadRouting(root: string, routingFile: string, commandFile: string, control?: ControlFiles): Promise<Routing> {
  const [rt, ct] = await Promise.all([readRoutingFile(root, routingFile), readRoutingFile(root, commandFile)]);
  const unreadable = [rt, ct].filter((x): x is Finding => typeof x === 'object');
  const r = typeof rt === 'string' ? await parseRoutingText(rt, routingFile) : { routes: [], findings: [] };
  const c = typeof ct === 'string' ? parseCommandMatrix(ct, commandFile) : { commands: [], findings: [] };
  return {
    routes: r.routes,
    commands: c.commands,
    present: typeof rt === 'string',
    routingFile,
    commandFile,
    findings: [...unreadable, ...r.findings, ...c.findings],
    control: routingControl({ routingFile, commandFile, control }),
  };
}

/** Conflicts among the routes and the command matrix (no artifacts involved). */
export function checkRouteTable(routing: Routing): Finding[] {
  const out: Finding[] = [...routing.findings];
  const file = routing.routingFile;
  const at = (r: Route) => ({ path: file, ...(r.line !== undefined ? { line: r.line } : {}) });
  const valid: Route[] = [];
  const control = routingControl(routing);
  for (const r of routing.routes) {
    const problems = templateProblems(r.path, control);
    if (problems.length > 0) out.push(finding('ROUTE_INVALID_PATH', `route for kind "${r.kind}": ${r.path} ${problems.join(', ')}`, at(r)));
    else valid.push(r);
  }
  const byKind = new Map<string, Route[]>();
  for (const r of routing.routes) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  for (const [kind, rs] of byKind) {
    if (rs.length > 1) out.push(finding('ROUTE_DUPLICATE_KIND', `kind "${kind}" has ${rs.length} routes: ${rs.map((r) => r.path).join(', ')}`, at(rs[1]!)));
  }
  for (let i = 0; i < valid.length; i++) {
    for (let j = i + 1; j < valid.length; j++) {
      const a = valid[i]!;
      const b = valid[j]!;
      if (a.kind === b.kind) continue;
      const da = routeDirectory(a.path);
      const db = routeDirectory(b.path);
      if (a.path !== b.path && a.path.toLowerCase() === b.path.toLowerCase()) {
        out.push(finding('ROUTE_CASE_COLLISION', `routes for "${a.kind}" (${a.path}) and "${b.kind}" (${b.path}) differ only by case`, at(b)));
      } else if (da !== db && da.toLowerCase() === db.toLowerCase()) {
        out.push(finding('ROUTE_CASE_COLLISION', `route directories ${da} ("${a.kind}") and ${db} ("${b.kind}") differ only by case`, at(b)));
      } else if (nestedOrEqual(da, db)) {
        out.push(finding('ROUTE_OVERLAP', `directories of "${a.kind}" (${da || '.'}) and "${b.kind}" (${db || '.'}) ${da === db ? 'are the same' : 'are nested'}`, at(b)));
      }
    }
  }
  const dirOf = new Map(valid.map((r) => [r.kind, routeDirectory(r.path)]));
  for (const c of routing.commands) {
    const where = { path: routing.commandFile };
    const own = dirOf.get(c.kind);
    if (own === undefined) {
      out.push(finding('UNROUTED_KIND', `command ${c.command} writes kind "${c.kind}", which has no route`, where));
    } else if (!inside(c.writes, own)) {
      out.push(finding('COMMAND_DRIFT', `command ${c.command} writes "${c.kind}" to ${c.writes}, but its route directory is ${own || '.'}`, { ...where, hint: `Set "writes": "${own}" for ${c.command}, or change the route.` }));
    }
    for (const [kind, dir] of dirOf) {
      if (kind === c.kind) continue;
      if (inside(c.writes, dir) && !(own !== undefined && inside(c.writes, own) && normDir(own).length > normDir(dir).length)) {
        out.push(finding('COMMAND_COLLISION', `command ${c.command} writes "${c.kind}" into ${c.writes}, which is routed to kind "${kind}"`, where));
      }
    }
  }
  return out;
}

export function routeFor(routing: Routing, kind: string): Route | undefined {
  const control = routingControl(routing);
  return routing.routes.find((r) => r.kind === kind && templateProblems(r.path, control).length === 0);
}

/** Why an artifact's canonical path under its route must never be written, if it must not
 * (a variable expanded into `.git`, `.artifacts/` or a control file name). */
export function canonicalPathProblem(routing: Routing, canonical: string): string | undefined {
  return controlPathProblem(canonical, routingControl(routing));
}

/** Route findings for indexed or scanned artifacts: unrouted kinds and misplaced files. */
export function checkArtifactRoutes(routing: Routing, entries: readonly IndexEntry[]): Finding[] {
  if (!routing.present) return [];
  const out: Finding[] = [];
  const sorted = [...entries].sort((a, b) => compareBytes(a.path, b.path));
  for (const e of sorted) {
    const route = routeFor(routing, e.kind);
    if (!route) {
      if (!routing.routes.some((r) => r.kind === e.kind)) out.push(finding('UNROUTED_KIND', `${e.id}@${e.version} has kind "${e.kind}", which has no route`, { path: e.path }));
      continue;
    }
    const canonical = expandTemplate(route.path, e);
    const unsafe = canonicalPathProblem(routing, canonical);
    if (unsafe) {
      out.push(finding('ROUTE_INVALID_PATH', `route for kind "${e.kind}" (${route.path}) expands to ${JSON.stringify(canonical)} for ${e.path}, which is unsafe: ${unsafe}`, { path: e.path }));
    } else if (canonical !== e.path) {
      out.push(finding('ROUTE_MISMATCH', `${e.path} should be at ${canonical}`, { path: e.path, hint: `Run \`artifacts route fix\` to move it to ${canonical}.` }));
    }
  }
  return out;
}

/** `artifacts route table`: the routes as a Markdown table. */
export function routeTable(routing: Routing): string {
  const rows = routing.routes.map((r) => `| ${r.kind} | \`${r.path}\` | \`${routeDirectory(r.path) || '.'}\` |`);
  return ['| kind | path template | directory |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
}
