// The project dogfoods itself: its design notes under docs/ are artifacts routed by its own
// artifact_routing.mdc and indexed in its artifacts_index.json, while the other pages of
// docs/ (plain Markdown without front matter) are not artifacts. `artifacts validate` on a
// copy of the repository's own files passes.
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROJECT, gitInit, runJson, testdir } from '../helpers.js';

const OWN = ['artifacts.config.yaml', 'artifact_routing.mdc', 'routing_matrix.json', 'artifacts_index.json', 'docs'];

describe('the repository validates itself', () => {
  test('validate and index verify pass on the project, and only the design notes are indexed', () => {
    const dir = testdir();
    for (const p of OWN) cpSync(join(PROJECT, p), join(dir, p), { recursive: true });
    gitInit(dir);
    const v = runJson(dir, ['validate']);
    expect(v.code, JSON.stringify(v.doc)).toBe(0);
    expect(runJson(dir, ['index', 'verify']).code).toBe(0);

    const index = JSON.parse(readFileSync(join(PROJECT, 'artifacts_index.json'), 'utf8')) as { artifacts: Array<{ path: string }> };
    const notes = readdirSync(join(PROJECT, 'docs', 'design'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/design/${f}`)
      .sort();
    expect(index.artifacts.map((a) => a.path).sort()).toEqual(notes);
    // The other pages carry no front matter: they are documents, not artifacts.
    for (const page of readdirSync(join(PROJECT, 'docs')).filter((f) => f.endsWith('.md'))) {
      expect(readFileSync(join(PROJECT, 'docs', page), 'utf8').startsWith('---'), `docs/${page} has front matter`).toBe(false);
    }
  });
});
