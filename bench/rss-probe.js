// Preloaded with `node --import` by the benchmarks: on exit, report this process's peak
// resident set size (worker threads included) on stderr, for bench/scale.js to read.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\n@@maxrss ${process.resourceUsage().maxRSS}\n`);
});
