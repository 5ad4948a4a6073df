// This installation's package.json and bin/artifacts.js. Both are two directories up from
// this module, as it is compiled (dist/cli/) and as it is bundled (dist/bundle/).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The command-line entry point, for what runs this installation again (the merge driver). */
export const BIN_FILE = fileURLToPath(new URL('../../bin/artifacts.js', import.meta.url));
