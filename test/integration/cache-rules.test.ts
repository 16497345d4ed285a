import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreatePullThroughCacheRuleCommand,
  DeletePullThroughCacheRuleCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRepositoriesCommand,
  UpdatePullThroughCacheRuleCommand,
  ValidatePullThroughCacheRuleCommand,
} from '@aws-sdk/client-ecr';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { awsError, ecrClient, userWithPolicies, ECR_READ_ONLY } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTokenUpstream, type TokenUpstream } from './cache-upstreams.js';

let server: TestServer;
let upstream: TestServer;
let token: TokenUpstream;
let goodArn: string;
let badArn: string;

beforeAll(async () => {
  upstream = await startTestServer();
  token = await startTokenUpstream({ target: upstream.url, targetAuth: upstream.authHeader, user: 'me', password: 'right' });
  server = await startTestServer({ BERTH_ALLOW_HTTP_UPSTREAMS: 'true' });
  const sm = new SecretsManagerClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
  goodArn = (await sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/good', SecretString: '{"username":"me","accessToken":"right"}' }))).ARN!;
  badArn = (await sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/bad', SecretString: '{"username":"me","accessToken":"wrong"}' }))).ARN!;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await token?.close();
  await upstream?.close();
});

describe('pull-through cache rules (ECR API)', () => {
  it('creates rules for ECR upstream kinds, inferring the kind from the URL', async () => {
    const ecr = ecrClient(server);
    const created = await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' }));
    expect(created.ecrRepositoryPrefix).toBe('ecr-public');
    expect(created.upstreamRegistryUrl).toBe('public.ecr.aws');
    expect(created.upstreamRegistry).toBe('ecr-public');
    expect(created.registryId).toMatch(/^[0-9]{12}$/);
    expect(created.createdAt).toBeInstanceOf(Date);
    const k8s = await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'k8s/', upstreamRegistryUrl: 'registry.k8s.io', upstreamRegistry: 'k8s' }));
    expect(k8s.ecrRepositoryPrefix).toBe('k8s');
    const hub = await ecr.send(
      new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', upstreamRegistry: 'docker-hub', credentialArn: goodArn }),
    );
    expect(hub.credentialArn).toBe(goodArn);
  });

  it('refuses what ECR refuses', async () => {
    const ecr = ecrClient(server);
    const dup = await awsError(ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' })));
    expect(dup.name).toBe('PullThroughCacheRuleAlreadyExistsException');
    const noCreds = await awsError(ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'ghcr', upstreamRegistryUrl: 'ghcr.io' })));
    expect(noCreds.name).toBe('InvalidParameterException');
    const mismatch = await awsError(ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'quay', upstreamRegistryUrl: 'ghcr.io', upstreamRegistry: 'quay' })));
    expect(mismatch.name).toBe('UnsupportedUpstreamRegistryException');
    const badPrefix = await awsError(ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'Bad_Prefix', upstreamRegistryUrl: 'quay.io' })));
    expect(badPrefix.name).toBe('InvalidParameterException');
    expect(badPrefix.message).toContain("at 'ecrRepositoryPrefix' failed to satisfy constraint");
    const badArnName = await awsError(
      ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'gh', upstreamRegistryUrl: 'ghcr.io', credentialArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other/name-abcdef' })),
    );
    expect(badArnName.name).toBe('InvalidParameterException');
    const missingSecret = await awsError(
      ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'gh', upstreamRegistryUrl: 'ghcr.io', credentialArn: goodArn.replace('good', 'gone') })),
    );
    expect(missingSecret.name).toBe('SecretNotFoundException');
    const upstreamPrefix = await awsError(
      ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'q2', upstreamRegistryUrl: 'quay.io', upstreamRepositoryPrefix: 'team' })),
    );
    expect(upstreamPrefix.name).toBe('InvalidParameterException');
  });

  it('refuses plain-http upstreams unless BERTH_ALLOW_HTTP_UPSTREAMS is on', async () => {
    const strict = await startTestServer();
    try {
      const err = await awsError(ecrClient(strict).send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local', upstreamRegistryUrl: token.url })));
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toContain('https');
    } finally {
      await strict.close();
    }
    const ok = await ecrClient(server).send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local', upstreamRegistryUrl: token.url, credentialArn: badArn }));
    expect(ok.upstreamRegistry).toBeUndefined();
  });

  it('describes all rules (paged) or the named ones', async () => {
    const ecr = ecrClient(server);
    const all = await ecr.send(new DescribePullThroughCacheRulesCommand({}));
    expect(all.pullThroughCacheRules!.map((r) => r.ecrRepositoryPrefix)).toEqual(['docker-hub', 'ecr-public', 'k8s', 'local']);
    const page = await ecr.send(new DescribePullThroughCacheRulesCommand({ maxResults: 3 }));
    expect(page.pullThroughCacheRules).toHaveLength(3);
    const rest = await ecr.send(new DescribePullThroughCacheRulesCommand({ maxResults: 3, nextToken: page.nextToken }));
    expect(rest.pullThroughCacheRules!.map((r) => r.ecrRepositoryPrefix)).toEqual(['local']);
    const named = await ecr.send(new DescribePullThroughCacheRulesCommand({ ecrRepositoryPrefixes: ['k8s'] }));
    expect(named.pullThroughCacheRules![0]!.upstreamRegistryUrl).toBe('registry.k8s.io');
    const missing = await awsError(ecr.send(new DescribePullThroughCacheRulesCommand({ ecrRepositoryPrefixes: ['nope'] })));
    expect(missing.name).toBe('PullThroughCacheRuleNotFoundException');
  });

  it('validates a rule by authenticating upstream, reporting failures in isValid', async () => {
    const ecr = ecrClient(server);
    const bad = await ecr.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local' }));
    expect(bad.isValid).toBe(false);
    expect(bad.failure).toBeTruthy();
    const updated = await ecr.send(new UpdatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local', credentialArn: goodArn }));
    expect(updated.credentialArn).toBe(goodArn);
    expect(updated.updatedAt).toBeInstanceOf(Date);
    const good = await ecr.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local' }));
    expect(good).toMatchObject({ isValid: true, ecrRepositoryPrefix: 'local', credentialArn: goodArn });
    const missing = await awsError(ecr.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'nope' })));
    expect(missing.name).toBe('PullThroughCacheRuleNotFoundException');
    const missingUpdate = await awsError(ecr.send(new UpdatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'nope', credentialArn: goodArn })));
    expect(missingUpdate.name).toBe('PullThroughCacheRuleNotFoundException');
  });

  it('uses the updated credentials at once, and keeps cached repositories when the rule is deleted', async () => {
    const oci = new OciTestClient(upstream.url, upstream.authHeader);
    await oci.pushImage('app', 'v1');
    const pull = new OciTestClient(server.url, server.authHeader);
    const res = await pull.request('GET', '/v2/local/app/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(200);
    const ecr = ecrClient(server);
    const deleted = await ecr.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local' }));
    expect(deleted.upstreamRegistryUrl).toBe(token.url);
    expect((await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['local/app'] }))).repositories).toHaveLength(1);
    expect((await pull.request('GET', '/v2/local/app/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(200);
    const again = await awsError(ecr.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'local' })));
    expect(again.name).toBe('PullThroughCacheRuleNotFoundException');
  });

  it('authorizes the rule operations with their ecr: actions', async () => {
    const reader = await userWithPolicies(server, 'rule-reader', [ECR_READ_ONLY]);
    const denied = await awsError(ecrClient(server, reader).send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'quay', upstreamRegistryUrl: 'quay.io' })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('ecr:CreatePullThroughCacheRule');
  });
});
