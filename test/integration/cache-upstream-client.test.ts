import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { RegistryClient, isUpstreamError, parseChallenge } from '../../src/upstream/index.js';
import type { Digest } from '../../src/core/index.js';
import { startTokenUpstream, type TokenUpstream } from './cache-upstreams.js';

let berth: TestServer;
let oci: OciTestClient;
let token: TokenUpstream;
let image: { digest: string; body: Buffer; layers: string[] };

beforeAll(async () => {
  berth = await startTestServer();
  oci = new OciTestClient(berth.url, berth.authHeader);
  image = await oci.pushImage('lib/app', 'v1', { layers: 2 });
  token = await startTokenUpstream({ target: berth.url, targetAuth: berth.authHeader, user: 'alice', password: 'wonderland' });
});

afterAll(async () => {
  await token?.close();
  await berth?.close();
});

function basicClient(): RegistryClient {
  return new RegistryClient({ baseUrl: berth.url, allowHttp: true, credentials: { username: berth.accessKeyId, password: berth.secretAccessKey } });
}

describe('RegistryClient against berth (Basic auth)', () => {
  it('refuses plain http unless allowed', () => {
    expect(() => new RegistryClient({ baseUrl: berth.url })).toThrow(/plain http/);
  });

  it('gets a manifest by tag and by digest with a verified digest', async () => {
    const client = basicClient();
    const byTag = await client.getManifest('lib/app', 'v1');
    expect(byTag.digest).toBe(image.digest);
    expect(byTag.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(byTag.body.equals(image.body)).toBe(true);
    const byDigest = await client.getManifest('lib/app', image.digest);
    expect(byDigest.digest).toBe(image.digest);
    const head = await client.headManifest('lib/app', 'v1');
    expect(head).toEqual({ digest: image.digest, mediaType: byTag.mediaType, size: image.body.length });
    expect(await client.headManifest('lib/app', 'missing')).toBeUndefined();
  });

  it('reports NOT_FOUND and UNAUTHORIZED as UpstreamError kinds', async () => {
    await expect(basicClient().getManifest('lib/app', 'nope')).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    const anonymous = new RegistryClient({ baseUrl: berth.url, allowHttp: true });
    await expect(anonymous.getManifest('lib/app', 'v1')).rejects.toMatchObject({ kind: 'UNAUTHORIZED' });
    const wrong = new RegistryClient({ baseUrl: berth.url, allowHttp: true, credentials: { username: berth.accessKeyId, password: 'wrong' } });
    await expect(wrong.getManifest('lib/app', 'v1')).rejects.toSatisfy((e) => isUpstreamError(e) && (e.kind === 'UNAUTHORIZED' || e.kind === 'DENIED'));
  });

  it('streams blobs with digest verification', async () => {
    const client = basicClient();
    const layer = image.layers[0] as Digest;
    expect(await client.headBlob('lib/app', layer)).toEqual({ size: 1024 });
    const bytes = await buffer(await client.getBlob('lib/app', layer));
    expect(sha256(bytes)).toBe(layer);
    expect(await client.headBlob('lib/app', sha256('absent') as Digest)).toBeUndefined();
  });

  it('fails the stream when the size is not what the manifest said', async () => {
    const client = basicClient();
    const layer = image.layers[0] as Digest;
    await expect(client.getBlob('lib/app', layer, { size: 10 })).rejects.toMatchObject({ kind: 'SIZE_MISMATCH' });
  });

  it('pushes blobs (buffer, stream factory, one-shot stream), mounts, and puts a manifest', async () => {
    const client = basicClient();
    const a = randomBytes(5000);
    const b = randomBytes(300_000);
    const c = randomBytes(70_000);
    await client.pushBlob('copy/app', sha256(a) as Digest, a.length, a);
    await client.pushBlob('copy/app', sha256(b) as Digest, b.length, () => Readable.from([b.subarray(0, 1000), b.subarray(1000)]));
    await client.pushBlob('copy/app', sha256(c) as Digest, c.length, Readable.from([c]));
    expect(await client.headBlob('copy/app', sha256(b) as Digest)).toEqual({ size: b.length });
    expect(await client.mountBlob('copy/other', sha256(a) as Digest, 'copy/app')).toBe(true);
    expect(await client.mountBlob('copy/other', sha256('never') as Digest, 'copy/app')).toBe(false);
    // A wrong digest is refused by the registry.
    await expect(client.pushBlob('copy/app', sha256('other') as Digest, a.length, a)).rejects.toBeTruthy();

    const src = await client.getManifest('lib/app', 'v1');
    const manifest = JSON.parse(src.body.toString()) as { config: { digest: Digest; size: number }; layers: { digest: Digest; size: number }[] };
    for (const d of [manifest.config, ...manifest.layers]) {
      if (!(await client.mountBlob('copy/app', d.digest, 'lib/app'))) {
        await client.pushBlob('copy/app', d.digest, d.size, () => Readable.from([]));
      }
    }
    expect(await client.putManifest('copy/app', 'v1', src.body, src.mediaType)).toBe(image.digest);
    expect(await client.listTags('copy/app')).toEqual(['v1']);
  });
});

describe('RegistryClient against a Bearer-token registry', () => {
  it('parses challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"')).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
    });
    expect(parseChallenge('Basic realm="berth"')).toEqual({ scheme: 'basic' });
    expect(parseChallenge(null)).toBeUndefined();
  });

  it('gets a token for the scope, caches it, and pulls', async () => {
    const client = new RegistryClient({ baseUrl: token.url, allowHttp: true, credentials: async () => ({ username: 'alice', password: 'wonderland' }) });
    const before = token.tokensIssued;
    const m = await client.getManifest('lib/app', 'v1');
    expect(m.digest).toBe(image.digest);
    const bytes = await buffer(await client.getBlob('lib/app', image.layers[1] as Digest));
    expect(sha256(bytes)).toBe(image.layers[1]);
    await client.headManifest('lib/app', 'v1');
    expect(token.tokensIssued - before).toBe(1);
    expect(token.scopes.at(-1)).toBe('repository:lib/app:pull');
    // A push needs a pull,push token: one more token for the new scope.
    await client.pushBlob('lib/other', sha256('x') as Digest, 1, Buffer.from('x'));
    expect(token.tokensIssued - before).toBe(2);
    expect(token.scopes.at(-1)).toBe('repository:lib/other:pull,push');
  });

  it('fetches a new token when the cached one expired', async () => {
    const short = await startTokenUpstream({ target: berth.url, targetAuth: berth.authHeader, anonymous: true, tokenLifetimeSeconds: 1 });
    try {
      const client = new RegistryClient({ baseUrl: short.url, allowHttp: true });
      await client.getManifest('lib/app', 'v1');
      await new Promise((r) => setTimeout(r, 1100));
      await client.getManifest('lib/app', 'v1');
      expect(short.tokensIssued).toBe(2);
    } finally {
      await short.close();
    }
  });

  it('fails with UNAUTHORIZED when the token endpoint refuses the credentials', async () => {
    const client = new RegistryClient({ baseUrl: token.url, allowHttp: true, credentials: { username: 'alice', password: 'nope' } });
    await expect(client.getManifest('lib/app', 'v1')).rejects.toMatchObject({ kind: 'UNAUTHORIZED' });
  });

  it('retries 503 answers with backoff and gives up after the retries', async () => {
    const client = new RegistryClient({ baseUrl: token.url, allowHttp: true, credentials: { username: 'alice', password: 'wonderland' }, retryBaseMs: 5 });
    token.failNext(2);
    expect((await client.getManifest('lib/app', 'v1')).digest).toBe(image.digest);
    token.failNext(10);
    await expect(client.getManifest('lib/app', 'v1')).rejects.toMatchObject({ kind: 'UNREACHABLE', status: 503 });
    token.failNext(0);
  });

  it('fails a blob stream when the upstream stops sending mid-blob', async () => {
    const big = randomBytes(2 * 1024 * 1024);
    const digest = (await oci.pushBlob('lib/app', big)) as Digest;
    const gate = token.hold(digest, 64 * 1024);
    try {
      const client = new RegistryClient({ baseUrl: token.url, allowHttp: true, credentials: { username: 'alice', password: 'wonderland' }, timeoutMs: 500 });
      const stream = await client.getBlob('lib/app', digest);
      await expect(buffer(stream)).rejects.toMatchObject({ kind: 'UNREACHABLE' });
    } finally {
      gate.release();
    }
  });

  it('reports a stopped registry as UNREACHABLE', async () => {
    const client = new RegistryClient({ baseUrl: 'http://127.0.0.1:1', allowHttp: true, retries: 1, retryBaseMs: 1 });
    await expect(client.getManifest('lib/app', 'v1')).rejects.toMatchObject({ kind: 'UNREACHABLE' });
  });
});
