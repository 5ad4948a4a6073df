// Generate docs/commands.md, the per-command reference, from the command tree itself
// (run after `npm run build`). `--check` exits 1 when the file is out of date.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './write-or-check.js';
import { buildProgram } from '../dist/cli/main.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'commands.md');
const sections = [];
function walk(cmd, path) {
  const name = ['artifacts', ...path].join(' ');
  // A fixed width, so that the file does not depend on the terminal it was made in.
  cmd.configureOutput({ getOutHelpWidth: () => 80, getErrHelpWidth: () => 80 });
  const help = cmd.helpInformation().replace(/\s+$/, '');
  // The examples are added after the help text; capture them the way --help prints them.
  let after = '';
  cmd.configureOutput({ writeOut: (s) => (after += s), writeErr: () => undefined });
  cmd.emit('afterHelp', { error: false, command: cmd, write: (s) => (after += s) });
  sections.push(`## \`${name}\`\n\n\`\`\`text\n${help}\n${after.replace(/\s+$/, '')}\n\`\`\`\n`);
  for (const c of cmd.commands) walk(c, [...path, c.name()]);
}
walk(buildProgram(), []);
const text = `# Command reference\n\nGenerated from the command definitions by \`scripts/gen-commands-doc.js\`; do not edit by hand.\nEvery command also prints this with \`--help\`.\n\n${sections.join('\n')}`;
writeOrCheck(out, text, 'npm run build && node scripts/gen-commands-doc.js');
