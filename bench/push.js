// `artifacts push` of a 1 GiB artifact to a real registry (SPEC §15; bars: <= 150 MB peak RSS
// and >= 0.7x the throughput of `curl -T` of the same file to the same registry, measured in
// the same run). The registry is Debian's docker-registry on 127.0.0.1 with filesystem
// storage. Medians of PUSH_RUNS (3) runs; PUSH_MB changes the size.
import { promotedDemo } from './demo-repo.js';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'artifacts.js');
const MB = Number(process.env.PUSH_MB ?? 1024);
const RUNS = Number(process.env.PUSH_RUNS ?? 3);
if (spawnSync('docker-registry', ['--version']).status !== 0 || spawnSync('curl', ['--version']).status !== 0) {
  console.log('bench:push needs docker-registry and curl (apt-get install docker-registry curl)');
  process.exit(0);
}
const base = mkdtempSync(join(tmpdir(), 'artifacts-push-'));
const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const host = `127.0.0.1:${port}`;
writeFileSync(
  join(base, 'config.yml'),
  `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(base, 'data')}\nhttp:\n  addr: ${host}\n`,
);
const registry = spawn('docker-registry', ['serve', join(base, 'config.yml')], { stdio: 'ignore' });
for (let i = 0; i < 100; i++) {
  if (
    await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 50));
}

// A repository whose snapshot holds one plan of MB MiB.
const { repo, env } = promotedDemo(base, (dir) => {
  const file = join(dir, 'docs/plans/fwk-001/plan-checkout.md');
  const head = readFileSync(file, 'utf8').replace('version: "1.2.0"', 'version: "9.0.0"');
  const fd = openSync(file, 'w');
  writeSync(fd, head);
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < MB; i++) {
    block.fill(i & 0xff);
    writeSync(fd, block);
  }
  closeSync(fd);
});
const plan = join(repo, 'docs/plans/fwk-001/plan-checkout.md');

const digest = `sha256:${await new Promise((resolve) => {
  const h = createHash('sha256');
  createReadStream(plan)
    .on('data', (c) => h.update(c))
    .on('end', () => resolve(h.digest('hex')));
})}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const push = [];
const curl = [];
for (let r = 0; r < RUNS; r++) {
  const t = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %M', process.execPath, BIN, 'push', '--framework', 'fwk-001', '--stage', 'design-review', `${host}/bench/push-${r}:x`],
    {
      cwd: repo,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const [secs, kb] = t.stderr.trim().split('\n').pop().split(' ').map(Number);
  push.push({ secs, mb: kb / 1024 });
  // The same file with curl: one upload session, one PUT of the whole file.
  const start = await fetch(`http://${host}/v2/bench/curl-${r}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location'), `http://${host}`);
  loc.searchParams.set('digest', digest);
  const c = spawnSync('/usr/bin/time', ['-f', '%e', 'curl', '-s', '-o', '/dev/null', '-T', plan, '-X', 'PUT', loc.toString()], {
    encoding: 'utf8',
  });
  curl.push(Number(c.stderr.trim().split('\n').pop()));
}
registry.kill();
const p = median(push.map((x) => x.secs));
const m = median(push.map((x) => x.mb));
const c = median(curl);
const ratio = c / p;
console.log(
  `push of a ${MB} MiB artifact, median of ${RUNS}: ${p.toFixed(2)} s (${(MB / p).toFixed(0)} MiB/s), ${m.toFixed(0)} MB peak RSS; curl -T: ${c.toFixed(2)} s (${(MB / c).toFixed(0)} MiB/s); throughput ratio ${ratio.toFixed(2)} (bars: >= 0.7 ${ratio >= 0.7 ? 'met' : 'NOT met'}, <= 150 MB ${m <= 150 ? 'met' : 'NOT met'})`,
);
console.log(
  `  raw push: ${push.map((x) => `${x.secs.toFixed(2)} s ${x.mb.toFixed(0)} MB`).join(' | ')}; raw curl: ${curl.map((x) => x.toFixed(2)).join(' | ')}`,
);
