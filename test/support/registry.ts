// A real OCI registry for the tests: Debian's `docker-registry` (CNCF Distribution) on
// 127.0.0.1 at a free port, with filesystem storage in a temp directory, optionally behind
// htpasswd basic auth. Tests that need it are skipped, with the reason logged, when the
// binary is missing (`.ci/run` installs it where apt is available).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { testdir } from '../helpers.js';

export interface Registry {
  host: string;
  storage: string;
  stop(): Promise<void>;
}

export function registryMissing(): string | undefined {
  if (spawnSync('docker-registry', ['--version']).status !== 0) return 'docker-registry is not installed (apt-get install docker-registry)';
  return undefined;
}

export function skopeoMissing(): string | undefined {
  return spawnSync('skopeo', ['--version']).status === 0 ? undefined : 'skopeo is not installed (apt-get install skopeo)';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Start a registry; with `auth`, htpasswd basic auth for that user. */
export async function startRegistry(auth?: { username: string; password: string }): Promise<Registry> {
  const dir = testdir();
  const storage = join(dir, 'data');
  const port = await freePort();
  let authBlock = '';
  if (auth) {
    const htpasswd = join(dir, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbn', auth.username, auth.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(htpasswd, r.stdout);
    authBlock = `auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}\n`;
  }
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authBlock}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    storage,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
