// The `artifacts` command line: commander wiring over the library in src/index.ts. The
// library is imported lazily so that `--help` and `--version` load nothing heavy.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type * as Lib from '../index.js';
import { faultHookFromEnv } from './fault.js';
import { githubNotice, paint, printableOutput, progressRenderer, renderFindingsGithub, renderFindingsHuman, renderHydration, renderSarif, summaryLine, type OutputOptions } from './render.js';

type LibT = typeof Lib;

interface GlobalOpts {
  root?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
  lockTimeout?: string;
  trustRoot?: string;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

class Exit {
  constructor(readonly code: number) {}
}

interface Ctx {
  /** The command's name as typed (`index verify`), for summary lines. */
  command: string;
  lib: LibT;
  out: OutputOptions;
  g: GlobalOpts;
  print(s: string): void;
  /** stdout with --json: exactly one document. */
  emit(doc: Record<string, unknown>): void;
  repo(): Promise<Lib.Repo>;
  /** Warnings raised by the library during the run (added to the --json findings). */
  warnings: Lib.Finding[];
}

function outputOptions(g: GlobalOpts): OutputOptions {
  const color = g.color !== false && !process.env.NO_COLOR && process.stdout.isTTY === true;
  return { json: !!g.json, quiet: !!g.quiet, verbose: !!g.verbose, color };
}

function lockTimeout(g: GlobalOpts): number | undefined {
  if (g.lockTimeout === undefined) return undefined;
  const n = Number(g.lockTimeout);
  if (!Number.isFinite(n) || n < 0) throw new CommanderError(2, 'artifacts.usage', `--lock-timeout must be a number of milliseconds, got "${g.lockTimeout}"`);
  return n;
}

/** Run one command: build the context, map results and errors to output and exit codes. */
function action(command: string, fn: (ctx: Ctx, ...args: never[]) => Promise<number>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const g = cmd.optsWithGlobals() as GlobalOpts;
    const out = outputOptions(g);
    const lib = await import('../index.js');
    let repoP: Promise<Lib.Repo> | undefined;
    const progress = progressRenderer(process.stderr.isTTY === true && !out.json && !out.quiet);
    const warnings: Lib.Finding[] = [];
    const ctx: Ctx = {
      command,
      lib,
      out,
      g,
      warnings,
      print: (s) => {
        if (!out.json && !out.quiet) process.stdout.write(printableOutput(s));
      },
      emit: (doc) => process.stdout.write(`${JSON.stringify({ command, ...withWarnings(doc, warnings) }, null, 2)}\n`),
      repo: () =>
        (repoP ??= lib.openRepo({
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
            if (!ctx.out.json) process.stderr.write(`${paint(ctx.out, 'yellow', 'warning')} ${w.code}: ${w.message}\n  hint: ${w.hint ?? ''}\n`);
          },
        })),
    };
    let code: number;
    try {
      code = await fn(ctx, ...(args.slice(0, -1) as never[]));
    } catch (e) {
      progress.end();
      code = reportError(ctx, command, e);
    }
    progress.end();
    throw new Exit(code);
  };
}

/** The --json document with the run's warnings added to its findings. */
function withWarnings(doc: Record<string, unknown>, warnings: readonly Lib.Finding[]): Record<string, unknown> {
  if (warnings.length === 0) return doc;
  const findings = Array.isArray(doc.findings) ? (doc.findings as Lib.Finding[]) : [];
  return { ...doc, findings: [...warnings, ...findings] };
}

function reportError(ctx: Ctx, command: string, e: unknown): number {
  const { lib, out } = ctx;
  if (e instanceof CommanderError) {
    if (out.json) ctx.emit({ ok: false, error: { code: 'USAGE', message: e.message, hint: lib.CATALOGUE.USAGE.hint, exit: 2 } });
    else process.stderr.write(`artifacts: ${e.message}\n`);
    return 2;
  }
  if (lib.isArtifactsError(e)) {
    // Findings decide the exit code when there are any (integrity beats plain findings).
    const exit = (e.findings.length > 0 ? lib.exitCodeFor(e.findings) : 0) || e.exitCode;
    if (out.json) {
      ctx.emit({ ok: false, error: { code: e.code, message: e.message, hint: e.hint, exit }, findings: e.findings });
    } else {
      if (e.findings.length > 0) process.stderr.write(renderFindingsHuman(out, e.findings) + summaryLine(out, e.findings, '', command));
      process.stderr.write(`${paint(out, 'red', 'error')} ${e.code}: ${e.message}\n`);
      if (e.findings.length === 0) process.stderr.write(`  hint: ${e.hint}\n`);
    }
    return exit;
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (out.json) {
    ctx.emit({ ok: false, error: { code: 'INTERNAL', message: String((e as Error)?.message ?? e), hint: lib.CATALOGUE.INTERNAL.hint, exit: 70 } });
  }
  process.stderr.write(`artifacts: internal error in "${command}" (this is a bug; please report it with the command and this output)\n${msg}\n`);
  return 70;
}

/** Warnings about files that are not artifacts (another tool's unreadable front matter):
 * listed in human output only with --verbose (--json always carries them). */
function humanFindings(ctx: Ctx, findings: Lib.Finding[]): { shown: Lib.Finding[]; note: string } {
  if (ctx.out.verbose) return { shown: findings, note: '' };
  const shown = findings.filter((f) => f.code !== 'FOREIGN_FRONT_MATTER_INVALID');
  const hidden = findings.length - shown.length;
  const note = hidden === 0 || ctx.out.quiet ? '' : `${paint(ctx.out, 'dim', `(${hidden} file${hidden === 1 ? '' : 's'} with unreadable front matter of other tools ignored: not artifacts; --verbose lists them)`)}\n`;
  return { shown, note };
}

/** Print findings (human or JSON) and return the exit code they imply. */
function report(ctx: Ctx, findings: Lib.Finding[], okText: string, data: Record<string, unknown> = {}): number {
  const code = ctx.lib.exitCodeFor(findings);
  if (ctx.out.json) {
    ctx.emit({ ok: code === 0, ...data, findings });
  } else if (!ctx.out.quiet || code !== 0) {
    const { shown, note } = humanFindings(ctx, findings);
    process.stdout.write(renderFindingsHuman(ctx.out, shown));
    process.stdout.write(note);
    process.stdout.write(summaryLine(ctx.out, shown, okText, ctx.command));
  }
  return code;
}

function writeSummary(ctx: Ctx, what: string, r: Lib.WriteResult & { count?: number }): number {
  // Without --strict, invalid files are reported (exit 1) and the valid ones written.
  const code = ctx.lib.exitCodeFor(r.findings);
  if (ctx.out.json) {
    ctx.emit({ ok: code === 0, ...r });
    return code;
  }
  if (r.findings.length > 0) {
    const { shown, note } = humanFindings(ctx, r.findings);
    process.stdout.write(renderFindingsHuman(ctx.out, shown));
    if (note) ctx.print(note);
  }
  if (r.recovered.replayed.length > 0) ctx.print(`recovered: replayed ${r.recovered.replayed.length} interrupted transaction(s)\n`);
  const parts = [`${r.added.length} added`, `${r.updated.length} updated`, `${r.removed.length} removed`];
  if (r.count !== undefined) parts.unshift(`${r.count} artifacts`);
  ctx.print(`${what}: ${parts.join(', ')}${r.changed ? '' : ' (index unchanged)'}\n`);
  if (ctx.out.verbose) {
    for (const p of r.added) ctx.print(`  + ${p}\n`);
    for (const p of r.updated) ctx.print(`  ~ ${p}\n`);
    for (const p of r.removed) ctx.print(`  - ${p}\n`);
  }
  const failed = new Set(r.findings.filter((f) => f.severity === 'error' && f.path !== undefined).map((f) => f.path)).size;
  if (failed > 0) ctx.print(`${failed} file${failed === 1 ? '' : 's'} with problems not indexed${r.kept.length > 0 ? ` (${r.kept.length} kept as previously indexed)` : ''}; --strict writes nothing when any file fails\n`);
  ctx.print(`index_digest ${r.after}\n`);
  return code;
}

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export function buildProgram(): Command {
  const program = new Command('artifacts')
    .description('Validate, route, index, hydrate, promote and roll back generated artifacts in a git repository.')
    .version(VERSION, '-V, --version')
    .option('--root <dir>', 'repository root (default: nearest artifacts.config.yaml, else the git top level)')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('-q, --quiet', 'print only problems')
    .option('-v, --verbose', 'print more detail')
    .option('--no-color', 'disable colours (NO_COLOR is honoured too)')
    .option('--lock-timeout <ms>', 'how long to wait for the index lock (default 10000)')
    .option('--trust-root <keyid>', 'pin the trust root: the key id that must self-sign the first trust record (default: $ARTIFACTS_TRUST_ROOT, then trust_root in the config)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  example(program, 'artifacts init', 'artifacts index rebuild', 'artifacts validate --format github');

  example(
    program.command('init').description('create artifacts.config.yaml, routes that fit the artifacts already here, and .gitignore entries (never overwrites)'),
    'artifacts init',
  ).action(
    action('init', async (ctx) => {
      const repo = await ctx.repo();
      // The driver runs the repository's own installation when it has one, else this one.
      const bin = fileURLToPath(new URL('../../bin/artifacts.js', import.meta.url));
      const r = await ctx.lib.initRepo(repo.root, { installation: { node: process.execPath, bin }, repo });
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else {
        for (const f of r.created) ctx.print(`created ${f}\n`);
        if (r.routes.length > 0) {
          ctx.print(`routes fitted to the artifacts already here:\n`);
          for (const route of r.routes) ctx.print(`  ${JSON.stringify(route.kind)}: ${route.dirs !== undefined ? `any file below ${route.dirs.map((d) => JSON.stringify(d || '.')).join(', ')}` : JSON.stringify(route.path)}\n`);
        }
        if (r.routeFindings.length > 0) {
          ctx.print(`note: these files are not organised by kind yet; \`artifacts route check\` will report:\n`);
          process.stdout.write(renderFindingsHuman(ctx.out, r.routeFindings));
        }
        for (const f of r.kept) ctx.print(`kept existing ${f}\n`);
        if (r.gitignore.length) ctx.print(`.gitignore: added ${r.gitignore.join(', ')}\n`);
        ctx.print(`merge driver for artifacts_index.json: ${r.mergeDriver}\n`);
      }
      return 0;
    }),
  );

  example(
    program
      .command('validate')
      .description('run every pre-merge check: schemas, routing conflicts, index freshness')
      .addOption(new Option('--format <format>', 'output format').choices(['human', 'json', 'github', 'sarif']).default('human'))
      .option('--base <ref>', 'also refuse changes to snapshot, channel and trust records that this revision has (CI: the target branch)'),
    'artifacts validate',
    'artifacts validate --base origin/main   # on a pull request, after git fetch origin main',
    'artifacts validate --format github',
    'artifacts validate --format sarif > artifacts.sarif',
  ).action(
    action('validate', async (ctx, opts: { format: string; base?: string }) => {
      const repo = await ctx.repo();
      const r = await ctx.lib.validateRepo(repo, { base: opts.base });
      if (opts.format === 'github') {
        // Annotations are for people: other tools' front matter only with --verbose.
        const shown = humanFindings(ctx, r.findings).shown;
        process.stdout.write(shown.length ? renderFindingsGithub(shown) : githubNotice(`artifacts validate: no problems in ${r.artifacts} artifacts`));
        return ctx.lib.exitCodeFor(r.findings);
      }
      if (opts.format === 'sarif') {
        process.stdout.write(renderSarif(r.findings, ctx.lib.CATALOGUE, VERSION));
        return ctx.lib.exitCodeFor(r.findings);
      }
      if (opts.format === 'json') ctx.out.json = true;
      return report(ctx, r.findings, `${r.artifacts} artifacts valid; routing and index are consistent`, { artifacts: r.artifacts, scanned: r.scanned, checks: r.checks });
    }),
  );

  const index = example(program.command('index').description('maintain artifacts_index.json'), 'artifacts index rebuild', 'artifacts index verify');
  const strictOption = (c: Command) => c.option('--strict', 'all or nothing: write nothing if any file is invalid (default: index the valid ones, report the rest, exit 1)');
  example(strictOption(index.command('add').description('validate, route-check, hash and insert artifacts (one transaction; directories are walked)').argument('<paths...>')), 'artifacts index add docs/plans/fwk-001/plan-x.md', 'artifacts index add docs/ --strict').action(
    action('index add', async (ctx, paths: string[], o: { strict?: boolean }) => writeSummary(ctx, 'index add', await ctx.lib.indexAdd(await ctx.repo(), paths.map(abs), { strict: !!o.strict }))),
  );
  example(strictOption(index.command('update').description('as add, but every path must already be indexed').argument('<paths...>')), 'artifacts index update docs/plans/fwk-001/plan-x.md').action(
    action('index update', async (ctx, paths: string[], o: { strict?: boolean }) => writeSummary(ctx, 'index update', await ctx.lib.indexAdd(await ctx.repo(), paths.map(abs), { update: true, strict: !!o.strict }))),
  );
  example(index.command('remove').description('remove entries by id@version or path').argument('<refs...>'), 'artifacts index remove plan-x@1.2.0').action(
    action('index remove', async (ctx, refs: string[]) => {
      const repo = await ctx.repo();
      const mapped = refs.map((r) => (r.includes('@') && !r.includes('/') ? r : relToRoot(repo.root, r)));
      return writeSummary(ctx, 'index remove', await ctx.lib.indexRemove(repo, mapped));
    }),
  );
  example(strictOption(index.command('rebuild').description('rescan the whole tree and write the index of every valid artifact (deterministic; invalid files are reported, exit 1)').option('--no-cache', 'ignore the stat cache and re-read every file')), 'artifacts index rebuild', 'artifacts index rebuild --strict   # all or nothing').action(
    action('index rebuild', async (ctx, opts: { cache: boolean; strict?: boolean }) => writeSummary(ctx, 'index rebuild', await ctx.lib.indexRebuild(await ctx.repo(), { useCache: opts.cache, strict: !!opts.strict }))),
  );
  example(index.command('verify').description('compare the index with the tree; exit 1 on drift, 4 on corruption'), 'artifacts index verify', 'artifacts index verify --json').action(
    action('index verify', async (ctx) => {
      const r = await ctx.lib.indexVerifySummary(await ctx.repo());
      return report(ctx, r.findings, `index matches the tree (${r.indexed} artifacts)`, { indexed: r.indexed, scanned: r.scanned, index_digest: r.index_digest });
    }),
  );
  example(
    index
      .command('merge-driver')
      .description('git merge driver for artifacts_index.json (installed by `artifacts init`)')
      .argument('<base>', '%O: the common ancestor')
      .argument('<ours>', '%A: our version; the merge result is written here')
      .argument('<theirs>', '%B: their version'),
    'artifacts index merge-driver base.json ours.json theirs.json   # what git runs for %O %A %B',
  ).action(
    action('index merge-driver', async (ctx, base: string, ours: string, theirs: string) => {
      const r = await ctx.lib.runMergeDriver(base, ours, theirs);
      if (r.conflicts.length === 0) return 0;
      process.stderr.write(`artifacts: artifacts_index.json cannot be merged automatically:\n${renderFindingsHuman(ctx.out, r.conflicts)}`);
      return 1;
    }),
  );
  example(index.command('migrate').description('rewrite an artifacts-index/1 index as artifacts-index/2 (one canonical entry per line); idempotent'), 'artifacts index migrate', 'artifacts index migrate --json').action(
    action('index migrate', async (ctx) => {
      const r = await ctx.lib.indexMigrate(await ctx.repo());
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else ctx.print(r.from === null ? 'no index to migrate\n' : r.changed ? `migrated artifacts_index.json from ${r.from} to ${r.to} (${r.entries} artifacts)\n` : `artifacts_index.json is already ${r.to} (${r.entries} artifacts)\n`);
      return 0;
    }),
  );
  example(index.command('recover').description('finish (or with --discard, drop) an interrupted transaction').option('--discard', 'drop the journal instead of replaying it'), 'artifacts index recover').action(
    action('index recover', async (ctx, opts: { discard?: boolean }) => {
      const r = await ctx.lib.recoverIndex(await ctx.repo(), { discard: !!opts.discard });
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else ctx.print(r.replayed.length ? `replayed ${r.replayed.length} transaction(s)\n` : `nothing to recover${r.discardedTailBytes ? ` (discarded a torn tail of ${r.discardedTailBytes} bytes)` : ''}\n`);
      return 0;
    }),
  );

  const route = example(
    program.command('route').description('artifact routing: print the canonical path of a file, or check | table | fix').argument('[file]', 'an artifact file'),
    'artifacts route docs/plans/x.md',
    'artifacts route check',
  ).action(
    action('route', async (ctx, file: string | undefined) => {
      if (!file) throw new CommanderError(2, 'artifacts.usage', 'route: give a file, or one of: check, table, fix');
      const r = await ctx.lib.canonicalPathOf(await ctx.repo(), abs(file));
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else process.stdout.write(`${r.canonical}\n`);
      return 0;
    }),
  );
  example(route.command('check').description('report every routing conflict (exit 1 if any)'), 'artifacts route check').action(
    action('route check', async (ctx) => {
      const r = await ctx.lib.routeCheck(await ctx.repo());
      return report(ctx, r.findings, `${r.routes} routes, ${r.commands} commands, ${r.artifacts} artifacts: no conflicts`, { routes: r.routes, commands: r.commands, artifacts: r.artifacts });
    }),
  );
  example(route.command('table').description('print the routes as a Markdown table'), 'artifacts route table').action(
    action('route table', async (ctx) => {
      const routing = await ctx.lib.repoRouting(await ctx.repo());
      // A table of routing files that cannot be read would be a table of nothing.
      if (routing.findings.length > 0) return report(ctx, routing.findings, '');
      if (ctx.out.json) {
        ctx.emit({
          ok: true,
          routes: routing.routes.map((r) => {
            const directories = ctx.lib.routeDirectories(r);
            return r.dirs !== undefined ? { kind: r.kind, dirs: r.dirs, directories } : { kind: r.kind, path: r.path, directory: directories[0], directories };
          }),
        });
      }
      else process.stdout.write(ctx.lib.routeTable(routing));
      return 0;
    }),
  );
  example(route.command('fix').description('move misrouted artifacts to their canonical paths (tracked files stay tracked, as with git mv; never overwrites)').option('--dry-run', 'print the moves without making them'), 'artifacts route fix --dry-run').action(
    action('route fix', async (ctx, opts: { dryRun?: boolean }) => {
      const repo = await ctx.repo();
      const plan = await ctx.lib.planRouteFix(repo);
      // A rehearsal makes every check the real run makes before its first move (same errors, same exit).
      if (opts.dryRun) await ctx.lib.checkRouteFix(repo, plan);
      else await ctx.lib.applyRouteFix(repo, plan);
      if (ctx.out.json) ctx.emit({ ok: plan.findings.length === 0, dry_run: !!opts.dryRun, moves: plan.moves, findings: plan.findings });
      else {
        for (const m of plan.moves) ctx.print(`${opts.dryRun ? 'would move' : 'moved'} ${m.from} -> ${m.to}\n`);
        if (plan.moves.length === 0) ctx.print('every artifact is at its canonical path\n');
        process.stdout.write(renderFindingsHuman(ctx.out, plan.findings));
        if (plan.findings.length) process.stdout.write(summaryLine(ctx.out, plan.findings, '', ctx.command));
      }
      return ctx.lib.exitCodeFor(plan.findings);
    }),
  );
  const stageOptions = (cmd: Command) =>
    cmd
      .requiredOption('--framework <framework>', 'framework name (frameworks/<framework>.yaml)')
      .requiredOption('--stage <stage>', 'stage of the framework contract')
      .option('--deterministic', 'refuse dirty candidates and shallow clones (exit 2)')
      .option('--allow-dirty', 'with --deterministic: accept uncommitted candidates (their updated_at is used)');
  example(
    stageOptions(program.command('hydrate').description('select, for each input of a framework stage, the same artifact on every machine, and explain why')).option('--out <file>', 'also write the JSON document to a file'),
    'artifacts hydrate --framework fwk-001 --stage design-review',
    'artifacts hydrate --framework fwk-001 --stage design-review --deterministic --json',
  ).action(
    action('hydrate', async (ctx, opts: HydrateFlags & { out?: string }) => {
      const r = await ctx.lib.hydrate(await ctx.repo(), hydrateOptions(opts));
      const doc = `${JSON.stringify(r.hydration, null, 2)}\n`;
      if (opts.out) await ctx.lib.writeOutputFile(await ctx.repo(), abs(opts.out), doc);
      // The document alone, so that its bytes are identical across runs and machines.
      if (ctx.out.json) process.stdout.write(doc);
      else process.stdout.write(renderHydration(ctx.out, r.hydration, r.uncommitted));
      return 0;
    }),
  );
  example(stageOptions(program.command('gate').description('hydrate a stage and enforce its contract (exit 1 on any finding)')), 'artifacts gate --framework fwk-001 --stage design-review').action(
    action('gate', async (ctx, opts: HydrateFlags) => {
      const repo = await ctx.repo();
      const r = await ctx.lib.gate(repo, { ...hydrateOptions(opts), promotions: ctx.lib.snapshotPromotions(repo, new Date()) });
      if (!ctx.out.json && !ctx.out.quiet) process.stdout.write(renderHydration(ctx.out, r.hydration, r.uncommitted));
      return report(ctx, r.findings, `gate ${opts.framework}/${opts.stage} passed`, { framework: opts.framework, stage: opts.stage, passed: r.passed, hydration: r.hydration });
    }),
  );
  registerSnapshotCommands(program);
  return program;
}

/** The signing key: --key FILE, else ARTIFACTS_SIGNING_KEY (a path). Never printed. */
async function signingKey(ctx: Ctx, file: string | undefined): Promise<Lib.SigningKey> {
  const path = file ?? process.env.ARTIFACTS_SIGNING_KEY;
  if (!path) throw new ctx.lib.ArtifactsError('KEY_MISSING', 'no signing key: pass --key FILE or set ARTIFACTS_SIGNING_KEY');
  return ctx.lib.loadSigningKey(abs(path));
}

function registerSnapshotCommands(program: Command): void {
  const keys = example(program.command('keys').description('Ed25519 signing keys'), 'artifacts keys generate --out ~/.config/artifacts/release', 'artifacts keys list');
  example(keys.command('generate').description('write NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM), outside the repository').requiredOption('--out <name>', 'path prefix of the two files'), 'artifacts keys generate --out ~/.config/artifacts/release').action(
    action('keys generate', async (ctx, opts: { out: string }) => {
      const repo = await ctx.repo();
      // Only a real repository (a config file or a git work tree) is protected from keys.
      const isRepo = repo.configPresent || (await ctx.lib.isGitWorkTree(repo.root));
      const r = await ctx.lib.generateKeys(abs(opts.out), isRepo ? repo.root : undefined);
      if (ctx.out.json) ctx.emit({ ok: true, private_key: r.privateKey, public_key: r.publicKey, keyid: r.keyid });
      else {
        // The next step depends on whether this repository already has a trust chain.
        const chain = isRepo && (await ctx.lib.hasTrustChain(repo).catch(() => true));
        const next = chain
          ? `next: artifacts keys trust ${r.publicKey} --key SIGNER.key   (SIGNER: a key the trust chain already trusts to add keys)`
          : `next: artifacts keys trust ${r.publicKey} --key ${r.privateKey}   (the first key of a new trust chain is its root and signs itself)`;
        ctx.print(`wrote ${r.privateKey} (private, 0600) and ${r.publicKey}\nkeyid ${r.keyid}\n${next}\n`);
      }
      return 0;
    }),
  );
  example(
    keys
      .command('trust')
      .description('append a trust record adding a public key (signed by --key, a key the chain trusts; the first record is self-signed: the root)')
      .argument('<file>', 'the public key (NAME.pub)')
      .option('--key <file>', 'private key that signs the record (default: $ARTIFACTS_SIGNING_KEY)'),
    'artifacts keys trust root.pub --key ~/.config/artifacts/root.key   # record 1: the root',
    'artifacts keys trust release.pub --key ~/.config/artifacts/root.key',
  ).action(
    action('keys trust', async (ctx, file: string, o: { key?: string }) => {
      const repo = await ctx.repo();
      const r = await ctx.lib.trustKey(repo, abs(file), await signingKey(ctx, o.key), new Date());
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else {
        ctx.print(`trusted ${r.keyid}: ${r.file} (record ${r.seq})\n`);
        if (r.created) ctx.print(`the trust chain starts here: its root is ${r.keyid}\npin it in CI from a source pull requests cannot change: ARTIFACTS_TRUST_ROOT=${r.keyid}\n`);
      }
      return 0;
    }),
  );
  example(
    keys
      .command('revoke')
      .description('append a trust record revoking a key; the snapshots it signed so far stay valid (last_valid, per chain), any it signs later do not')
      .argument('<keyid>', 'the key id to revoke (see `keys list`)')
      .option('--key <file>', 'private key that signs the record (default: $ARTIFACTS_SIGNING_KEY)'),
    'artifacts keys revoke 3f9a…c2 --key ~/.config/artifacts/root.key',
  ).action(
    action('keys revoke', async (ctx, keyid: string, o: { key?: string }) => {
      const r = await ctx.lib.revokeKey(await ctx.repo(), keyid, await signingKey(ctx, o.key), new Date());
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else {
        ctx.print(`revoked ${r.keyid}: ${r.file} (record ${r.seq})\n`);
        const chains = Object.entries(r.last_valid);
        if (chains.length === 0) ctx.print('it signed no snapshot: none signed by it is valid\n');
        for (const [chain, id] of chains) ctx.print(`  ${chain}: valid up to ${id}\n`);
      }
      return 0;
    }),
  );
  example(keys.command('list').description('list the keys the trust chain trusts now, and the revoked ones'), 'artifacts keys list', 'artifacts --trust-root 3f9a…c2 keys list').action(
    action('keys list', async (ctx) => {
      const r = await ctx.lib.listTrust(await ctx.repo());
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else if (!r.initialized) {
        ctx.print(`no trust chain yet: start one with \`artifacts keys trust ROOT.pub --key ROOT.key\`${r.legacy.length ? `, or \`artifacts keys migrate --key SIGNER\` for the ${r.legacy.length} key(s) in .artifacts/keys/trusted/` : ''}\n`);
      } else {
        ctx.print(`root ${r.root}${r.pinned ? ' (pinned)' : ' (not pinned)'}, ${r.records} record(s)\n`);
        for (const k of r.trusted) ctx.print(`trusted ${k.keyid}${k.keyid === r.root ? '  root' : `  added by ${k.added_by}`}\n`);
        for (const k of r.revoked) ctx.print(`revoked ${k.keyid}\n`);
        if (r.legacy.length) ctx.print(`note: .artifacts/keys/trusted/ still holds ${r.legacy.length} file(s); they are not trusted and may be deleted\n`);
      }
      return 0;
    }),
  );
  example(
    keys
      .command('migrate')
      .description('turn a legacy .artifacts/keys/trusted/ directory into the first trust record, self-signed by --key (one of those keys)')
      .option('--key <file>', 'private key of one of the legacy trusted keys: the root (default: $ARTIFACTS_SIGNING_KEY)'),
    'artifacts keys migrate --key ~/.config/artifacts/release.key',
  ).action(
    action('keys migrate', async (ctx, o: { key?: string }) => {
      const r = await ctx.lib.migrateLegacyKeys(await ctx.repo(), await signingKey(ctx, o.key), new Date());
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else {
        ctx.print(`wrote ${r.file}: ${r.migrated.length} key(s), root ${r.keyid}\n`);
        for (const k of r.migrated) ctx.print(`  trusted ${k}\n`);
        for (const k of r.skipped) ctx.print(`  skipped ${k.file}: ${k.reason}\n`);
        ctx.print('check this list: the legacy directory was repository content; it is no longer read and may be deleted\n');
      }
      return 0;
    }),
  );

  example(
    program
      .command('promote')
      .description('gate a stage, store the selected artifacts and record a signed, hash-chained snapshot')
      .requiredOption('--framework <framework>', 'framework')
      .requiredOption('--stage <stage>', 'stage')
      .option('--key <file>', 'private key (default: $ARTIFACTS_SIGNING_KEY)')
      .option('--at <time>', 'pin created_at (RFC 3339) for a reproducible snapshot')
      .option('--expires-at <time>', 'record an expiry (RFC 3339)')
      .option('--allow-dirty', 'accept uncommitted candidates')
      .option('--dry-run', 'run the gate and print the snapshot without writing anything'),
    'artifacts promote --framework fwk-001 --stage design-review --key ~/.config/artifacts/release.key',
  ).action(
    action('promote', async (ctx, o: { framework: string; stage: string; key?: string; at?: string; expiresAt?: string; allowDirty?: boolean; dryRun?: boolean }) => {
      const repo = await ctx.repo();
      const key = await signingKey(ctx, o.key);
      const r = await ctx.lib.promote(repo, { framework: o.framework, stage: o.stage, key, now: new Date(), ...(o.at ? { at: o.at } : {}), ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}), allowDirty: !!o.allowDirty, dryRun: !!o.dryRun });
      if (ctx.out.json) ctx.emit({ ok: true, dry_run: r.dryRun, id: r.id, file: r.file, objects_written: r.objectsWritten, snapshot: r.snapshot });
      else {
        ctx.print(`${r.dryRun ? 'would write' : 'wrote'} ${r.file} (seq ${r.snapshot.seq}, ${r.snapshot.artifacts.length} artifacts${r.dryRun ? '' : `, ${r.objectsWritten} new objects`})\n`);
        for (const a of r.snapshot.artifacts) ctx.print(`  ${a.slot}: ${a.id}@${a.version} ${a.content_address}\n`);
        ctx.print(`snapshot ${r.id}\n`);
      }
      return 0;
    }),
  );

  example(
    program
      .command('rollback')
      .description('restore a retained snapshot byte for byte (verify, fetch, write, re-index, sign)')
      .requiredOption('--framework <framework>', 'framework')
      .requiredOption('--stage <stage>', 'stage')
      .requiredOption('--to <ref>', 'seq number, sha256:<snapshot id>, previous (the one before the latest) or latest')
      .option('--key <file>', 'private key (default: $ARTIFACTS_SIGNING_KEY); a --dry-run needs none, and checks it is trusted when given')
      .option('--at <time>', 'pin created_at (RFC 3339)')
      .option('--dry-run', 'rehearse: verify everything and print the plan; change nothing (no key needed)'),
    'artifacts rollback --framework fwk-001 --stage design-review --to previous --dry-run   # no key needed: CI can rehearse',
    'artifacts rollback --framework fwk-001 --stage design-review --to previous --key ~/.config/artifacts/release.key',
  ).action(
    action('rollback', async (ctx, o: { framework: string; stage: string; to: string; key?: string; at?: string; dryRun?: boolean }) => {
      const repo = await ctx.repo();
      // A rehearsal needs no secret: without a key it checks everything else.
      const key = o.dryRun && !o.key && !process.env.ARTIFACTS_SIGNING_KEY ? undefined : await signingKey(ctx, o.key);
      const r = await ctx.lib.rollback(repo, { framework: o.framework, stage: o.stage, to: o.to, ...(key ? { key } : {}), now: new Date(), ...(o.at ? { at: o.at } : {}), dryRun: !!o.dryRun });
      const code = ctx.lib.exitCodeFor(r.findings);
      const keyNote = 'no --key given: the signing key was not checked; the real rollback needs --key FILE (or ARTIFACTS_SIGNING_KEY) naming a key the trust chain trusts';
      if (ctx.out.json) ctx.emit({ ok: code === 0, ...r, key_checked: key !== undefined, ...(r.key_required ? { note: keyNote } : {}) });
      else {
        ctx.print(`${r.dryRun ? 'rehearsal: ' : ''}rollback of ${o.framework}/${o.stage} to #${r.target.seq} (${r.target.id})\n`);
        if (r.key_required) ctx.print(`note: ${keyNote}\n`);
        for (const st of r.steps) ctx.print(`  ${st.action.padEnd(9)} ${st.path} from ${st.source}\n`);
        if (r.snapshot && !r.dryRun) ctx.print(`wrote ${r.snapshot.file} (seq ${r.snapshot.seq}, action rollback)\n`);
        process.stdout.write(renderFindingsHuman(ctx.out, r.findings));
        if (r.findings.length) process.stdout.write(summaryLine(ctx.out, r.findings, '', ctx.command));
        ctx.print(code === 0 ? (r.dryRun ? `the rollback would succeed${r.key_required ? ' given a trusted key' : ''}\n` : 'done\n') : 'the rollback would fail\n');
      }
      return code;
    }),
  );

  example(program.command('gc').description('delete objects that no retained snapshot references').option('--dry-run', 'list what would be deleted'), 'artifacts gc --dry-run').action(
    action('gc', async (ctx, o: { dryRun?: boolean }) => {
      const r = await ctx.lib.gc(await ctx.repo(), { now: new Date(), dryRun: !!o.dryRun });
      if (ctx.out.json) ctx.emit({ ok: true, dry_run: !!o.dryRun, ...r });
      else {
        for (const a of r.deleted) ctx.print(`${o.dryRun ? 'would delete' : 'deleted'} ${a}\n`);
        ctx.print(`${r.deleted.length} object(s) ${o.dryRun ? 'to delete' : 'deleted'}, ${r.kept} kept\n`);
      }
      return 0;
    }),
  );

  example(program.command('history').description('every indexed version of an artifact, and every snapshot that included it').argument('<id>'), 'artifacts history plan-checkout').action(
    action('history', async (ctx, id: string) => {
      const r = await ctx.lib.history(await ctx.repo(), id, { now: new Date() });
      if (ctx.out.json) ctx.emit({ ok: true, ...r });
      else {
        ctx.print(`${id}\nversions:\n`);
        for (const v of r.versions) ctx.print(`  ${v.version}  ${v.status}  ${v.path}  ${v.updated_at ?? ''}\n`);
        ctx.print('snapshots:\n');
        for (const s of r.snapshots) ctx.print(`  ${s.framework}/${s.stage} #${s.seq} ${s.action} ${s.created_at}  ${s.version}${s.verified ? '' : `  UNVERIFIED (${s.problem ?? ''})`}\n`);
      }
      return 0;
    }),
  );

  example(
    program
      .command('lineage')
      .description('ancestors (derived_from) and descendants of an artifact')
      .argument('<ref>', 'id (every version) or id@version')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'mermaid', 'dot']).default('text')),
    'artifacts lineage plan-checkout',
    'artifacts lineage plan-checkout@1.2.0 --format mermaid',
  ).action(
    action('lineage', async (ctx, target: string, o: { format: string }) => {
      const view = await ctx.lib.readDecisionIndex(await ctx.repo());
      const g = ctx.lib.lineage(view.doc?.artifacts ?? [], target);
      const code = ctx.lib.exitCodeFor(g.findings);
      if (ctx.out.json || o.format === 'json') {
        const { findings, ...graph } = g;
        process.stdout.write(`${JSON.stringify({ command: 'lineage', ok: code === 0, ...graph, findings }, null, 2)}\n`);
        return code;
      }
      process.stdout.write(o.format === 'mermaid' ? ctx.lib.lineageMermaid(g) : o.format === 'dot' ? ctx.lib.lineageDot(g) : ctx.lib.lineageText(g));
      if (g.findings.length) process.stderr.write(renderFindingsHuman(ctx.out, g.findings));
      return code;
    }),
  );

  const snap = example(program.command('snapshot').description('list, show, verify, diff and retain promotion snapshots'), 'artifacts snapshot verify --all', 'artifacts snapshot list');
  const scope = (c: Command) => c.option('--framework <framework>', 'framework').option('--stage <stage>', 'stage');
  const scopeOf = (o: { framework?: string; stage?: string }) => (o.framework && o.stage ? { framework: o.framework, stage: o.stage } : undefined);
  example(scope(snap.command('list').description('list snapshots')), 'artifacts snapshot list --framework fwk-001 --stage design-review').action(
    action('snapshot list', async (ctx, o: { framework?: string; stage?: string }) => {
      const repo = await ctx.repo();
      const all = (await ctx.lib.allSnapshots(repo)).filter((s) => (!o.framework || s.framework === o.framework) && (!o.stage || s.stage === o.stage));
      const unverified = await ctx.lib.unverifiedSnapshots(repo, new Date());
      const rows = all.map((s) => {
        const problem = unverified.get(s.file);
        return { framework: s.framework, stage: s.stage, seq: s.seq, id: s.id, action: s.snapshot?.action, created_at: s.snapshot?.created_at, artifacts: s.snapshot?.artifacts.length, held: !!s.hold, released: s.released, verified: problem === undefined, ...(problem ? { problem } : {}) };
      });
      if (ctx.out.json) ctx.emit({ ok: true, snapshots: rows });
      else for (const r of rows) ctx.print(`${r.framework}/${r.stage} #${r.seq}  ${r.action}  ${r.created_at}  ${r.artifacts} artifacts  ${r.id}${r.held ? '  held' : ''}${r.released ? '  released' : ''}${r.verified ? '' : `  UNVERIFIED (${r.problem ?? ''})`}\n`);
      return 0;
    }),
  );
  example(scope(snap.command('show').description('print a snapshot').argument('<ref>', 'F/S/seq, sha256:<id>, or a seq with --framework/--stage')), 'artifacts snapshot show fwk-001/design-review/1').action(
    action('snapshot show', async (ctx, ref: string, o: { framework?: string; stage?: string }) => {
      const s = await ctx.lib.resolveSnapshot(await ctx.repo(), ref, scopeOf(o));
      if (ctx.out.json) ctx.emit({ ok: true, id: s.id, file: s.file, snapshot: s.snapshot ?? null, held: s.hold ?? null, released: s.released });
      else process.stdout.write(`${s.file}\nid ${s.id}\n${JSON.stringify(s.snapshot, null, 2)}\n`);
      return 0;
    }),
  );
  example(scope(snap.command('verify').description('verify signatures, chain, expiry and objects (exit 4 on an integrity failure)').option('--all', 'every framework and stage (the default)')), 'artifacts snapshot verify --all').action(
    action('snapshot verify', async (ctx, o: { framework?: string; stage?: string }) => {
      const reports = await ctx.lib.verifySnapshots(await ctx.repo(), { now: new Date(), ...(scopeOf(o) ?? {}) });
      const findings = reports.flatMap((r) => r.findings);
      const count = reports.reduce((n, r) => n + r.snapshots.length, 0);
      return report(ctx, findings, `${count} snapshot(s) in ${reports.length} chain(s) verified`, { chains: reports.map((r) => ({ framework: r.framework, stage: r.stage, snapshots: r.snapshots.length })) });
    }),
  );
  example(snap.command('status').description('drift between the latest snapshot and the working tree (exit 1 on drift)').requiredOption('--framework <framework>', 'framework').requiredOption('--stage <stage>', 'stage'), 'artifacts snapshot status --framework fwk-001 --stage design-review').action(
    action('snapshot status', async (ctx, o: { framework: string; stage: string }) => {
      const r = await ctx.lib.snapshotStatus(await ctx.repo(), o.framework, o.stage, { now: new Date() });
      return report(ctx, r.findings, r.latest ? `the tree matches ${o.framework}/${o.stage} #${r.latest.seq}` : 'no snapshots yet', { latest: r.latest ?? null });
    }),
  );
  example(scope(snap.command('diff').description('artifacts added, removed and changed between two snapshots').argument('<a>').argument('<b>')), 'artifacts snapshot diff fwk-001/design-review/1 fwk-001/design-review/2').action(
    action('snapshot diff', async (ctx, a: string, b: string, o: { framework?: string; stage?: string }) => {
      const repo = await ctx.repo();
      const d = ctx.lib.diffSnapshots(await ctx.lib.resolveSnapshot(repo, a, scopeOf(o)), await ctx.lib.resolveSnapshot(repo, b, scopeOf(o)));
      if (ctx.out.json) ctx.emit({ ok: true, ...d });
      else {
        for (const x of d.added) ctx.print(`+ ${x.slot}: ${x.id}@${x.version}\n`);
        for (const x of d.removed) ctx.print(`- ${x.slot}: ${x.id}@${x.version}\n`);
        for (const x of d.changed) ctx.print(`~ ${x.to.slot}: ${x.from.id}@${x.from.version} -> ${x.to.id}@${x.to.version}\n`);
        if (!d.added.length && !d.removed.length && !d.changed.length) ctx.print('no differences\n');
      }
      return 0;
    }),
  );
  example(snap.command('prune').description('apply the retention policy: release the objects of snapshots outside it (manifests are kept)').option('--dry-run', 'explain, per snapshot, keep or release'), 'artifacts snapshot prune --dry-run').action(
    action('snapshot prune', async (ctx, o: { dryRun?: boolean }) => {
      const r = await ctx.lib.prune(await ctx.repo(), { now: new Date(), dryRun: !!o.dryRun });
      if (ctx.out.json) ctx.emit({ ok: true, dry_run: !!o.dryRun, decisions: r });
      else for (const d of r) ctx.print(`${d.framework}/${d.stage} #${d.seq}  ${o.dryRun ? 'would ' : ''}${d.decision}: ${d.reason}\n`);
      return 0;
    }),
  );
  example(scope(snap.command('hold').description('never prune this snapshot').argument('<ref>').requiredOption('--reason <text>', 'why it is held')), 'artifacts snapshot hold fwk-001/release/3 --reason "audit 2026-Q4"').action(
    action('snapshot hold', async (ctx, ref: string, o: { reason: string; framework?: string; stage?: string }) => {
      const repo = await ctx.repo();
      const s = await ctx.lib.resolveSnapshot(repo, ref, scopeOf(o));
      await ctx.lib.writeHold(repo, s, o.reason);
      if (ctx.out.json) ctx.emit({ ok: true, id: s.id, held: true, reason: o.reason });
      else ctx.print(`held ${s.framework}/${s.stage} #${s.seq}: ${o.reason}\n`);
      return 0;
    }),
  );
  example(scope(snap.command('unhold').description('remove a hold').argument('<ref>')), 'artifacts snapshot unhold fwk-001/release/3').action(
    action('snapshot unhold', async (ctx, ref: string, o: { framework?: string; stage?: string }) => {
      const repo = await ctx.repo();
      const s = await ctx.lib.resolveSnapshot(repo, ref, scopeOf(o));
      await ctx.lib.writeHold(repo, s, undefined);
      if (ctx.out.json) ctx.emit({ ok: true, id: s.id, held: false });
      else ctx.print(`released the hold on ${s.framework}/${s.stage} #${s.seq}\n`);
      return 0;
    }),
  );
}

interface HydrateFlags {
  framework: string;
  stage: string;
  deterministic?: boolean;
  allowDirty?: boolean;
}

function hydrateOptions(o: HydrateFlags): Lib.HydrateOptions {
  return { framework: o.framework, stage: o.stage, deterministic: !!o.deterministic, allowDirty: !!o.allowDirty };
}

function abs(p: string): string {
  return p.startsWith('/') ? p : `${process.cwd()}/${p}`;
}

function relToRoot(root: string, p: string): string {
  const a = abs(p);
  return a.startsWith(`${root}/`) ? a.slice(root.length + 1) : p;
}

/** Exit status of a command whose reader went away (128 + SIGPIPE, as git and coreutils). */
export const EXIT_CLOSED_OUTPUT = 141;

/** A reader that closes the pipe early (`artifacts snapshot list | head -1`) is not an
 * error of the command: stop at once, quietly, instead of dying with a stack trace. */
function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(EXIT_CLOSED_OUTPUT);
      throw e;
    });
  }
}

/** Whether `--json` is among the options (before a `--` that ends them). */
function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/** The (sub)command a command line names, as far as it names one: `index add`. Options
 * that take a value skip that value; the first word that is no subcommand stops the walk. */
function commandNamed(program: Command, args: readonly string[]): string {
  const names: string[] = [];
  let cmd = program;
  const takesValue = (c: Command, flag: string): boolean => {
    for (let k: Command | null = c; k; k = k.parent) {
      const o = k.options.find((x) => x.long === flag || x.short === flag);
      if (o) return o.required || o.optional;
    }
    return false;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (!a.includes('=') && takesValue(cmd, a)) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(' ') || 'artifacts';
}

/** The message of a commander usage error, without commander's "error: " prefix. */
function usageMessage(e: CommanderError): string {
  if (e.code === 'commander.help' || e.message === '(outputHelp)') return 'no command given: name a subcommand (see --help)';
  return e.message.replace(/^error: /, '');
}

/** Entry point used by bin/artifacts.js; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  quietOnClosedOutput();
  const program = buildProgram();
  const args = argv.slice(2);
  const json = wantsJson(args);
  // With --json, stdout carries exactly one JSON document even for a usage error: what
  // commander would print (the error, help after it) is held back and goes to stderr,
  // and the error becomes the same document as any other error's.
  const held: string[] = [];
  if (json) {
    const configure = (c: Command): void => {
      c.configureOutput({ writeOut: (str) => held.push(str), writeErr: (str) => process.stderr.write(str) });
      c.commands.forEach(configure);
    };
    configure(program);
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) {
      // `artifacts help` asks for the help it gets (bare `artifacts` stays a usage error).
      const askedHelp = e.code === 'commander.help' && args.filter((a) => !a.startsWith('-'))[0] === 'help';
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || askedHelp) {
        process.stdout.write(held.join(''));
        return 0;
      }
      if (json) {
        if (held.length) process.stderr.write(held.join(''));
        const { CATALOGUE } = await import('../core/errors.js');
        const doc = { command: commandNamed(program, args), ok: false, error: { code: 'USAGE', message: usageMessage(e), hint: CATALOGUE.USAGE.hint, exit: 2 } };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      }
      return 2;
    }
    throw e;
  }
}
