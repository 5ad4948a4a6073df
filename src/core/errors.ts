// The error and finding catalogue. Codes are a public contract: they are never renamed or
// deleted (deprecate instead), and each carries a one-line hint and the exit code it maps to.

export type Severity = 'error' | 'warning' | 'info';

/** Exit codes of SPEC §10. */
export const EXIT = {
  OK: 0,
  FINDINGS: 1,
  USAGE: 2,
  LOCK: 3,
  INTEGRITY: 4,
  INTERNAL: 70,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CatalogueEntry {
  readonly title: string;
  readonly hint: string;
  readonly exit: ExitCode;
}

export const CATALOGUE = {
  // metadata
  METADATA_PARSE: {
    title: 'Metadata is not valid YAML/JSON',
    hint: 'Fix the syntax at the reported line and column.',
    exit: EXIT.FINDINGS,
  },
  METADATA_TOO_LARGE: {
    title: 'Metadata block exceeds 64 KiB',
    hint: 'Move bulky content into the artifact body; metadata is limited to 64 KiB.',
    exit: EXIT.FINDINGS,
  },
  METADATA_NOT_MAPPING: {
    title: 'Metadata is not a mapping',
    hint: 'Front matter and sidecars must hold a YAML/JSON object (key: value pairs).',
    exit: EXIT.FINDINGS,
  },
  METADATA_DUPLICATE_KEY: { title: 'Duplicate key in metadata', hint: 'Remove or rename one of the duplicated keys.', exit: EXIT.FINDINGS },
  METADATA_ALIAS: {
    title: 'YAML anchors and aliases are not allowed',
    hint: 'Write the value out in full; anchors (&a) and aliases (*a) are refused for safety.',
    exit: EXIT.FINDINGS,
  },
  METADATA_TAG: {
    title: 'Custom YAML tags are not allowed',
    hint: 'Remove the !tag; only plain YAML 1.2 core values are accepted.',
    exit: EXIT.FINDINGS,
  },
  METADATA_FORBIDDEN_KEY: {
    title: 'Forbidden key in metadata',
    hint: 'Keys such as __proto__, constructor, prototype and the merge key << are refused; rename the key (or write the merged fields out).',
    exit: EXIT.FINDINGS,
  },
  FRONT_MATTER_LANGUAGE: {
    title: 'Front matter language is not YAML',
    hint: 'Use a plain `---` opener; executable front matter such as ---js is never evaluated.',
    exit: EXIT.FINDINGS,
  },
  FOREIGN_FRONT_MATTER_INVALID: {
    title: 'Front matter of another tool could not be read (a warning: the file is not an artifact)',
    hint: 'Nothing to do for artifacts: the file names neither id nor kind and lies outside every route directory, so it is ignored. Fix its YAML if another tool reads it; an artifact needs id and kind.',
    exit: EXIT.OK,
  },
  FRONT_MATTER_UNTERMINATED: {
    title: 'Front matter has no closing ---',
    hint: 'Add a line holding only --- after the metadata.',
    exit: EXIT.FINDINGS,
  },
  INVALID_UTF8: { title: 'File is not valid UTF-8', hint: 'Re-encode the file as UTF-8.', exit: EXIT.FINDINGS },
  SCHEMA_VIOLATION: {
    title: 'Metadata does not match its schema',
    hint: 'Correct the field named by the JSON pointer.',
    exit: EXIT.FINDINGS,
  },
  VERSION_NOT_STRING: {
    title: 'version must be a string',
    hint: 'Quote the version, e.g. version: "1.10"; unquoted it is read as the number 1.1.',
    exit: EXIT.FINDINGS,
  },
  INVALID_ID: {
    title: 'Invalid identifier',
    hint: 'Use letters, digits, _ . - (starting with a letter or digit), at most 128 characters, not a reserved device name.',
    exit: EXIT.FINDINGS,
  },
  CHECKSUM_MISMATCH: {
    title: 'Body does not match the declared checksum',
    hint: 'Update `checksum` to the body digest, or remove the field.',
    exit: EXIT.FINDINGS,
  },
  CHECKSUM_INVALID: {
    title: 'Checksum field is malformed or uses an unknown algorithm',
    hint: 'Write it as sha256:<64 hex> or blake3:<64 hex>.',
    exit: EXIT.FINDINGS,
  },
  KIND_SCHEMA_INVALID: {
    title: 'A per-kind schema could not be compiled',
    hint: 'Fix the JSON Schema file named in the message.',
    exit: EXIT.USAGE,
  },
  SIDECAR_ORPHAN: {
    title: 'Sidecar describes a missing file',
    hint: 'Restore the described file or delete the sidecar.',
    exit: EXIT.FINDINGS,
  },
  DUPLICATE_VERSION: {
    title: 'Two files claim the same id@version',
    hint: 'Give one of them a new version or a different id.',
    exit: EXIT.FINDINGS,
  },
  VERSION_IMMUTABLE: {
    title: 'An approved version changed',
    hint: 'Approved versions are immutable: bump `version` and keep the old file, or restore its content.',
    exit: EXIT.FINDINGS,
  },
  PATH_COLLISION: {
    title: 'Two artifact paths differ only by letter case or Unicode normalization',
    hint: 'Rename one of them: on macOS and Windows they are the same file.',
    exit: EXIT.FINDINGS,
  },
  SYMLINK_OUTSIDE_ROOT: {
    title: 'Symlink points outside the repository',
    hint: 'Replace the symlink with a regular file inside the repository.',
    exit: EXIT.FINDINGS,
  },
  PATH_UNSAFE: {
    title: 'Path is outside the repository or unsafe',
    hint: 'Use a path inside the repository root without `..` segments.',
    exit: EXIT.USAGE,
  },
  // reading repository files (every byte of the repository is untrusted input)
  FILE_NOT_REGULAR: {
    title: 'Not a regular file',
    hint: 'Replace the FIFO, device, socket or directory with a regular file; the tool reads only regular files inside the repository.',
    exit: EXIT.FINDINGS,
  },
  FILE_TOO_LARGE: {
    title: 'File exceeds the size limit for its kind',
    hint: 'Shrink the file; the limit protects CI from files made to exhaust memory.',
    exit: EXIT.FINDINGS,
  },
  READ_TIMEOUT: {
    title: 'Reading a file did not finish in time',
    hint: 'The file is on a stalled file system or is not an ordinary file; check it and retry.',
    exit: EXIT.FINDINGS,
  },
  METADATA_TOO_DEEP: {
    title: 'Metadata is nested too deeply',
    hint: 'Flatten the metadata: at most 64 levels of nested lists and mappings are accepted.',
    exit: EXIT.FINDINGS,
  },
  // routing
  ROUTE_DUPLICATE_KIND: {
    title: 'One kind has several routes',
    hint: 'Keep exactly one route per kind in artifact_routing.mdc.',
    exit: EXIT.FINDINGS,
  },
  ROUTE_OVERLAP: {
    title: 'Route directories overlap',
    hint: "Give each kind its own directory that is not nested in another kind's.",
    exit: EXIT.FINDINGS,
  },
  ROUTE_CASE_COLLISION: {
    title: 'Route paths differ only by case',
    hint: 'Rename one route; case-only differences break on macOS and Windows.',
    exit: EXIT.FINDINGS,
  },
  ROUTE_INVALID_PATH: {
    title: 'Route template is invalid',
    hint: 'Use a relative path with / separators, no `..`, and only {id} {version} {framework} {kind} {ext}.',
    exit: EXIT.FINDINGS,
  },
  COMMAND_DRIFT: {
    title: 'A command writes a kind outside its route',
    hint: "Point the command's `writes` at the kind's route directory, or change the route.",
    exit: EXIT.FINDINGS,
  },
  COMMAND_COLLISION: {
    title: "A command writes into another kind's directory",
    hint: "Make the command write into its own kind's route directory.",
    exit: EXIT.FINDINGS,
  },
  UNROUTED_KIND: { title: 'Artifact kind has no route', hint: 'Add a route for this kind to artifact_routing.mdc.', exit: EXIT.FINDINGS },
  ROUTE_MISMATCH: {
    title: 'Artifact is not at its canonical path',
    hint: 'Run `artifacts route fix` to move it, or fix its metadata.',
    exit: EXIT.FINDINGS,
  },
  ROUTE_TARGET_EXISTS: {
    title: 'Canonical path is already taken',
    hint: 'Move or remove the file at the canonical path first; route fix never overwrites.',
    exit: EXIT.FINDINGS,
  },
  ROUTING_INVALID: {
    title: 'Routing file is invalid',
    hint: 'Fix artifact_routing.mdc / routing_matrix.json as described.',
    exit: EXIT.USAGE,
  },
  // index
  INDEX_MISSING_FILE: {
    title: 'Indexed file is missing',
    hint: 'Restore the file, or run `artifacts index remove` / `index rebuild`.',
    exit: EXIT.FINDINGS,
  },
  INDEX_STALE_ENTRY: {
    title: 'Indexed artifact changed on disk',
    hint: 'Run `artifacts index update <path>` (or `index rebuild`); an approved version cannot change: bump its `version` first, or restore its content.',
    exit: EXIT.FINDINGS,
  },
  INDEX_UNINDEXED: {
    title: 'Artifact is not in the index',
    hint: "Run `artifacts index add <path>` (or `index rebuild`); a file that is not at its route's path needs `artifacts route fix` first.",
    exit: EXIT.FINDINGS,
  },
  INDEX_NOT_FOUND: { title: 'The index does not exist yet', hint: 'Run `artifacts index rebuild` to create it.', exit: EXIT.FINDINGS },
  INDEX_NOT_INDEXED: {
    title: 'Path or id@version is not in the index',
    hint: 'Use `artifacts index add` for new artifacts; check the spelling.',
    exit: EXIT.FINDINGS,
  },
  INDEX_CORRUPT: {
    title: 'The index is corrupt',
    hint: 'Restore artifacts_index.json from git, or run `artifacts index rebuild`.',
    exit: EXIT.INTEGRITY,
  },
  INDEX_DIGEST_MISMATCH: {
    title: 'index_digest does not match the index content',
    hint: 'The index was edited by hand or damaged: run `artifacts index rebuild`.',
    exit: EXIT.INTEGRITY,
  },
  JOURNAL_PENDING: {
    title: 'An interrupted transaction is pending',
    hint: 'Run `artifacts index recover` (any writing command also recovers first).',
    exit: EXIT.FINDINGS,
  },
  JOURNAL_CORRUPT: {
    title: 'The journal is corrupt',
    hint: 'A record before the last one is damaged; inspect .artifacts/journal, then `artifacts index recover --discard` and `index rebuild`.',
    exit: EXIT.INTEGRITY,
  },
  JOURNAL_MISMATCH: {
    title: 'Journal does not apply to the index',
    hint: 'The index changed outside the tool during a transaction; run `artifacts index recover --discard` then `index rebuild`.',
    exit: EXIT.INTEGRITY,
  },
  SYMLINK_REFUSED: {
    title: 'Refusing to write through a symlink',
    hint: 'Replace the symlink with a regular file; the tool never writes through symlinks.',
    exit: EXIT.INTEGRITY,
  },
  LOCK_TIMEOUT: {
    title: 'Could not take the index lock in time',
    hint: 'Another artifacts process is writing; retry, or raise --lock-timeout.',
    exit: EXIT.LOCK,
  },
  LOCK_COMPROMISED: {
    title: 'The index lock was taken over during the write',
    hint: 'This process did not publish its write; the other writer may have completed it from the journal. Run the command again (adding the same content again is a no-op).',
    exit: EXIT.LOCK,
  },
  IO_ERROR: {
    title: 'A file system operation failed',
    hint: 'Check permissions and free space, then retry; the old state was kept.',
    exit: EXIT.INTEGRITY,
  },
  LOCK_INVALID: {
    title: 'The lock is not a lock this tool made',
    hint: 'Remove artifacts_index.json.lock by hand after checking no artifacts process runs; a lock must be a directory, never a symlink or a tracked file.',
    exit: EXIT.INTEGRITY,
  },
  STORE_FILE_INVALID: {
    title: "A file of the tool's store is not a regular file or is too large",
    hint: 'Restore .artifacts/ from git or another clone; store files are regular files of bounded size.',
    exit: EXIT.INTEGRITY,
  },
  // frameworks, hydration, gates
  FRAMEWORK_NOT_FOUND: {
    title: 'No contract for this framework',
    hint: 'Create frameworks/<framework>.yaml, or check the --framework spelling.',
    exit: EXIT.USAGE,
  },
  STAGE_NOT_FOUND: {
    title: 'The framework has no such stage',
    hint: 'Use one of the stages listed in the framework contract.',
    exit: EXIT.USAGE,
  },
  CONTRACT_INVALID: {
    title: 'A framework contract is invalid',
    hint: 'Fix the reported field of frameworks/<framework>.yaml.',
    exit: EXIT.USAGE,
  },
  NONDETERMINISTIC_INPUT: {
    title: 'Hydration input is not deterministic',
    hint: 'Commit the candidate files (or fetch full history with `git fetch --unshallow`), or pass --allow-dirty.',
    exit: EXIT.USAGE,
  },
  GATE_MISSING_INPUT: {
    title: 'A required gate input has no candidate',
    hint: "Add and index an artifact of the slot's kind for this framework, or mark the input optional.",
    exit: EXIT.FINDINGS,
  },
  GATE_STATUS: {
    title: 'The selected input is below the required status',
    hint: 'Move the artifact forward (review, approved) as a new version, then re-index.',
    exit: EXIT.FINDINGS,
  },
  KIND_NOT_ALLOWED: {
    title: "An artifact's kind is not allowed by its framework",
    hint: "Add the kind to allowed_kinds in the framework contract, or change the artifact's kind or framework.",
    exit: EXIT.FINDINGS,
  },
  GATE_STAGE_ORDER: {
    title: 'The preceding stage has not been promoted with this selection',
    hint: 'Promote the `after:` stage with the same selected artifacts first.',
    exit: EXIT.FINDINGS,
  },
  // keys, snapshots, promotion, rollback
  KEY_INVALID: {
    title: 'The key file is not a usable Ed25519 key',
    hint: 'Use a key made by `artifacts keys generate` (PKCS#8 PEM private key, SPKI PEM public key).',
    exit: EXIT.USAGE,
  },
  KEY_MISSING: {
    title: 'No signing key was given',
    hint: 'Pass --key FILE or set ARTIFACTS_SIGNING_KEY to the private key path.',
    exit: EXIT.USAGE,
  },
  KEY_IN_REPOSITORY: {
    title: 'Refusing to write a private key inside the repository',
    hint: 'Write keys outside the repository (for example in ~/.config/artifacts/); only trusted public keys belong in it.',
    exit: EXIT.USAGE,
  },
  KEY_EXISTS: { title: 'A key file already exists', hint: 'Choose another --out name, or remove the old key yourself.', exit: EXIT.USAGE },
  SIGNATURE_INVALID: {
    title: 'A snapshot signature does not verify with a trusted key',
    hint: 'The snapshot or its signature was changed after signing: restore both from git history. (A signer the trust chain does not trust is reported as KEY_NOT_TRUSTED.)',
    exit: EXIT.INTEGRITY,
  },
  SNAPSHOT_CHAIN_BROKEN: {
    title: 'The snapshot chain is broken',
    hint: 'A snapshot was deleted, replaced or reordered: restore .artifacts/snapshots from git history.',
    exit: EXIT.INTEGRITY,
  },
  SNAPSHOT_EXPIRED: { title: 'A snapshot has expired', hint: 'Promote again to record a fresh snapshot.', exit: EXIT.INTEGRITY },
  SNAPSHOT_NOT_FOUND: { title: 'No such snapshot', hint: 'List snapshots with `artifacts snapshot list`.', exit: EXIT.USAGE },
  SNAPSHOT_DRIFT: {
    title: 'A promoted artifact differs from the working tree',
    hint: 'Rehearse restoring the promoted bytes (`artifacts rollback --framework F --stage S --to latest --dry-run`), or promote the new content.',
    exit: EXIT.FINDINGS,
  },
  OBJECT_MISSING: {
    title: 'An object referenced by a snapshot is missing',
    hint: 'Restore .artifacts/objects, or make sure the git history holds the blob (`git_blob`).',
    exit: EXIT.INTEGRITY,
  },
  OBJECT_CORRUPT: {
    title: 'An object does not match its content address',
    hint: 'Delete the damaged object and restore it from another clone or from git.',
    exit: EXIT.INTEGRITY,
  },
  GATE_FAILED: {
    title: 'The gate did not pass; nothing was promoted',
    hint: 'Fix the gate findings, then promote again.',
    exit: EXIT.FINDINGS,
  },
  RETENTION_EMPTY: {
    title: 'No retention policy applies',
    hint: 'Add a retention policy (keep_last and/or keep_within) to artifacts.config.yaml.',
    exit: EXIT.USAGE,
  },
  LINEAGE_UNKNOWN_REF: {
    title: 'derived_from names an artifact that is not indexed',
    hint: 'Index the input artifact, or correct the id@version in derived_from.',
    exit: EXIT.FINDINGS,
  },
  LINEAGE_CYCLE: {
    title: 'derived_from forms a cycle',
    hint: 'An artifact cannot be derived from itself, directly or indirectly: fix derived_from.',
    exit: EXIT.FINDINGS,
  },
  CHANNEL_INVALID: {
    title: 'A rollout channel record is malformed, unsigned, or breaks the chain',
    hint: 'Channel records are canonical JSON, signed by a trusted key and hash-chained like snapshots: restore the channel directory from git history.',
    exit: EXIT.INTEGRITY,
  },
  CHANNEL_STALE: {
    title: 'The channel moved on while this action was being decided',
    hint: 'Another writer appended a record first: look at `artifacts rollout status`, then run the action again if it still applies.',
    exit: EXIT.FINDINGS,
  },
  ROLLOUT_HEALTH_FAILED: {
    title: "The channel's health stage does not pass: the rollout may not move on",
    hint: "Fix what the health stage's gate reports (its findings are listed), then run the action again.",
    exit: EXIT.FINDINGS,
  },
  ROLLOUT_BAKE_PENDING: {
    title: 'The current rollout step has not baked for its minimum time',
    hint: 'Wait until the time the message names (the step was given a bake time with --steps P@DURATION), then advance again.',
    exit: EXIT.FINDINGS,
  },
  ROLLOUT_EVIDENCE_STALE: {
    title: 'Health evidence does not belong to this rollout step',
    hint: "Produce new evidence for this step: its metadata names `rollout: <rollout id>` and `step: <step_index>` (rollout status shows both), and it is committed after the step's channel record.",
    exit: EXIT.FINDINGS,
  },
  CHANNEL_NOT_FOUND: {
    title: 'No such rollout channel',
    hint: 'List channels with `artifacts channel list`; create one with `artifacts channel create NAME --framework F --stage S --key K`.',
    exit: EXIT.USAGE,
  },
  CHANNEL_EXISTS: {
    title: 'A rollout channel of that name already exists',
    hint: 'Channel names are unique in a repository: pick another name, or use the existing channel.',
    exit: EXIT.FINDINGS,
  },
  SNAPSHOT_INVALID: {
    title: 'A snapshot file is malformed',
    hint: 'Snapshots are canonical JSON written by promote and rollback: restore the file from git history.',
    exit: EXIT.INTEGRITY,
  },
  HOLD_INVALID: {
    title: 'A hold marker is malformed',
    hint: 'Restore the .hold file from git, or delete it and run `artifacts snapshot hold REF --reason TEXT` again.',
    exit: EXIT.INTEGRITY,
  },
  SNAPSHOT_DELETED: {
    title: 'A snapshot that existed in history is gone',
    hint: 'Snapshots are append-only: restore the deleted file from git (`git checkout <commit>^ -- <path>`).',
    exit: EXIT.INTEGRITY,
  },
  SNAPSHOT_ROLLBACK: {
    title: 'A snapshot chain is shorter than this clone has seen',
    hint: 'Newer snapshots were removed (a rollback/freeze attack): restore them from git or another clone.',
    exit: EXIT.INTEGRITY,
  },
  RECORD_NOT_APPEND_ONLY: {
    title: 'A change modifies or deletes an append-only record',
    hint: 'Snapshot, channel and trust records are append-only: revert the change to existing records and append new ones instead.',
    exit: EXIT.INTEGRITY,
  },
  BASE_REF_MISSING: {
    title: 'The base revision is not available locally',
    hint: 'Fetch it first, e.g. `git fetch origin main --depth=1`, then pass --base origin/main.',
    exit: EXIT.USAGE,
  },
  HISTORY_SHALLOW: {
    title: 'History is shallow: deletion detection was limited',
    hint: 'Run `git fetch --unshallow` for a full check of deleted snapshots.',
    exit: EXIT.OK,
  },
  ATTESTATION_INVALID: {
    title: 'An attestation is not a verified in-toto statement of its record',
    hint: 'An attestation is a DSSE envelope of an in-toto Statement, signed with a trusted key over its PAE: restore it from git history, or remove it and write it again with `artifacts attest backfill --key K`.',
    exit: EXIT.INTEGRITY,
  },
  ATTESTATION_MISSING: {
    title: 'A snapshot or channel record has no attestation',
    hint: 'Write statements for older records with `artifacts attest backfill --key K`.',
    exit: EXIT.OK,
  },
  ATTESTATION_SUBJECT: {
    title: 'A file is not an attested subject, or its digest differs from the attested one',
    hint: 'The file changed after it was attested, or the attestation is of something else: compare `sha256sum FILE` with the subjects in the statement.',
    exit: EXIT.INTEGRITY,
  },
  REGISTRY_AUTH: {
    title: 'The registry refused these credentials, or needs some',
    hint: 'Set ARTIFACTS_REGISTRY_USER and ARTIFACTS_REGISTRY_PASSWORD, or log in with docker (auths in ~/.docker/config.json).',
    exit: EXIT.USAGE,
  },
  REGISTRY_UNREACHABLE: {
    title: 'The registry cannot be reached',
    hint: 'Check the address and the network; a registry without TLS needs --plain-http (only on a trusted network).',
    exit: EXIT.FINDINGS,
  },
  REGISTRY_ERROR: {
    title: 'The registry answered with an error',
    hint: "The message has the registry's answer; run again (a push resumes, skipping blobs already there).",
    exit: EXIT.FINDINGS,
  },
  REGISTRY_INVALID: {
    title: 'What the registry sent does not verify',
    hint: 'A manifest, blob, signature or attestation from the registry is not what was signed: nothing was written. Push the snapshot again from a verified repository.',
    exit: EXIT.INTEGRITY,
  },
  REGISTRY_TAG_IMMUTABLE: {
    title: 'The registry does not let this tag move',
    hint: 'The repository has immutable tags: push to a new tag, or allow the tag to move.',
    exit: EXIT.FINDINGS,
  },
  OCI_TOO_MANY_LAYERS: {
    title: 'More artifacts than the per-file layout allows (500 layers)',
    hint: 'Push (or export) with --layout tar: one deterministic tar+gzip layer holding every artifact.',
    exit: EXIT.USAGE,
  },
  KEY_NOT_TRUSTED: {
    title: 'The key is not trusted by the pinned trust root',
    hint: 'If it is your own key, add it to the trust chain with `artifacts keys trust KEY.pub --key SIGNER` (SIGNER: a key the chain trusts); a snapshot signed by a key you do not know is not to be trusted. Check the --trust-root pin too.',
    exit: EXIT.INTEGRITY,
  },
  TRUST_CHAIN_BROKEN: {
    title: 'The trust chain is broken or forged',
    hint: 'Restore .artifacts/keys/trust from git history; each record must be signed by a key the previous record trusts.',
    exit: EXIT.INTEGRITY,
  },
  TRUST_ROOT_MISMATCH: {
    title: 'The trust chain does not start at the pinned root',
    hint: 'Check --trust-root / ARTIFACTS_TRUST_ROOT: the first trust record must be self-signed by that key.',
    exit: EXIT.INTEGRITY,
  },
  TRUST_ROOT_UNPINNED: {
    title: 'No trust root is pinned',
    hint: 'Pass --trust-root KEYID or set ARTIFACTS_TRUST_ROOT from a source the pull request cannot change; without a pin, verification is only as strong as the repository.',
    exit: EXIT.OK,
  },
  TRUST_NOT_INITIALIZED: {
    title: 'The repository has no trust chain yet',
    hint: 'Create it with `artifacts keys trust ROOT.pub --key ROOT.key` (self-signed first record), or `artifacts keys migrate --key SIGNER` for a legacy keys/trusted/ directory.',
    exit: EXIT.USAGE,
  },
  // config and usage
  CONFIG_INVALID: { title: 'artifacts.config.yaml is invalid', hint: 'Fix the reported key; unknown keys are refused.', exit: EXIT.USAGE },
  USAGE: { title: 'Invalid command usage', hint: 'See `artifacts <command> --help`.', exit: EXIT.USAGE },
  INTERNAL: {
    title: 'Internal error',
    hint: 'This is a bug in artifacts: please report it with the command and its output.',
    exit: EXIT.INTERNAL,
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof CATALOGUE;

/** A problem found while checking: the unit of every report (SPEC §10). */
export interface Finding {
  code: ErrorCode;
  severity: Severity;
  message: string;
  path?: string;
  line?: number;
  column?: number;
  pointer?: string;
  hint?: string;
  /** Every repository path the finding concerns, when it concerns several (or a path other
   * than `path`): callers select and group findings by these, never by message text. */
  paths?: string[];
  /** Every artifact version (`id@version`) the finding concerns. */
  refs?: string[];
  /** The exit status this finding implies, when it differs from its code's: the same code
   * can be a usage error for a path the user typed and an integrity failure for a path a
   * signed snapshot holds. */
  exit?: ExitCode;
}

export function finding(
  code: ErrorCode,
  message: string,
  extra: Omit<Finding, 'code' | 'message' | 'severity'> & { severity?: Severity } = {},
): Finding {
  const { severity = 'error', ...rest } = extra;
  const f: Finding = { code, severity, message, ...rest };
  if (f.hint === undefined) f.hint = CATALOGUE[code].hint;
  return f;
}

/** The brand every {@link ArtifactsError} carries. A registered symbol, so an error made by
 * another copy of this package (a second install, the CommonJS and ESM builds side by
 * side, another realm) is recognised too, where `instanceof` would say no. */
const ARTIFACTS_ERROR_BRAND = Symbol.for('artifacts-cli.ArtifactsError');

/** The one error type of the library: a stable code, a hint, structured details. */
export class ArtifactsError extends Error {
  readonly [ARTIFACTS_ERROR_BRAND] = true;
  readonly code: ErrorCode;
  readonly hint: string;
  readonly exitCode: ExitCode;
  readonly findings: Finding[];
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; findings?: Finding[]; details?: Record<string, unknown>; cause?: unknown; exit?: ExitCode } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ArtifactsError';
    this.code = code;
    this.hint = opts.hint ?? CATALOGUE[code].hint;
    // The same code can be graver for one kind of file than another (a symlink out of the
    // repository in place of a snapshot directory is an integrity failure).
    this.exitCode = opts.exit ?? CATALOGUE[code].exit;
    this.findings = opts.findings ?? [];
    this.details = opts.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      exit: this.exitCode,
      ...(this.findings.length ? { findings: this.findings } : {}),
      ...(Object.keys(this.details).length ? { details: this.details } : {}),
    };
  }
}

/** The repository paths a finding concerns: its `paths`, else its `path`. */
export function pathsOf(f: Finding): string[] {
  return f.paths ?? (f.path !== undefined ? [f.path] : []);
}

/** Whether a finding concerns one of `paths` or one of the versions `refs` (`id@version`),
 * judged by its structured subjects, never by its message text. */
export function findingConcerns(f: Finding, paths: ReadonlySet<string>, refs: ReadonlySet<string> = new Set()): boolean {
  return pathsOf(f).some((p) => paths.has(p)) || (f.refs ?? []).some((r) => refs.has(r));
}

/** The findings without repeats (same code, place and message), first occurrence kept. */
export function dedupeFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.code}|${f.path ?? ''}|${f.line ?? ''}|${f.pointer ?? ''}|${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The finding that reports a thrown error, keeping its exit status when it differs from
 * its code's (see {@link ArtifactsError}'s `exit` option). */
export function findingOf(e: ArtifactsError, extra: Omit<Finding, 'code' | 'message' | 'severity'> = {}): Finding {
  return finding(e.code, e.message, { ...(e.exitCode !== CATALOGUE[e.code].exit ? { exit: e.exitCode } : {}), hint: e.hint, ...extra });
}

/** Whether `e` is an {@link ArtifactsError}, judged by its brand rather than `instanceof`
 * (see {@link ARTIFACTS_ERROR_BRAND}). */
export function isArtifactsError(e: unknown): e is ArtifactsError {
  return typeof e === 'object' && e !== null && (e as { [ARTIFACTS_ERROR_BRAND]?: unknown })[ARTIFACTS_ERROR_BRAND] === true;
}

/** Highest-priority exit code for a set of findings (integrity beats plain findings). */
export function exitCodeFor(findings: readonly Finding[]): ExitCode {
  let code: ExitCode = EXIT.OK;
  for (const f of findings) {
    if (f.severity !== 'error') continue;
    const e = f.exit ?? CATALOGUE[f.code].exit;
    if (e === EXIT.INTEGRITY) return EXIT.INTEGRITY;
    if (e > code) code = e;
  }
  return code;
}
