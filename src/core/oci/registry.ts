// The OCI distribution API over the built-in fetch (no registry SDK): blobs (HEAD, chunked
// and monolithic uploads), manifests, tags, referrers; basic and bearer-token auth.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ArtifactsError } from '../errors.js';
import { parseJsonQuiet, readUserFile } from '../store/checked-read.js';

/** `registry[:port]/repository[:tag][@sha256:…]`. */
export interface RegistryRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Parse a registry reference; the registry part must name a host (it has a dot or a
 * port, or is localhost). */
export function parseRef(ref: string): RegistryRef {
  const bad = (why: string) =>
    new ArtifactsError('USAGE', `${JSON.stringify(ref.slice(0, 200))} is not a registry reference (${why})`, {
      hint: 'Use REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], for example localhost:5000/team/artifacts:prod.',
    });
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad('the digest is not sha256:<64 hex>');
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw bad('no registry host');
  const registry = rest.slice(0, slash);
  if (
    !/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/.test(registry) ||
    !(registry.includes('.') || registry.includes(':') || registry.startsWith('localhost'))
  )
    throw bad('the first part is not a registry host');
  let repository = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = repository.lastIndexOf(':');
  if (colon >= 0) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
    if (!TAG.test(tag)) throw bad('the tag is not a valid tag');
  }
  if (!REPOSITORY.test(repository) || repository.length > 255) throw bad('the repository name is not valid');
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

export function formatRef(r: RegistryRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Is the registry host a loopback address (plain HTTP allowed without --plain-http)? */
export function isLoopback(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || /^127(?:\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

export interface Credentials {
  username: string;
  password: string;
}

/** Credentials for a registry: ARTIFACTS_REGISTRY_USER / ARTIFACTS_REGISTRY_PASSWORD, else
 * `~/.docker/config.json` (`auths[host].auth`, or its username and password), read like any
 * file a user names (a regular file, bounded: a FIFO there never blocks). */
export async function credentialsFor(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (env.ARTIFACTS_REGISTRY_USER !== undefined && env.ARTIFACTS_REGISTRY_PASSWORD !== undefined)
    return { username: env.ARTIFACTS_REGISTRY_USER, password: env.ARTIFACTS_REGISTRY_PASSWORD };
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  const bytes = await readUserFile(file, { maxBytes: 1 << 20, code: 'REGISTRY_AUTH', label: file }).catch(() => undefined);
  const parsed = bytes ? parseJsonQuiet(bytes.toString('utf8')) : undefined;
  if (!parsed?.ok || parsed.value === null || typeof parsed.value !== 'object') return undefined;
  const doc = parsed.value as { auths?: Record<string, { auth?: string; username?: string; password?: string } | null> };
  const auths = doc.auths !== null && typeof doc.auths === 'object' ? doc.auths : {};
  const entry = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
  if (entry === null || typeof entry !== 'object') return undefined;
  if (typeof entry.auth === 'string') {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string')
    return { username: entry.username, password: entry.password };
  return undefined;
}

export interface ClientOptions {
  plainHttp?: boolean;
  /** (Or the promise of them: a client is made at once, its credentials read when needed.) */
  credentials?: Credentials | Promise<Credentials | undefined> | undefined;
  /** How long a request may make no progress (ms): no response, or no body bytes sent or
   * received for that long, ends it. A slow transfer that keeps moving is never cut off. */
  timeoutMs?: number;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^(\w+)\s*(.*)$/.exec(header.trim());
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/** A client of one registry. */
export class RegistryClient {
  readonly base: string;
  private authorization: string | undefined;

  constructor(
    readonly registry: string,
    private readonly opts: ClientOptions = {},
  ) {
    const plain = opts.plainHttp || isLoopback(registry);
    this.base = `${plain ? 'http' : 'https'}://${registry}`;
  }

  /** Send a request, answering an auth challenge once (basic, or a bearer token). */
  async request(
    method: string,
    path: string,
    init: {
      headers?: Record<string, string>;
      /** The body; a function is called for each attempt (a stream can be sent only once). */
      body?: Uint8Array | string | (() => Uint8Array | ReadableStream<Uint8Array>);
      expect: number[];
      scope?: string;
      /** A blob transfer: ended only by no progress (a large blob over a slow link takes as
       * long as it takes). Any other request also has a total deadline. */
      bulk?: boolean;
    },
  ): Promise<Response> {
    const url = path.startsWith('http://') || path.startsWith('https://') ? path : `${this.base}${path}`;
    if (!url.startsWith(this.base))
      throw new ArtifactsError('REGISTRY_ERROR', `the registry sent this client to another origin (${url.slice(0, 200)})`);
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(method, url, init);
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        await this.authenticate(parseChallenge(res.headers.get('www-authenticate')), init.scope);
        continue;
      }
      if (init.expect.includes(res.status)) return res;
      const text = (await readBounded(res, 4096, 'error').catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 300);
      if (res.status === 401 || res.status === 403)
        throw new ArtifactsError(
          'REGISTRY_AUTH',
          `${this.registry} refused ${method} ${path.split('?')[0]} (${res.status})${text ? `: ${text}` : ''}`,
          {
            hint: 'Give credentials: ARTIFACTS_REGISTRY_USER and ARTIFACTS_REGISTRY_PASSWORD, or `docker login` (auths in ~/.docker/config.json).',
          },
        );
      throw new ArtifactsError(
        'REGISTRY_ERROR',
        `${this.registry} answered ${method} ${path.split('?')[0]} with ${res.status}${text ? `: ${text}` : ''}`,
        {
          details: { status: res.status },
        },
      );
    }
  }

  private async send(
    method: string,
    url: string,
    init: {
      headers?: Record<string, string>;
      body?: Uint8Array | string | (() => Uint8Array | ReadableStream<Uint8Array>);
      bulk?: boolean;
    },
  ): Promise<Response> {
    const ms = this.opts.timeoutMs ?? 120_000;
    const idle = idleWatch(ms, init.bulk ? undefined : ms);
    const raw = typeof init.body === 'function' ? init.body() : init.body;
    const body = raw instanceof ReadableStream ? idle.tap(raw) : raw;
    try {
      // Redirects are followed by hand: only for reads (a registry may send blob downloads to
      // its storage), at most 5, and never with the registry's credentials to another origin.
      let target = url;
      for (let hops = 0; ; hops++) {
        const headers: Record<string, string> = { ...(init.headers ?? {}) };
        if (this.authorization && new URL(target).origin === new URL(this.base).origin) headers.authorization = this.authorization;
        const res = await fetch(target, {
          method,
          headers,
          ...(body !== undefined ? { body, duplex: 'half' as const } : {}),
          redirect: 'manual',
          signal: idle.signal,
        });
        const loc = res.headers.get('location');
        if (![301, 302, 303, 307, 308].includes(res.status) || !loc || !(method === 'GET' || method === 'HEAD')) return idle.response(res);
        await res.body?.cancel();
        if (hops >= 5) throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} redirects ${method} more than 5 times`);
        let next: URL;
        try {
          next = new URL(loc, target);
        } catch {
          throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} redirects to something that is not a URL`);
        }
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && (this.opts.plainHttp || isLoopback(next.host))))
          throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} redirects to ${next.origin}, which is not HTTPS`);
        target = next.toString();
      }
    } catch (e) {
      idle.stop();
      if (e instanceof ArtifactsError) throw e;
      throw new ArtifactsError(
        'REGISTRY_UNREACHABLE',
        `cannot reach ${this.registry} (${(e as Error).cause ? String((e as { cause: Error }).cause.message ?? (e as Error).cause) : (e as Error).message})`,
        {
          hint: this.base.startsWith('https')
            ? 'Check the address; a registry without TLS needs --plain-http (only on a trusted network).'
            : 'Check that the registry runs at this address.',
        },
      );
    }
  }

  private async authenticate(c: Challenge | undefined, scope: string | undefined): Promise<void> {
    const creds = await this.opts.credentials;
    if (c?.scheme === 'basic' || (!c && creds)) {
      if (!creds)
        throw new ArtifactsError('REGISTRY_AUTH', `${this.registry} needs credentials, and none are configured`, {
          hint: 'Set ARTIFACTS_REGISTRY_USER and ARTIFACTS_REGISTRY_PASSWORD, or `docker login` (auths in ~/.docker/config.json).',
        });
      this.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return;
    }
    if (c?.scheme === 'bearer' && c.params.realm) {
      let u: URL;
      try {
        u = new URL(c.params.realm);
      } catch {
        throw new ArtifactsError('REGISTRY_AUTH', `${this.registry} names a token realm that is not a URL`);
      }
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && (this.opts.plainHttp || isLoopback(u.host))))
        throw new ArtifactsError('REGISTRY_AUTH', `${this.registry} names a token realm that is not HTTPS (${u.origin})`);
      if (c.params.service) u.searchParams.set('service', c.params.service);
      const s = c.params.scope ?? scope;
      if (s) u.searchParams.set('scope', s);
      const headers: Record<string, string> = {};
      // Credentials go to the realm only over HTTPS or to the registry's own origin.
      if (creds && (u.protocol === 'https:' || u.origin === new URL(this.base).origin))
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      let res: Response;
      try {
        res = await fetch(u, { headers, redirect: 'manual', signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000) });
      } catch (e) {
        throw new ArtifactsError('REGISTRY_AUTH', `cannot get a token from ${u.origin} (${(e as Error).message})`);
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new ArtifactsError('REGISTRY_AUTH', `${u.origin} refused a token (${res.status})`, {
          hint: 'Give credentials: ARTIFACTS_REGISTRY_USER and ARTIFACTS_REGISTRY_PASSWORD, or `docker login`.',
        });
      }
      let body: unknown;
      try {
        body = JSON.parse((await readBounded(res, 64 * 1024, 'token')).toString('utf8'));
      } catch {
        body = undefined;
      }
      const b = body !== null && typeof body === 'object' ? (body as { token?: unknown; access_token?: unknown }) : {};
      const token = b.token ?? b.access_token;
      if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token))
        throw new ArtifactsError('REGISTRY_AUTH', `${u.origin} gave no token`);
      this.authorization = `Bearer ${token}`;
      return;
    }
    throw new ArtifactsError('REGISTRY_AUTH', `${this.registry} asks for an authentication this client does not speak`);
  }

  private scope(repository: string, push: boolean): string {
    return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`, {
      expect: [200, 404],
      scope: this.scope(repository, true),
    });
    return res.status === 200;
  }

  /**
   * Upload a blob: one monolithic PUT below `monolithicLimit`, else PATCH chunks (sized from
   * the registry's OCI-Chunk-Min-Length, 8 MiB by default; shrunk on 413/416) then a PUT.
   * `range(from, length)` gives those bytes of the blob, as bytes or a stream: a stream is
   * sent as it is read, so a chunk costs no more memory than the stream's buffer.
   */
  async pushBlob(
    repository: string,
    digest: string,
    size: number,
    range: (from: number, length: number) => Uint8Array | ReadableStream<Uint8Array>,
    opts: { monolithicLimit?: number; onProgress?: (sent: number) => void } = {},
  ): Promise<void> {
    const scope = this.scope(repository, true);
    const start = await this.request('POST', `/v2/${repository}/blobs/uploads/`, { expect: [202], scope });
    let location = this.resolveLocation(start.headers.get('location'));
    await start.body?.cancel();
    const limit = opts.monolithicLimit ?? 32 * 1024 * 1024;
    if (size < limit) {
      const res = await this.request('PUT', withQuery(location, 'digest', digest), {
        bulk: true,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: () => range(0, size),
        expect: [201],
        scope,
      });
      await res.body?.cancel();
      opts.onProgress?.(size);
      return;
    }
    const min = Number(start.headers.get('oci-chunk-min-length') ?? 0);
    // Chunks are multiples of the registry's minimum (8 MiB when it names none), at least
    // 64 MiB: each chunk is streamed from the file, so its size costs no memory, while every
    // request costs a round trip and the registry's own bookkeeping.
    const unit = Math.max(Number.isSafeInteger(min) && min > 0 ? min : 0, 8 * 1024 * 1024);
    let chunkSize = unit * Math.max(1, Math.ceil((64 * 1024 * 1024) / unit));
    let sent = 0;
    for (let stalls = 0; sent < size;) {
      const length = Math.min(chunkSize, size - sent);
      const end = sent + length - 1;
      const from = sent;
      const res = await this.request('PATCH', location, {
        bulk: true,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${end}`, 'content-length': String(length) },
        body: () => range(from, length),
        expect: [202, 413, 416],
        scope,
      });
      await res.body?.cancel();
      if (res.status !== 202) {
        if (chunkSize <= 1024 * 1024)
          throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} refuses chunks of ${chunkSize} bytes (${res.status})`);
        chunkSize = Math.floor(chunkSize / 2);
        continue;
      }
      location = this.resolveLocation(res.headers.get('location'));
      // The registry says how much it has: a Range that does not advance restarts the session.
      const got = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get('range') ?? '');
      const has = got ? Number(got[1]) + 1 : end + 1;
      if (has > sent && has <= size) {
        sent = has;
        opts.onProgress?.(sent);
        continue;
      }
      if (++stalls > 3) throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} does not take the upload of ${digest} any further`);
      const restart = await this.request('POST', `/v2/${repository}/blobs/uploads/`, { expect: [202], scope });
      location = this.resolveLocation(restart.headers.get('location'));
      await restart.body?.cancel();
      sent = 0;
    }
    // (Closing a large upload may take the registry's storage a while: no total deadline.)
    const done = await this.request('PUT', withQuery(location, 'digest', digest), {
      bulk: true,
      headers: { 'content-length': '0' },
      expect: [201],
      scope,
    });
    await done.body?.cancel();
  }

  private resolveLocation(loc: string | null): string {
    if (!loc) throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} gave no upload location`);
    let u: URL;
    try {
      u = new URL(loc, this.base);
    } catch {
      throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} gave an upload location that is not a URL`);
    }
    if (u.origin !== new URL(this.base).origin)
      throw new ArtifactsError('REGISTRY_ERROR', `${this.registry} sent the upload to another origin (${u.origin})`);
    return u.toString();
  }

  /** PUT a manifest; with `ifMatch`, only over the manifest of that ETag (a registry that
   * checks it answers 412 when the tag moved meanwhile). */
  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string, ifMatch?: string): Promise<void> {
    const res = await this.request('PUT', `/v2/${repository}/manifests/${reference}`, {
      headers: { 'content-type': mediaType, ...(ifMatch ? { 'if-match': ifMatch } : {}) },
      body: bytes,
      expect: [201, 200],
      scope: this.scope(repository, true),
    });
    await res.body?.cancel();
  }

  /** A manifest's bytes (at most `maxBytes`) and the media type the registry gives. */
  async getManifest(
    repository: string,
    reference: string,
    maxBytes = 4 * 1024 * 1024,
  ): Promise<{ bytes: Buffer; mediaType: string; etag?: string } | undefined> {
    const res = await this.request('GET', `/v2/${repository}/manifests/${reference}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
      expect: [200, 404],
      scope: this.scope(repository, false),
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const etag = res.headers.get('etag');
    return {
      bytes: await readBounded(res, maxBytes, `manifest ${reference}`),
      mediaType: res.headers.get('content-type') ?? '',
      ...(etag && etag.length <= 256 ? { etag } : {}),
    };
  }

  /** A blob's bytes, at most `maxBytes`. */
  async getBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const res = await this.request('GET', `/v2/${repository}/blobs/${digest}`, { expect: [200], scope: this.scope(repository, false) });
    return readBounded(res, maxBytes, `blob ${digest}`);
  }

  /** A blob as a stream of chunks (the caller checks the digest and the size). */
  async *blobChunks(repository: string, digest: string): AsyncIterable<Uint8Array> {
    const res = await this.request('GET', `/v2/${repository}/blobs/${digest}`, {
      expect: [200],
      scope: this.scope(repository, false),
      bulk: true,
    });
    if (!res.body) return;
    try {
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) yield c;
    } catch (e) {
      if (e instanceof ArtifactsError) throw e;
      throw new ArtifactsError(
        'REGISTRY_UNREACHABLE',
        `the registry stopped sending blob ${digest} (${(e as Error).name === 'TimeoutError' ? 'too slow' : (e as Error).message})`,
      );
    }
  }

  /** The referrers API (`/v2/<name>/referrers/<digest>`); undefined when the registry lacks it. */
  async referrers(repository: string, digest: string): Promise<Buffer | undefined> {
    const res = await this.request('GET', `/v2/${repository}/referrers/${digest}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      expect: [200, 404, 400, 405],
      scope: this.scope(repository, false),
    });
    if (res.status !== 200 || !(res.headers.get('content-type') ?? '').includes('application/vnd.oci.image.index.v1+json')) {
      await res.body?.cancel();
      return undefined;
    }
    return readBounded(res, 4 * 1024 * 1024, 'referrers');
  }
}

/**
 * The deadlines of one request: the signal aborts when `ms` pass without progress (the
 * response not yet here, or no body chunk sent or received), or `totalMs` after it began.
 * Bodies sent through `tap()` and the body of `response(res)` re-arm it with each chunk; it
 * stops when the body ends.
 */
function idleWatch(ms: number, totalMs?: number) {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const total =
    totalMs === undefined
      ? undefined
      : setTimeout(() => ctl.abort(new DOMException(`no answer within ${totalMs / 1000} s`, 'TimeoutError')), totalMs);
  total?.unref();
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new DOMException(`no progress for ${ms / 1000} s`, 'TimeoutError')), ms);
    timer.unref();
  };
  const stop = () => {
    clearTimeout(timer);
    clearTimeout(total);
  };
  arm();
  /** `src`, re-arming the deadline with each chunk: read only when the consumer asks (no
   * queue of its own, so an upload holds no more buffers than its source). */
  const tap = (src: ReadableStream<Uint8Array>) => {
    const reader = src.getReader();
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const r = await reader.read();
          if (r.done) return controller.close();
          arm();
          controller.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  };
  return {
    signal: ctl.signal,
    stop,
    tap,
    /** The response, its body re-arming the deadline per chunk (no body: stopped now). */
    response(res: Response): Response {
      if (!res.body) {
        stop();
        return res;
      }
      arm();
      const body = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            arm();
            controller.enqueue(chunk);
          },
          flush: stop,
        }),
      );
      return new Proxy(res, {
        get(target, prop) {
          if (prop === 'body') return body;
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  };
}

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}

async function readBounded(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  try {
    return await readBoundedRaw(res, maxBytes, what);
  } catch (e) {
    if (e instanceof ArtifactsError) throw e;
    throw new ArtifactsError(
      'REGISTRY_UNREACHABLE',
      `the registry stopped sending the ${what} (${(e as Error).name === 'TimeoutError' ? 'too slow' : (e as Error).message})`,
    );
  }
}

async function readBoundedRaw(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  if (res.body)
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      n += c.length;
      if (n > maxBytes) {
        await res.body.cancel().catch(() => undefined);
        throw new ArtifactsError('REGISTRY_INVALID', `the registry sent a ${what} larger than ${maxBytes} bytes`);
      }
      parts.push(Buffer.from(c));
    }
  return Buffer.concat(parts);
}
