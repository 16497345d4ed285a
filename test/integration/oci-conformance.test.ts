/**
 * The OCI door against distribution-spec v1.1: each block is one section of the spec, each test
 * one of its MUST clauses (status codes, headers, error codes), plus ECR's name and size rules.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAccountId, parseRepositoryName } from '../../src/core/index.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
let oci: OciTestClient;

beforeAll(async () => {
  server = await startTestServer();
  oci = new OciTestClient(server.url, server.authHeader);
});
afterAll(() => server.close());

function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.url);
    const req = request({ hostname, port, path, method: 'GET', headers: { authorization: server.authHeader } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors: { code: string }[] };
  return body.errors[0]!.code;
}

describe('authentication', () => {
  it('answers /v2/ with 200 and the API version header', async () => {
    const res = await oci.request('GET', '/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('challenges anonymous callers with 401 and WWW-Authenticate Basic', async () => {
    const res = await new OciTestClient(server.url).request('GET', '/v2/');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="berth"/);
    expect(await errorCode(res)).toBe('UNAUTHORIZED');
  });

  it('refuses a wrong secret and an unknown key', async () => {
    for (const auth of [basicAuth(server.accessKeyId, 'wrong-secret-wrong-secret'), basicAuth('AKIAUNKNOWNUNKNOWN00', server.secretAccessKey)]) {
      const res = await new OciTestClient(server.url, auth).request('GET', '/v2/');
      expect(res.status).toBe(401);
    }
  });

  it("refuses a caller in another account's registry with 403 DENIED", async () => {
    const res = await oci.request('GET', '/v2/111122223333/team/app/tags/list');
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('DENIED');
  });
});

describe('pushing blobs', () => {
  it('accepts a monolithic POST with ?digest and serves the blob', async () => {
    const data = randomBytes(5000);
    const digest = sha256(data);
    const res = await oci.request('POST', `/v2/push/mono/blobs/uploads/?digest=${digest}`, { body: data });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/push/mono/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const get = await oci.request('GET', `/v2/push/mono/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('docker-content-digest')).toBe(digest);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
  });

  it('refuses a monolithic POST whose body does not match the digest, storing nothing', async () => {
    const data = randomBytes(100);
    const claimed = sha256(randomBytes(100));
    const res = await oci.request('POST', `/v2/push/mono/blobs/uploads/?digest=${claimed}`, { body: data });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
    expect((await oci.request('HEAD', `/v2/push/mono/blobs/${claimed}`)).status).toBe(404);
    expect((await oci.request('HEAD', `/v2/push/mono/blobs/${sha256(data)}`)).status).toBe(404);
  });

  it('refuses malformed and unsupported digests', async () => {
    for (const digest of ['sha256:abc', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nonsense', `sha256:${'A'.repeat(64)}`]) {
      const res = await oci.request('POST', `/v2/push/mono/blobs/uploads/?digest=${digest}`, { body: 'x' });
      expect(res.status, digest).toBe(400);
      expect(await errorCode(res)).toBe('DIGEST_INVALID');
    }
  });

  it('accepts POST then PUT with the whole body', async () => {
    const data = randomBytes(70_000);
    const start = await oci.request('POST', '/v2/push/putonly/blobs/uploads/');
    expect(start.status).toBe(202);
    const location = start.headers.get('location')!;
    expect(location).toMatch(/^\/v2\/push\/putonly\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.headers.get('docker-upload-uuid')).toBe(location.split('/').pop());
    const put = await oci.request('PUT', `${location}?digest=${sha256(data)}`, { body: data });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/push/putonly/blobs/${sha256(data)}`);
  });

  it('accepts chunks in order, answers 416 out of order, reports status, and completes', async () => {
    const data = randomBytes(300_000);
    const digest = sha256(data);
    const location = (await oci.request('POST', '/v2/push/chunked/blobs/uploads/')).headers.get('location')!;
    const first = await oci.request('PATCH', location, {
      body: data.subarray(0, 100_000),
      headers: { 'content-range': '0-99999', 'content-type': 'application/octet-stream' },
    });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-99999');
    expect(first.headers.get('location')).toBe(location);

    const outOfOrder = await oci.request('PATCH', location, {
      body: data.subarray(200_000),
      headers: { 'content-range': '200000-299999' },
    });
    expect(outOfOrder.status).toBe(416);
    expect(await errorCode(outOfOrder)).toBe('BLOB_UPLOAD_INVALID');

    const status = await oci.request('GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99999');

    // A streamed PATCH without Content-Range continues where the session is.
    const second = await oci.request('PATCH', location, { body: data.subarray(100_000, 200_000) });
    expect(second.status).toBe(202);
    expect(second.headers.get('range')).toBe('0-199999');
    // The last chunk goes with the closing PUT.
    const put = await oci.request('PUT', `${location}?digest=${digest}`, { body: data.subarray(200_000) });
    expect(put.status).toBe(201);
    const got = Buffer.from(await (await oci.request('GET', `/v2/push/chunked/blobs/${digest}`)).arrayBuffer());
    expect(got.equals(data)).toBe(true);
    // The session is gone once closed.
    expect((await oci.request('GET', location)).status).toBe(404);
  });

  it('refuses a Content-Range that disagrees with Content-Length', async () => {
    const location = (await oci.request('POST', '/v2/push/chunked/blobs/uploads/')).headers.get('location')!;
    const res = await oci.request('PATCH', location, { body: randomBytes(10), headers: { 'content-range': '0-19' } });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('SIZE_INVALID');
  });

  it('refuses a closing PUT whose digest does not match, and publishes nothing', async () => {
    const data = randomBytes(1000);
    const location = (await oci.request('POST', '/v2/push/chunked/blobs/uploads/')).headers.get('location')!;
    const wrong = sha256(randomBytes(10));
    const res = await oci.request('PUT', `${location}?digest=${wrong}`, { body: data });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
    expect((await oci.request('HEAD', `/v2/push/chunked/blobs/${wrong}`)).status).toBe(404);
  });

  it('cancels an upload session with DELETE', async () => {
    const location = (await oci.request('POST', '/v2/push/cancel/blobs/uploads/')).headers.get('location')!;
    await oci.request('PATCH', location, { body: randomBytes(10) });
    expect((await oci.request('DELETE', location)).status).toBe(204);
    const res = await oci.request('GET', location);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('sweeps sessions idle past the TTL, and keeps younger ones', async () => {
    const old = (await oci.request('POST', '/v2/push/sweep/blobs/uploads/')).headers.get('location')!;
    await oci.request('PATCH', old, { body: randomBytes(10) });
    await new Promise((r) => setTimeout(r, 300));
    // The old session was last used at least 300 ms before `beforeYoung`, the young one after it:
    // a TTL of (time since beforeYoung) + 150 ms lies between their idle times however slow the
    // machine is between here and the sweep.
    const beforeYoung = Date.now();
    const young = (await oci.request('POST', '/v2/push/sweep/blobs/uploads/')).headers.get('location')!;
    const { removed } = await server.app.registry.sweepUploads(Date.now() - beforeYoung + 150);
    expect(removed).toBeGreaterThanOrEqual(1);
    expect((await oci.request('GET', old)).status).toBe(404);
    expect((await oci.request('GET', young)).status).toBe(204);
  });

  it('does not let one repository use the upload session of another', async () => {
    const location = (await oci.request('POST', '/v2/push/owner/blobs/uploads/')).headers.get('location')!;
    const id = location.split('/').pop();
    await oci.request('POST', '/v2/push/other/blobs/uploads/');
    const res = await oci.request('GET', `/v2/push/other/blobs/uploads/${id}`);
    expect(res.status).toBe(404);
  });

  it('mounts a blob from another repository, and falls back to a session when it cannot', async () => {
    const digest = await oci.pushBlob('mount/source', randomBytes(2000));
    const mounted = await oci.request('POST', `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/mount/target/blobs/${digest}`);
    expect((await oci.request('HEAD', `/v2/mount/target/blobs/${digest}`)).status).toBe(200);

    const missing = sha256(randomBytes(10));
    const fallback = await oci.request('POST', `/v2/mount/target2/blobs/uploads/?mount=${missing}&from=mount/source`);
    expect(fallback.status).toBe(202);
    expect(fallback.headers.get('location')).toMatch(/\/blobs\/uploads\//);

    // A source in another account that the caller cannot read is not mounted either.
    const denied = await oci.request('POST', `/v2/mount/target3/blobs/uploads/?mount=${digest}&from=111122223333/mount/source`);
    expect(denied.status).toBe(202);
  });
});

describe('pulling blobs', () => {
  it('serves HEAD with size and digest, ranges with 206, and 416 beyond the end', async () => {
    const data = randomBytes(10_000);
    const digest = await oci.pushBlob('pull/blobs', data);
    const head = await oci.request('HEAD', `/v2/pull/blobs/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10000');
    expect(head.headers.get('docker-content-digest')).toBe(digest);

    const part = await oci.request('GET', `/v2/pull/blobs/blobs/${digest}`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/10000');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

    const suffix = await oci.request('GET', `/v2/pull/blobs/blobs/${digest}`, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(9990))).toBe(true);

    const beyond = await oci.request('GET', `/v2/pull/blobs/blobs/${digest}`, { headers: { range: 'bytes=20000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10000');
  });

  it('answers 404 BLOB_UNKNOWN for a blob the repository does not link, even when another repository has it', async () => {
    const digest = await oci.pushBlob('pull/has', randomBytes(100));
    await oci.pushBlob('pull/hasnot', randomBytes(100));
    const res = await oci.request('GET', `/v2/pull/hasnot/blobs/${digest}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('BLOB_UNKNOWN');
  });

  it('answers 404 NAME_UNKNOWN for a repository that does not exist', async () => {
    const res = await oci.request('GET', `/v2/nowhere/here/blobs/${sha256('x')}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('NAME_UNKNOWN');
  });

  it('deletes a blob link with DELETE (202), after which it is unknown', async () => {
    const digest = await oci.pushBlob('pull/del', randomBytes(100));
    expect((await oci.request('DELETE', `/v2/pull/del/blobs/${digest}`)).status).toBe(202);
    expect((await oci.request('HEAD', `/v2/pull/del/blobs/${digest}`)).status).toBe(404);
    expect((await oci.request('DELETE', `/v2/pull/del/blobs/${digest}`)).status).toBe(404);
  });
});

describe('manifests', () => {
  it('stores an OCI image manifest by tag and serves it by tag and digest with the exact bytes', async () => {
    const { digest, body } = await oci.pushImage('man/oci', 'v1', { layers: 2 });
    for (const ref of ['v1', digest]) {
      const res = await oci.request('GET', `/v2/man/oci/manifests/${ref}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
    }
    const head = await oci.request('HEAD', `/v2/man/oci/manifests/v1`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.length));
    expect(head.headers.get('docker-content-digest')).toBe(digest);
  });

  it('answers PUT with 201, Location and Docker-Content-Digest', async () => {
    const cfg = await oci.pushBlob('man/put', Buffer.from('{}'));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cfg, size: 2 },
      layers: [],
    };
    const res = await oci.putManifest('man/put', 'docker', manifest);
    const digest = sha256(JSON.stringify(manifest));
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/man/put/manifests/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const get = await oci.request('GET', '/v2/man/put/manifests/docker', {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(get.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('stores a manifest list and an OCI index whose children exist, and refuses one whose child is missing', async () => {
    const a = await oci.pushImage('man/index', 'amd64');
    const b = await oci.pushImage('man/index', 'arm64');
    for (const mediaType of ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']) {
      const childType = mediaType.includes('oci') ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
      const index = {
        schemaVersion: 2,
        mediaType,
        manifests: [
          { mediaType: childType, digest: a.digest, size: a.body.length, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: childType, digest: b.digest, size: b.body.length, platform: { architecture: 'arm64', os: 'linux' } },
        ],
      };
      const res = await oci.putManifest('man/index', 'multi', index);
      expect(res.status, mediaType).toBe(201);
      const got = await oci.request('GET', '/v2/man/index/manifests/multi', { headers: { accept: mediaType } });
      expect(got.headers.get('content-type')).toBe(mediaType);
    }
    const missing = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('nope'), size: 10 }],
    };
    const res = await oci.putManifest('man/index', 'broken', missing);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('MANIFEST_BLOB_UNKNOWN');
    expect((await oci.request('GET', '/v2/man/index/manifests/broken')).status).toBe(404);
  });

  it('refuses a manifest whose blobs are missing or of the wrong size, storing nothing', async () => {
    const cfg = await oci.pushBlob('man/blobs', Buffer.from('{}'));
    const unknownLayer = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256('absent'), size: 6 }],
    };
    const res = await oci.putManifest('man/blobs', 'v1', unknownLayer);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('MANIFEST_BLOB_UNKNOWN');
    const wrongSize = { ...unknownLayer, layers: [], config: { ...unknownLayer.config, size: 3 } };
    const res2 = await oci.putManifest('man/blobs', 'v1', wrongSize);
    expect(res2.status).toBe(400);
    expect(await errorCode(res2)).toBe('MANIFEST_INVALID');
    expect((await oci.request('GET', '/v2/man/blobs/manifests/v1')).status).toBe(404);
  });

  it('refuses Docker schema 1 with a clear error', async () => {
    const schema1 = { schemaVersion: 1, name: 'man/s1', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [] };
    const res = await oci.putManifest('man/s1', 'v1', schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('MANIFEST_INVALID');
    expect(body.errors[0]!.message).toMatch(/schema 1/);
  });

  it('refuses invalid JSON, a Content-Type that contradicts mediaType, and a digest reference that does not match', async () => {
    const bad = await oci.putManifest('man/bad', 'v1', Buffer.from('{not json'), 'application/vnd.oci.image.manifest.v1+json');
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('MANIFEST_INVALID');

    const { body } = await oci.pushImage('man/bad', 'ok');
    const mismatch = await oci.putManifest('man/bad', 'v2', body, 'application/vnd.oci.image.index.v1+json');
    expect(mismatch.status).toBe(400);
    expect(await errorCode(mismatch)).toBe('MANIFEST_INVALID');

    const wrongDigest = await oci.putManifest('man/bad', sha256('other'), body);
    expect(wrongDigest.status).toBe(400);
    expect(await errorCode(wrongDigest)).toBe('DIGEST_INVALID');
  });

  it('refuses a manifest over 4 MiB with 413 and stores nothing', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const res = await oci.putManifest('man/huge', 'v1', huge, 'application/vnd.oci.image.manifest.v1+json');
    expect(res.status).toBe(413);
    expect((await oci.request('GET', '/v2/man/huge/manifests/v1')).status).toBe(404);
  });

  it('negotiates with Accept: a client that does not accept the stored type gets MANIFEST_UNKNOWN', async () => {
    await oci.pushImage('man/accept', 'v1');
    const res = await oci.request('GET', '/v2/man/accept/manifests/v1', {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('MANIFEST_UNKNOWN');
    const ok = await oci.request('GET', '/v2/man/accept/manifests/v1', {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    });
    expect(ok.status).toBe(200);
  });

  it('refuses to delete a manifest that an index lists', async () => {
    const child = await oci.pushImage('man/ref', 'child');
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: child.digest, size: child.body.length }],
    };
    expect((await oci.putManifest('man/ref', 'index', index)).status).toBe(201);
    const res = await oci.request('DELETE', `/v2/man/ref/manifests/${child.digest}`);
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe('DENIED');
    expect((await oci.request('DELETE', `/v2/man/ref/manifests/${sha256(JSON.stringify(index))}`)).status).toBe(202);
    expect((await oci.request('DELETE', `/v2/man/ref/manifests/${child.digest}`)).status).toBe(202);
  });

  it('keeps an immutable tag where it is', async () => {
    const first = await oci.pushImage('man/immutable', 'v1');
    const repo = await server.app.registry.repository(parseAccountId('000000000000'), parseRepositoryName('man/immutable'));
    await server.app.registry.updateRepository(repo, { tagMutability: 'IMMUTABLE' });
    // Re-pushing the same manifest under the same tag is fine; pointing the tag elsewhere is not.
    expect((await oci.putManifest('man/immutable', 'v1', first.body)).status).toBe(201);
    await expect(oci.pushImage('man/immutable', 'v1')).rejects.toThrow(/TAG_INVALID/);
    const res = await oci.request('GET', '/v2/man/immutable/manifests/v1');
    expect(res.headers.get('docker-content-digest')).toBe(first.digest);
  });
});

describe('manifest deletion', () => {
  it('deletes by tag (only the tag) and by digest (the manifest and its tags)', async () => {
    const { digest, body } = await oci.pushImage('del/man', 'v1');
    expect((await oci.putManifest('del/man', 'v2', body)).status).toBe(201);
    expect((await oci.request('DELETE', '/v2/del/man/manifests/v1')).status).toBe(202);
    expect((await oci.request('GET', '/v2/del/man/manifests/v1')).status).toBe(404);
    expect((await oci.request('GET', `/v2/del/man/manifests/${digest}`)).status).toBe(200);
    expect((await oci.request('DELETE', `/v2/del/man/manifests/${digest}`)).status).toBe(202);
    expect((await oci.request('GET', '/v2/del/man/manifests/v2')).status).toBe(404);
    const missing = await oci.request('DELETE', `/v2/del/man/manifests/${digest}`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe('MANIFEST_UNKNOWN');
  });
});

describe('referrers', () => {
  it('lists manifests whose subject is the digest, filters by artifactType, and echoes OCI-Subject', async () => {
    const subject = await oci.pushImage('ref/app', 'v1');
    const empty = await oci.pushBlob('ref/app', Buffer.from('{}'));
    const sbom = await oci.pushBlob('ref/app', Buffer.from('{"sbom":true}'));
    const artifact = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sbom.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: sbom, size: 13 }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.body.length },
      annotations: { 'org.example.kind': 'sbom' },
    };
    const put = await oci.putManifest('ref/app', sha256(JSON.stringify(artifact)), artifact);
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-subject')).toBe(subject.digest);

    const res = await oci.request('GET', `/v2/ref/app/referrers/${subject.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    const index = (await res.json()) as { manifests: Record<string, unknown>[] };
    expect(index.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: sha256(JSON.stringify(artifact)),
        size: JSON.stringify(artifact).length,
        artifactType: 'application/vnd.example.sbom.v1',
        annotations: { 'org.example.kind': 'sbom' },
      },
    ]);

    const filtered = await oci.request('GET', `/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.example.sbom.v1`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toHaveLength(1);
    const other = await oci.request('GET', `/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.other`);
    expect(((await other.json()) as { manifests: unknown[] }).manifests).toHaveLength(0);
  });

  it('accepts a manifest whose subject does not exist yet, and answers an empty index for unknown subjects', async () => {
    const ghost = sha256('ghost');
    const { digest } = await oci.pushImage('ref/ghost', 'sig', {
      extra: { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: ghost, size: 100 } },
    });
    const res = await oci.request('GET', `/v2/ref/ghost/referrers/${ghost}`);
    const index = (await res.json()) as { manifests: { digest: string; artifactType: string }[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([digest]);
    // Without artifactType, an image manifest's artifact type is its config media type.
    expect(index.manifests[0]!.artifactType).toBe('application/vnd.oci.image.config.v1+json');
    const none = await oci.request('GET', `/v2/ref/ghost/referrers/${sha256('none')}`);
    expect(none.status).toBe(200);
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });
});

describe('listing', () => {
  it('lists tags in order with n/last pagination and a Link header', async () => {
    const { body } = await oci.pushImage('list/tags', 'a');
    for (const tag of ['b', 'c', 'd', 'e']) await oci.putManifest('list/tags', tag, body);
    const page1 = await oci.request('GET', '/v2/list/tags/tags/list?n=2');
    expect(await page1.json()).toEqual({ name: 'list/tags', tags: ['a', 'b'] });
    expect(page1.headers.get('link')).toBe('</v2/list/tags/tags/list?n=2&last=b>; rel="next"');
    const page2 = await oci.request('GET', '/v2/list/tags/tags/list?n=2&last=b');
    expect(await page2.json()).toEqual({ name: 'list/tags', tags: ['c', 'd'] });
    const page3 = await oci.request('GET', '/v2/list/tags/tags/list?n=2&last=d');
    expect(await page3.json()).toEqual({ name: 'list/tags', tags: ['e'] });
    expect(page3.headers.get('link')).toBeNull();
    expect(await (await oci.request('GET', '/v2/list/tags/tags/list')).json()).toEqual({ name: 'list/tags', tags: ['a', 'b', 'c', 'd', 'e'] });
    const bad = await oci.request('GET', '/v2/list/tags/tags/list?n=-1');
    expect(bad.status).toBe(400);
  });

  it('lists repositories with _catalog and paginates it', async () => {
    const all = (await (await oci.request('GET', '/v2/_catalog')).json()) as { repositories: string[] };
    expect(all.repositories).toContain('list/tags');
    expect([...all.repositories].sort()).toEqual(all.repositories);
    const page = await oci.request('GET', '/v2/_catalog?n=1');
    const first = ((await page.json()) as { repositories: string[] }).repositories;
    expect(first).toEqual([all.repositories[0]]);
    expect(page.headers.get('link')).toBe(`</v2/_catalog?n=1&last=${encodeURIComponent(all.repositories[0]!)}>; rel="next"`);
    const next = ((await (await oci.request('GET', `/v2/_catalog?n=1&last=${all.repositories[0]}`)).json()) as { repositories: string[] }).repositories;
    expect(next).toEqual([all.repositories[1]]);
  });
});

describe('names and bad input', () => {
  it('refuses names that break ECR rules or try traversal, with NAME_INVALID', async () => {
    const names = ['UPPER/case', 'a/../b', '..', 'a/%2e%2e/b', 'a%2Fb', 'x', `${'a'.repeat(257)}`, 'a//b', '-lead', 'trail-'];
    for (const name of names) {
      // Raw HTTP: fetch would normalise the dots away before the server saw them.
      const res = await rawGet(`/v2/${name}/tags/list`);
      expect(res.status, name).toBe(400);
      expect(JSON.parse(res.body).errors[0].code, name).toBe('NAME_INVALID');
    }
    const ok = await oci.request('POST', `/v2/${'a'.repeat(256)}/blobs/uploads/`);
    expect(ok.status).toBe(202);
  });

  it('refuses tags over 128 characters or with bad characters', async () => {
    const { body } = await oci.pushImage('names/tags', 'ok');
    expect((await oci.putManifest('names/tags', 't'.repeat(128), body)).status).toBe(201);
    for (const tag of ['t'.repeat(129), '-dash', '.dot']) {
      const res = await oci.putManifest('names/tags', tag, body);
      expect(res.status, tag).toBe(400);
      expect(await errorCode(res)).toBe('TAG_INVALID');
    }
  });

  it('addresses another account by a 12-digit first path segment, and the default account by bare names', async () => {
    await oci.pushImage('acct/app', 'v1');
    const viaAccount = await oci.request('GET', '/v2/000000000000/acct/app/manifests/v1');
    expect(viaAccount.status).toBe(200);
  });

  it('stores nothing when a blob body is cut short', async () => {
    const data = randomBytes(10_000);
    const digest = sha256(data);
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /v2/bad/short/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Authorization: ${server.authHeader}\r\nContent-Length: ${data.length}\r\n\r\n`,
        );
        socket.write(data.subarray(0, 5000));
        setTimeout(() => socket.destroy(), 200);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await oci.request('HEAD', `/v2/bad/short/blobs/${digest}`)).status).toBe(404);
    const shard = await readdir(join(server.dataDir, 'blobs', 'sha256', digest.slice(7, 9))).catch((): string[] => []);
    expect(shard).not.toContain(digest.slice(7));
  });

  it('answers oversized headers with 431 and unknown endpoints with an OCI error', async () => {
    const res = await oci.request('GET', '/v2/', { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    const unknown = await oci.request('GET', '/v2/some/repo/nonsense');
    expect(unknown.status).toBe(405);
    expect(await errorCode(unknown)).toBe('UNSUPPORTED');
  });
});
