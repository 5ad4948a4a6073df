#!/usr/bin/env node
import { main } from '../dist/bundle/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`artifacts: internal error: ${err?.stack ?? err}\n`);
    process.exitCode = 70;
  },
);
