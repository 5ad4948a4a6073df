// Full-size lock campaign (run by hand or `node bench/writers.js`): W writer processes each
// adding N artifacts one by one (default 100 x 20) must leave exactly W*N entries.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'artifacts.js');
const W = Number(process.env.WRITERS ?? 100);
const N = Number(process.env.ADDS ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'artifacts-writers-'));
writeFileSync(join(dir, 'artifacts.config.yaml'), 'digest_algorithm: sha256\n');
writeFileSync(join(dir, 'artifact_routing.mdc'), '---\nroutes:\n  - kind: plan\n    path: docs/plans/{framework}/{id}.md\n---\n');
mkdirSync(join(dir, 'docs/plans/fwk-001'), { recursive: true });
for (let w = 0; w < W; w++) {
  for (let n = 0; n < N; n++) {
    const id = `w${w}-${n}`;
    writeFileSync(
      join(dir, `docs/plans/fwk-001/${id}.md`),
      `---\nid: ${id}\nversion: "1"\nstatus: draft\nframework: fwk-001\nkind: plan\n---\nbody\n`,
    );
  }
}
const run = (args) =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, err }));
  });
const t0 = Date.now();
let failures = 0;
await Promise.all(
  Array.from({ length: W }, async (_, w) => {
    for (let n = 0; n < N; n++) {
      const r = await run(['index', 'add', `docs/plans/fwk-001/w${w}-${n}.md`, '--lock-timeout', '600000']);
      if (r.code !== 0) {
        failures++;
        console.error(r.err);
      }
    }
  }),
);
const entries = JSON.parse(readFileSync(join(dir, 'artifacts_index.json'), 'utf8')).artifacts.length;
const verify = spawnSync(process.execPath, [BIN, 'index', 'verify'], { cwd: dir }).status;
console.log(
  `${W} writers x ${N} adds: ${entries} entries (expected ${W * N}), ${failures} failed adds, verify exit ${verify}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
rmSync(dir, { recursive: true, force: true });
process.exitCode = entries === W * N && failures === 0 && verify === 0 ? 0 : 1;
