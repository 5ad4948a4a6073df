// Routes that fit the artifacts already in a tree (`artifacts init` on an existing
// repository): a template when every artifact of a kind follows one, else a `dirs:` route
// at the narrowest directories holding that kind. Pure: same entries, same routes.
import { posix } from 'node:path';
import type { Finding } from '../errors.js';
import type { IndexEntry } from '../index/entry.js';
import { compareBytes, type ControlFiles } from '../paths.js';
import {
  checkArtifactRoutes,
  checkRouteTable,
  dirProblems,
  expandTemplate,
  routeDirectory,
  templateProblems,
  type Route,
  type Routing,
} from './routes.js';

type Entry = Pick<IndexEntry, 'id' | 'version' | 'framework' | 'kind' | 'path'>;

// ({kind} is left out: a `{kind}/...` template owns the repository root.)
const DIR_VARIABLES = ['framework', 'id', 'version'] as const;
const MARKDOWN = new Set(['.md', '.mdc', '.markdown']);
/** Directory segments (counted from the file) that may become a variable; the rest stay literal. */
const VARIABLE_DEPTH = 4;

/** Candidate templates built from one artifact's path: each of its last directory
 * segments literal or the variable it equals, the file name `{id}` or `{version}` with the
 * extension: literal for Markdown, `{ext}` for other files (a model may change format). A
 * small, bounded set. */
export function candidateTemplates(e: Entry): string[] {
  const segs = e.path.split('/');
  const name = segs.pop()!;
  const ext = posix.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  const last: string[] = [];
  for (const v of ['id', 'version'] as const) {
    if (stem !== e[v]) continue;
    last.push(MARKDOWN.has(ext) ? `{${v}}${ext}` : `{${v}}{ext}`);
  }
  if (last.length === 0) return [];
  let prefixes: string[] = [''];
  segs.forEach((s, i) => {
    const options = [s];
    if (segs.length - i <= VARIABLE_DEPTH) for (const v of DIR_VARIABLES) if (e[v] === s) options.push(`{${v}}`);
    prefixes = prefixes.flatMap((p) => options.map((o) => `${p}${o}/`));
  });
  return prefixes.flatMap((p) => last.map((l) => p + l));
}

function variables(template: string): number {
  return (template.match(/\{(id|version|framework)\}/g) ?? []).length;
}

function depth(dir: string): number {
  return dir === '' ? 0 : dir.split('/').length;
}

/** The template for one kind, if one fits: every artifact of the kind expands to exactly
 * its own path, the template is valid and safe, and no artifact of another kind lies in
 * its directory (so two fitted templates never overlap). Preferred: the most variables
 * (`docs/plans/{framework}/{id}.md` over `docs/plans/fwk-001/{id}.md`: the next framework
 * fits too), then the narrowest directory. */
export function fittingTemplate(own: readonly Entry[], counts: ReadonlyMap<string, number>, control: ControlFiles): string | undefined {
  if (own.length === 0) return undefined;
  const fits = candidateTemplates(own[0]!).filter((t) => {
    if (templateProblems(t, control).length > 0) return false;
    if (!own.every((e) => expandTemplate(t, e) === e.path)) return false;
    // Every file of the kind lies below the template's directory; any more are another's.
    return (counts.get(routeDirectory(t)) ?? 0) === own.length;
  });
  fits.sort((a, b) => variables(b) - variables(a) || depth(routeDirectory(b)) - depth(routeDirectory(a)) || compareBytes(a, b));
  return fits[0];
}

/** How many artifacts lie below each directory ("" for the root), all kinds together. */
export function countsBelow(entries: readonly Entry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) {
    counts.set('', (counts.get('') ?? 0) + 1);
    for (let i = e.path.indexOf('/'); i > 0; i = e.path.indexOf('/', i + 1)) {
      const d = e.path.slice(0, i);
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
  }
  return counts;
}

/** The narrowest directories holding a kind: from the directory all its files share,
 * split around the files of other kinds (`counts`: {@link countsBelow} of every
 * artifact), down to the directories that hold its files directly. A file lying directly
 * in a directory that also holds other kinds' artifacts is left out (a route there would
 * overlap theirs, and would claim every file of the tree when that directory is the
 * root): it is then misplaced, and `route fix` moves it into the first directory. When
 * every file of the kind is so placed, the route names a new directory `<dir>/<kind>`
 * for them (kept as the shared directory if that name is unusable or already holds
 * artifacts: the route check then reports the overlap). Linear in the kind's files times
 * their depth. */
export function narrowestDirs(own: readonly Entry[], counts: ReadonlyMap<string, number>, control?: ControlFiles): string[] {
  const dirs = own.map((e) => posix.dirname(e.path)).map((d) => (d === '.' ? '' : d));
  let common = dirs[0] ?? '';
  for (const d of dirs) {
    while (common !== '' && !(d === common || d.startsWith(`${common}/`))) {
      const up = posix.dirname(common);
      common = up === '.' ? '' : up;
    }
  }
  const out: string[] = [];
  const childOf = (dir: string, f: string) => {
    const rest = dir === '' ? f : f.slice(dir.length + 1);
    const slash = rest.indexOf('/');
    return slash < 0 ? undefined : dir === '' ? rest.slice(0, slash) : `${dir}/${rest.slice(0, slash)}`;
  };
  let stranded: string | undefined;
  const visit = (dir: string, files: readonly string[]) => {
    if ((counts.get(dir) ?? 0) <= files.length) {
      out.push(dir);
      return;
    }
    const children = new Map<string, string[]>();
    for (const f of files) {
      const c = childOf(dir, f);
      if (c === undefined) {
        stranded ??= dir;
        continue;
      }
      const list = children.get(c);
      if (list) list.push(f);
      else children.set(c, [f]);
    }
    for (const child of [...children.keys()].sort(compareBytes)) visit(child, children.get(child)!);
  };
  // A file's directory holds a brace, a control character or a device name: no route
  // can name it (the route check refuses it); such files are left misplaced for route fix.
  visit(
    common,
    own.filter((e) => dirProblems(posix.dirname(e.path) === '.' ? '' : posix.dirname(e.path), control).length === 0).map((e) => e.path),
  );
  if (out.length === 0) {
    const at = stranded ?? '';
    const kind = own[0]!.kind;
    const fresh = at === '' ? kind : `${at}/${kind}`;
    out.push((counts.get(fresh) ?? 0) === 0 && dirProblems(fresh, control).length === 0 ? fresh : at);
  }
  return out;
}

/**
 * Routes that fit the artifacts of a tree, one per kind (sorted by kind), and what the
 * route check will report about them (empty on an already-organised tree).
 */
export function inferRoutes(
  entries: readonly Entry[],
  control: ControlFiles,
  files: { routingFile: string; commandFile: string },
): { routes: Route[]; findings: Finding[] } {
  const byKind = new Map<string, Entry[]>();
  for (const e of [...entries].sort((a, b) => compareBytes(a.path, b.path))) {
    const list = byKind.get(e.kind);
    if (list) list.push(e);
    else byKind.set(e.kind, [e]);
  }
  const counts = countsBelow(entries);
  const routes: Route[] = [];
  for (const kind of [...byKind.keys()].sort(compareBytes)) {
    const own = byKind.get(kind)!;
    const template = fittingTemplate(own, counts, control);
    routes.push(template !== undefined ? { kind, path: template } : { kind, dirs: narrowestDirs(own, counts, control) });
  }
  const routing: Routing = {
    routes,
    commands: [],
    present: true,
    routingFile: files.routingFile,
    commandFile: files.commandFile,
    findings: [],
    control,
  };
  return { routes, findings: [...checkRouteTable(routing), ...checkArtifactRoutes(routing, entries as IndexEntry[])] };
}

/** The text of a routing file holding these routes (every value a JSON string, which is
 * YAML too: nothing a file's metadata holds can break out of its line). */
export function routingFileText(routes: readonly Route[]): string {
  const lines = ['---', 'description: Where each artifact kind lives'];
  if (routes.length === 0) {
    lines.push(
      'routes: []',
      '# - kind: plan',
      '#   path: docs/plans/{framework}/{id}.md',
      '# - kind: doc',
      '#   dirs: [content/, guides/]',
    );
  } else {
    lines.push('routes:');
    for (const r of routes) {
      lines.push(`  - kind: ${JSON.stringify(r.kind)}`);
      if (r.dirs !== undefined) {
        lines.push('    dirs:');
        for (const d of r.dirs) lines.push(`      - ${JSON.stringify(d)}`);
      } else {
        lines.push(`    path: ${JSON.stringify(r.path ?? '')}`);
      }
    }
  }
  lines.push(
    '---',
    'Routes for artifacts in this repository. A route is a template (`path`, with the variables',
    '{id} {version} {framework} {kind} {ext}) or a list of directories (`dirs`) below which an',
    'artifact of the kind may sit under any file name ("" is the repository root).',
    'Run `artifacts route table` to print them as a table, `artifacts route check` to check them.',
    '',
  );
  return lines.join('\n');
}
