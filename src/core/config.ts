// Repository discovery and artifacts.config.yaml (SPEC §2, §9).
import { pathExists, type ControlFiles } from './paths.js';
import { dirname, join, resolve } from 'node:path';
import { ArtifactsError, EXIT, finding, type Finding } from './errors.js';
import type { DigestAlgorithm } from './hash/digest.js';
import { parseSafeYaml } from './metadata/safe-yaml.js';
import { getConfigValidator, schemaFindings } from './metadata/schema.js';
import { writeFileDurable } from './store/durable-write.js';
import { parseJsonQuiet, readChecked, readCheckedSync, READ_LIMITS } from './store/checked-read.js';
import { git } from './git.js';
import { GLOB_MAX_ALTERNATIVES, GLOB_MAX_LENGTH, GLOB_MAX_TOTAL_ALTERNATIVES, globAlternatives, globProblem } from './glob.js';
import { cacheIdentity, type FileStamp, stampOf, stampSettled, stampString } from './stamp.js';

export const CONFIG_FILE = 'artifacts.config.yaml';
export const INDEX_FILE = 'artifacts_index.json';
export const STATE_DIR = '.artifacts';

export interface RetentionPolicy {
  keep_last?: number;
  keep_within?: string;
}

export interface ArtifactsConfig {
  digest_algorithm: DigestAlgorithm;
  routing: string;
  command_routing: string;
  schemas: string;
  frameworks: string;
  include: string[];
  exclude: string[];
  retention: Record<string, RetentionPolicy>;
  /** The trust root key id (SPEC §12). The weakest pin: the config is repository content. */
  trust_root?: string;
}

export const DEFAULT_CONFIG: ArtifactsConfig = {
  digest_algorithm: 'sha256',
  routing: 'artifact_routing.mdc',
  command_routing: 'routing_matrix.json',
  schemas: 'schemas',
  frameworks: 'frameworks',
  include: ['**/*'],
  exclude: ['node_modules/**', 'dist/**'],
  retention: {},
};

const KNOWN_KEYS = [...Object.keys(DEFAULT_CONFIG), 'trust_root'];

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest known word, for "did you mean" hints. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 2)) ? best : undefined;
}

/** Find the repository root: explicit --root, else nearest ancestor with the config file,
 * else the git top level, else the start directory. */
export async function discoverRoot(startDir: string, explicitRoot?: string): Promise<string> {
  if (explicitRoot) {
    const r = resolve(startDir, explicitRoot);
    if (!pathExists(r)) throw new ArtifactsError('USAGE', `--root ${explicitRoot}: no such directory`);
    return r;
  }
  let dir = resolve(startDir);
  for (;;) {
    if (pathExists(join(dir, CONFIG_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  try {
    const top = (await git(startDir, ['rev-parse', '--show-toplevel'])).trim();
    if (top) return top;
  } catch {
    // not a git work tree
  }
  return resolve(startDir);
}

/** Load and validate artifacts.config.yaml; defaults when absent. */
export async function loadConfig(root: string): Promise<{ config: ArtifactsConfig; present: boolean }> {
  const file = join(root, CONFIG_FILE);
  const st = stampOf(file, { follow: true });
  const bytes = await readChecked(file, {
    root,
    maxBytes: READ_LIMITS.config,
    code: 'CONFIG_INVALID',
    label: CONFIG_FILE,
    allowMissing: true,
  });
  if (bytes === undefined) return { config: { ...DEFAULT_CONFIG }, present: false };
  const text = bytes.toString('utf8');
  const config = await memoizedParse(root, 'configMemo', st, text, parseConfig, (v): v is ArtifactsConfig => {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });
  return { config, present: true };
}

/** Parse and validate the text of artifacts.config.yaml. */
export async function parseConfig(text: string): Promise<ArtifactsConfig> {
  const parsed = await parseSafeYaml(text, { path: CONFIG_FILE });
  const findings: Finding[] = [...parsed.findings];
  let value = parsed.value ?? {};
  if (findings.length === 0) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      findings.push(finding('CONFIG_INVALID', 'the config must be a mapping of settings', { path: CONFIG_FILE }));
      value = {};
    } else {
      for (const key of Object.keys(value)) {
        if (!KNOWN_KEYS.includes(key)) {
          const near = nearest(key, KNOWN_KEYS);
          const loc = parsed.locate(`/${key}`);
          findings.push(
            finding('CONFIG_INVALID', `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`, {
              path: CONFIG_FILE,
              ...(loc ?? {}),
              pointer: `/${key}`,
              hint: near ? `Rename "${key}" to "${near}".` : `Known keys: ${KNOWN_KEYS.join(', ')}.`,
            }),
          );
        }
      }
      const validate = await getConfigValidator();
      if (!validate(value)) {
        const errs = (validate.errors ?? []).filter((e) => e.keyword !== 'additionalProperties' || e.instancePath !== '');
        for (const f of schemaFindings(errs, { path: CONFIG_FILE, locate: parsed.locate, schemaName: 'config schema' })) {
          findings.push({ ...f, code: 'CONFIG_INVALID' });
        }
      }
      let alternatives = 0;
      for (const key of ['include', 'exclude'] as const) {
        const list = (value as Record<string, unknown>)[key];
        if (!Array.isArray(list)) continue;
        list.forEach((pattern, i) => {
          if (typeof pattern !== 'string') return;
          const problem = globProblem(pattern);
          if (problem === undefined) {
            alternatives += globAlternatives(pattern);
            return;
          }
          const pointer = `/${key}/${i}`;
          findings.push(
            finding('CONFIG_INVALID', `${key} pattern ${i + 1} ${problem}`, {
              path: CONFIG_FILE,
              ...(parsed.locate(pointer) ?? {}),
              pointer,
              hint: `Patterns are at most ${GLOB_MAX_LENGTH} characters, with balanced braces expanding to at most ${GLOB_MAX_ALTERNATIVES} alternatives.`,
            }),
          );
        });
      }
      // Every path is matched against every alternative: bound their number too.
      if (alternatives > GLOB_MAX_TOTAL_ALTERNATIVES) {
        findings.push(
          finding(
            'CONFIG_INVALID',
            `include and exclude patterns expand to ${alternatives} alternatives together (at most ${GLOB_MAX_TOTAL_ALTERNATIVES})`,
            {
              path: CONFIG_FILE,
              hint: 'Use fewer patterns, or fewer {a,b} alternatives in them.',
            },
          ),
        );
      }
    }
  }
  if (findings.length > 0) {
    // Whatever the finding (a forbidden key, a bad glob), a broken config is a usage error.
    throw new ArtifactsError('CONFIG_INVALID', `${CONFIG_FILE} is invalid: ${findings.map((f) => f.message).join('; ')}`, {
      findings: findings.map((f) => ({ ...f, exit: EXIT.USAGE })),
    });
  }
  return { ...DEFAULT_CONFIG, ...(value as Partial<ArtifactsConfig>) };
}

/** The tool's own files and directories for this configuration: no path taken from
 * repository content (routes, snapshots, index entries, `--out`) may name one of them. */
export function controlFilesOf(config: ArtifactsConfig): ControlFiles {
  return {
    files: [INDEX_FILE, `${INDEX_FILE}.lock`, CONFIG_FILE, config.routing, config.command_routing],
    dirs: [STATE_DIR],
  };
}

/** The JSON value of one of the tool's cache files, or undefined when it is absent,
 * unreadable (a FIFO, a symlink, too large) or not JSON: a bad cache is ignored, never an
 * error, and never blocks. */
/**
 * The result of `parse(text)` for a repository file, remembered in `.artifacts/cache/` by the
 * file's stamp (size, mtime, ctime, inode) and its text, so that commands on an unchanged
 * repository need not load the YAML parser at all. The memo is a cache: one that cannot be
 * read, does not have the expected shape (`accept`), names another text or stamp, or was
 * written under another cache identity (another version of the tool, whose schemas may
 * differ) is ignored. A file changed within the racy window is not remembered.
 */
export async function memoizedParse<T>(
  root: string,
  cache: 'configMemo' | 'routingMemo',
  st: FileStamp | undefined,
  text: string,
  parse: (text: string) => Promise<T>,
  accept: (v: unknown) => v is T,
): Promise<T> {
  const memoFile = join(root, STATE_DIR, 'cache', cache === 'configMemo' ? 'config.json' : 'routing.json');
  const stamp = st && stampString(st);
  const identity = cacheIdentity(cache);
  if (stamp) {
    const memo = readCacheJson(root, memoFile) as { identity?: unknown; stamp?: unknown; text?: unknown; result?: unknown } | undefined;
    if (memo && memo.identity === identity && memo.stamp === stamp && memo.text === text && accept(memo.result)) return memo.result;
  }
  const result = await parse(text);
  if (st && stampSettled(st)) {
    await writeFileDurable(memoFile, JSON.stringify({ identity, stamp, text, result }), { root, durable: false }).catch(() => undefined);
  }
  return result;
}

export function readCacheJson(root: string, file: string): unknown {
  try {
    const bytes = readCheckedSync(file, { root, maxBytes: READ_LIMITS.cache, code: 'STORE_FILE_INVALID', allowMissing: true });
    if (bytes === undefined) return undefined;
    const parsed = parseJsonQuiet(bytes.toString('utf8'));
    return parsed.ok ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}
