// The registry client against hostile servers (in-process): what an outside review found.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { RegistryClient } from '../../../../src/core/oci/registry.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, host, r));
  return `${host}:${(s.address() as { port: number }).port}`;
}

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('registry client', () => {
  test('Basic credentials never go to a plain-HTTP token realm on another origin', async () => {
    const seen: Array<string | undefined> = [];
    const realm = await serve('127.0.0.2', (req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token: 't0k3n' }));
    });
    const registry = await serve('127.0.0.1', (req, res) => {
      if (req.headers.authorization === 'Bearer t0k3n') {
        res.statusCode = 404;
        return res.end();
      }
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://${realm}/token",service="reg"`);
      res.end();
    });
    const client = new RegistryClient(registry, { credentials: { username: 'alice', password: 's3cret' } });
    expect(await client.hasBlob('team/app', DIGEST)).toBe(false);
    expect(seen).toEqual([undefined]);
  });

  test('an endless error body or token body is cut off (a registry error, never all of memory)', async () => {
    // Endless from the client's point of view: 256 MiB, far more than it may read.
    const endless = (res: ServerResponse, status: number) => {
      res.statusCode = status;
      const chunk = Buffer.alloc(1 << 16, 0x41);
      let left = 4096;
      let closed = false;
      res.on('close', () => (closed = true));
      const pump = () => {
        while (!closed && left-- > 0) if (!res.write(chunk)) return void res.once('drain', pump);
        if (!closed) res.end();
      };
      pump();
    };
    const registry = await serve('127.0.0.1', (_req, res) => endless(res, 500));
    const started = Date.now();
    await expect(new RegistryClient(registry).hasBlob('team/app', DIGEST)).rejects.toMatchObject({ code: 'REGISTRY_ERROR' });
    const realm = await serve('127.0.0.1', (_req, res) => endless(res, 200));
    const guarded = await serve('127.0.0.1', (_req, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://${realm}/token"`);
      res.end();
    });
    await expect(new RegistryClient(guarded).hasBlob('team/app', DIGEST)).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test('a realm that is not a URL, a token that is not JSON, an upload location that is not a URL: registry errors, not crashes', async () => {
    const bad = await serve('127.0.0.1', (_req, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Bearer realm="not a url"');
      res.end();
    });
    await expect(new RegistryClient(bad).hasBlob('team/app', DIGEST)).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
    const realm = await serve('127.0.0.1', (_req, res) => res.end('<html>'));
    const html = await serve('127.0.0.1', (_req, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://${realm}/token"`);
      res.end();
    });
    await expect(new RegistryClient(html).hasBlob('team/app', DIGEST)).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
    const upload = await serve('127.0.0.1', (_req, res) => {
      res.statusCode = 202;
      res.setHeader('location', 'http://[zz');
      res.end();
    });
    await expect(new RegistryClient(upload).pushBlob('team/app', DIGEST, 2, () => Buffer.from('{}'))).rejects.toMatchObject({
      code: 'REGISTRY_ERROR',
    });
  });
});
