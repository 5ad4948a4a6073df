// `artifacts init`: create the config, a routing stub and .gitignore entries. Idempotent:
// existing user files are never overwritten.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE } from './config.js';
import { writeFileDurable, writeFileExclusiveDurable } from './store/durable-write.js';

export const GITIGNORE_ENTRIES = ['.artifacts/objects/', '.artifacts/journal', '.artifacts/cache/', 'artifacts_index.json.lock/'];

const CONFIG_TEMPLATE = `# artifacts configuration (see \`artifacts --help\`)
digest_algorithm: sha256
routing: artifact_routing.mdc
command_routing: routing_matrix.json
schemas: schemas
frameworks: frameworks
include: ["**/*"]
exclude: ["node_modules/**", "dist/**"]
`;

const ROUTING_TEMPLATE = `---
description: Where each artifact kind lives
routes: []
# - kind: plan
#   path: docs/plans/{framework}/{id}.md
---
Routes for artifacts in this repository. Variables: {id} {version} {framework} {kind} {ext}.
Run \`artifacts route table\` to print them as a table.
`;

export interface InitResult {
  created: string[];
  kept: string[];
  gitignore: string[];
}

export async function initRepo(root: string): Promise<InitResult> {
  const created: string[] = [];
  const kept: string[] = [];
  for (const [name, text] of [
    [CONFIG_FILE, CONFIG_TEMPLATE],
    ['artifact_routing.mdc', ROUTING_TEMPLATE],
  ] as const) {
    if (await writeFileExclusiveDurable(join(root, name), Buffer.from(text))) created.push(name);
    else kept.push(name);
  }
  const gi = join(root, '.gitignore');
  let current = '';
  try {
    current = await readFile(gi, 'utf8');
  } catch {
    // no .gitignore yet
  }
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = GITIGNORE_ENTRIES.filter((e) => !lines.has(e));
  if (missing.length > 0) {
    const sep = current === '' || current.endsWith('\n') ? '' : '\n';
    await writeFileDurable(gi, `${current}${sep}# artifacts: local state\n${missing.join('\n')}\n`);
  }
  return { created, kept, gitignore: missing };
}
