// Human and GitHub output never let repository text act on a terminal or a CI log.
import { describe, expect, test } from 'vitest';
import { printable, printableOutput, renderFindingsGithub, renderFindingsHuman } from '../../src/cli/render.js';
import { finding } from '../../src/core/errors.js';

const HOSTILE = 'docs/a\n::warning file=x::INJECTED\u001b[31mRED\u001b]0;title\u0007.md';

describe('printableOutput', () => {
  test('no line of the output starts a workflow command; escape sequences other than colours are shown escaped', () => {
    const out = printableOutput(`moved ${HOSTILE} -> b.md\n  ::error::indented\n`);
    for (const line of out.split('\n')) expect(line.trimStart().startsWith('::')).toBe(false);
    expect(out).not.toContain('\u001b]');
    expect(out).not.toContain('\u0007');
    expect(out).toContain('\\x3a:warning');
  });

  test('without colour (a CI log, a pipe) no escape sequence passes, colours included', () => {
    expect(printableOutput(`a ${HOSTILE}\n`, false)).not.toContain('\u001b');
  });

  test('our own colour sequences and line breaks pass unchanged', () => {
    const s = '\u001b[31merror\u001b[0m one\ntwo: a::b\n';
    expect(printableOutput(s)).toBe(s);
  });
});

describe('findings', () => {
  const f = finding('ROUTE_MISMATCH', `${HOSTILE} is misplaced`, { path: HOSTILE, hint: `move ${HOSTILE}` });

  test('human rendering escapes path, message and hint', () => {
    const out = renderFindingsHuman({ color: false, json: false, quiet: false, verbose: false }, [f]);
    expect(out.split('\n').some((l) => l.trimStart().startsWith('::'))).toBe(false);
    expect(out).not.toContain('\u001b');
    expect(out).toContain(printable(HOSTILE));
  });

  test('GitHub annotations: one line per finding, no raw control character', () => {
    const out = renderFindingsGithub([f]);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/u);
  });
});
