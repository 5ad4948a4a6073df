// A committed file name holding a newline, a workflow command and escape sequences never
// reaches human output raw: no output line starts a GitHub workflow command, and no escape
// byte is written when colour is off (a CI log).
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { BIN, gitInit, testdir, writeTree } from '../helpers.js';

const CONTRACT =
  'framework: f\nallowed_kinds: [plan, risk-register]\nstages:\n  s:\n    inputs:\n      - slot: r\n        kind: risk-register\n';

const BAD = 'docs/risks/c\nFORGED: all artifacts valid\u001b[31m.md';

test('file names with newlines, workflow commands and escapes are shown escaped by every command that prints them', () => {
  const dir = testdir({
    'artifact_routing.mdc':
      '---\nroutes:\n  - kind: plan\n    path: docs/plans/{id}.md\n  - kind: risk-register\n    dirs: [docs/risks/]\n---\n',
    'frameworks/f.yaml': CONTRACT,
  });
  writeTree(dir, {
    'docs/risks/a\n::warning file=x::INJECTED\u001b[31mRED\u001b]0;t\u0007.md':
      '---\nid: inj\nversion: "1"\nstatus: approved\nframework: f\nkind: risk-register\n---\n',
    // A later version of the same artifact: hydrate and gate select it, history lists it.
    'docs/risks/d\nFORGED: gate passed, 0 errors.md':
      '---\nid: inj\nversion: "2"\nstatus: approved\nframework: f\nkind: risk-register\n---\n',
    'x/b\n::error::INJ_B.md': '---\nid: injb\nversion: "1"\nstatus: approved\nframework: f\nkind: plan\n---\n',
    // Invalid: commands naming it end with an error whose message quotes the name.
    [BAD]: '---\nid: injc\nversion: 1\nstatus: draft\nframework: f\nkind: risk-register\n---\n',
  });
  gitInit(dir);
  const commands = [
    ['validate'],
    ['route', 'check'],
    ['route', 'fix', '--dry-run'],
    ['index', 'rebuild'],
    ['index', 'verify'],
    ['hydrate', '--framework', 'f', '--stage', 's'],
    ['gate', '--framework', 'f', '--stage', 's'],
    ['history', 'inj'],
    ['lineage', 'inj'],
    ['route', BAD],
    ['index', 'add', BAD],
  ];
  for (const args of commands) {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, `${args.join(' ')}\n${out}`).not.toBe(70);
    for (const line of out.split('\n')) expect(line.trimStart().startsWith('::'), `${args.join(' ')}: ${JSON.stringify(line)}`).toBe(false);
    expect(out, args.join(' ')).not.toContain('\u001b');
    expect(out, args.join(' ')).not.toContain('\u0007');
    // Nor can a name forge an ordinary line: its newline is shown escaped.
    if (['hydrate', 'history'].includes(args[0]!) || args.includes(BAD))
      expect(out, `${args.join(' ')} names the file`).toContain('\\nFORGED');
    for (const line of out.split('\n')) expect(line.startsWith('FORGED'), `${args.join(' ')}: ${JSON.stringify(line)}`).toBe(false);
  }
});
