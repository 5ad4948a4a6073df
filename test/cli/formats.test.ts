// CI output formats: SARIF 2.1.0 (validated against the schema) and GitHub annotations.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv4Module from 'ajv-draft-04';
import { describe, expect, test } from 'vitest';
import { FIXTURES, plan, repoWith, run } from '../helpers.js';

function fixtureWithFindings(): string {
  return repoWith({
    'docs/plans/fwk-001/ok.md': plan('ok'),
    'docs/plans/fwk-001/num.md': '---\nid: num\nversion: 1.10\nstatus: draft\nframework: fwk-001\nkind: plan\n---\n',
    'docs/plans/fwk-001/bad.md': '---\nid: bad\nversion: "1"\nstatus: done\nframework: fwk-001\nkind: plan\n---\n',
  });
}

describe('validate --format sarif', () => {
  test('output validates against the SARIF 2.1.0 schema and carries physical locations', () => {
    const dir = fixtureWithFindings();
    const r = run(dir, ['validate', '--format', 'sarif']);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout) as {
      version: string;
      runs: Array<{
        tool: { driver: { rules: Array<{ id: string }> } };
        results: Array<{
          ruleId: string;
          ruleIndex: number;
          locations?: Array<{
            physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number; startColumn?: number } };
          }>;
        }>;
      }>;
    };
    const schema = JSON.parse(readFileSync(join(FIXTURES, 'sarif/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    // A CommonJS module: its class is the default export's `default` under NodeNext typing.
    const Ajv4 = ((Ajv4Module as unknown as { default?: typeof Ajv4Module }).default ?? Ajv4Module) as unknown as new (o: object) => {
      compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] | null };
    };
    const ajv = new Ajv4({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    expect(validate(log), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    // The schema does reject malformed logs.
    expect(validate({ version: '2.1.0', runs: [{ results: [] }] })).toBe(false);
    expect(log.version).toBe('2.1.0');
    const runObj = log.runs[0]!;
    const v = runObj.results.find((x) => x.ruleId === 'VERSION_NOT_STRING')!;
    expect(v.locations![0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'docs/plans/fwk-001/num.md', uriBaseId: '%SRCROOT%' },
      region: { startLine: 3, startColumn: 10 },
    });
    expect(runObj.tool.driver.rules[v.ruleIndex]!.id).toBe('VERSION_NOT_STRING');
    expect(runObj.results.map((x) => x.ruleId).sort()).toEqual(['INDEX_NOT_FOUND', 'SCHEMA_VIOLATION', 'VERSION_NOT_STRING']);
  });

  test('a clean repository gives an empty result list and exit 0', () => {
    const dir = repoWith({ 'docs/plans/fwk-001/ok.md': plan('ok') });
    expect(run(dir, ['index', 'rebuild']).code).toBe(0);
    const r = run(dir, ['validate', '--format', 'sarif']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { runs: Array<{ results: unknown[] }> }).runs[0]!.results).toEqual([]);
  });
});

describe('validate --format github', () => {
  test('annotation lines are exact', () => {
    const dir = fixtureWithFindings();
    const r = run(dir, ['validate', '--format', 'github']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines).toEqual([
      '::error file=artifacts_index.json,title=INDEX_NOT_FOUND::artifacts_index.json does not exist but 1 artifact(s) were found (hint: Run `artifacts index rebuild` to create it.)',
      '::error file=docs/plans/fwk-001/bad.md,line=4,col=9,title=SCHEMA_VIOLATION::/status "done" must be one of "draft", "review", "approved" (framework-artifact schema) (hint: Correct the field named by the JSON pointer.)',
      '::error file=docs/plans/fwk-001/num.md,line=3,col=10,title=VERSION_NOT_STRING::version 1.10 is a number, not a string (hint: Quote it: version: "1.10" (unquoted, YAML reads 1.10 as the number 1.1).)',
    ]);
  });
});
