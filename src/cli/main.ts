// The `artifacts` command line: program setup, global options and the registration of
// every command. Each command lives in its own module under ./commands/, imported when the
// command runs, so that `--help` and `--version` load nothing but commander and a command
// loads only the code it needs (./context.ts holds the output and exit-code rules they share).
import { Command, CommanderError, Option } from 'commander';
import type { CommandFn } from './context.js';
import { VERSION } from './installation.js';

/** Thrown by a command's action to end the parse with the command's exit code. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The action of a command: load its module, run it in the shared output context, exit. */
function run(command: string, load: () => Promise<CommandFn>) {
  return async (...args: unknown[]) => {
    const { runCommand } = await import('./context.js');
    throw new Exit(await runCommand(command, args, load));
  };
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
    .option(
      '--trust-root <keyid>',
      'pin the trust root: the key id that must self-sign the first trust record (default: $ARTIFACTS_TRUST_ROOT, then trust_root in the config)',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  example(program, 'artifacts init', 'artifacts index rebuild', 'artifacts validate --format github');

  example(
    program
      .command('init')
      .description('create artifacts.config.yaml, routes that fit the artifacts already here, and .gitignore entries (never overwrites)'),
    'artifacts init',
  ).action(run('init', async () => (await import('./commands/init.js')).init));

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
  ).action(run('validate', async () => (await import('./commands/validate.js')).validate));

  const index = example(
    program.command('index').description('maintain artifacts_index.json'),
    'artifacts index rebuild',
    'artifacts index verify',
  );
  const strictOption = (c: Command) =>
    c.option('--strict', 'all or nothing: write nothing if any file is invalid (default: index the valid ones, report the rest, exit 1)');
  example(
    strictOption(
      index
        .command('add')
        .description('validate, route-check, hash and insert artifacts (one transaction; directories are walked)')
        .argument('<paths...>'),
    ),
    'artifacts index add docs/plans/fwk-001/plan-x.md',
    'artifacts index add docs/ --strict',
  ).action(run('index add', async () => (await import('./commands/index-cmd.js')).add));
  example(
    strictOption(index.command('update').description('as add, but every path must already be indexed').argument('<paths...>')),
    'artifacts index update docs/plans/fwk-001/plan-x.md',
  ).action(run('index update', async () => (await import('./commands/index-cmd.js')).update));
  example(
    index.command('remove').description('remove entries by id@version or path').argument('<refs...>'),
    'artifacts index remove plan-x@1.2.0',
  ).action(run('index remove', async () => (await import('./commands/index-cmd.js')).remove));
  example(
    strictOption(
      index
        .command('rebuild')
        .description(
          'rescan the whole tree and write the index of every valid artifact (deterministic; invalid files are reported, exit 1)',
        )
        .option('--no-cache', 'ignore the stat cache and re-read every file'),
    ),
    'artifacts index rebuild',
    'artifacts index rebuild --strict   # all or nothing',
  ).action(run('index rebuild', async () => (await import('./commands/index-cmd.js')).rebuild));
  example(
    index.command('verify').description('compare the index with the tree; exit 1 on drift, 4 on corruption'),
    'artifacts index verify',
    'artifacts index verify --json',
  ).action(run('index verify', async () => (await import('./commands/index-cmd.js')).verify));
  example(
    index
      .command('merge-driver')
      .description('git merge driver for artifacts_index.json (installed by `artifacts init`)')
      .argument('<base>', '%O: the common ancestor')
      .argument('<ours>', '%A: our version; the merge result is written here')
      .argument('<theirs>', '%B: their version'),
    'artifacts index merge-driver base.json ours.json theirs.json   # what git runs for %O %A %B',
  ).action(run('index merge-driver', async () => (await import('./commands/merge-driver.js')).mergeDriver));
  example(
    index
      .command('migrate')
      .description('rewrite an artifacts-index/1 index as artifacts-index/2 (one canonical entry per line); idempotent'),
    'artifacts index migrate',
    'artifacts index migrate --json',
  ).action(run('index migrate', async () => (await import('./commands/index-cmd.js')).migrate));
  example(
    index
      .command('recover')
      .description('finish (or with --discard, drop) an interrupted transaction')
      .option('--discard', 'drop the journal instead of replaying it'),
    'artifacts index recover',
  ).action(run('index recover', async () => (await import('./commands/index-cmd.js')).recover));

  const route = example(
    program
      .command('route')
      .description('artifact routing: print the canonical path of a file, or check | table | fix')
      .argument('[file]', 'an artifact file'),
    'artifacts route docs/plans/x.md',
    'artifacts route check',
  ).action(run('route', async () => (await import('./commands/route.js')).route));
  example(route.command('check').description('report every routing conflict (exit 1 if any)'), 'artifacts route check').action(
    run('route check', async () => (await import('./commands/route.js')).check),
  );
  example(route.command('table').description('print the routes as a Markdown table'), 'artifacts route table').action(
    run('route table', async () => (await import('./commands/route.js')).table),
  );
  example(
    route
      .command('fix')
      .description('move misrouted artifacts to their canonical paths (tracked files stay tracked, as with git mv; never overwrites)')
      .option('--dry-run', 'print the moves without making them'),
    'artifacts route fix --dry-run',
  ).action(run('route fix', async () => (await import('./commands/route.js')).fix));
  const stageOptions = (cmd: Command) =>
    cmd
      .requiredOption('--framework <framework>', 'framework name (frameworks/<framework>.yaml)')
      .requiredOption('--stage <stage>', 'stage of the framework contract')
      .option('--deterministic', 'refuse dirty candidates and shallow clones (exit 2)')
      .option('--allow-dirty', 'with --deterministic: accept uncommitted candidates (their updated_at is used)');
  example(
    stageOptions(
      program
        .command('hydrate')
        .description('select, for each input of a framework stage, the same artifact on every machine, and explain why'),
    ).option('--out <file>', 'also write the JSON document to a file'),
    'artifacts hydrate --framework fwk-001 --stage design-review',
    'artifacts hydrate --framework fwk-001 --stage design-review --deterministic --json',
  ).action(run('hydrate', async () => (await import('./commands/hydrate.js')).hydrate));
  example(
    stageOptions(program.command('gate').description('hydrate a stage and enforce its contract (exit 1 on any finding)')),
    'artifacts gate --framework fwk-001 --stage design-review',
  ).action(run('gate', async () => (await import('./commands/hydrate.js')).gate));
  registerSnapshotCommands(program);
  return program;
}

function registerSnapshotCommands(program: Command): void {
  const keys = example(
    program.command('keys').description('Ed25519 signing keys'),
    'artifacts keys generate --out ~/.config/artifacts/release',
    'artifacts keys list',
  );
  example(
    keys
      .command('generate')
      .description('write NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM), outside the repository')
      .requiredOption('--out <name>', 'path prefix of the two files'),
    'artifacts keys generate --out ~/.config/artifacts/release',
  ).action(run('keys generate', async () => (await import('./commands/keys.js')).generate));
  example(
    keys
      .command('trust')
      .description(
        'append a trust record adding a public key (signed by --key, a key the chain trusts; the first record is self-signed: the root)',
      )
      .argument('<file>', 'the public key (NAME.pub)')
      .option('--key <file>', 'private key that signs the record (default: $ARTIFACTS_SIGNING_KEY)'),
    'artifacts keys trust root.pub --key ~/.config/artifacts/root.key   # record 1: the root',
    'artifacts keys trust release.pub --key ~/.config/artifacts/root.key',
  ).action(run('keys trust', async () => (await import('./commands/keys.js')).trust));
  example(
    keys
      .command('revoke')
      .description(
        'append a trust record revoking a key; the snapshots it signed so far stay valid (last_valid, per chain), any it signs later do not',
      )
      .argument('<keyid>', 'the key id to revoke (see `keys list`)')
      .option('--key <file>', 'private key that signs the record (default: $ARTIFACTS_SIGNING_KEY)'),
    'artifacts keys revoke 3f9a…c2 --key ~/.config/artifacts/root.key',
  ).action(run('keys revoke', async () => (await import('./commands/keys.js')).revoke));
  example(
    keys.command('list').description('list the keys the trust chain trusts now, and the revoked ones'),
    'artifacts keys list',
    'artifacts --trust-root 3f9a…c2 keys list',
  ).action(run('keys list', async () => (await import('./commands/keys.js')).list));
  example(
    keys
      .command('migrate')
      .description('turn a legacy .artifacts/keys/trusted/ directory into the first trust record, self-signed by --key (one of those keys)')
      .option('--key <file>', 'private key of one of the legacy trusted keys: the root (default: $ARTIFACTS_SIGNING_KEY)'),
    'artifacts keys migrate --key ~/.config/artifacts/release.key',
  ).action(run('keys migrate', async () => (await import('./commands/keys.js')).migrate));

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
  ).action(run('promote', async () => (await import('./commands/promote.js')).promote));

  const channel = example(
    program.command('channel').description('rollout channels: which promoted snapshot each unit runs'),
    'artifacts channel create prod --framework fwk-001 --stage release --key release.key',
  );
  example(
    channel
      .command('create')
      .description('create a channel that follows the promotions of one framework/stage (a signed record)')
      .argument('<name>', 'channel name')
      .requiredOption('--framework <framework>', 'framework')
      .requiredOption('--stage <stage>', 'stage')
      .option('--health-stage <stage>', 'a stage whose gate must pass before a rollout advances')
      .option('--key <file>', 'private key (default: $ARTIFACTS_SIGNING_KEY)')
      .option('--dry-run', 'print the record without writing it'),
    'artifacts channel create prod --framework fwk-001 --stage release --key release.key',
  ).action(run('channel create', async () => (await import('./commands/channel.js')).create));
  example(channel.command('list').description('every channel, its stable snapshot and rollout'), 'artifacts channel list --json').action(
    run('channel list', async () => (await import('./commands/channel.js')).list),
  );
  example(
    channel
      .command('verify')
      .description('verify the signed, hash-chained records of one or every channel')
      .argument('[name]', 'channel name (default: every channel)'),
    'artifacts channel verify prod',
  ).action(run('channel verify', async () => (await import('./commands/channel.js')).verify));
  const rollout = example(
    program.command('rollout').description('move a channel to another snapshot: direct, canary or blue-green'),
    'artifacts rollout start --channel prod --to channel:staging --key release.key',
  );
  const signed = (c: Command) =>
    c
      .requiredOption('--channel <name>', 'channel')
      .option('--key <file>', 'private key (default: $ARTIFACTS_SIGNING_KEY)')
      .option('--dry-run', 'print the record without writing it');
  example(
    signed(rollout.command('start').description('start a rollout to REF: F/S/SEQ, sha256:<id>, latest, or channel:OTHER'))
      .requiredOption('--to <ref>', 'target snapshot')
      .option('--strategy <strategy>', 'direct, canary or blue-green', 'direct')
      .option(
        '--steps <percents>',
        'canary steps, strictly increasing, ending at 100, each with an optional bake time (default 5,25,50,100)',
      )
      .option('--seed <seed>', 'bucket seed, to keep a cohort across rollouts (default: the target id)')
      .option('--include <file>', 'canary: units (one a line) always on the target')
      .option('--exclude <file>', 'canary: units (one a line) never on the target'),
    'artifacts rollout start --channel prod --to latest --strategy canary --steps 5,25,50,100 --key release.key',
    'artifacts rollout start --channel prod --to channel:staging --strategy canary --steps 5@1h,25@1h,50@30m,100 --key release.key',
  ).action(run('rollout start', async () => (await import('./commands/channel.js')).start));
  example(
    signed(rollout.command('advance').description('the next canary step (advancing past 100 % completes)')).option(
      '--on-fail <action>',
      'when the health stage fails: abort or pause (writes that signed record, then exits 1)',
    ),
    'artifacts rollout advance --channel prod --key release.key',
    'artifacts rollout advance --channel prod --on-fail abort --key release.key',
  ).action(run('rollout advance', async () => (await import('./commands/channel.js')).advance));
  example(
    signed(rollout.command('abort').description('end the rollout; every unit back on the stable snapshot')),
    'artifacts rollout abort --channel prod --key release.key',
  ).action(run('rollout abort', async () => (await import('./commands/channel.js')).abort));
  example(
    signed(rollout.command('complete').description('make the target stable for every unit (blue/green: close the flip-back window)')),
    'artifacts rollout complete --channel prod --key release.key',
  ).action(run('rollout complete', async () => (await import('./commands/channel.js')).complete));
  example(
    signed(rollout.command('switch').description('blue/green: make the idle colour live for every unit; again to flip back')),
    'artifacts rollout switch --channel prod --key release.key',
  ).action(run('rollout switch', async () => (await import('./commands/channel.js')).switchColour));
  example(
    signed(rollout.command('pause').description('pause a canary: it does not advance until resumed')),
    'artifacts rollout pause --channel prod --key release.key',
  ).action(run('rollout pause', async () => (await import('./commands/channel.js')).pause));
  example(
    signed(rollout.command('resume').description('resume a paused canary')),
    'artifacts rollout resume --channel prod --key release.key',
  ).action(run('rollout resume', async () => (await import('./commands/channel.js')).resume));
  example(
    signed(
      rollout.command('promote').description('emergency: make the target stable for every unit now, skipping steps and the health gate'),
    )
      .option('--full', 'required: promote to every unit at once')
      .requiredOption('--reason <text>', 'why (recorded in the signed record)'),
    'artifacts rollout promote --channel prod --full --reason "fix for incident 4711" --key release.key',
  ).action(run('rollout promote', async () => (await import('./commands/channel.js')).promote));
  example(
    rollout
      .command('status')
      .description('stable, target, step, fraction of units and history of a channel')
      .requiredOption('--channel <name>', 'channel'),
    'artifacts rollout status --channel prod --json',
  ).action(run('rollout status', async () => (await import('./commands/channel.js')).status));
  example(
    program
      .command('resolve')
      .description('which snapshot a unit runs, from the verified channel records')
      .requiredOption('--channel <name>', 'channel')
      .option('--unit <id>', 'one unit (tenant, host, region)')
      .option('--units <file>', 'a file of units, one per line')
      .option('--stable', 'the stable snapshot, without a unit')
      .option('--variant <variant>', 'preview: the idle colour of a blue/green rollout, for every unit')
      .option('--at <seq|time>', 'answer as of a record: its number, or a time (RFC 3339)')
      .option('--min-seq <n>', 'refuse (CHANNEL_STALE) a channel whose newest record is older than N'),
    'artifacts resolve --channel prod --unit tenant-42 --json',
  ).action(run('resolve', async () => (await import('./commands/channel.js')).resolve));

  example(
    program
      .command('push')
      .description(
        'push a verified snapshot to an OCI registry (config = the snapshot, one layer per artifact, the attestation as a referrer)',
      )
      .argument('<ref>', 'REGISTRY/REPOSITORY[:TAG] (with --channel: no tag; the channel name is the tag)')
      .option('--framework <framework>', 'framework')
      .option('--stage <stage>', 'stage')
      .option('--seq <n>', 'snapshot number, or latest (default)')
      .option('--channel <name>', "push the channel's stable snapshot, tagged with the channel's name")
      .option('--layout <layout>', 'files (one layer per artifact, the default) or tar (one deterministic tar+gzip layer)', 'files')
      .option('--key <file>', "the snapshot's private key: signs the image's own attestation (default: $ARTIFACTS_SIGNING_KEY)")
      .option('--plain-http', 'allow plain HTTP to a registry that is not on a loopback address'),
    'artifacts push --framework fwk-001 --stage release registry.example.com/team/artifacts:release-3',
    'artifacts push --channel prod registry.example.com/team/artifacts',
  ).action(run('push', async () => (await import('./commands/oci.js')).push));
  example(
    program
      .command('pull')
      .description('fetch a snapshot image and verify everything (signature, digests, attestation) before writing its files under --out')
      .argument('<ref>', 'REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]')
      .requiredOption('--out <dir>', 'directory to write the files into, at their recorded paths')
      .option('--channel <name>', "the channel's tag: the image must carry the channel's signed head naming it")
      .option('--min-seq <n>', 'with --channel: refuse (CHANNEL_STALE) a head older than record N')
      .option('--plain-http', 'allow plain HTTP to a registry that is not on a loopback address'),
    'artifacts --trust-root 3f9a…c2 pull registry.example.com/team/artifacts:prod --out /srv/app/artifacts',
    'artifacts --trust-root 3f9a…c2 pull registry.example.com/team/artifacts --channel prod --min-seq 12 --out /srv/app/artifacts',
  ).action(run('pull', async () => (await import('./commands/oci.js')).pull));
  example(
    program
      .command('export')
      .description('write a verified snapshot as an OCI image layout (readable by skopeo, oras, Flux)')
      .requiredOption('--framework <framework>', 'framework')
      .requiredOption('--stage <stage>', 'stage')
      .requiredOption('--oci-layout <dir>', 'the image layout directory')
      .option('--seq <n>', 'snapshot number, or latest (default)')
      .option('--tag <tag>', 'the ref name in index.json (default: STAGE-SEQ)')
      .option('--layout <layout>', 'files (one layer per artifact, the default) or tar (one deterministic tar+gzip layer)', 'files')
      .option('--key <file>', "the snapshot's private key: signs the image's own attestation (default: $ARTIFACTS_SIGNING_KEY)"),
    'artifacts export --framework fwk-001 --stage release --oci-layout ./release-image',
  ).action(run('export', async () => (await import('./commands/oci.js')).exportCmd));
  example(
    program
      .command('import')
      .description('verify a snapshot image in an OCI image layout, then write its files (into the repository, or --out)')
      .requiredOption('--oci-layout <dir>', 'the image layout directory')
      .option('--tag <tag>', 'which image (its ref name) when the layout holds several')
      .option('--out <dir>', 'where to write the files (default: the repository root)'),
    'artifacts --trust-root 3f9a…c2 import --oci-layout ./release-image',
  ).action(run('import', async () => (await import('./commands/oci.js')).importCmd));

  const attest = example(
    program.command('attest').description('in-toto attestations (DSSE) of snapshots and channel records'),
    'artifacts attest verify .artifacts/snapshots/fwk-001/release/000003.intoto.json --subject models/churn/1.0.0/churn.onnx',
  );
  example(
    attest
      .command('verify')
      .description('verify an attestation against the trust root, and that each --subject file is an attested subject')
      .argument('<file>', 'a DSSE envelope (.intoto.json)')
      .option(
        '--subject <path>',
        'a file whose SHA-256 must be that of the subject of its name (repeatable)',
        (v: string, prev: string[] = []) => [...prev, v],
      ),
    'artifacts attest verify .artifacts/snapshots/fwk-001/release/000003.intoto.json --subject docs/plans/fwk-001/plan-checkout.md',
  ).action(run('attest verify', async () => (await import('./commands/attest.js')).verify));
  example(
    attest
      .command('backfill')
      .description('write the attestation of every verified snapshot and channel record that has none')
      .option('--key <file>', 'private key (default: $ARTIFACTS_SIGNING_KEY)')
      .option('--dry-run', 'list what would be written'),
    'artifacts attest backfill --key ~/.config/artifacts/release.key',
  ).action(run('attest backfill', async () => (await import('./commands/attest.js')).backfill));

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
  ).action(run('rollback', async () => (await import('./commands/rollback.js')).rollback));

  example(
    program
      .command('gc')
      .description('delete objects that no retained snapshot references')
      .option('--dry-run', 'list what would be deleted'),
    'artifacts gc --dry-run',
  ).action(run('gc', async () => (await import('./commands/gc.js')).gc));

  example(
    program.command('history').description('every indexed version of an artifact, and every snapshot that included it').argument('<id>'),
    'artifacts history plan-checkout',
  ).action(run('history', async () => (await import('./commands/history.js')).history));

  example(
    program
      .command('lineage')
      .description('ancestors (derived_from) and descendants of an artifact')
      .argument('<ref>', 'id (every version) or id@version')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'mermaid', 'dot']).default('text')),
    'artifacts lineage plan-checkout',
    'artifacts lineage plan-checkout@1.2.0 --format mermaid',
  ).action(run('lineage', async () => (await import('./commands/lineage.js')).lineage));

  const snap = example(
    program.command('snapshot').description('list, show, verify, diff and retain promotion snapshots'),
    'artifacts snapshot verify --all',
    'artifacts snapshot list',
  );
  const scope = (c: Command) => c.option('--framework <framework>', 'framework').option('--stage <stage>', 'stage');
  example(
    scope(snap.command('list').description('list snapshots')),
    'artifacts snapshot list --framework fwk-001 --stage design-review',
  ).action(run('snapshot list', async () => (await import('./commands/snapshot.js')).list));
  example(
    scope(
      snap.command('show').description('print a snapshot').argument('<ref>', 'F/S/seq, sha256:<id>, or a seq with --framework/--stage'),
    ),
    'artifacts snapshot show fwk-001/design-review/1',
  ).action(run('snapshot show', async () => (await import('./commands/snapshot.js')).show));
  example(
    scope(
      snap
        .command('verify')
        .description('verify signatures, chain, expiry and objects (exit 4 on an integrity failure)')
        .option('--all', 'every framework and stage (the default)'),
    ),
    'artifacts snapshot verify --all',
  ).action(run('snapshot verify', async () => (await import('./commands/snapshot.js')).verify));
  example(
    snap
      .command('status')
      .description('drift between the latest snapshot and the working tree (exit 1 on drift)')
      .requiredOption('--framework <framework>', 'framework')
      .requiredOption('--stage <stage>', 'stage'),
    'artifacts snapshot status --framework fwk-001 --stage design-review',
  ).action(run('snapshot status', async () => (await import('./commands/snapshot.js')).status));
  example(
    scope(snap.command('diff').description('artifacts added, removed and changed between two snapshots').argument('<a>').argument('<b>')),
    'artifacts snapshot diff fwk-001/design-review/1 fwk-001/design-review/2',
  ).action(run('snapshot diff', async () => (await import('./commands/snapshot.js')).diff));
  example(
    snap
      .command('prune')
      .description('apply the retention policy: release the objects of snapshots outside it (manifests are kept)')
      .option('--dry-run', 'explain, per snapshot, keep or release'),
    'artifacts snapshot prune --dry-run',
  ).action(run('snapshot prune', async () => (await import('./commands/snapshot.js')).prune));
  example(
    scope(
      snap.command('hold').description('never prune this snapshot').argument('<ref>').requiredOption('--reason <text>', 'why it is held'),
    ),
    'artifacts snapshot hold fwk-001/release/3 --reason "audit 2026-Q4"',
  ).action(run('snapshot hold', async () => (await import('./commands/snapshot.js')).hold));
  example(
    scope(snap.command('unhold').description('remove a hold').argument('<ref>')),
    'artifacts snapshot unhold fwk-001/release/3',
  ).action(run('snapshot unhold', async () => (await import('./commands/snapshot.js')).unhold));
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
        const doc = {
          command: commandNamed(program, args),
          ok: false,
          error: { code: 'USAGE', message: usageMessage(e), hint: CATALOGUE.USAGE.hint, exit: 2 },
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      }
      return 2;
    }
    throw e;
  }
}
