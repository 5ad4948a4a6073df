// Shared by the generated-docs scripts: write `text` to `file`, or with `--check` exit 1
// (naming the command that regenerates it) when the file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export function writeOrCheck(file, text, regenerate) {
  if (!process.argv.includes('--check')) {
    writeFileSync(file, text);
    return;
  }
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== text) {
    console.error(`${relative(process.cwd(), file)} is out of date: run \`${regenerate}\``);
    process.exit(1);
  }
}
