// Generate docs/errors.md from the error catalogue (run after `npm run build`).
// `node scripts/gen-errors-doc.js --check` exits 1 when the file is out of date.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './write-or-check.js';
import { CATALOGUE } from '../dist/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'errors.md');
const rows = Object.entries(CATALOGUE).map(([code, e]) => `| \`${code}\` | ${e.exit} | ${e.title} | ${e.hint.replace(/\|/g, '\\|')} |`);
const text = `# Error and finding codes

Generated from the error catalogue in \`src/core/errors.ts\` by \`scripts/gen-errors-doc.js\`;
do not edit by hand. Codes are stable: they are never renamed or removed.

| code | exit | meaning | hint |
| --- | --- | --- | --- |
${rows.join('\n')}
`;
writeOrCheck(out, text, 'npm run build && node scripts/gen-errors-doc.js');
