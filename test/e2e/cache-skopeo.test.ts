/**
 * skopeo pulls through berth's pull-through cache from real upstreams on loopback: Debian's
 * docker-registry (Distribution 2.8, htpasswd Basic auth, behind a counting proxy) and another
 * berth instance. First pulls fetch, later pulls do not touch the upstream, a tag moved upstream
 * is seen after the freshness period, concurrent first pulls fetch each blob once, and a stopped
 * upstream leaves cached images servable.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreatePullThroughCacheRuleCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { writeImage, writeMultiPlatform, type ImageResult, type MultiPlatformResult } from '../fixtures/oci-layout.js';
import { runCommand } from '../helpers/berth-process.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { ecrClient } from '../helpers/aws-clients.js';
import { sha256 } from '../helpers/oci-client.js';
import { startCountingProxy, type CountingProxy } from '../integration/cache-upstreams.js';
import { startDistribution, type DistributionRegistry } from './cache-registry.js';

const TIMEOUT = 180_000;
const FRESHNESS_SECONDS = 3;

let work: string;
let authFile: string;
let registry: DistributionRegistry;
let proxy: CountingProxy;
let peer: TestServer;
let cache: TestServer;
let single: ImageResult;
let moved: ImageResult;
let multi: MultiPlatformResult;
let big: ImageResult;

function skopeo(args: string[]) {
  return runCommand('skopeo', args, { env: { REGISTRY_AUTH_FILE: authFile } });
}
const cacheCreds = () => `${cache.accessKeyId}:${cache.secretAccessKey}`;
const cacheHost = () => cache.url.replace('http://', '');
/** Registry API requests that reached docker-registry (through the counting proxy). */
const upstreamRequests = () => proxy.requests.filter((r) => r.includes('/v2/'));

async function pushToRegistry(layout: string, tag: string, repo: string, all = false): Promise<void> {
  await skopeo([
    'copy', ...(all ? ['--all'] : []), '--dest-tls-verify=false', '--dest-creds', `${registry.user}:${registry.password}`,
    `oci:${layout}:${tag}`, `docker://${registry.host}/${repo}`,
  ]);
}

async function pullThroughCache(ref: string, dest: string, all = false): Promise<void> {
  await skopeo(['copy', ...(all ? ['--all'] : []), '--src-tls-verify=false', '--src-creds', cacheCreds(), `docker://${cacheHost()}/${ref}`, `oci:${dest}`]);
}

async function inspectDigest(ref: string): Promise<string> {
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', cacheCreds(), `docker://${cacheHost()}/${ref}`]);
  return sha256(stdout);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-cache-'));
  authFile = join(work, 'auth.json');
  await writeFile(authFile, '{}');
  single = await writeImage(join(work, 'single'), { seed: 'cache-single', tag: 'v1', layers: 3 });
  moved = await writeImage(join(work, 'moved'), { seed: 'cache-moved', tag: 'v1', layers: 2 });
  multi = await writeMultiPlatform(join(work, 'multi'), { seed: 'cache-multi', tag: 'multi', platforms: ['linux/amd64', 'linux/arm64'] });
  big = await writeImage(join(work, 'big'), { seed: 'cache-big', tag: 'v1', layers: 4 });
  registry = await startDistribution(join(work, 'registry'));
  proxy = await startCountingProxy(registry.url);
  await pushToRegistry(join(work, 'single'), 'v1', 'team/single:v1');
  await pushToRegistry(join(work, 'multi'), 'multi', 'team/multi:multi', true);
  await pushToRegistry(join(work, 'big'), 'v1', 'team/big:v1');

  peer = await startTestServer();
  cache = await startTestServer({ BERTH_ALLOW_HTTP_UPSTREAMS: 'true', BERTH_CACHE_FRESHNESS: String(FRESHNESS_SECONDS) });
  const sm = new SecretsManagerClient({ endpoint: cache.url, region: 'us-east-1', credentials: { accessKeyId: cache.accessKeyId, secretAccessKey: cache.secretAccessKey }, maxAttempts: 1 });
  const distSecret = await sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/dist', SecretString: JSON.stringify({ username: registry.user, accessToken: registry.password }) }));
  const peerSecret = await sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/peer', SecretString: JSON.stringify({ username: peer.accessKeyId, accessToken: peer.secretAccessKey }) }));
  const ecr = ecrClient(cache);
  await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'dist', upstreamRegistryUrl: proxy.url, credentialArn: distSecret.ARN }));
  await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'peer', upstreamRegistryUrl: peer.url, credentialArn: peerSecret.ARN }));
}, TIMEOUT);

afterAll(async () => {
  await cache?.close();
  await peer?.close();
  await proxy?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, TIMEOUT);

describe('skopeo through the pull-through cache (docker-registry upstream with Basic auth)', () => {
  it('first pull fetches from the upstream, the second does not touch it', async () => {
    const before = upstreamRequests().length;
    await pullThroughCache('dist/team/single:v1', join(work, 'out-1'));
    expect(upstreamRequests().length).toBeGreaterThan(before);
    expect(await inspectDigest('dist/team/single:v1')).toBe(single.manifestDigest);
    const { repositories } = await ecrClient(cache).send(new DescribeRepositoriesCommand({ repositoryNames: ['dist/team/single'] }));
    expect(repositories).toHaveLength(1);

    const mark = upstreamRequests().length;
    await pullThroughCache('dist/team/single:v1', join(work, 'out-2'));
    await pullThroughCache(`dist/team/single@${single.manifestDigest}`, join(work, 'out-3'));
    expect(upstreamRequests().slice(mark)).toEqual([]);
  }, TIMEOUT);

  it('pulls a multi-platform image with all platforms', async () => {
    await pullThroughCache('dist/team/multi:multi', join(work, 'out-multi'), true);
    expect(await inspectDigest('dist/team/multi:multi')).toBe(multi.indexDigest);
  }, TIMEOUT);

  it('concurrent first pulls fetch each blob once', async () => {
    const mark = upstreamRequests().length;
    await Promise.all([1, 2, 3].map((i) => pullThroughCache('dist/team/big:v1', join(work, `out-big-${i}`))));
    const blobGets = upstreamRequests().slice(mark).filter((r) => r.startsWith('GET ') && r.includes('/blobs/sha256:'));
    const perDigest = new Map<string, number>();
    for (const r of blobGets) perDigest.set(r, (perDigest.get(r) ?? 0) + 1);
    expect(perDigest.size).toBe(big.layers.length + 1);
    expect([...perDigest.values()].every((n) => n === 1)).toBe(true);
  }, TIMEOUT);

  it('sees a tag moved upstream after the freshness period', async () => {
    await pushToRegistry(join(work, 'single'), 'v1', 'team/moving:v1');
    await pullThroughCache('dist/team/moving:v1', join(work, 'out-moving-1'));
    await pushToRegistry(join(work, 'moved'), 'v1', 'team/moving:v1');
    expect(await inspectDigest('dist/team/moving:v1')).toBe(single.manifestDigest);
    await new Promise((r) => setTimeout(r, FRESHNESS_SECONDS * 1000 + 200));
    expect(await inspectDigest('dist/team/moving:v1')).toBe(moved.manifestDigest);
    await pullThroughCache('dist/team/moving:v1', join(work, 'out-moving-2'));
  }, TIMEOUT);

  it('pulls through another berth instance as the upstream', async () => {
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${peer.accessKeyId}:${peer.secretAccessKey}`, `oci:${join(work, 'single')}:v1`, `docker://${peer.url.replace('http://', '')}/base/app:v1`]);
    await pullThroughCache('peer/base/app:v1', join(work, 'out-peer'));
    expect(await inspectDigest('peer/base/app:v1')).toBe(single.manifestDigest);
  }, TIMEOUT);

  it('keeps serving cached images when the upstream is stopped', async () => {
    await registry.stop();
    await new Promise((r) => setTimeout(r, FRESHNESS_SECONDS * 1000 + 200));
    await pullThroughCache('dist/team/single:v1', join(work, 'out-down'));
    expect(await inspectDigest('dist/team/single:v1')).toBe(single.manifestDigest);
    await pullThroughCache('dist/team/multi:multi', join(work, 'out-down-multi'), true);
  }, TIMEOUT);
});
