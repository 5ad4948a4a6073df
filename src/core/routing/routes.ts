// Artifact routing (SPEC §4): parse `artifact_routing.mdc` and `routing_matrix.json`, expand
// route templates, and find every conflict. Everything here except the loaders is pure:
// same inputs, same canonical path, on every OS.
import { extname, join, posix } from 'node:path';
import { finding, type Finding, isArtifactsError } from '../errors.js';
import { splitFrontMatter } from '../metadata/front-matter.js';
import { parseSafeYaml } from '../metadata/safe-yaml.js';
import type { IndexEntry } from '../index/entry.js';
import { CONFIG_FILE, INDEX_FILE, memoizedParse, STATE_DIR } from '../config.js';
import { stampOf } from '../stamp.js';
import { compareBytes, controlPathProblem, segmentNameProblem, type ControlFiles } from '../paths.js';
import { parseJsonQuiet, readChecked, READ_LIMITS } from '../store/checked-read.js';

export const TEMPLATE_VARIABLES = ['id', 'version', 'framework', 'kind', 'ext'] as const;
/** The most path segments a route (template or listed directory) may have: conflict checks
 * walk a directory's ancestors, so their work stays linear in the routing file. */
export const MAX_ROUTE_DEPTH = 100;
type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** One route: a template (`path`) or a list of directories (`dirs`), never both. */
export interface Route {
  kind: string;
  /** A template: `docs/plans/{framework}/{id}.md`. */
  path?: string;
  /** Directories (as written) below which an artifact of the kind may sit under any name;
   * `""` is the repository root. */
  dirs?: string[];
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
  return (
    routing.control ?? {
      files: [INDEX_FILE, `${INDEX_FILE}.lock`, CONFIG_FILE, routing.routingFile, routing.commandFile],
      dirs: [STATE_DIR],
    }
  );
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
    const p = controlPathProblem(
      template.replace(/\{(id|version|framework|kind|ext)\}/g, (_m, v: TemplateVariable) => probe[v]),
      control,
    );
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
  if (segs.length > MAX_ROUTE_DEPTH) return [...out, `has more than ${MAX_ROUTE_DEPTH} segments`];
  if (segs.some((s) => s === '..')) out.push('has a ".." segment');
  if (segs.some((s, i) => s === '' && i > 0) || segs.includes('.')) out.push('has an empty or "." segment');
  for (const seg of segs) {
    const problem = segmentNameProblem(seg.replace(/\{ext\}/g, '.x').replace(/\{(id|version|framework|kind)\}/g, 'x'));
    if (problem) {
      out.push(`has a segment that ${problem}`);
      break;
    }
  }
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

function normDir(d: string): string {
  return d.replace(/^\.\//, '').replace(/\/+$/, '');
}

/** A listed directory as the route means it: no leading `./`, no trailing slash, `""`
 * (also `.` and `./`) for the repository root. */
export function normaliseRouteDir(dir: string): string {
  let d = dir;
  while (d.startsWith('./')) d = d.slice(2);
  d = d.replace(/\/+$/, '');
  return d === '.' ? '' : d;
}

/** Validate one listed directory of a `dirs:` route; returns problems as messages. The
 * root (`""`) is allowed; anything else follows the rules of a template's fixed part. */
export function dirProblems(dir: string, control?: ControlFiles): string[] {
  const out: string[] = [];
  if (dir.includes('\0')) out.push('contains a NUL byte');
  if (dir.includes('\\')) out.push('contains a backslash');
  if (dir.startsWith('/') || /^[A-Za-z]:/.test(dir)) out.push('is absolute');
  const d = normaliseRouteDir(dir);
  if (out.length > 0 || d === '') return out;
  const segs = d.split('/');
  if (segs.length > MAX_ROUTE_DEPTH) return [`has more than ${MAX_ROUTE_DEPTH} segments`];
  if (segs.some((s) => s === '..')) out.push('has a ".." segment');
  if (segs.some((s) => s === '' || s === '.')) out.push('has an empty or "." segment');
  if (/[{}]/.test(d)) out.push('holds a brace (a directory is listed as it is; templates go in `path`)');
  for (const seg of segs) {
    const problem = segmentNameProblem(seg);
    if (problem) {
      out.push(`has a segment that ${problem}`);
      break;
    }
  }
  if (out.length === 0 && control) {
    const problem = controlPathProblem(d, control);
    if (problem) out.push(`is unsafe: ${problem}`);
  }
  return out;
}

/** Every directory a route owns, for conflict checks: a template's one directory
 * ({@link routeDirectory}), or each listed directory normalised ({@link normaliseRouteDir}). */
export function routeDirectories(route: Route): string[] {
  if (route.dirs !== undefined) return route.dirs.map(normaliseRouteDir);
  return [routeDirectory(route.path ?? '')];
}

/** What is wrong with a route (template or directories); empty when it is usable. */
export function routeProblems(route: Route, control?: ControlFiles): string[] {
  if (route.path !== undefined && route.dirs !== undefined) return ['has both path and dirs'];
  if (route.dirs !== undefined) {
    if (route.dirs.length === 0) return ['has an empty dirs list'];
    return route.dirs.flatMap((d) => dirProblems(d, control).map((p) => `dirs entry ${JSON.stringify(d)} ${p}`));
  }
  if (route.path === undefined) return ['has neither path nor dirs'];
  return templateProblems(route.path, control);
}

/** At most a few items of a list for a message: a routing file may list thousands. */
function shortList<T>(items: readonly T[], max = 5, show: (item: T) => string = String): string {
  const shown = items.slice(0, max).map(show).join(', ');
  return items.length <= max ? shown : `${shown} and ${items.length - max} more`;
}

/** A route as a human reads it: its template, or its directory list (the first few). */
export function routeLabel(route: Route): string {
  if (route.dirs !== undefined) return `dirs: [${shortList(route.dirs, 5, (d) => JSON.stringify(d))}]`;
  return route.path ?? '(no path)';
}

const dirSets = new WeakMap<Route, { first: string; all: Set<string> }>();

/** The canonical path of an artifact under a route: the template's expansion; for a
 * `dirs:` route the artifact's own path when it lies below one of the directories, else
 * the same file name in the first one. The directories are looked up through the file's
 * ancestors, so a route listing many directories costs no more per file. */
export function canonicalPathFor(route: Route, entry: Pick<IndexEntry, 'id' | 'version' | 'framework' | 'kind' | 'path'>): string {
  if (route.dirs === undefined) return expandTemplate(route.path ?? '', entry);
  let set = dirSets.get(route);
  if (!set) {
    const dirs = routeDirectories(route);
    set = { first: dirs[0] ?? '', all: new Set(dirs) };
    dirSets.set(route, set);
  }
  if (set.all.has('')) return entry.path;
  for (let i = entry.path.lastIndexOf('/'); i > 0; i = entry.path.lastIndexOf('/', i - 1)) {
    if (set.all.has(entry.path.slice(0, i))) return entry.path;
  }
  const name = posix.basename(entry.path);
  return set.first ? `${set.first}/${name}` : name;
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

/** Why one entry of the `routes` list is not a route, if it is not: a string kind and
 * exactly one of a string `path` or a non-empty list of string `dirs`. */
function routeEntryProblem(r: { kind?: unknown; path?: unknown; dirs?: unknown }): string | undefined {
  if (typeof r.kind !== 'string') return 'needs a string field kind';
  const hasPath = r.path !== undefined;
  const hasDirs = r.dirs !== undefined;
  if (hasPath && hasDirs) return 'has both path and dirs: give exactly one';
  if (!hasPath && !hasDirs) return 'needs path (a template) or dirs (a list of directories)';
  if (hasPath) return typeof r.path === 'string' ? undefined : 'has a path that is not a string';
  if (!Array.isArray(r.dirs)) return 'has dirs that is not a list of directories';
  if (r.dirs.length === 0) return 'has an empty dirs list (list at least one directory; "" is the repository root)';
  const bad = r.dirs.findIndex((d) => typeof d !== 'string');
  return bad >= 0 ? `has dirs entry ${bad + 1} that is not a string` : undefined;
}

/** Parse the text of artifact_routing.mdc. */
export async function parseRoutingText(text: string, file: string): Promise<{ routes: Route[]; findings: Finding[] }> {
  const findings: Finding[] = [];
  const fm = splitFrontMatter(Buffer.from(text, 'utf8'));
  if (fm.kind !== 'ok') {
    return {
      routes: [],
      findings: [finding('ROUTING_INVALID', `${file} has no readable YAML front matter with a routes list`, { path: file, line: 1 })],
    };
  }
  const parsed = await parseSafeYaml(fm.text.toString('utf8'), { path: file, lineOffset: fm.firstLine - 1 });
  if (parsed.findings.length > 0) return { routes: [], findings: parsed.findings.map((f) => ({ ...f, code: 'ROUTING_INVALID' as const })) };
  const v = parsed.value as { routes?: unknown } | null;
  const list = v && typeof v === 'object' ? v.routes : undefined;
  if (list === undefined) return { routes: [], findings };
  if (!Array.isArray(list))
    return {
      routes: [],
      findings: [
        finding('ROUTING_INVALID', '`routes` must be a list of {kind, path} or {kind, dirs}', {
          path: file,
          ...(parsed.locate('/routes') ?? {}),
        }),
      ],
    };
  const routes: Route[] = [];
  list.forEach((r: unknown, i) => {
    const loc = parsed.locate(`/routes/${i}`);
    const where = { path: file, ...(loc ?? {}), pointer: `/routes/${i}` };
    const rr = (r !== null && typeof r === 'object' && !Array.isArray(r) ? r : {}) as { kind?: unknown; path?: unknown; dirs?: unknown };
    const problem = routeEntryProblem(rr);
    if (problem) {
      const who = typeof rr.kind === 'string' ? ` (kind ${JSON.stringify(rr.kind)})` : '';
      findings.push(
        finding('ROUTING_INVALID', `route ${i + 1}${who} ${problem}`, {
          ...where,
          hint: 'Give each route a kind and exactly one of `path: <template>` or `dirs: [<directory>, ...]` ("" is the repository root).',
        }),
      );
      return;
    }
    const base = { kind: rr.kind as string, ...(loc ? { line: loc.line } : {}) };
    routes.push(rr.dirs !== undefined ? { ...base, dirs: [...(rr.dirs as string[])] } : { ...base, path: rr.path as string });
  });
  return { routes, findings };
}

/** Parse the text of routing_matrix.json. */
export function parseCommandMatrix(text: string, file: string): { commands: CommandRoute[]; findings: Finding[] } {
  // The parser's own message would quote the text: never echo a routing file into CI logs.
  const parsed = parseJsonQuiet(text);
  if (!parsed.ok)
    return { commands: [], findings: [finding('ROUTING_INVALID', `${file} is not valid JSON (${parsed.error})`, { path: file })] };
  const v = parsed.value;
  const cmds = (v as { commands?: unknown })?.commands;
  if (!Array.isArray(cmds))
    return { commands: [], findings: [finding('ROUTING_INVALID', `${file} must hold {"version": 1, "commands": [...]}`, { path: file })] };
  const commands: CommandRoute[] = [];
  const findings: Finding[] = [];
  cmds.forEach((c: unknown, i) => {
    const cc = c as Partial<CommandRoute>;
    if (!cc || typeof cc.command !== 'string' || typeof cc.kind !== 'string' || typeof cc.writes !== 'string') {
      findings.push(
        finding('ROUTING_INVALID', `command ${i + 1} needs string fields command, kind and writes`, {
          path: file,
          pointer: `/commands/${i}`,
        }),
      );
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
    return (
      await readChecked(join(root, file), { root, maxBytes: READ_LIMITS.config, code: 'ROUTING_INVALID', label: file, allowMissing: true })
    )?.toString('utf8');
  } catch (e) {
    if (isArtifactsError(e)) return finding('ROUTING_INVALID', e.message, { path: file });
    throw e;
  }
}

/** Load both routing files from a repository root (`control`: see controlFilesOf). */
export async function loadRouting(root: string, routingFile: string, commandFile: string, control?: ControlFiles): Promise<Routing> {
  const [rt, ct] = await Promise.all([readRoutingFile(root, routingFile), readRoutingFile(root, commandFile)]);
  const unreadable = [rt, ct].filter((x): x is Finding => typeof x === 'object');
  const r =
    typeof rt === 'string'
      ? await memoizedParse(
          root,
          'routingMemo',
          stampOf(join(root, routingFile), { follow: true }),
          rt,
          (text) => parseRoutingText(text, routingFile),
          (v): v is { routes: Route[]; findings: Finding[] } =>
            v !== null &&
            typeof v === 'object' &&
            Array.isArray((v as { routes?: unknown }).routes) &&
            Array.isArray((v as { findings?: unknown }).findings),
        )
      : { routes: [], findings: [] };
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

/** At most this many findings of each conflict code: a routing file of many thousand
 * overlapping routes gives a bounded report (and bounded work), never millions of lines. */
export const CONFLICT_FINDINGS_CAP = 200;

const DIRS_HINT =
  'List directories relative to the repository root with / separators: no `..`, nothing under .git/ or .artifacts/, not the tool\'s own files; "" is the root.';
const ROOT_HINT =
  'The repository root ("") holds every other directory, so it overlaps every other route: list the directories where the kind lives instead (as `artifacts init` does).';

/** Conflicts among the routes and the command matrix (no artifacts involved). Each listed
 * directory of a `dirs:` route is one of the route's directories; two directories of the
 * same route may nest (harmless: a file below both fits). Work and report stay bounded:
 * directories are matched through their ancestors, not pairwise. */
export function checkRouteTable(routing: Routing): Finding[] {
  const out: Finding[] = [...routing.findings];
  const file = routing.routingFile;
  const at = (r: Route) => ({ path: file, ...(r.line !== undefined ? { line: r.line } : {}) });
  const valid: Route[] = [];
  const control = routingControl(routing);
  for (const r of routing.routes) {
    const problems = routeProblems(r, control);
    if (problems.length > 0) {
      const hint = r.dirs !== undefined ? { hint: DIRS_HINT } : {};
      out.push(
        finding('ROUTE_INVALID_PATH', `route for kind "${r.kind}": ${r.path !== undefined ? `${r.path} ` : ''}${shortList(problems)}`, {
          ...at(r),
          ...hint,
        }),
      );
    } else valid.push(r);
  }
  const byKind = new Map<string, Route[]>();
  for (const r of routing.routes) {
    const list = byKind.get(r.kind);
    if (list) list.push(r);
    else byKind.set(r.kind, [r]);
  }
  for (const [kind, rs] of byKind) {
    if (rs.length > 1)
      out.push(finding('ROUTE_DUPLICATE_KIND', `kind "${kind}" has ${rs.length} routes: ${shortList(rs, 5, routeLabel)}`, at(rs[1]!)));
  }

  const counts = new Map<string, number>();
  const dropped = new Map<string, number>();
  const add = (f: Finding): boolean => {
    const n = counts.get(f.code) ?? 0;
    if (n >= CONFLICT_FINDINGS_CAP) {
      dropped.set(f.code, (dropped.get(f.code) ?? 0) + 1);
      return false;
    }
    counts.set(f.code, n + 1);
    out.push(f);
    return true;
  };
  const full = (code: string) => (counts.get(code) ?? 0) >= CONFLICT_FINDINGS_CAP;

  // Route pairs whose templates differ only by case: reported once, on the template.
  const caseOfPath = new Set<string>();
  const byLowerPath = new Map<string, number>();
  valid.forEach((r, j) => {
    if (r.path === undefined) return;
    const lower = r.path.toLowerCase();
    const i = byLowerPath.get(lower);
    if (i === undefined) {
      byLowerPath.set(lower, j);
      return;
    }
    const a = valid[i]!;
    if (a.kind === r.kind || a.path === r.path) return;
    caseOfPath.add(`${i},${j}`);
    add(finding('ROUTE_CASE_COLLISION', `routes for "${a.kind}" (${a.path}) and "${r.kind}" (${r.path}) differ only by case`, at(r)));
  });

  // Directories: each (route, directory) once; for each, its ancestors (and itself) are
  // looked up among the directories of earlier routes.
  const dirsOf = valid.map((r) => [...new Set(routeDirectories(r))]);
  const exact = new Map<string, Map<string, number>>(); // directory -> kind -> first route
  const lower = new Map<string, Map<string, { i: number; kind: string }>>(); // lower-cased directory -> spelling -> first route
  const pairs = new Set<string>();
  outer: for (let j = 0; j < valid.length; j++) {
    const b = valid[j]!;
    for (const db of dirsOf[j]!) {
      if (full('ROUTE_OVERLAP') && full('ROUTE_CASE_COLLISION')) break outer;
      // Equal or nested: an earlier route owns db itself or one of its ancestors, or a
      // directory below db (found from the other side when that route comes later).
      const segs = db === '' ? [] : db.split('/');
      for (let k = segs.length; k >= 0; k--) {
        const anc = segs.slice(0, k).join('/');
        for (const [kind, i] of exact.get(anc) ?? []) {
          if (kind === b.kind || caseOfPath.has(`${i},${j}`)) continue;
          const key = `O ${i} ${j} ${anc} ${db}`;
          if (pairs.has(key)) continue;
          pairs.add(key);
          add(overlap(valid[i]!, anc, b, db, at(b)));
          if (full('ROUTE_OVERLAP')) break;
        }
      }
      // Other spellings of the same directory (one entry per spelling: the first route).
      const ldb = db.toLowerCase();
      const spellings = lower.get(ldb) ?? new Map<string, { i: number; kind: string }>();
      for (const [dir, { i, kind }] of spellings) {
        if (kind === b.kind || dir === db || caseOfPath.has(`${i},${j}`)) continue;
        if (
          !add(finding('ROUTE_CASE_COLLISION', `route directories ${dir} ("${kind}") and ${db} ("${b.kind}") differ only by case`, at(b)))
        )
          break;
      }
      const ex = exact.get(db) ?? new Map<string, number>();
      if (!ex.has(b.kind)) ex.set(b.kind, j);
      exact.set(db, ex);
      if (!spellings.has(db)) spellings.set(db, { i: j, kind: b.kind });
      lower.set(ldb, spellings);
    }
  }
  // A later route's directory can also be an ancestor of an earlier route's: look the
  // other way, through each earlier directory's ancestors among the later routes.
  const firstOf = new Map<string, Map<string, number>>();
  for (let j = valid.length - 1; j >= 0 && !full('ROUTE_OVERLAP'); j--) {
    const a = valid[j]!;
    for (const da of dirsOf[j]!) {
      const segs = da === '' ? [] : da.split('/');
      for (let k = segs.length - 1; k >= 0 && !full('ROUTE_OVERLAP'); k--) {
        const anc = segs.slice(0, k).join('/');
        for (const [kind, i] of firstOf.get(anc) ?? []) {
          if (kind === a.kind || caseOfPath.has(`${j},${i}`)) continue;
          const key = `O ${j} ${i} ${da} ${anc}`;
          if (pairs.has(key)) continue;
          pairs.add(key);
          add(overlap(a, da, valid[i]!, anc, at(valid[i]!)));
          if (full('ROUTE_OVERLAP')) break;
        }
      }
      const m = firstOf.get(da) ?? new Map<string, number>();
      m.set(a.kind, j);
      firstOf.set(da, m);
    }
  }

  const dirsByKind = new Map<string, string[]>();
  valid.forEach((r, j) => dirsByKind.set(r.kind, dirsOf[j]!));
  const kindsAt = new Map<string, string[]>(); // directory -> kinds routed there
  for (const [kind, dirs] of dirsByKind) {
    for (const d of dirs) {
      const list = kindsAt.get(d);
      if (list) list.push(kind);
      else kindsAt.set(d, [kind]);
    }
  }
  for (const c of routing.commands) {
    const where = { path: routing.commandFile };
    const own = dirsByKind.get(c.kind);
    const writes = normDir(c.writes);
    // The routed directories that hold `writes`, deepest first.
    const segs = writes === '' ? [] : writes.split('/');
    const holders: Array<{ dir: string; kinds: string[] }> = [];
    // (No route directory is deeper than MAX_ROUTE_DEPTH: deeper ancestors hold none.)
    for (let k = Math.min(segs.length, MAX_ROUTE_DEPTH); k >= 0; k--) {
      const anc = segs.slice(0, k).join('/');
      const kinds = kindsAt.get(anc);
      if (kinds) holders.push({ dir: anc, kinds });
    }
    const ownDepth = holders.findIndex((h) => h.kinds.includes(c.kind));
    if (own === undefined) {
      add(finding('UNROUTED_KIND', `command ${c.command} writes kind "${c.kind}", which has no route`, where));
    } else if (ownDepth < 0) {
      add(
        finding(
          'COMMAND_DRIFT',
          `command ${c.command} writes "${c.kind}" to ${c.writes}, but its route ${own.length === 1 ? `directory is ${own[0] || '.'}` : `directories are ${shortList(own, 5, (d) => d || '.')}`}`,
          { ...where, hint: `Set "writes": "${own[0]}" for ${c.command}, or change the route.` },
        ),
      );
    }
    // Another kind's directory holds `writes`, and no deeper directory of the command's
    // own kind does.
    const reported = new Set<string>();
    holders.forEach((h, depth) => {
      if (ownDepth >= 0 && depth > ownDepth) return;
      for (const kind of h.kinds) {
        if (kind === c.kind || reported.has(kind)) continue;
        reported.add(kind);
        // Past the cap, one more is enough to say that some were left out.
        if (
          !add(
            finding(
              'COMMAND_COLLISION',
              `command ${c.command} writes "${c.kind}" into ${c.writes}, which is routed to kind "${kind}"`,
              where,
            ),
          )
        )
          break;
      }
    });
  }
  for (const code of [...dropped.keys()].sort(compareBytes)) {
    out.push(
      finding(code as Finding['code'], `further ${code} conflicts are not listed (only the first ${CONFLICT_FINDINGS_CAP} are)`, {
        path: file,
      }),
    );
  }
  return out;
}

function overlap(a: Route, da: string, b: Route, db: string, where: { path: string; line?: number }): Finding {
  const root = da === '' || db === '';
  return finding(
    'ROUTE_OVERLAP',
    `directories of "${a.kind}" (${da || '.'}) and "${b.kind}" (${db || '.'}) ${da === db ? 'are the same' : 'are nested'}`,
    {
      ...where,
      ...(root ? { hint: ROOT_HINT } : {}),
    },
  );
}

const routesByKind = new WeakMap<Routing, Map<string, Route | undefined>>();

/** The usable route of a kind: its first route without problems (remembered per routing
 * table, so that a route listing many directories is judged once, not once per file). */
export function routeFor(routing: Routing, kind: string): Route | undefined {
  let memo = routesByKind.get(routing);
  if (!memo) {
    memo = new Map();
    routesByKind.set(routing, memo);
  }
  if (memo.has(kind)) return memo.get(kind);
  const control = routingControl(routing);
  const route = routing.routes.find((r) => r.kind === kind && routeProblems(r, control).length === 0);
  memo.set(kind, route);
  return route;
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
  const listed = new Set(routing.routes.map((r) => r.kind));
  for (const e of sorted) {
    const route = routeFor(routing, e.kind);
    if (!route) {
      if (!listed.has(e.kind))
        out.push(
          finding('UNROUTED_KIND', `${e.id}@${e.version} has kind "${e.kind}", which has no route`, {
            path: e.path,
            refs: [`${e.id}@${e.version}`],
          }),
        );
      continue;
    }
    const canonical = canonicalPathFor(route, e);
    const unsafe = canonicalPathProblem(routing, canonical);
    if (unsafe) {
      out.push(
        finding(
          'ROUTE_INVALID_PATH',
          `route for kind "${e.kind}" (${routeLabel(route)}) expands to ${JSON.stringify(canonical)} for ${e.path}, which is unsafe: ${unsafe}`,
          { path: e.path },
        ),
      );
    } else if (canonical !== e.path) {
      const why =
        route.dirs !== undefined
          ? `${e.path} is not below any directory of kind "${e.kind}" (${shortList(route.dirs, 3, (d) => normaliseRouteDir(d) || '.')}); it belongs at ${canonical}`
          : `${e.path} should be at ${canonical}`;
      out.push(finding('ROUTE_MISMATCH', why, { path: e.path, hint: `Run \`artifacts route fix\` to move it to ${canonical}.` }));
    }
  }
  return out;
}

/** `artifacts route table`: the routes as a Markdown table. A `dirs:` route shows its
 * directories; any file name below them fits. */
export function routeTable(routing: Routing): string {
  const rows = routing.routes.map((r) =>
    r.dirs !== undefined
      ? `| ${r.kind} | any file below a directory | ${routeDirectories(r)
          .map((d) => `\`${d || '.'}\``)
          .join(', ')} |`
      : `| ${r.kind} | \`${r.path ?? ''}\` | \`${routeDirectory(r.path ?? '') || '.'}\` |`,
  );
  return ['| kind | path template | directory |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
}
