// Corpus generator: a git repository of N Markdown artifacts of about 4 KB each, routed by
// kind. Deterministic (seeded), so every run measures the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KINDS = ['plan', 'risk-register', 'scorecard', 'design-review'];
const STATUSES = ['draft', 'review', 'approved'];

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function routingText() {
  return `---\ndescription: benchmark corpus routes\nroutes:\n${KINDS.map((k) => `  - kind: ${k}\n    path: docs/${k}/{framework}/{id}.md`).join('\n')}\n---\n`;
}

export function artifactText(i, rand, size = 4096) {
  const kind = KINDS[i % KINDS.length];
  const fw = `fwk-${String(i % 20).padStart(3, '0')}`;
  const id = `${kind}-${String(i).padStart(6, '0')}`;
  const head = [
    '---',
    `id: ${id}`,
    `version: "1.${i % 7}.0"`,
    `status: ${STATUSES[i % 3]}`,
    `framework: ${fw}`,
    `kind: ${kind}`,
    `created_at: "2026-01-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z"`,
    `updated_at: "2026-02-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z"`,
    `derived_from: ["req-${i % 100}@1"]`,
    'owner: team-' + (i % 13),
    '---',
    `# ${id}`,
    '',
  ].join('\n');
  const words = ['artifact', 'risk', 'plan', 'gate', 'review', 'metric', 'latency', 'budget', 'owner', 'milestone'];
  let body = '';
  while (head.length + body.length < size) body += words[Math.floor(rand() * words.length)] + (rand() < 0.1 ? '.\n' : ' ');
  return { path: `docs/${kind}/${fw}/${id}.md`, text: head + body.slice(0, size - head.length) + '\n' };
}

/** Create the corpus in `dir` (a new directory); returns the list of artifact paths. */
export function generateCorpus(dir, n, { git = true } = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\n');
  writeFileSync(join(dir, 'artifact_routing.mdc'), routingText());
  const rand = rng(42);
  const paths = [];
  const dirs = new Set();
  for (let i = 0; i < n; i++) {
    const a = artifactText(i, rand);
    const d = join(dir, a.path, '..');
    if (!dirs.has(d)) {
      mkdirSync(d, { recursive: true });
      dirs.add(d);
    }
    writeFileSync(join(dir, a.path), a.text);
    paths.push(a.path);
  }
  if (git) execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  return paths;
}
