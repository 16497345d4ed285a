import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { CreatePullThroughCacheRuleCommand, CreateRepositoryCreationTemplateCommand, DescribeRepositoriesCommand, GetRepositoryPolicyCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ecr';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { basicAuth, startTestServer, type TestServer } from '../helpers/test-server.js';
import { ecrClient, iamClient } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTokenUpstream, type TokenUpstream } from './cache-upstreams.js';
import { parseAccountId, parseDigest, parseRepositoryName } from '../../src/core/index.js';

let upstream: TestServer;
let token: TokenUpstream;
let cache: TestServer;
let up: OciTestClient;
let pull: OciTestClient;

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

/** Requests that reached the upstream registry API (token requests excluded). */
function upstreamCalls(): string[] {
  return token.requests.filter((r) => !r.includes('/token'));
}

beforeAll(async () => {
  upstream = await startTestServer();
  up = new OciTestClient(upstream.url, upstream.authHeader);
  token = await startTokenUpstream({ target: upstream.url, targetAuth: upstream.authHeader, user: 'hubuser', password: 'hubtoken' });
  cache = await startTestServer({ BERTH_ALLOW_HTTP_UPSTREAMS: 'true', BERTH_CACHE_FRESHNESS: '2', BERTH_CREATE_ON_PUSH: 'false' });
  pull = new OciTestClient(cache.url, cache.authHeader);
  const sm = new SecretsManagerClient({ endpoint: cache.url, region: 'us-east-1', credentials: { accessKeyId: cache.accessKeyId, secretAccessKey: cache.secretAccessKey }, maxAttempts: 1 });
  const secret = await sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/token', SecretString: JSON.stringify({ username: 'hubuser', accessToken: 'hubtoken' }) }));
  const ecr = ecrClient(cache);
  await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: token.url, credentialArn: secret.ARN }));
  await ecr.send(
    new CreateRepositoryCreationTemplateCommand({
      prefix: 'hub',
      appliedFor: ['PULL_THROUGH_CACHE'],
      resourceTags: [{ Key: 'team', Value: 'platform' }],
      imageTagMutability: 'MUTABLE',
      repositoryPolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage'] }] }),
    }),
  );
}, 60_000);

afterAll(async () => {
  await cache?.close();
  await token?.close();
  await upstream?.close();
});

describe('pull-through cache over the OCI API', () => {
  let image: { digest: string; body: Buffer; layers: string[] };

  it('fetches a manifest on first pull, creates the repository with the template, then serves from the cache', async () => {
    image = await up.pushImage('team/app', 'v1', { layers: 2 });
    const before = upstreamCalls().length;
    const res = await pull.request('GET', '/v2/hub/team/app/manifests/v1', { headers: { accept: ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(image.digest);
    expect(Buffer.from(await res.arrayBuffer()).equals(image.body)).toBe(true);
    expect(upstreamCalls().length).toBeGreaterThan(before);

    const ecr = ecrClient(cache);
    const { repositories } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['hub/team/app'] }));
    expect(repositories![0]!.imageTagMutability).toBe('MUTABLE');
    const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: repositories![0]!.repositoryArn }));
    expect(tags.tags).toEqual([{ Key: 'team', Value: 'platform' }]);
    const policy = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'hub/team/app' }));
    expect(policy.policyText).toContain('ecr:BatchGetImage');

    // Layers arrive on their first pull, with their digests intact.
    for (const layer of image.layers) {
      const blob = await pull.request('GET', `/v2/hub/team/app/blobs/${layer}`);
      expect(blob.status).toBe(200);
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(layer);
    }
    const config = JSON.parse(image.body.toString()).config.digest as string;
    expect((await pull.request('HEAD', `/v2/hub/team/app/blobs/${config}`)).status).toBe(200);

    // Everything again: nothing reaches the upstream.
    const mark = upstreamCalls().length;
    expect((await pull.request('GET', '/v2/hub/team/app/manifests/v1', { headers: { accept: ACCEPT } })).status).toBe(200);
    expect((await pull.request('GET', `/v2/hub/team/app/manifests/${image.digest}`, { headers: { accept: ACCEPT } })).status).toBe(200);
    for (const layer of image.layers) expect((await pull.request('GET', `/v2/hub/team/app/blobs/${layer}`)).status).toBe(200);
    expect(upstreamCalls().slice(mark)).toEqual([]);
  });

  it('answers MANIFEST_UNKNOWN for what the upstream lacks, and leaves names outside the rules alone', async () => {
    const res = await pull.request('GET', '/v2/hub/team/app/manifests/nope', { headers: { accept: ACCEPT } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('MANIFEST_UNKNOWN');
    const other = await pull.request('GET', '/v2/elsewhere/app/manifests/v1', { headers: { accept: ACCEPT } });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_UNKNOWN');
  });

  it('fetches each blob once for concurrent first pulls, streaming to all of them', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    const layer = await up.pushBlob('team/big', big);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const configDigest = await up.pushBlob('team/big', config);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: big.length }],
    };
    expect((await up.putManifest('team/big', 'latest', manifest)).status).toBe(201);
    const manifests = await Promise.all(Array.from({ length: 4 }, () => pull.request('GET', '/v2/hub/team/big/manifests/latest', { headers: { accept: ACCEPT } })));
    expect(manifests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const mark = upstreamCalls().length;
    const bodies = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await pull.request('GET', `/v2/hub/team/big/blobs/${layer}`);
        expect(res.status).toBe(200);
        return Buffer.from(await res.arrayBuffer());
      }),
    );
    for (const body of bodies) expect(sha256(body)).toBe(layer);
    expect(upstreamCalls().slice(mark).filter((r) => r.includes(`/blobs/${layer}`))).toHaveLength(1);
    // A range request after the fill is served from the cache.
    const ranged = await pull.request('GET', `/v2/hub/team/big/blobs/${layer}`, { headers: { range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(big.subarray(10, 20))).toBe(true);
  });

  it('streams a layer to the first client while the upstream is still sending it', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const layer = await up.pushBlob('team/slow', data);
    const config = Buffer.from('{"architecture":"amd64","os":"linux","slow":true}');
    const configDigest = await up.pushBlob('team/slow', config);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: data.length }],
    };
    expect((await up.putManifest('team/slow', 'v1', manifest)).status).toBe(201);
    expect((await pull.request('GET', '/v2/hub/team/slow/manifests/v1', { headers: { accept: ACCEPT } })).status).toBe(200);
    const gate = token.hold(layer, 1024 * 1024);
    const res = await pull.request('GET', `/v2/hub/team/slow/blobs/${layer}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(data.length));
    const reader = res.body!.getReader();
    // Most of the first megabyte arrives while the upstream holds the rest back (the cache keeps
    // one chunk back until the digest is verified).
    let received = 0;
    const chunks: Buffer[] = [];
    while (received < 512 * 1024) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      chunks.push(Buffer.from(value!));
      received += value!.length;
    }
    gate.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value!));
    }
    expect(sha256(Buffer.concat(chunks))).toBe(layer);
  });

  it('verifies what the upstream sends: a corrupted manifest or layer is never stored', async () => {
    const image = await up.pushImage('team/corrupt', 'v1');
    token.corrupt('v1', true);
    try {
      const bad = await pull.request('GET', '/v2/hub/team/corrupt/manifests/v1', { headers: { accept: ACCEPT } });
      expect(bad.status).toBeGreaterThanOrEqual(500);
    } finally {
      token.corrupt('v1', false);
    }
    expect((await pull.request('GET', '/v2/hub/team/corrupt/manifests/v1', { headers: { accept: ACCEPT } })).headers.get('docker-content-digest')).toBe(image.digest);
    const layer = image.layers[0]!;
    token.corrupt(layer, true);
    try {
      // Bytes are streamed as they come, but the last chunk only after the digest matched: the
      // client gets an error, or (for a large layer) a response cut short, never the bad blob.
      const r = await pull.request('GET', `/v2/hub/team/corrupt/blobs/${layer}`);
      if (r.status === 200) await expect(r.arrayBuffer()).rejects.toThrow();
      else expect(r.status).toBeGreaterThanOrEqual(500);
    } finally {
      token.corrupt(layer, false);
    }
    const account = parseAccountId((await cache.app.meta.accounts.list())[0]!.id);
    const cacheRepo = await cache.app.registry.repository(account, parseRepositoryName('hub/team/corrupt'));
    await expect(cache.app.registry.statBlob(cacheRepo, parseDigest(layer))).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
    // A good copy is fetched on the next pull.
    const good = await pull.request('GET', `/v2/hub/team/corrupt/blobs/${layer}`);
    expect(sha256(Buffer.from(await good.arrayBuffer()))).toBe(layer);
  });

  it('sees a tag moved upstream after the freshness period, and keeps serving when the upstream is down', async () => {
    const first = await up.pushImage('team/moving', 'stable');
    const got = await pull.request('GET', '/v2/hub/team/moving/manifests/stable', { headers: { accept: ACCEPT } });
    expect(got.headers.get('docker-content-digest')).toBe(first.digest);
    const second = await up.pushImage('team/moving', 'stable');
    // Within the freshness period: the cached tag, no upstream check.
    const mark = upstreamCalls().length;
    expect((await pull.request('GET', '/v2/hub/team/moving/manifests/stable', { headers: { accept: ACCEPT } })).headers.get('docker-content-digest')).toBe(first.digest);
    expect(upstreamCalls().slice(mark)).toEqual([]);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await pull.request('GET', '/v2/hub/team/moving/manifests/stable', { headers: { accept: ACCEPT } })).headers.get('docker-content-digest')).toBe(second.digest);

    // The upstream goes away: the cached image is still served, after the freshness period too.
    await pull.request('GET', `/v2/hub/team/moving/blobs/${second.layers[0]}`);
    token.setDown(true);
    try {
      await new Promise((r) => setTimeout(r, 2100));
      const res = await pull.request('GET', '/v2/hub/team/moving/manifests/stable', { headers: { accept: ACCEPT } });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(second.digest);
      expect((await pull.request('GET', `/v2/hub/team/moving/blobs/${second.layers[0]}`)).status).toBe(200);
      // Something never cached cannot be served.
      const missing = await pull.request('GET', '/v2/hub/team/never/manifests/v1', { headers: { accept: ACCEPT } });
      expect(missing.status).toBeGreaterThanOrEqual(500);
    } finally {
      token.setDown(false);
    }
  });

  it('never replaces a tag pushed to the cache repository itself with the upstream one', async () => {
    await up.pushImage('team/local', 'v1');
    expect((await pull.request('GET', '/v2/hub/team/local/manifests/v1', { headers: { accept: ACCEPT } })).status).toBe(200);
    const mine = await pull.pushImage('hub/team/local', 'mine');
    await up.pushImage('team/local', 'mine');
    await new Promise((r) => setTimeout(r, 2100));
    const res = await pull.request('GET', '/v2/hub/team/local/manifests/mine', { headers: { accept: ACCEPT } });
    expect(res.headers.get('docker-content-digest')).toBe(mine.digest);
  });

  it('caches a multi-platform index with all its child manifests', async () => {
    const a = await up.pushImage('team/multi', 'amd64');
    const b = await up.pushImage('team/multi', 'arm64');
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: a.digest, size: a.body.length, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: b.digest, size: b.body.length, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    };
    expect((await up.putManifest('team/multi', 'latest', index)).status).toBe(201);
    const res = await pull.request('GET', '/v2/hub/team/multi/manifests/latest', { headers: { accept: ACCEPT } });
    expect(res.status).toBe(200);
    token.setDown(true);
    try {
      // The children came with the index: served without the upstream.
      for (const child of [a, b]) {
        const c = await pull.request('GET', `/v2/hub/team/multi/manifests/${child.digest}`, { headers: { accept: ACCEPT } });
        expect(c.status).toBe(200);
      }
    } finally {
      token.setDown(false);
    }
  });
});

describe('pull-through cache permissions (ECR rules)', () => {
  async function user(name: string, actions: string[]): Promise<OciTestClient> {
    const iam = iamClient(cache);
    await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: name,
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }),
      }),
    );
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    return new OciTestClient(cache.url, basicAuth(AccessKey!.AccessKeyId!, AccessKey!.SecretAccessKey!));
  }

  it('needs ecr:CreateRepository to create the cache repository, and ecr:BatchImportUpstreamImage to import', async () => {
    await up.pushImage('perm/app', 'v1');
    const puller = await user('puller', ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
    const noRepo = await puller.request('GET', '/v2/hub/perm/app/manifests/v1', { headers: { accept: ACCEPT } });
    expect(noRepo.status).toBe(404);
    expect(((await noRepo.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_UNKNOWN');

    const creator = await user('creator', ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:CreateRepository']);
    const noImport = await creator.request('GET', '/v2/hub/perm/app/manifests/v1', { headers: { accept: ACCEPT } });
    expect(noImport.status).toBe(404);
    expect(((await noImport.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('MANIFEST_UNKNOWN');

    const importer = await user('importer', ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchImportUpstreamImage']);
    const ok = await importer.request('GET', '/v2/hub/perm/app/manifests/v1', { headers: { accept: ACCEPT } });
    expect(ok.status).toBe(200);
    // Once cached, a plain puller is served.
    expect((await puller.request('GET', '/v2/hub/perm/app/manifests/v1', { headers: { accept: ACCEPT } })).status).toBe(200);
  });

  it('refuses a caller without ecr:BatchGetImage before touching the upstream', async () => {
    const nobody = await user('nobody', ['ecr:DescribeRepositories']);
    const mark = upstreamCalls().length;
    const res = await nobody.request('GET', '/v2/hub/perm/other/manifests/v1', { headers: { accept: ACCEPT } });
    expect(res.status).toBe(403);
    expect(upstreamCalls().slice(mark)).toEqual([]);
  });
});
