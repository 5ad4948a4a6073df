// `artifacts validate`: every check a CI pre-merge job wants, in one run.
import { dedupeFindings, finding, type Finding, findingOf, isArtifactsError } from './errors.js';
import { INDEX_FILE } from './config.js';
import { indexVerify } from './index/operations.js';
import { checkCollection, checkImmutable, scanFiles } from './index/scan.js';
import type { IndexEntry } from './index/entry.js';
import { loadAllContracts } from './hydrate/contract.js';
import { kindFindings } from './hydrate/hydrate.js';
import type { Repo } from './repo.js';
import { checkArtifactRoutes, checkRouteTable } from './routing/routes.js';
import { repoRouting } from './routing/operations.js';
import { appendOnlyFindings } from './snapshots/append-only.js';
import { listStages } from './snapshots/snapshot-store.js';
import { TRUST_DIR } from './trust/trust-chain.js';
import { loadTrust } from './trust/trust-store.js';

export interface ValidateResult {
  findings: Finding[];
  /** Valid artifacts. */
  artifacts: number;
  /** What the scan read: metadata files (Markdown and sidecars), artifacts among them (valid
   * or not), the invalid ones, and files of other tools whose front matter could not be
   * read (warnings). */
  scanned: { files: number; artifacts: number; invalid: number; foreign: number };
  checks: string[];
}

/**
 * `artifacts validate`: schemas, duplicates, immutability, routing conflicts, index
 * freshness, framework contracts and the trust chain, in one call; with `base`, also that
 * no snapshot, channel or trust record that revision has is modified or deleted.
 *
 * @example
 * ```ts
 * const { findings, artifacts } = await validateRepo(repo);
 * // In CI on a pull request: existing snapshot, channel and trust records are unchanged.
 * const pr = await validateRepo(repo, { base: 'origin/main' });
 * ```
 */
export async function validateRepo(repo: Repo, opts: { base?: string | undefined } = {}): Promise<ValidateResult> {
  // The base revision is resolved first: a missing one is a usage error, before any work.
  const appendOnly = opts.base !== undefined ? await appendOnlyFindings(repo, opts.base) : undefined;
  // One scan of the tree serves every check: index verification does it and hands back the
  // entries; only an unreadable index makes us scan on our own.
  const [routing, verified] = await Promise.all([
    repoRouting(repo),
    indexVerify(repo).catch(async (e: unknown) => {
      // Only a refusal the library reports (an unreadable or corrupt index, a lock) becomes
      // a finding; anything else is a bug and must surface as one (exit 70), not be dressed
      // up as a damaged index.
      if (!isArtifactsError(e)) throw e;
      const scan = await scanFiles(repo);
      return {
        findings: [...scan.findings, ...checkCollection(scan.entries, []), findingOf(e, { path: INDEX_FILE })],
        entries: scan.entries,
        indexedEntries: [] as IndexEntry[],
        files: { files: scan.files.length, invalid: scan.invalid.length, foreign: scan.foreign.length },
      };
    }),
  ]);
  const scan = { entries: verified.entries };
  // Verification already judged duplicates and collisions; immutability needs the index.
  const findings: Finding[] = [...verified.findings, ...checkImmutable(scan.entries, verified.indexedEntries)];
  findings.push(...checkRouteTable(routing), ...checkArtifactRoutes(routing, scan.entries));
  if (!routing.present && scan.entries.length > 0) {
    findings.push(
      finding('UNROUTED_KIND', `no ${repo.config.routing} found: ${scan.entries.length} artifact(s) cannot be route-checked`, {
        severity: 'warning',
        path: repo.config.routing,
        hint: 'Run `artifacts init` to create a routing file.',
      }),
    );
  }
  // Framework contracts: each must be valid, and the artifacts of its framework must be of
  // an allowed kind.
  const { contracts, findings: contractFindings } = await loadAllContracts(repo);
  findings.push(...contractFindings);
  for (const c of contracts) findings.push(...kindFindings(c, scan.entries));
  findings.push(...(await trustFindings(repo)));
  if (appendOnly) findings.push(...appendOnly);
  const f = verified.files;
  const scanned = { files: f.files, artifacts: scan.entries.length + f.invalid, invalid: f.invalid, foreign: f.foreign };
  return {
    findings: dedupeFindings(findings),
    artifacts: scan.entries.length,
    scanned,
    checks: ['schemas', 'routing', 'index', 'contracts', 'trust', ...(appendOnly ? ['append-only'] : [])],
  };
}

/** The trust chain verifies against the pin (a pull request appending a record signed by a
 * key the chain does not trust fails here), and snapshots never exist without one. */
async function trustFindings(repo: Repo): Promise<Finding[]> {
  try {
    if (await loadTrust(repo)) return [];
    if ((await listStages(repo)).length > 0) {
      return [finding('TRUST_NOT_INITIALIZED', `the repository has snapshots but no trust chain in ${TRUST_DIR}/`, { path: TRUST_DIR })];
    }
    return [];
  } catch (e) {
    if (isArtifactsError(e)) return e.findings.length > 0 ? e.findings : [findingOf(e, { path: TRUST_DIR })];
    throw e;
  }
}
