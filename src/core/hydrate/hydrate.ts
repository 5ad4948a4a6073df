// `artifacts hydrate` and `artifacts gate` (SPEC §6): deterministic input selection for a
// framework stage, with an audit log, and the contract checks a gate enforces.
import { ArtifactsError, finding, type Finding } from '../errors.js';
import { readDecisionIndex } from '../index/decision-index.js';
import type { IndexDocument } from '../index/document.js';
import type { IndexEntry } from '../index/entry.js';
import type { Repo } from '../repo.js';
import { loadContract, stageOf, type FrameworkContract } from './contract.js';
import { SIDECAR_SUFFIXES } from '../metadata/inspect.js';
import { gitFacts } from './git-times.js';
import { selectInputs, STATUS_RANK, type Candidate, type Hydration } from './rank-candidates.js';
import { verifyEntriesFromBytes } from './verified-entries.js';

export interface HydrateOptions {
  framework: string;
  stage: string;
  /** Refuse (NONDETERMINISTIC_INPUT) when a candidate is dirty or the clone is shallow. */
  deterministic?: boolean;
  /** With `deterministic`: accept dirty candidates (their updated_at is used). */
  allowDirty?: boolean;
}

export interface HydrateResult {
  hydration: Hydration;
  contract: FrameworkContract;
  /** Candidates whose time came from `updated_at` because they are not committed as is. */
  uncommitted: string[];
  /** git log processes run (always at most one). */
  gitLogProcesses: number;
  /** The index the selection was made from (gate and promote reuse it). */
  index: IndexDocument;
  /** The framework's artifacts as their files' bytes describe them (what was ranked). */
  entries: IndexEntry[];
  /** Index entries of the framework that could not be checked against their files, or
   * that disagree with them (the gate fails on these). */
  integrity: Finding[];
}

function epochSeconds(iso: string | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

/**
 * `artifacts hydrate`: select the inputs of a framework stage, with an audit log.
 *
 * @example
 * ```ts
 * const { hydration } = await hydrate(repo, { framework: 'fwk-001', stage: 'design-review', deterministic: true });
 * console.log(hydration.selection_digest, hydration.decisions);
 * ```
 */
export async function hydrate(repo: Repo, opts: HydrateOptions): Promise<HydrateResult> {
  const contract = await loadContract(repo, opts.framework);
  const stage = stageOf(contract, opts.stage);
  const view = await readDecisionIndex(repo);
  if (!view.doc) throw new ArtifactsError('INDEX_NOT_FOUND', 'artifacts_index.json does not exist: hydration selects from the index');
  const kinds = new Set(stage.inputs.map((i) => i.kind));
  // The index says which files to look at; their bytes say what they are.
  const verified = await verifyEntriesFromBytes(
    repo,
    view.doc.artifacts.filter((e) => e.framework === opts.framework),
    view.doc.digest_algorithm,
  );
  const entries = verified.entries.filter((e) => e.framework === opts.framework);
  const pool = entries.filter((e) => kinds.has(e.kind));
  const facts = await gitFacts(
    repo.root,
    pool.map((e) => e.path),
  );
  const uncommitted: string[] = [];
  const candidates: Candidate[] = pool.map((entry) => {
    // A sidecar holds the artifact's metadata: a changed or untracked one is uncommitted too.
    const dirty = [entry.path, ...SIDECAR_SUFFIXES.map((x) => entry.path + x)].some((p) => facts.dirty.has(p));
    const committed = facts.git && facts.commitTimes.has(entry.path) && !dirty;
    if (committed) return { entry, commit_time: facts.commitTimes.get(entry.path)!, time_source: 'git' };
    if (facts.git) uncommitted.push(entry.path);
    const t = epochSeconds(entry.updated_at);
    return { entry, commit_time: t, time_source: t === null ? 'none' : 'updated_at' };
  });
  if (opts.deterministic) {
    if (facts.shallow) {
      throw new ArtifactsError('NONDETERMINISTIC_INPUT', 'this is a shallow clone: commit times of candidates may be wrong', {
        hint: 'Fetch the full history (`git fetch --unshallow`) and run again.',
      });
    }
    if (uncommitted.length > 0 && !opts.allowDirty) {
      throw new ArtifactsError(
        'NONDETERMINISTIC_INPUT',
        `${uncommitted.length} candidate(s) have uncommitted changes: ${uncommitted.join(', ')}`,
        {
          findings: uncommitted.map((p) => finding('NONDETERMINISTIC_INPUT', `${p} is not committed as it is on disk`, { path: p })),
          details: { paths: uncommitted },
        },
      );
    }
  }
  return {
    hydration: selectInputs(opts.framework, opts.stage, stage, candidates),
    contract,
    uncommitted: uncommitted.sort(),
    gitLogProcesses: facts.logProcesses,
    index: view.doc,
    entries,
    integrity: verified.findings,
  };
}

/** KIND_NOT_ALLOWED for every artifact of the contract's framework outside allowed_kinds. */
export function kindFindings(contract: FrameworkContract, entries: readonly IndexEntry[]): Finding[] {
  if (!contract.allowed_kinds) return [];
  const allowed = new Set(contract.allowed_kinds);
  return entries
    .filter((e) => e.framework === contract.framework && !allowed.has(e.kind))
    .map((e) =>
      finding(
        'KIND_NOT_ALLOWED',
        `${e.id}@${e.version} has kind "${e.kind}", which framework ${contract.framework} does not allow (allowed: ${contract.allowed_kinds!.join(', ')})`,
        {
          path: e.path,
          refs: [`${e.id}@${e.version}`],
        },
      ),
    );
}

/** An earlier stage's record that cannot be vouched for: the gate fails closed on it. */
export interface UnverifiedPromotion {
  problems: Finding[];
}

/** Where a gate looks up earlier promotions (the snapshot store provides one, which
 * verifies the stage's chain before it answers). */
export interface PromotionLookup {
  /** Content promoted by the latest promotion of a stage, by slot; undefined if none;
   * `{ problems }` when the stage's record does not verify. */
  latestPromotion(framework: string, stage: string): Promise<Map<string, string> | undefined | UnverifiedPromotion>;
}

const NO_PROMOTIONS: PromotionLookup = { latestPromotion: async () => undefined };

export interface GateResult extends HydrateResult {
  findings: Finding[];
  passed: boolean;
}

/**
 * `artifacts gate`: hydrate, then enforce the framework contract. Pass
 * `promotions: snapshotPromotions(repo)` to check staged promotion against snapshots.
 *
 * @example
 * ```ts
 * const r = await gate(repo, { framework: 'fwk-001', stage: 'release', promotions: snapshotPromotions(repo) });
 * if (!r.passed) console.log(r.findings);
 * ```
 */
export async function gate(repo: Repo, opts: HydrateOptions & { promotions?: PromotionLookup }): Promise<GateResult> {
  const h = await hydrate(repo, opts);
  const stage = stageOf(h.contract, opts.stage);
  const findings: Finding[] = [];
  stage.inputs.forEach((slot, i) => {
    const sel = h.hydration.inputs[i]!.selected;
    if (!sel) {
      if (!slot.optional) {
        findings.push(
          finding(
            'GATE_MISSING_INPUT',
            `slot "${slot.slot}" needs an artifact of kind "${slot.kind}"${slot.id ? ` with id ${slot.id}` : ''} in framework ${opts.framework}; none is indexed`,
            { path: h.contract.file },
          ),
        );
      }
      return;
    }
    const min = slot.min_status ?? 'draft';
    if (STATUS_RANK[sel.status] > STATUS_RANK[min]) {
      findings.push(
        finding('GATE_STATUS', `slot "${slot.slot}": ${sel.id}@${sel.version} is ${sel.status}, the gate needs at least ${min}`, {
          path: sel.path,
          refs: [`${sel.id}@${sel.version}`],
        }),
      );
    }
  });
  findings.push(...h.integrity, ...kindFindings(h.contract, h.entries));
  if (stage.after !== undefined) {
    // Staged promotion: every slot this stage shares with the `after:` stage must select the
    // very content that stage promoted last.
    const promoted = await (opts.promotions ?? NO_PROMOTIONS).latestPromotion(opts.framework, stage.after);
    if (promoted !== undefined && !(promoted instanceof Map)) {
      // Expiry is reported as itself; anything else means the record cannot be trusted.
      const expired = promoted.problems.filter((f) => f.code === 'SNAPSHOT_EXPIRED');
      const other = promoted.problems.filter((f) => f.code !== 'SNAPSHOT_EXPIRED');
      findings.push(...expired);
      if (other.length > 0) {
        const why = other
          .slice(0, 3)
          .map((f) => `${f.code}: ${f.message}`)
          .join('; ');
        findings.push(
          finding(
            'GATE_STAGE_ORDER',
            `stage ${opts.stage} comes after ${stage.after}, whose snapshot chain does not verify, so no promotion of it counts (${why}${other.length > 3 ? `; and ${other.length - 3} more` : ''})`,
            {
              path: h.contract.file,
              hint: `Run \`artifacts snapshot verify --framework ${opts.framework} --stage ${stage.after}\` and restore the chain from git history.`,
            },
          ),
        );
      }
    } else if (promoted === undefined) {
      findings.push(
        finding('GATE_STAGE_ORDER', `stage ${opts.stage} comes after ${stage.after}, and no promotion of ${stage.after} is recorded`, {
          path: h.contract.file,
        }),
      );
    } else {
      for (const inp of h.hydration.inputs) {
        const then = promoted.get(inp.slot);
        if (then === undefined || !inp.selected) continue;
        if (then !== inp.selected.content_address) {
          findings.push(
            finding(
              'GATE_STAGE_ORDER',
              `slot "${inp.slot}" selects ${inp.selected.id}@${inp.selected.version} (${inp.selected.content_address}), but ${stage.after} promoted ${then}`,
              {
                path: inp.selected.path,
                refs: [`${inp.selected.id}@${inp.selected.version}`],
              },
            ),
          );
        }
      }
    }
  }
  return { ...h, findings, passed: findings.every((f) => f.severity !== 'error') };
}
