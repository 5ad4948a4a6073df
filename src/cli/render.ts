// Rendering for the CLI: human text (coloured only on a TTY), JSON, GitHub annotations.
import type { Finding, Hydration } from '../index.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
}

const C = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1, cyan: 36 } as const;

export function paint(o: OutputOptions, c: keyof typeof C, s: string): string {
  return o.color ? `\u001b[${C[c]}m${s}\u001b[0m` : s;
}

/** Human findings, grouped by file (in order of first appearance), aligned, with hints. */
/** Text from the repository (file names, messages quoting them) made safe for a terminal
 * or a CI log: control characters — a newline that would start a `::error` workflow
 * command line, escape sequences that retitle or rewrite the terminal — are shown escaped. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** A line of human output whose interpolated values (file names, ids, reasons: repository
 * text) are shown escaped, so that no value can start a line of its own:
 * h`moved ${from} -> ${to}\n`. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => (out += printable(String(v)) + strings[i + 1]!));
  return out;
}

/** Write human output to stdout or stderr: every human line goes through here. */
export function writeHuman(o: Pick<OutputOptions, 'color'>, stream: 'stdout' | 'stderr', s: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(printableOutput(s, o.color));
}

/** Human output as a whole: only our own colour sequences and line breaks get through raw,
 * and no line can be read as a CI workflow command (`::error::…` at the start of a line,
 * which a newline in a file name would otherwise produce). */
export function printableOutput(s: string, colour = true): string {
  // Without colour (a CI log, a pipe) no escape sequence is ours: all are shown escaped.
  return s
    .replace(
      colour
        ? /\u001b(?!\[[0-9;]*m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u2028\u2029]/gu
        : /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/gu,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    )
    .replace(/^([ \t]*)::/gm, '$1\\x3a:');
}

export function renderFindingsHuman(o: OutputOptions, findings: readonly Finding[]): string {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const g = groups.get(f.path ?? '');
    if (g) g.push(f);
    else groups.set(f.path ?? '', [f]);
  }
  const lines: string[] = [];
  for (const [path, fs] of groups) {
    lines.push(path ? paint(o, 'bold', printable(path)) : paint(o, 'bold', '(repository)'));
    const locs = fs.map((f) => (f.line !== undefined ? `${f.line}:${f.column ?? 1}` : ''));
    const width = Math.max(...locs.map((l) => l.length));
    fs.forEach((f, i) => {
      const sev = f.severity === 'error' ? paint(o, 'red', 'error  ') : paint(o, 'yellow', f.severity.padEnd(7));
      const loc = width > 0 ? `${locs[i]!.padEnd(width)}  ` : '';
      lines.push(
        `  ${loc}${sev} ${paint(o, 'bold', f.code)}  ${printable(f.message)}${f.pointer ? paint(o, 'dim', ` [${f.pointer}]`) : ''}`,
      );
      if (f.hint) lines.push(`  ${' '.repeat(loc.length)}${paint(o, 'dim', `hint: ${printable(f.hint)}`)}`);
    });
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** "3 errors (2 SCHEMA_VIOLATION, 1 ROUTE_MISMATCH)": how many problems of each code, most
 * frequent first, then by code (deterministic). */
export function countByCode(findings: readonly Finding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([code, n]) => `${n} ${code}`)
    .join(', ');
}

/** The closing line of a findings report: `validate: 3 errors (2 SCHEMA_VIOLATION, 1
 * ROUTE_MISMATCH), 1 warning (1 TRUST_ROOT_UNPINNED)`, or `✓ okText` when there are none. */
export function summaryLine(o: OutputOptions, findings: readonly Finding[], okText: string, command?: string): string {
  const errors = findings.filter((f) => f.severity === 'error');
  const warnings = findings.filter((f) => f.severity === 'warning');
  if (errors.length === 0 && warnings.length === 0) return `${paint(o, 'green', '✓')} ${okText}\n`;
  const part = (fs: readonly Finding[], word: string) =>
    `${fs.length} ${word}${fs.length === 1 ? '' : 's'}${fs.length ? ` (${countByCode(fs)})` : ''}`;
  return `${command ? `${command}: ` : ''}${part(errors, 'error')}, ${part(warnings, 'warning')}\n`;
}

function escapeData(s: string): string {
  // Other control characters (an escape sequence in a file name) are shown escaped.
  return printable(s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}
function escapeProp(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** A GitHub Actions notice: a check that found nothing still says so in the job log. */
export function githubNotice(message: string): string {
  return `::notice title=artifacts::${escapeData(message)}\n`;
}

/** GitHub Actions workflow commands, one per finding. */
export function renderFindingsGithub(findings: readonly Finding[]): string {
  return findings
    .map((f) => {
      const level = f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'notice';
      const props = [
        f.path ? `file=${escapeProp(f.path)}` : undefined,
        f.line !== undefined ? `line=${f.line}` : undefined,
        f.column !== undefined ? `col=${f.column}` : undefined,
        `title=${escapeProp(f.code)}`,
      ].filter(Boolean);
      return `::${level} ${props.join(',')}::${escapeData(f.message + (f.hint ? ` (hint: ${f.hint})` : ''))}\n`;
    })
    .join('');
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  help: { text: string };
  defaultConfiguration: { level: 'error' | 'warning' | 'note' };
}

/** SARIF 2.1.0 for code scanning: one run, rules from the error catalogue. */
export function renderSarif(
  findings: readonly Finding[],
  catalogue: Record<string, { title: string; hint: string }>,
  version: string,
): string {
  const ids = Object.keys(catalogue);
  const rules: SarifRule[] = ids.map((id) => ({
    id,
    name: id,
    shortDescription: { text: catalogue[id]!.title },
    help: { text: catalogue[id]!.hint },
    defaultConfiguration: { level: 'error' },
  }));
  const level = (s: Finding['severity']) => (s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note');
  const results = findings.map((f) => ({
    ruleId: f.code,
    ruleIndex: ids.indexOf(f.code),
    level: level(f.severity),
    message: { text: f.hint ? `${f.message} (hint: ${f.hint})` : f.message },
    ...(f.path
      ? {
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.path, uriBaseId: '%SRCROOT%' },
                ...(f.line !== undefined
                  ? { region: { startLine: f.line, ...(f.column !== undefined ? { startColumn: f.column } : {}) } }
                  : {}),
              },
            },
          ],
        }
      : {}),
  }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'artifacts', version, rules } }, results, columnKind: 'utf16CodeUnits' }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** A progress line on stderr, only on a terminal and only for work longer than a second. */
export function progressRenderer(enabled: boolean): ((phase: string, done: number, total: number) => void) & { end(): void } {
  const start = Date.now();
  let last = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) process.stderr.write('\r\u001b[K');
    drawn = false;
  };
  const fn = (phase: string, done: number, total: number) => {
    if (!enabled) return;
    // A finished phase takes its line away, before the command prints its results.
    if (done >= total) return clear();
    const now = Date.now();
    if (now - start < 1000 || now - last < 100) return;
    last = now;
    drawn = true;
    process.stderr.write(`\r${phase} ${done}/${total}\u001b[K`);
  };
  return Object.assign(fn, { end: clear });
}

/** The selection as a table, then the audit log. */
export function renderHydration(o: OutputOptions, h: Hydration, uncommitted: readonly string[]): string {
  // (Every value from the repository escaped: a file name cannot start a line of its own.)
  const rows = h.inputs.map((i) => [
    printable(i.slot),
    i.selected ? printable(`${i.selected.id}@${i.selected.version}`) : '(none)',
    printable(i.selected?.status ?? ''),
    printable(i.selected?.path ?? ''),
    String(i.candidates),
  ]);
  const head = ['slot', 'selected', 'status', 'path', 'candidates'];
  const widths = head.map((h0, c) => Math.max(h0.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((x, c) => x.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  const out = [`${paint(o, 'bold', printable(`${h.framework} / ${h.stage}`))}`, line(head), ...rows.map(line), '', 'decisions:'];
  for (const d of h.decisions)
    out.push(
      `  ${printable(`${d.slot} #${d.rank} ${d.candidate}`)} ${d.outcome === 'selected' ? paint(o, 'green', d.outcome) : paint(o, 'dim', d.outcome)}: ${printable(d.reason)}`,
    );
  if (uncommitted.length) out.push('', `uncommitted candidates (ranked by updated_at): ${printable(uncommitted.join(', '))}`);
  out.push('', `selection_digest ${h.selection_digest}`);
  return `${out.join('\n')}\n`;
}
