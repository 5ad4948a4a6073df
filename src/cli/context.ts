// The output context every command prints through: one place decides what `--json`,
// `--quiet` and `--verbose` mean and how results and errors become output and exit codes.
//   --json   exactly one JSON document on stdout (errors included); no human text on stdout
//   --quiet  no human output on success; problems (error and warning findings, errors,
//            warnings) are still printed, where the command prints them without --quiet
// Loaded only when a command runs (never for --help or --version).
import { CommanderError } from 'commander';
import { CATALOGUE, exitCodeFor, isArtifactsError, type Finding } from '../core/errors.js';
import type { Repo } from '../core/repo.js';
import { faultHookFromEnv } from './fault.js';
import { paint, printable, progressRenderer, renderFindingsHuman, summaryLine, writeHuman, type OutputOptions } from './render.js';

export interface GlobalOpts {
  root?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
  lockTimeout?: string;
  trustRoot?: string;
}

export interface Ctx {
  /** The command's name as typed (`index verify`), for summary lines. */
  command: string;
  out: OutputOptions;
  g: GlobalOpts;
  /** Human output on stdout: nothing with --json or --quiet. */
  print(s: string): void;
  /** Findings after a command's own lines, in human form on stdout: with --quiet too
   * (they are the problems --quiet keeps), never with --json; with a summary line if any. */
  printFindings(findings: readonly Finding[]): void;
  /** stdout with --json: exactly one document. */
  emit(doc: Record<string, unknown>): void;
  /** The end of most commands: with --json the document `{ ok, ...doc }` (`ok` is
   * `code === 0` unless the document sets it), else the human output `human` prints. */
  result(doc: Record<string, unknown>, human: () => void, code?: number): number;
  /** Findings as a report: the --json document `{ ok, ...data, findings }`, or the findings
   * and a summary line (`✓ okText` when there are none); returns the exit code they imply. */
  report(findings: Finding[], okText: string, data?: Record<string, unknown>): number;
  repo(): Promise<Repo>;
  /** Warnings raised by the library during the run (added to the --json findings). */
  warnings: Finding[];
}

/** A command's implementation: the context, then commander's positional arguments and options. */
export type CommandFn = (ctx: Ctx, ...args: never[]) => Promise<number>;

function outputOptions(g: GlobalOpts): OutputOptions {
  const color = g.color !== false && !process.env.NO_COLOR && process.stdout.isTTY === true;
  return { json: !!g.json, quiet: !!g.quiet, verbose: !!g.verbose, color };
}

function lockTimeout(g: GlobalOpts): number | undefined {
  if (g.lockTimeout === undefined) return undefined;
  const n = Number(g.lockTimeout);
  if (!Number.isFinite(n) || n < 0)
    throw new CommanderError(2, 'artifacts.usage', `--lock-timeout must be a number of milliseconds, got "${g.lockTimeout}"`);
  return n;
}

/** Whether findings hold a problem (an error or a warning) that --quiet still prints. */
export function hasProblems(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error' || f.severity === 'warning');
}

/**
 * Run one command: build the context, load the command's module, run it, and map its
 * result or error to output and an exit code. `args` are commander's action arguments
 * (positional arguments, options, then the command object).
 */
export async function runCommand(command: string, args: unknown[], load: () => Promise<CommandFn>): Promise<number> {
  const cmd = args[args.length - 1] as { optsWithGlobals(): GlobalOpts };
  const g = cmd.optsWithGlobals();
  const out = outputOptions(g);
  let repoP: Promise<Repo> | undefined;
  const progress = progressRenderer(process.stderr.isTTY === true && !out.json && !out.quiet);
  const warnings: Finding[] = [];
  const ctx: Ctx = {
    command,
    out,
    g,
    warnings,
    print: (s) => {
      if (!out.json && !out.quiet) writeHuman(out, 'stdout', s);
    },
    printFindings: (findings) => {
      if (out.json || findings.length === 0) return;
      if (out.quiet && !hasProblems(findings)) return;
      writeHuman(out, 'stdout', renderFindingsHuman(out, findings) + summaryLine(out, findings, '', command));
    },
    emit: (doc) => process.stdout.write(`${JSON.stringify({ command, ...withWarnings(doc, warnings) }, null, 2)}\n`),
    result: (doc, human, code = 0) => {
      if (out.json) ctx.emit({ ok: code === 0, ...doc });
      else human();
      return code;
    },
    report: (findings, okText, data = {}) => {
      const code = exitCodeFor(findings);
      if (out.json) {
        ctx.emit({ ok: code === 0, ...data, findings });
      } else {
        const { shown, note } = humanFindings(ctx, findings);
        if (!out.quiet || hasProblems(shown)) {
          writeHuman(out, 'stdout', renderFindingsHuman(out, shown) + note + summaryLine(out, shown, okText, command));
        }
      }
      return code;
    },
    repo: async () => {
      // Imported here, not at the top: the merge driver opens no repository and so loads
      // no configuration code.
      const { openRepo } = await import('../core/repo.js');
      return (repoP ??= openRepo({
        cwd: process.cwd(),
        root: g.root,
        lockTimeoutMs: lockTimeout(g),
        faultHook: faultHookFromEnv(process.env.ARTIFACTS_FAULT_INJECT),
        workerHeapMb: process.env.ARTIFACTS_WORKER_HEAP_MB ? Number(process.env.ARTIFACTS_WORKER_HEAP_MB) : undefined,
        progress,
        // Precedence: --trust-root, then ARTIFACTS_TRUST_ROOT; the core falls back to the config.
        // A variable that is set but empty is a usage error, never "unset": CI systems expand
        // a missing secret or variable (a fork's pull request gets none) to the empty string,
        // and falling back to the repository's own trust_root would let it pin itself.
        trustRoot: g.trustRoot ?? process.env.ARTIFACTS_TRUST_ROOT,
        warn: (w) => {
          warnings.push(w);
          if (!out.json)
            writeHuman(
              out,
              'stderr',
              `${paint(out, 'yellow', 'warning')} ${w.code}: ${printable(w.message)}\n  hint: ${printable(w.hint ?? '')}\n`,
            );
        },
      }));
    },
  };
  let code: number;
  try {
    const fn = await load();
    code = await fn(ctx, ...(args.slice(0, -1) as never[]));
  } catch (e) {
    progress.end();
    code = reportError(ctx, e);
  }
  progress.end();
  return code;
}

/** The --json document with the run's warnings added to its findings. */
function withWarnings(doc: Record<string, unknown>, warnings: readonly Finding[]): Record<string, unknown> {
  if (warnings.length === 0) return doc;
  const findings = Array.isArray(doc.findings) ? (doc.findings as Finding[]) : [];
  return { ...doc, findings: [...warnings, ...findings] };
}

function reportError(ctx: Ctx, e: unknown): number {
  const { out, command } = ctx;
  if (e instanceof CommanderError) {
    if (out.json) ctx.emit({ ok: false, error: { code: 'USAGE', message: e.message, hint: CATALOGUE.USAGE.hint, exit: 2 } });
    else writeHuman(out, 'stderr', `artifacts: ${printable(e.message)}\n`);
    return 2;
  }
  if (isArtifactsError(e)) {
    // Findings decide the exit code when there are any (integrity beats plain findings).
    const exit = (e.findings.length > 0 ? exitCodeFor(e.findings) : 0) || e.exitCode;
    if (out.json) {
      ctx.emit({ ok: false, error: { code: e.code, message: e.message, hint: e.hint, exit }, findings: e.findings });
    } else {
      if (e.findings.length > 0)
        writeHuman(out, 'stderr', renderFindingsHuman(out, e.findings) + summaryLine(out, e.findings, '', command));
      // (The message and hint may quote repository text: a file name with a newline.)
      writeHuman(out, 'stderr', `${paint(out, 'red', 'error')} ${e.code}: ${printable(e.message)}\n`);
      if (e.findings.length === 0) writeHuman(out, 'stderr', `  hint: ${printable(e.hint)}\n`);
    }
    return exit;
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (out.json) {
    ctx.emit({
      ok: false,
      error: { code: 'INTERNAL', message: String((e as Error)?.message ?? e), hint: CATALOGUE.INTERNAL.hint, exit: 70 },
    });
  }
  process.stderr.write(
    `artifacts: internal error in "${command}" (this is a bug; please report it with the command and this output)\n${msg}\n`,
  );
  return 70;
}

/** Warnings about files that are not artifacts (another tool's unreadable front matter):
 * listed in human output only with --verbose (--json always carries them). */
export function humanFindings(ctx: Ctx, findings: Finding[]): { shown: Finding[]; note: string } {
  if (ctx.out.verbose) return { shown: findings, note: '' };
  const shown = findings.filter((f) => f.code !== 'FOREIGN_FRONT_MATTER_INVALID');
  const hidden = findings.length - shown.length;
  const note =
    hidden === 0 || ctx.out.quiet
      ? ''
      : `${paint(ctx.out, 'dim', `(${hidden} file${hidden === 1 ? '' : 's'} with unreadable front matter of other tools ignored: not artifacts; --verbose lists them)`)}\n`;
  return { shown, note };
}

/** An argument path made absolute against the working directory. */
export function abs(p: string): string {
  return p.startsWith('/') ? p : `${process.cwd()}/${p}`;
}

export function relToRoot(root: string, p: string): string {
  const a = abs(p);
  return a.startsWith(`${root}/`) ? a.slice(root.length + 1) : p;
}
