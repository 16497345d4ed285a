import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A small Bearer-token registry in front of another registry (berth or docker-registry), for the
 * pull-through cache and upstream client tests: `/token` issues tokens to `user:password` (or to
 * anyone when `anonymous`), every /v2/ request needs a current token and is proxied to `target`
 * with `targetAuth`. Counts requests so that tests can assert what reached the upstream.
 */
export interface TokenUpstream {
  url: string;
  /** Every request as `METHOD path` (token requests included). */
  requests: string[];
  tokensIssued: number;
  /** Scopes requested at /token, in order. */
  scopes: string[];
  close(): Promise<void>;
  /** Makes /v2/ answer 503 (true) or proxy again (false). */
  setDown(down: boolean): void;
  /** Answers the next `n` /v2/ requests with 503 (to test retries). */
  failNext(n: number): void;
  /**
   * Sends only the first `bytes` of blob `digest` until `release()` (to show that a client gets
   * bytes before the upstream finished sending them).
   */
  hold(digest: string, bytes: number): { release(): void };
  /** Flips one byte in every response body whose path ends with `path` (until `false`). */
  corrupt(path: string, on: boolean): void;
}

export async function startTokenUpstream(opts: {
  target: string;
  targetAuth?: string;
  user?: string;
  password?: string;
  anonymous?: boolean;
  tokenLifetimeSeconds?: number;
}): Promise<TokenUpstream> {
  const tokens = new Map<string, number>();
  const state = { requests: [] as string[], tokensIssued: 0, scopes: [] as string[], down: false, failNext: 0 };
  const holds = new Map<string, { bytes: number; released: Promise<void>; release: () => void }>();
  const corrupted = new Set<string>();
  let base = '';
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    state.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === '/token') {
      const auth = req.headers.authorization;
      const expected = opts.user ? `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}` : undefined;
      if (!(opts.anonymous && !auth) && auth !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const token = randomBytes(16).toString('hex');
      const lifetime = opts.tokenLifetimeSeconds ?? 300;
      tokens.set(token, Date.now() + lifetime * 1000);
      state.tokensIssued++;
      state.scopes.push(url.searchParams.getAll('scope').join(' '));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: lifetime }));
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expiry = bearer ? tokens.get(bearer) : undefined;
    if (!expiry || expiry < Date.now()) {
      res
        .writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer realm="${base}/token",service="token-upstream",scope="repository:x:pull"`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (state.down || state.failNext > 0) {
      if (state.failNext > 0) state.failNext--;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE"}]}');
      return;
    }
    const target = new URL(req.url ?? '/', opts.target);
    const headers = { ...req.headers, host: target.host } as unknown as Record<string, string>;
    delete headers.authorization;
    if (opts.targetAuth) headers.authorization = opts.targetAuth;
    const upstream = httpRequest(target, { method: req.method, headers }, (up) => {
      const out = { ...up.headers } as Record<string, string | string[]>;
      // Locations point at the target; rewrite them to this proxy.
      if (typeof out.location === 'string') out.location = out.location.replace(opts.target.replace(/\/$/, ''), base);
      res.writeHead(up.statusCode ?? 502, out);
      if (corrupted.has(target.pathname.slice(target.pathname.lastIndexOf('/') + 1)) && req.method === 'GET') {
        let first = true;
        up.on('data', (chunk: Buffer) => {
          const copy = Buffer.from(chunk);
          if (first && copy.length > 0) copy[0] = copy[0]! ^ 0xff;
          first = false;
          res.write(copy);
        });
        up.on('end', () => res.end());
        return;
      }
      const held = [...holds.entries()].find(([digest]) => target.pathname.endsWith(`/blobs/${digest}`))?.[1];
      if (!held || req.method !== 'GET') {
        up.pipe(res);
        return;
      }
      void (async () => {
        let sent = 0;
        for await (const chunk of up) {
          let buf = chunk as Buffer;
          if (sent < held.bytes && sent + buf.length > held.bytes) {
            const first = buf.subarray(0, held.bytes - sent);
            res.write(first);
            sent += first.length;
            buf = buf.subarray(first.length);
          }
          if (sent >= held.bytes) await held.released;
          res.write(buf);
          sent += buf.length;
        }
        res.end();
      })();
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    get requests() {
      return state.requests;
    },
    get tokensIssued() {
      return state.tokensIssued;
    },
    get scopes() {
      return state.scopes;
    },
    setDown(down: boolean) {
      state.down = down;
    },
    failNext(n: number) {
      state.failNext = n;
    },
    corrupt(path: string, on: boolean) {
      if (on) corrupted.add(path);
      else corrupted.delete(path);
    },
    hold(digest: string, bytes: number) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.set(digest, { bytes, released, release });
      return {
        release() {
          holds.delete(digest);
          release();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A pass-through HTTP proxy to `target` that records every request (`METHOD path`). */
export interface CountingProxy {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const requests: string[] = [];
  let base = '';
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', target);
    const headers = { ...req.headers, host: url.host } as unknown as Record<string, string>;
    const upstream = httpRequest(url, { method: req.method, headers }, (up) => {
      const out = { ...up.headers } as Record<string, string | string[]>;
      if (typeof out.location === 'string') out.location = out.location.replace(target.replace(/\/$/, ''), base);
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
