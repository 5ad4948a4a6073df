// Framework contracts (SPEC §6): `frameworks/<framework>.yaml` — allowed kinds, stages and
// the input slots each stage's gate needs.
import { join } from 'node:path';
import { nearest } from '../config.js';
import { ArtifactsError, finding, type Finding, findingOf, isArtifactsError } from '../errors.js';
import type { ArtifactStatus } from '../index/entry.js';
import { parseSafeYaml } from '../metadata/safe-yaml.js';
import { getContractValidator, schemaFindings } from '../metadata/schema.js';
import type { Repo } from '../repo.js';
import { readChecked, readdirChecked, READ_LIMITS } from '../store/checked-read.js';

export interface InputSlot {
  slot: string;
  kind: string;
  id?: string;
  min_status?: ArtifactStatus;
  optional?: boolean;
}

export interface Stage {
  after?: string;
  inputs: InputSlot[];
}

export interface FrameworkContract {
  framework: string;
  allowed_kinds?: string[];
  stages: Record<string, Stage>;
  /** Repository path of the contract file. */
  file: string;
}

/** Parse and validate one contract's text; findings instead of throwing. */
export async function parseContract(text: string, file: string): Promise<{ contract?: FrameworkContract; findings: Finding[] }> {
  const parsed = await parseSafeYaml(text, { path: file });
  if (parsed.findings.length > 0) return { findings: parsed.findings.map((f) => ({ ...f, code: 'CONTRACT_INVALID' as const })) };
  const validate = await getContractValidator();
  if (!validate(parsed.value)) {
    const fs = schemaFindings(validate.errors ?? [], { path: file, locate: parsed.locate, schemaName: 'framework contract schema' });
    return { findings: fs.map((f) => ({ ...f, code: 'CONTRACT_INVALID' as const, hint: 'Fix this field of the framework contract.' })) };
  }
  const c = { ...(parsed.value as Omit<FrameworkContract, 'file'>), file };
  const findings: Finding[] = [];
  const stages = Object.keys(c.stages);
  for (const [name, st] of Object.entries(c.stages)) {
    if (st.after !== undefined && !Object.hasOwn(c.stages, st.after)) {
      const near = nearest(st.after, stages);
      findings.push(
        finding(
          'CONTRACT_INVALID',
          `stage ${name}: after: ${st.after} is not a stage of ${c.framework}${near ? ` (did you mean "${near}"?)` : ''}`,
          { path: file, ...(parsed.locate(`/stages/${name}/after`) ?? {}) },
        ),
      );
    }
    const slots = new Set<string>();
    st.inputs.forEach((inp, i) => {
      const loc = parsed.locate(`/stages/${name}/inputs/${i}`) ?? {};
      if (slots.has(inp.slot))
        findings.push(finding('CONTRACT_INVALID', `stage ${name}: slot "${inp.slot}" is declared twice`, { path: file, ...loc }));
      slots.add(inp.slot);
      if (c.allowed_kinds && !c.allowed_kinds.includes(inp.kind)) {
        findings.push(
          finding('CONTRACT_INVALID', `stage ${name}: slot "${inp.slot}" takes kind "${inp.kind}", which allowed_kinds does not list`, {
            path: file,
            ...loc,
          }),
        );
      }
    });
  }
  // `after:` chains must not loop (one report is enough).
  let cycle = false;
  for (const start of stages) {
    const seen = new Set<string>();
    let s: string | undefined = start;
    while (s !== undefined && Object.hasOwn(c.stages, s)) {
      if (seen.has(s)) {
        findings.push(
          finding('CONTRACT_INVALID', `stages form a cycle through "after:" (${[...seen].join(' -> ')} -> ${s})`, { path: file }),
        );
        cycle = true;
        break;
      }
      seen.add(s);
      s = c.stages[s]!.after;
    }
    if (cycle) break;
  }
  return findings.length > 0 ? { findings } : { contract: c, findings };
}

function contractPath(repo: Repo, framework: string): string {
  return `${repo.config.frameworks}/${framework}.yaml`;
}

/** Load the contract of one framework; throws FRAMEWORK_NOT_FOUND or CONTRACT_INVALID. */
export async function loadContract(repo: Repo, framework: string): Promise<FrameworkContract> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(framework)) throw new ArtifactsError('USAGE', `invalid framework name "${framework}"`);
  const rel = contractPath(repo, framework);
  const text = await readContract(repo, rel, true);
  if (text === undefined) {
    const known = (await listContractFiles(repo)).map((f) => f.replace(/\.yaml$/, ''));
    const near = nearest(framework, known);
    throw new ArtifactsError(
      'FRAMEWORK_NOT_FOUND',
      `no contract ${rel} for framework "${framework}"${near ? ` (did you mean "${near}"?)` : ''}`,
      {
        details: { known },
      },
    );
  }
  const { contract, findings } = await parseContract(text, rel);
  if (!contract) throw new ArtifactsError('CONTRACT_INVALID', `${rel} is invalid`, { findings });
  if (contract.framework !== framework) {
    throw new ArtifactsError('CONTRACT_INVALID', `${rel} declares framework "${contract.framework}", not "${framework}"`);
  }
  return contract;
}

/** A contract's text under the checked-read rules: a FIFO, a directory, a symlink or an
 * oversized file in its place is CONTRACT_INVALID, never a hang. */
async function readContract(repo: Repo, rel: string, allowMissing: boolean): Promise<string | undefined> {
  const bytes = await readChecked(join(repo.root, rel), {
    root: repo.root,
    maxBytes: READ_LIMITS.config,
    code: 'CONTRACT_INVALID',
    label: rel,
    allowMissing,
  });
  return bytes?.toString('utf8');
}

/** The contract files; a frameworks directory that leads outside the repository is
 * refused (its file names are not the repository's to list). */
async function listContractFiles(repo: Repo): Promise<string[]> {
  const names = await readdirChecked(join(repo.root, repo.config.frameworks), {
    root: repo.root,
    code: 'CONTRACT_INVALID',
    label: repo.config.frameworks,
  });
  return names.filter((f) => f.endsWith('.yaml'));
}

/** Load every contract in the frameworks directory, collecting problems as findings. */
export async function loadAllContracts(repo: Repo): Promise<{ contracts: FrameworkContract[]; findings: Finding[] }> {
  const contracts: FrameworkContract[] = [];
  const findings: Finding[] = [];
  let names: string[];
  try {
    names = await listContractFiles(repo);
  } catch (e) {
    if (!isArtifactsError(e)) throw e;
    return { contracts, findings: [findingOf(e, { path: repo.config.frameworks })] };
  }
  for (const name of names) {
    const rel = `${repo.config.frameworks}/${name}`;
    let text: string | undefined;
    try {
      text = await readContract(repo, rel, true);
    } catch (e) {
      if (!isArtifactsError(e)) throw e;
      findings.push(finding('CONTRACT_INVALID', e.message, { path: rel }));
      continue;
    }
    if (text === undefined) continue;
    const { contract, findings: fs } = await parseContract(text, rel);
    findings.push(...fs);
    if (!contract) continue;
    if (`${contract.framework}.yaml` !== name) {
      findings.push(
        finding(
          'CONTRACT_INVALID',
          `${rel} declares framework "${contract.framework}"; the file must be named ${contract.framework}.yaml`,
          { path: rel },
        ),
      );
      continue;
    }
    contracts.push(contract);
  }
  return { contracts, findings };
}

/** Look up a stage, with a suggestion when it does not exist. */
export function stageOf(contract: FrameworkContract, stage: string): Stage {
  if (Object.hasOwn(contract.stages, stage)) return contract.stages[stage]!;
  const names = Object.keys(contract.stages);
  const near = nearest(stage, names);
  throw new ArtifactsError(
    'STAGE_NOT_FOUND',
    `framework ${contract.framework} has no stage "${stage}"${near ? ` (did you mean "${near}"?)` : ''}; stages: ${names.join(', ')}`,
  );
}
