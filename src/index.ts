/**
 * `artifacts` as a library: each command as a function over a {@link Repo}, with its option
 * and result types, and the error type and codes every failure is reported with.
 *
 * This list is the public API, recorded in `api/exports.txt` (a test compares the two).
 * Everything else under `src/core/` is internal and may change in any release.
 *
 * @example
 * ```ts
 * import { openRepo, indexRebuild, indexVerify } from 'artifacts-cli';
 * const repo = await openRepo({ cwd: process.cwd() });
 * await indexRebuild(repo);
 * const { findings } = await indexVerify(repo);
 * ```
 */

// Errors and codes.
export { ArtifactsError, CATALOGUE, EXIT, exitCodeFor, isArtifactsError } from './core/errors.js';
export type { ErrorCode, ExitCode, Finding, Severity } from './core/errors.js';

// The repository every call takes.
export { openRepo } from './core/repo.js';
export type { OpenRepoOptions, ProgressSink, Repo, WarningSink } from './core/repo.js';
export type { ArtifactsConfig, RetentionPolicy } from './core/config.js';

// init, validate.
export { initRepo } from './core/init.js';
export type { InitOptions, InitResult } from './core/init.js';
export { validateRepo } from './core/validate.js';
export type { ValidateResult } from './core/validate.js';

// index add | update | remove | rebuild | verify | recover | merge-driver.
export type { ArtifactStatus, IndexEntry } from './core/index/entry.js';
export { indexAdd, indexMigrate, indexRebuild, indexRemove, indexVerify, indexVerifySummary } from './core/index/operations.js';
export type { MigrateResult, VerifyResult, VerifySummary, WriteOptions, WriteResult } from './core/index/operations.js';
export { recoverIndex } from './core/index/store.js';
export type { RecoveryReport } from './core/index/store.js';
export { runMergeDriver } from './core/index/merge-driver.js';
export type { MergeResult } from './core/index/merge-driver.js';
export type { IndexDocument } from './core/index/document.js';

// route, route check | table | fix.
export { applyRouteFix, canonicalPathOf, checkRouteFix, planRouteFix, repoRouting, routeCheck } from './core/routing/operations.js';
export type { RouteMove } from './core/routing/operations.js';
export { routeTable } from './core/routing/routes.js';
export type { CommandRoute, Route, Routing } from './core/routing/routes.js';

// hydrate, gate.
export { gate, hydrate } from './core/hydrate/hydrate.js';
export type { GateResult, HydrateOptions, HydrateResult, PromotionLookup, UnverifiedPromotion } from './core/hydrate/hydrate.js';
export type { Candidate, Decision, HydratedInput, Hydration, SelectedArtifact } from './core/hydrate/rank-candidates.js';

// keys generate | trust | revoke | list | migrate, and signing.
export { generateKeys, loadSigner } from './core/snapshots/keys.js';
export type { Signer } from './core/trust/signer.js';
export { listTrust, migrateLegacyKeys, revokeKey, trustKey } from './core/trust/trust-operations.js';
export type { TrustChange, TrustListing } from './core/trust/trust-operations.js';
export type { TrustRevocation } from './core/trust/trust-chain.js';

// promote, rollback.
export { promote, snapshotPromotions } from './core/snapshots/promote.js';
export type { PromoteOptions, PromoteResult } from './core/snapshots/promote.js';
export { planRollback, rollback } from './core/snapshots/rollback.js';
export type { RollbackOptions, RollbackPlan, RollbackResult, RollbackStep } from './core/snapshots/rollback.js';

// snapshot list | show | verify | diff | hold | status, gc, prune, history, lineage.
export { allSnapshots, resolveSnapshot, writeHold } from './core/snapshots/snapshot-store.js';
export type { Snapshot, SnapshotArtifact, StoredSnapshot } from './core/snapshots/snapshot-store.js';
export { verifySnapshots } from './core/snapshots/verify-chain.js';
export type { ChainReport, VerifyOptions } from './core/snapshots/verify-chain.js';
export { diffSnapshots, history, snapshotStatus } from './core/snapshots/queries.js';
export type { HistoryResult, SnapshotDiff } from './core/snapshots/queries.js';
export { gc, prune } from './core/snapshots/retention.js';
export type { PruneDecision } from './core/snapshots/retention.js';
export { lineage, lineageDot, lineageMermaid, lineageText } from './core/lineage.js';
export type { LineageGraph } from './core/lineage.js';

// Rollout channels (SPEC §13): channel create | list | verify, rollout start | advance |
// abort | complete | switch | promote | status, resolve.
export {
  channelCreate,
  resolveUnits,
  rolloutAbort,
  rolloutAdvance,
  rolloutComplete,
  rolloutPause,
  rolloutPromote,
  rolloutStart,
  rolloutSwitch,
  healthFindings,
  parseStepPlan,
} from './core/channels/operations.js';
export type { ChannelActionResult, Cohorts, Resolution, ResolveOptions, ResolvedArtifact } from './core/channels/operations.js';
export { listChannelNames, listChannelRecords, verifyAllChannels, verifyChannel, verifyChannelRecords } from './core/channels/records.js';
export type { ChannelRecord, Evidence, Rollout, RolloutStrategy, StoredChannelRecord } from './core/channels/records.js';
export { bucketOf } from './core/channels/bucket.js';

// Attestations (SPEC §14): in-toto Statements in DSSE envelopes, next to every snapshot
// and channel record.
export { attestBackfill } from './core/attest/backfill.js';
export type { BackfillResult } from './core/attest/backfill.js';
export {
  attestationPathOf,
  encodeAttestation,
  subjectFindings,
  verifyAttestationBytes,
  verifyAttestationFile,
} from './core/attest/attestations.js';
export type { VerifiedAttestation } from './core/attest/attestations.js';
export {
  channelStatement,
  snapshotStatement,
  DEPLOYMENT_PREDICATE,
  PROMOTION_BUILD_TYPE,
  SLSA_PROVENANCE_V1,
} from './core/attest/statements.js';
export type { Statement, ResourceDescriptor } from './core/attest/statements.js';
export { pae, IN_TOTO_PAYLOAD_TYPE } from './core/attest/dsse.js';
export type { DsseEnvelope } from './core/attest/dsse.js';
export { channelResolver } from './core/channels/operations.js';
export type { Resolver } from './core/channels/operations.js';

// Distribution through OCI registries (SPEC §15): the distribution API over fetch.
export { exportLayout, layoutSource, pull, pullImage, push, pushChannel, registrySource } from './core/oci/distribute.js';
export type { ImageSource, PullOptions, PullResult, PushOptions, PushResult } from './core/oci/distribute.js';
export { MEDIA, snapshotImage } from './core/oci/image.js';
export type { Descriptor, Manifest } from './core/oci/image.js';
export { credentialsFor, parseRef, RegistryClient } from './core/oci/registry.js';
export type { RegistryRef } from './core/oci/registry.js';
