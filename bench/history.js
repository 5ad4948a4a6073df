// A git repository with N artifacts added by N commits (one file each), built with
// `git fast-import` so that 10,000 commits take seconds, not minutes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONTRACT = `framework: fwk-001
allowed_kinds: [plan]
stages:
  review:
    inputs:
      - slot: plan
        kind: plan
        min_status: review
`;

/**
 * `layout: 'nested'` puts 100 versions of each id under docs/plans/fwk-001/<id>/ (route
 * docs/plans/{framework}/{id}/{version}.md); `layout: 'flat'` puts every file in one
 * directory (route docs/plans/{framework}/{id}.md), where git's own tree diffs grow with
 * the directory's size.
 */
export function generateHistory(dir, n, { layout = 'nested' } = {}) {
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const files = [
    ['artifacts.config.yaml', 'digest_algorithm: sha256\n'],
    [
      'artifact_routing.mdc',
      `---\nroutes:\n  - kind: plan\n    path: docs/plans/{framework}/{id}${layout === 'nested' ? '/{version}' : ''}.md\n---\n`,
    ],
    ['frameworks/fwk-001.yaml', CONTRACT],
  ];
  const parts = [];
  const t0 = 1767225600; // 2026-01-01T00:00:00Z
  const blob = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  for (let i = 0; i < n; i++) {
    const id = layout === 'nested' ? `plan-${String(i % 100).padStart(3, '0')}` : `plan-${String(i).padStart(6, '0')}`;
    const version = layout === 'nested' ? `1.${Math.floor(i / 100)}.0` : '1.0.0';
    const path = layout === 'nested' ? `docs/plans/fwk-001/${id}/${version}.md` : `docs/plans/fwk-001/${id}.md`;
    const status = ['draft', 'review', 'approved'][i % 3];
    const text = `---\nid: ${id}\nversion: "${version}"\nstatus: ${status}\nframework: fwk-001\nkind: plan\n---\nPlan ${i}.\n`;
    const t = t0 + i * 60;
    parts.push(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${t} +0000\n${blob(`add ${id}`)}`);
    if (i === 0) for (const [p, c] of files) parts.push(`M 100644 inline ${p}\n${blob(c)}`);
    parts.push(`M 100644 inline ${path}\n${blob(text)}\n`);
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: parts.join(''), maxBuffer: 1 << 30 });
  execFileSync('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
}

/** A PATH directory whose `git` logs each invocation's subcommand, then runs the real git. */
export function gitShim(dir, logFile) {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'git'), `#!/bin/sh\necho "$1" >> '${logFile}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
  return dir;
}
