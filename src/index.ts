/**
 * `artifacts` as a library: everything the CLI does, as functions over a {@link Repo}.
 *
 * @example
 * ```ts
 * import { openRepo, indexRebuild, indexVerify } from 'artifacts-cli';
 * const repo = await openRepo({ cwd: process.cwd() });
 * await indexRebuild(repo);
 * const { findings } = await indexVerify(repo);
 * ```
 */
export { ArtifactsError, CATALOGUE, EXIT, exitCodeFor, finding, isArtifactsError } from './core/errors.js';
export type { ErrorCode, ExitCode, Finding, Severity } from './core/errors.js';
export { openRepo } from './core/repo.js';
export type { OpenRepoOptions, Repo, WarningSink } from './core/repo.js';
export { CONFIG_FILE, DEFAULT_CONFIG, INDEX_FILE, discoverRoot, loadConfig } from './core/config.js';
export type { ArtifactsConfig } from './core/config.js';
export { canonicalDigest, canonicalJson } from './core/canonical-json.js';
export { digestBytes, digestFile, parseAddress } from './core/hash/digest.js';
export type { DigestAlgorithm } from './core/hash/digest.js';
export { inspectFile } from './core/metadata/inspect.js';
export type { IndexEntry, Inspection } from './core/metadata/inspect.js';
export { parseSafeYaml } from './core/metadata/safe-yaml.js';
export { splitFrontMatter } from './core/metadata/front-matter.js';
export { computeIndexDigest, makeIndexDocument, parseIndex, serializeIndex } from './core/index/document.js';
export type { IndexDocument } from './core/index/document.js';
export { indexAdd, indexMigrate, indexRebuild, indexRemove, indexVerify, indexVerifySummary } from './core/index/operations.js';
export type { MigrateResult, VerifyResult, VerifySummary, WriteOptions, WriteResult } from './core/index/operations.js';
export { readIndexView, recoverIndex } from './core/index/store.js';
export { readDecisionIndex } from './core/index/decision-index.js';
export { mergeIndexes, runMergeDriver } from './core/index/merge-driver.js';
export type { MergeResult } from './core/index/merge-driver.js';
export type { RecoveryReport } from './core/index/store.js';
export { parseJournal } from './core/store/journal.js';
export { writeFileDurable } from './core/store/durable-write.js';
export { writeOutputFile } from './core/store/output-file.js';
export type { FaultHook, FaultPoint } from './core/store/durable-write.js';
export { canonicalPathFor, checkArtifactRoutes, checkRouteTable, dirProblems, expandTemplate, loadRouting, normaliseRouteDir, parseCommandMatrix, parseRoutingText, routeDirectories, routeDirectory, routeProblems, routeTable, templateProblems } from './core/routing/routes.js';
export type { CommandRoute, Route, Routing } from './core/routing/routes.js';
export { applyRouteFix, canonicalPathOf, checkRouteFix, planRouteFix, repoRouting, routeCheck } from './core/routing/operations.js';
export { inferRoutes, routingFileText } from './core/routing/infer.js';
export type { RouteMove } from './core/routing/operations.js';
export { loadAllContracts, loadContract, parseContract, stageOf } from './core/hydrate/contract.js';
export type { FrameworkContract, InputSlot, Stage } from './core/hydrate/contract.js';
export { gate, hydrate, kindFindings } from './core/hydrate/hydrate.js';
export type { GateResult, HydrateOptions, HydrateResult, PromotionLookup, UnverifiedPromotion } from './core/hydrate/hydrate.js';
export { compareCandidates, explainLoss, formatTime, selectInputs } from './core/hydrate/rank-candidates.js';
export type { Candidate, Decision, HydratedInput, Hydration, SelectedArtifact } from './core/hydrate/rank-candidates.js';
export { isSmallOrderKey, scalarBelowOrder, signDetached, verifyStrict } from './core/snapshots/ed25519.js';
export { generateKeys, keyIdOf, LEGACY_TRUSTED_DIR, loadSigningKey, parsePublicKeyPem } from './core/snapshots/keys.js';
export { encodeTrustRecord, recordId, snapshotSignerKey, TRUST_DIR, TRUST_FORMAT, verifyTrustChain } from './core/trust/trust-chain.js';
export type { StoredTrustRecord, TrustedKeyEntry, TrustRecord, TrustRevocation, TrustState } from './core/trust/trust-chain.js';
export { assertMaySign, hasTrustChain, loadTrust, readTrustRecords, requireTrust, trustedKeys, trustPinOf } from './core/trust/trust-store.js';
export { listTrust, migrateLegacyKeys, revokeKey, trustKey } from './core/trust/trust-operations.js';
export type { TrustChange, TrustListing } from './core/trust/trust-operations.js';
export type { SigningKey } from './core/snapshots/keys.js';
export { allSnapshots, encodeSnapshot, listSnapshots, listStages, resolveSnapshot, snapshotId, writeHold } from './core/snapshots/snapshot-store.js';
export type { Snapshot, SnapshotArtifact, StoredSnapshot } from './core/snapshots/snapshot-store.js';
export { decodeSignature, verifyChain, verifySnapshots } from './core/snapshots/verify-chain.js';
export { isGitWorkTree } from './core/git.js';
export type { ChainReport, TrustSource, VerifyOptions } from './core/snapshots/verify-chain.js';
export { promote, snapshotPromotions } from './core/snapshots/promote.js';
export type { PromoteOptions, PromoteResult } from './core/snapshots/promote.js';
export { rollback } from './core/snapshots/rollback.js';
export type { RollbackOptions, RollbackResult, RollbackStep } from './core/snapshots/rollback.js';
export { decideRetention, gc, policyFor, prune } from './core/snapshots/retention.js';
export type { PruneDecision } from './core/snapshots/retention.js';
export { diffSnapshots, history, snapshotStatus, unverifiedSnapshots } from './core/snapshots/queries.js';
export type { HistoryResult, SnapshotDiff } from './core/snapshots/queries.js';
export { lineage, lineageDot, lineageMermaid, lineageText } from './core/lineage.js';
export type { LineageGraph } from './core/lineage.js';
export { validateRepo } from './core/validate.js';
export type { ValidateResult } from './core/validate.js';
export { initRepo } from './core/init.js';
export type { InitOptions, InitResult } from './core/init.js';
