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

describe('the referrers tag (registries without the referrers API)', () => {
  const SUBJECT = `sha256:${'b'.repeat(64)}`;
  const TAG = `sha256-${'b'.repeat(64)}`;
  const descriptor = (n: string) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${n.repeat(64)}`,
    size: 10,
    artifactType: 'application/vnd.dsse.envelope.v1+json',
  });
  /** A registry holding one referrers index under TAG, with an ETag per version; `onPut` may
   * answer instead of storing. */
  async function referrersRegistry(onPut?: (req: IncomingMessage, res: ServerResponse, body: string) => boolean) {
    const state = { version: 0, body: JSON.stringify({ schemaVersion: 2, manifests: [descriptor('c')] }), ifMatch: [] as string[] };
    const host = await serve('127.0.0.1', (req, res) => {
      if (req.url?.includes('/referrers/')) {
        res.statusCode = 404;
        return res.end();
      }
      if (req.method === 'GET' && req.url?.endsWith(`/manifests/${TAG}`)) {
        res.setHeader('content-type', 'application/vnd.oci.image.index.v1+json');
        res.setHeader('etag', `"v${state.version}"`);
        return res.end(state.body);
      }
      if (req.method === 'PUT' && req.url?.endsWith(`/manifests/${TAG}`)) {
        state.ifMatch.push(String(req.headers['if-match']));
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => {
          if (onPut?.(req, res, body)) return;
          if (req.headers['if-match'] !== `"v${state.version}"`) {
            res.statusCode = 412;
            return res.end();
          }
          state.version++;
          state.body = body;
          res.statusCode = 201;
          res.end();
        });
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    return { host, state };
  }

  test('the index is updated with If-Match on its ETag; when another writer moved it meanwhile (412) it is read again, and no referrer is lost', async () => {
    const { addReferrer } = await import('../../../../src/core/oci/distribute.js');
    let raced = false;
    const { host, state } = await referrersRegistry(() => {
      // The first PUT loses a race: another push added its referrer just before.
      if (raced) return false;
      raced = true;
      state.version++;
      state.body = JSON.stringify({ schemaVersion: 2, manifests: [descriptor('c'), descriptor('e')] });
      return false;
    });
    await addReferrer(new RegistryClient(host), 'team/app', SUBJECT, descriptor('d'));
    expect(state.ifMatch).toEqual(['"v0"', '"v1"']);
    const digests = (JSON.parse(state.body) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest[7]);
    expect(digests).toEqual(['c', 'e', 'd']);
  });

  test('a referrers tag holding JSON null, or a list of junk, is replaced by a well-formed index (never an internal error)', async () => {
    const { addReferrer } = await import('../../../../src/core/oci/distribute.js');
    for (const junk of ['null', '[1,2]', '{"manifests":[null,5,{"digest":"x"}]}', 'not json']) {
      const { host, state } = await referrersRegistry();
      state.body = junk;
      await addReferrer(new RegistryClient(host), 'team/app', SUBJECT, descriptor('d'));
      expect((JSON.parse(state.body) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest[7])).toEqual(['d']);
    }
  });

  test('eight pushes at once to a registry that ignores If-Match: every referrer is in the index in the end', async () => {
    const { addReferrer } = await import('../../../../src/core/oci/distribute.js');
    // Every PUT overwrites, whatever If-Match says (as CNCF Distribution 2.x does), after a
    // pause that lets the writers interleave.
    const { host, state } = await referrersRegistry((_req, res, body) => {
      setTimeout(() => {
        state.version++;
        state.body = body;
        res.statusCode = 201;
        res.end();
      }, 5);
      return true;
    });
    const names = ['0', '1', '2', '3', '4', '5', '6', '7'];
    await Promise.all(names.map((n) => addReferrer(new RegistryClient(host), 'team/app', SUBJECT, descriptor(n))));
    const have = (JSON.parse(state.body) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest[7]).sort();
    expect(have).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', 'c']);
  });

  test('an immutable tag gives REGISTRY_TAG_IMMUTABLE with a hint, not a retry loop', async () => {
    const { addReferrer } = await import('../../../../src/core/oci/distribute.js');
    for (const answer of [
      { status: 400, body: '{"errors":[{"code":"TAG_INVALID","message":"tag is immutable"}]}' },
      { status: 409, body: '' },
      {
        status: 400,
        body: 'The image tag already exists in the repository and cannot be overwritten because the repository is immutable.',
      },
    ]) {
      let puts = 0;
      const { host } = await referrersRegistry((_req, res) => {
        puts++;
        res.statusCode = answer.status;
        res.end(answer.body);
        return true;
      });
      const err = await addReferrer(new RegistryClient(host), 'team/app', SUBJECT, descriptor('d')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REGISTRY_TAG_IMMUTABLE' });
      expect((err as { hint?: string }).hint).toMatch(/sha256-/);
      expect(puts).toBe(1);
    }
  });

  test('a registry that keeps answering 412 ends in a registry error after a few reads', async () => {
    const { addReferrer } = await import('../../../../src/core/oci/distribute.js');
    let puts = 0;
    const { host } = await referrersRegistry((_req, res) => {
      puts++;
      res.statusCode = 412;
      res.end();
      return true;
    });
    await expect(addReferrer(new RegistryClient(host), 'team/app', SUBJECT, descriptor('d'))).rejects.toMatchObject({
      code: 'REGISTRY_ERROR',
    });
    expect(puts).toBe(5);
  });
});

describe('deadlines', () => {
  /** A blob server sending `chunks` chunks `every` ms apart, or stalling after the first. */
  async function trickle(chunks: number, every: number, stall = false): Promise<string> {
    return serve('127.0.0.1', (_req, res) => {
      res.statusCode = 200;
      let sent = 0;
      const tick = () => {
        if (res.destroyed) return;
        res.write(Buffer.alloc(1024, 0x61));
        if (++sent === chunks) return void res.end();
        if (!(stall && sent === 1)) setTimeout(tick, every);
      };
      tick();
    });
  }

  test('a download that keeps moving is never cut off, however long it takes; one that stalls is (REGISTRY_UNREACHABLE)', async () => {
    // 12 chunks 100 ms apart: 1.1 s in all, far beyond the 400 ms idle deadline.
    const moving = new RegistryClient(await trickle(12, 100), { timeoutMs: 400 });
    let n = 0;
    for await (const c of moving.blobChunks('team/app', DIGEST)) n += c.length;
    expect(n).toBe(12 * 1024);
    const stalled = new RegistryClient(await trickle(12, 100, true), { timeoutMs: 400 });
    const started = Date.now();
    const err = await (async () => {
      for await (const _c of stalled.blobChunks('team/app', DIGEST)) void _c;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REGISTRY_UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

test('a manifest trickled one byte at a time is cut off by its total deadline, however steadily it moves', async () => {
  const host = await serve('127.0.0.1', (_req, res) => {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
    const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('{')), 50);
  });
  const started = Date.now();
  await expect(new RegistryClient(host, { timeoutMs: 600 }).getManifest('team/app', 'latest')).rejects.toMatchObject({
    code: 'REGISTRY_UNREACHABLE',
  });
  expect(Date.now() - started).toBeLessThan(10_000);
});
