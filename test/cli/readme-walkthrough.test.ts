// The README's getting-started, run as written: its files (routes, an artifact, a framework
// contract) and its commands, in order, on a fresh git repository. Every command must
// succeed, so the README cannot promise a flag or a behaviour the tool does not have.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN, PROJECT, git, gitInit, testdir } from '../helpers.js';

interface Block {
  lang: string;
  text: string;
  /** The prose between the previous block and this one. */
  before: string;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```([a-z]*)\n([\s\S]*?)^```$/gm;
  let last = 0;
  for (const m of markdown.matchAll(re)) {
    out.push({ lang: m[1]!, text: m[2]!, before: markdown.slice(last, m.index) });
    last = m.index + m[0].length;
  }
  return out;
}

/** The section of the README from `start` up to the next `end`. */
function section(readme: string, start: string, end: string): string {
  const a = readme.indexOf(start);
  expect(a, `README has "${start}"`).toBeGreaterThanOrEqual(0);
  const b = readme.indexOf(end, a + start.length);
  expect(b, `README has "${end}" after "${start}"`).toBeGreaterThan(a);
  return readme.slice(a, b);
}

/** Shell command lines of a block, without comments and blank lines. */
function commandLines(block: Block): string[] {
  return block.text
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('the README getting-started', () => {
  test('runs as written on a fresh repository', () => {
    const readme = readFileSync(join(PROJECT, 'README.md'), 'utf8');
    const guide = section(readme, '## Getting started', '## Metadata');
    const bs = blocks(guide);
    const home = testdir();
    const repo = testdir({ 'package.json': '{ "name": "consumer", "version": "1.0.0", "private": true }\n' });
    gitInit(repo, false);
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOME: home,
      NO_COLOR: '1',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    delete env.ARTIFACTS_TRUST_ROOT;
    delete env.ARTIFACTS_SIGNING_KEY;
    const ran: string[] = [];

    const sh = (line: string) => {
      // `npx artifacts` is the locally installed binary: here, the built CLI of this checkout.
      const cmd = line.replace(/^npx artifacts\b/, `'${process.execPath}' '${BIN}'`);
      const r = spawnSync('sh', ['-c', cmd], { cwd: repo, env, encoding: 'utf8' });
      ran.push(line);
      expect(r.status, `README command failed: ${line}\n${r.stdout}${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const runBlock = (b: Block) => {
      for (const line of commandLines(b)) {
        const pin = /^export ARTIFACTS_TRUST_ROOT=/.exec(line);
        if (pin) {
          // The placeholder stands for the root key id: the signer of trust record 1.
          const record = JSON.parse(readFileSync(join(repo, '.artifacts', 'keys', 'trust', '000001.json'), 'utf8')) as {
            signer: { keyid: string };
          };
          env.ARTIFACTS_TRUST_ROOT = record.signer.keyid;
          ran.push(line);
          continue;
        }
        sh(line);
      }
    };
    const writeFile = (path: string, text: string) => {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), text);
    };

    let artifactPath = '';
    for (const b of bs) {
      const edit = /Edit the plan \(say `version: ("[^"]+")`\)/.exec(b.before);
      if (edit && b.lang === 'sh') {
        const p = join(repo, artifactPath);
        writeFileSync(p, readFileSync(p, 'utf8').replace(/^version: .*$/m, `version: ${edit[1]!}`));
      }
      // What CI runs and the merge-driver line are run after the walk, below.
      if (b.lang === 'sh' && (b.before.includes('**What CI runs.**') || b.text.startsWith('git config'))) continue;
      if (b.lang === 'sh') runBlock(b);
      else if (b.lang === 'yaml' && b.text.includes('routes:')) writeFile('artifact_routing.mdc', b.text);
      else if (b.lang === 'yaml' && b.text.startsWith('framework:')) {
        const path = /`(frameworks\/[^`]+\.yaml)`/.exec(b.before)![1]!;
        writeFile(path, b.text);
      } else if (b.lang === 'markdown') {
        // The artifact, and the second one the prose after it describes by its differences.
        const rest = guide.slice(guide.indexOf(b.text) + b.text.length);
        const saveAs = /Save it as `([^`]+)`/.exec(rest)![1]!;
        writeFile(saveAs, b.text);
        artifactPath = saveAs;
        const second = /\(`id:\s+([^`]+)`, `kind: ([^`]+)`, `status: ([^`]+)`\) as\s+`([^`]+)`/.exec(rest)!;
        const kind = /^kind: (.*)$/m.exec(b.text)![1]!;
        writeFile(
          second[4]!,
          b.text
            .replace(/^id: .*$/m, `id: ${second[1]!}`)
            .replace(/^kind: .*$/m, `kind: ${second[2]!}`)
            .replace(/^status: .*$/m, `status: ${second[3]!}`)
            .replace(new RegExp(`^# .*$`, 'm'), `# ${kind} companion`),
        );
      }
    }
    // Every step ran: init, the index, validation, the gate, four key commands, promotion,
    // verification and the rollback rehearsal.
    for (const step of [
      'init',
      'index rebuild',
      'validate',
      'gate',
      'keys generate',
      'keys trust',
      'promote',
      'snapshot verify',
      'rollback',
    ]) {
      expect(
        ran.some((l) => l.startsWith(`npx artifacts ${step}`)),
        `the getting-started runs ${step}`,
      ).toBe(true);
    }
    expect(readdirSync(join(repo, '.artifacts', 'snapshots', 'fwk-001', 'design-review'))).toEqual(
      expect.arrayContaining(['000001.json', '000002.json']),
    );
    expect(git(repo, 'status', '--porcelain').trim(), 'the rehearsal changed nothing').toBe('');

    // What CI runs, as written (the base branch is this one).
    git(repo, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    const ci = bs.find((b) => b.lang === 'sh' && b.before.includes('**What CI runs.**'))!;
    expect(ci, 'the README lists what CI runs').toBeDefined();
    runBlock(ci);
    // The merge driver line, as written, is the one init installed.
    const driver = bs.find((b) => b.lang === 'sh' && b.text.startsWith('git config merge.artifacts-index.driver'))!;
    runBlock(driver);
    expect(git(repo, 'config', '--get', 'merge.artifacts-index.driver').trim()).toBe(
      'node_modules/.bin/artifacts index merge-driver %O %A %B',
    );
  });
});
