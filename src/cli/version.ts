// The package version, read from package.json (two levels up from this module, both in
// dist/cli/ and in the bundle's dist/bundle/).
import { readFileSync } from 'node:fs';

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
