/**
 * Replication with two real deployments in process (us-east-1 replicating to its peer eu-west-1)
 * and several accounts: the ECR operations as the AWS SDK sees them, cross-account copies inside
 * a deployment decided by the destination's registry policy, cross-region copies to the peer over
 * HTTP, filters, no chaining, indexes, status and backfill.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateRepositoryCreationTemplateCommand,
  DescribeImageReplicationStatusCommand,
  DescribeRepositoriesCommand,
  DescribeRegistryCommand,
  DescribeReplicationBackfillResultsCommand,
  ListReplicationBackfillsCommand,
  PutRegistryPolicyCommand,
  PutReplicationConfigurationCommand,
  StartReplicationBackfillCommand,
  StopReplicationBackfillCommand,
  UpdateImageStorageClassCommand,
  type ECRClient,
  type ReplicationConfiguration,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/iam/index.js';
import { awsError, ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { basicAuth, startTestServer, TEST_ACCESS_KEY_ID, TEST_SECRET, type TestServer } from '../helpers/test-server.js';

const SOURCE = '000000000000';
const TEAM = '111122223333';
const CLOSED = '444455556666';

let east: TestServer;
let west: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;
let westOci: OciTestClient;
let team: { ecr: ECRClient; oci: OciTestClient };
let closed: { ecr: ECRClient; oci: OciTestClient };

async function account(server: TestServer, accountId: string): Promise<{ ecr: ECRClient; oci: OciTestClient }> {
  const accessKeyId = `AKIAREPL${accountId}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  const box = SecretBox.load(server.dataDir);
  await server.app.meta.accounts.ensure(accountId, Date.now());
  await server.app.meta.accessKeys.create({ accessKeyId, accountId, userName: null, secretEnc: box.seal(secretAccessKey), status: 'Active', createdAt: Date.now() });
  return { ecr: ecrClient(server, { accessKeyId, secretAccessKey }, server === west ? 'eu-west-1' : 'us-east-1'), oci: new OciTestClient(server.url, basicAuth(accessKeyId, secretAccessKey)) };
}

function replicationPolicy(registry: string, sources: string[], region = 'us-east-1'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Replication',
        Effect: 'Allow',
        Principal: { AWS: sources.map((s) => `arn:aws:iam::${s}:root`) },
        Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
        Resource: `arn:aws:ecr:${region}:${registry}:repository/*`,
      },
    ],
  });
}

async function drain(server: TestServer = east): Promise<void> {
  await server.app.jobs.drain(['replication.copy', 'replication.backfill'], { timeoutMs: 60_000 });
}

async function statusOf(repositoryName: string, imageDigest: string): Promise<{ region?: string; registryId?: string; status?: string; failureCode?: string }[]> {
  const out = await ecr.send(new DescribeImageReplicationStatusCommand({ repositoryName, imageId: { imageDigest } }));
  return (out.replicationStatuses ?? []).map((s) => ({ region: s.region, registryId: s.registryId, status: s.status, ...(s.failureCode ? { failureCode: s.failureCode } : {}) }));
}

beforeAll(async () => {
  west = await startTestServer({ BERTH_REGION: 'eu-west-1' });
  east = await startTestServer({
    BERTH_REGION: 'us-east-1',
    BERTH_PEERS: JSON.stringify([{ region: 'eu-west-1', endpoint: west.url, accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET }]),
  });
  ecr = ecrClient(east);
  oci = new OciTestClient(east.url, east.authHeader);
  westOci = new OciTestClient(west.url, west.authHeader);
  team = await account(east, TEAM);
  closed = await account(east, CLOSED);
  await team.ecr.send(new PutRegistryPolicyCommand({ policyText: replicationPolicy(TEAM, [SOURCE]) }));
}, 60_000);

afterAll(async () => {
  await east?.close();
  await west?.close();
});

describe('PutReplicationConfiguration and DescribeRegistry', () => {
  const put = (replicationConfiguration: unknown) => ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: replicationConfiguration as ReplicationConfiguration }));

  it('stores the rules and DescribeRegistry shows them; empty rules turn replication off', async () => {
    const config = {
      rules: [
        { destinations: [{ region: 'eu-west-1', registryId: SOURCE }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod' }] },
        { destinations: [{ region: 'us-east-1', registryId: TEAM }] },
      ],
    };
    const out = await put(config);
    expect(out.replicationConfiguration).toEqual(config);
    expect((await ecr.send(new DescribeRegistryCommand({}))).replicationConfiguration).toEqual(config);
    await put({ rules: [] });
    expect((await ecr.send(new DescribeRegistryCommand({}))).replicationConfiguration).toEqual({ rules: [] });
    // Per registry: another account's configuration is its own.
    expect((await team.ecr.send(new DescribeRegistryCommand({}))).replicationConfiguration).toEqual({ rules: [] });
  });

  it.each([
    ['more than 10 rules', { rules: Array.from({ length: 11 }, () => ({ destinations: [{ region: 'eu-west-1', registryId: SOURCE }] })) }, /rules.*less than or equal to 10/],
    [
      'more than 25 unique destinations',
      { rules: [{ destinations: Array.from({ length: 26 }, (_, i) => ({ region: 'eu-west-1', registryId: String(100000000000 + i) })) }] },
      /at most 25 unique destinations/,
    ],
    ['a filter type other than PREFIX_MATCH', { rules: [{ destinations: [{ region: 'eu-west-1', registryId: SOURCE }], repositoryFilters: [{ filterType: 'WILDCARD', filter: 'prod' }] }] }, /filterType.*PREFIX_MATCH/],
    ['a filter outside the grammar', { rules: [{ destinations: [{ region: 'eu-west-1', registryId: SOURCE }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'Prod*' }] }] }, /filter.*regular expression/],
    ['an empty filter list', { rules: [{ destinations: [{ region: 'eu-west-1', registryId: SOURCE }], repositoryFilters: [] }] }, /repositoryFilters.*greater than or equal to 1/],
    ['a malformed registry id', { rules: [{ destinations: [{ region: 'eu-west-1', registryId: '12' }] }] }, /registryId.*\[0-9\]\{12\}/],
    ['the source registry itself', { rules: [{ destinations: [{ region: 'us-east-1', registryId: SOURCE }] }] }, /source registry itself/],
    ['a region without a peer', { rules: [{ destinations: [{ region: 'ap-south-1', registryId: SOURCE }] }] }, /ap-south-1 is neither/],
    ['no destinations member', { rules: [{}] }, /destinations.*must not be null/],
  ])('refuses %s with InvalidParameterException', async (_what, config, message) => {
    const before = (await ecr.send(new DescribeRegistryCommand({}))).replicationConfiguration;
    const err = await awsError(put(config));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toMatch(message);
    expect((await ecr.send(new DescribeRegistryCommand({}))).replicationConfiguration).toEqual(before);
  });
});

describe('replication of pushes', () => {
  beforeAll(async () => {
    await ecr.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: {
          rules: [
            { destinations: [{ region: 'eu-west-1', registryId: SOURCE }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod' }] },
            { destinations: [{ region: 'us-east-1', registryId: TEAM }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod/' }, { filterType: 'PREFIX_MATCH', filter: 'shared' }] },
            { destinations: [{ region: 'us-east-1', registryId: CLOSED }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'closed' }] },
          ],
        },
      }),
    );
  });

  it('copies a pushed image to the peer region and to another account, with the same digest and tag', async () => {
    const pushed = await oci.pushImage('prod/api', 'v1', { layers: 3 });
    await drain();
    // The peer (cross-region, same account), pulled with the peer's own credentials.
    const there = await westOci.request('GET', `/v2/prod/api/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(there.status).toBe(200);
    expect(there.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(sha256(Buffer.from(await there.arrayBuffer()))).toBe(pushed.digest);
    for (const layer of pushed.layers) {
      const blob = await westOci.request('GET', `/v2/prod/api/blobs/${layer}`);
      expect(blob.status).toBe(200);
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(layer);
    }
    // Another account of this deployment, pulled by that account.
    const local = await team.oci.request('GET', `/v2/${TEAM}/prod/api/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(local.status).toBe(200);
    expect(local.headers.get('docker-content-digest')).toBe(pushed.digest);
    const layer = await team.oci.request('GET', `/v2/${TEAM}/prod/api/blobs/${pushed.layers[0]}`);
    expect(sha256(Buffer.from(await layer.arrayBuffer()))).toBe(pushed.layers[0]);

    expect(await statusOf('prod/api', pushed.digest)).toEqual([
      { region: 'eu-west-1', registryId: SOURCE, status: 'COMPLETE' },
      { region: 'us-east-1', registryId: TEAM, status: 'COMPLETE' },
    ]);
  });

  it('copies a new tag on an image that was already replicated, without sending its blobs again', async () => {
    const pushed = await oci.pushImage('prod/web', 'v1', { layers: 2 });
    await drain();
    const again = await oci.putManifest('prod/web', 'stable', pushed.body);
    expect(again.status).toBe(201);
    await drain();
    const there = await westOci.request('HEAD', '/v2/prod/web/manifests/stable', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(there.headers.get('docker-content-digest')).toBe(pushed.digest);
    const jobs = await east.app.meta.kysely.selectFrom('jobs').select(['result', 'payload']).where('kind', '=', 'replication.copy').where('state', '=', 'done').execute();
    const tagCopy = jobs.map((j) => ({ payload: JSON.parse(String(j.payload)), result: JSON.parse(String(j.result)) })).find((j) => j.payload.tag === 'stable' && j.payload.destination.region === 'eu-west-1');
    expect(tagCopy?.result).toMatchObject({ blobsSent: 0, manifestsSent: 0, bytesSent: 0 });
  });

  it('mounts at the peer the layers another repository of the account holds there, instead of sending them', async () => {
    const first = await oci.pushImage('prod/base', 'v1', { layers: 3 });
    await drain();
    const manifest = JSON.parse(first.body.toString()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    // The same blobs in another repository: the source mounts them there too.
    for (const d of [manifest.config.digest, ...first.layers]) {
      expect((await oci.request('POST', `/v2/prod/derived/blobs/uploads/?mount=${d}&from=prod/base`)).status).toBe(201);
    }
    const derived = Buffer.from(JSON.stringify({ ...JSON.parse(first.body.toString()), annotations: { derived: 'yes' } }));
    expect((await oci.putManifest('prod/derived', 'v1', derived)).status).toBe(201);
    await drain();
    const there = await westOci.request('HEAD', '/v2/prod/derived/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(there.headers.get('docker-content-digest')).toBe(sha256(derived));
    const jobs = await east.app.meta.kysely.selectFrom('jobs').select(['result', 'payload']).where('kind', '=', 'replication.copy').where('state', '=', 'done').execute();
    const copy = jobs.map((j) => ({ payload: JSON.parse(String(j.payload)), result: JSON.parse(String(j.result)) })).find((j) => j.payload.repository === 'prod/derived' && j.payload.destination.region === 'eu-west-1');
    expect(copy?.result).toMatchObject({ manifestsSent: 1, blobsSent: 0, bytesSent: 0, blobsSkipped: 0, blobsMounted: 4 });
  });

  it('filters: a repository no rule matches is not replicated, and its images have no status', async () => {
    const pushed = await oci.pushImage('staging/api', 'v1');
    await drain();
    expect((await westOci.request('HEAD', '/v2/staging/api/manifests/v1')).status).toBe(404);
    expect((await team.oci.request('HEAD', `/v2/${TEAM}/staging/api/manifests/v1`)).status).toBe(404);
    expect(await statusOf('staging/api', pushed.digest)).toEqual([]);
    // PREFIX_MATCH is a plain string prefix: 'prod' matches 'production-db' (to the peer) but 'prod/' does not (to TEAM).
    const prefixed = await oci.pushImage('production-db', 'v1');
    await drain();
    expect(await statusOf('production-db', prefixed.digest)).toEqual([{ region: 'eu-west-1', registryId: SOURCE, status: 'COMPLETE' }]);
  });

  it('reports FAILED with the reason when the destination registry policy does not allow the source', async () => {
    const pushed = await oci.pushImage('closed/app', 'v1');
    await drain();
    expect(await statusOf('closed/app', pushed.digest)).toEqual([{ region: 'us-east-1', registryId: CLOSED, status: 'FAILED', failureCode: 'REGISTRY_POLICY_DENIED' }]);
    expect((await closed.oci.request('HEAD', `/v2/${CLOSED}/closed/app/manifests/v1`)).status).toBe(404);
    const row = await east.app.services.replication.statuses(SOURCE, 'closed/app', pushed.digest);
    expect(row[0]?.failureReason).toMatch(/registry policy of 444455556666 .* does not allow account 000000000000 to perform ecr:ReplicateImage/);
    // The audit trail has the failure, as a service event of the source account.
    const audit = await east.app.services.operations.audit.query({ eventName: 'ReplicateImage', repository: 'closed/app' });
    expect(audit.map((r) => r.serviceEventDetails)).toContainEqual(
      expect.objectContaining({ type: 'replication.failed', detail: expect.objectContaining({ destinationRegistryId: CLOSED, status: 'FAILED', failureCode: 'REGISTRY_POLICY_DENIED' }) }),
    );
    // Once the destination allows it, the next push goes through.
    await closed.ecr.send(new PutRegistryPolicyCommand({ policyText: replicationPolicy(CLOSED, [SOURCE]) }));
    const next = await oci.pushImage('closed/app', 'v2');
    await drain();
    expect(await statusOf('closed/app', next.digest)).toEqual([{ region: 'us-east-1', registryId: CLOSED, status: 'COMPLETE' }]);
    expect((await closed.oci.request('HEAD', `/v2/${CLOSED}/closed/app/manifests/v2`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(200);
  });

  it('copies an index with its children, and what arrived by replication goes no further', async () => {
    // TEAM's own rule would send everything on to CLOSED; replicated images must not follow it.
    await closed.ecr.send(new PutRegistryPolicyCommand({ policyText: replicationPolicy(CLOSED, [SOURCE, TEAM]) }));
    await team.ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [{ destinations: [{ region: 'us-east-1', registryId: CLOSED }] }] } }));
    const children = [await oci.pushImage('shared/base', 'amd64-only'), await oci.pushImage('shared/base', 'arm64-only')];
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((c, i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: c.digest,
        size: c.body.length,
        platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
      })),
    };
    const body = Buffer.from(JSON.stringify(index));
    expect((await oci.putManifest('shared/base', 'multi', body, index.mediaType)).status).toBe(201);
    await drain();
    const got = await team.oci.request('GET', `/v2/${TEAM}/shared/base/manifests/multi`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(sha256(body));
    for (const c of children) expect((await team.oci.request('HEAD', `/v2/${TEAM}/shared/base/manifests/${c.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(200);
    // No chaining: TEAM's copy did not go on to CLOSED, though TEAM's rule matches it.
    expect((await closed.oci.request('HEAD', `/v2/${CLOSED}/shared/base/manifests/multi`)).status).toBe(404);
    // But what TEAM pushes itself does.
    const own = await team.oci.pushImage(`${TEAM}/shared/base`, 'team-own');
    await drain();
    expect((await closed.oci.request('HEAD', `/v2/${CLOSED}/shared/base/manifests/team-own`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).headers.get('docker-content-digest')).toBe(own.digest);
    await team.ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [] } }));
  });

  it("creates destination repositories with the destination's REPLICATION template, and drops a tag its immutability keeps elsewhere", async () => {
    await team.ecr.send(
      new CreateRepositoryCreationTemplateCommand({ prefix: 'shared/tmpl', appliedFor: ['REPLICATION'], imageTagMutability: 'IMMUTABLE', resourceTags: [{ Key: 'origin', Value: 'replica' }] }),
    );
    const first = await oci.pushImage('shared/tmpl/app', 'v1');
    await drain();
    const repo = (await team.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['shared/tmpl/app'] }))).repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE');
    // The source moves v1 to another image: the destination keeps v1 where it was, and gets the image untagged.
    const second = await oci.pushImage('shared/tmpl/app', 'v1');
    await drain();
    expect(await statusOf('shared/tmpl/app', second.digest)).toEqual([{ region: 'us-east-1', registryId: TEAM, status: 'COMPLETE' }]);
    const v1 = await team.oci.request('HEAD', `/v2/${TEAM}/shared/tmpl/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(v1.headers.get('docker-content-digest')).toBe(first.digest);
    expect((await team.oci.request('HEAD', `/v2/${TEAM}/shared/tmpl/app/manifests/${second.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(200);
  });

  it('answers ImageNotFoundException for an unknown image and RepositoryNotFoundException for an unknown repository', async () => {
    const missing = await awsError(ecr.send(new DescribeImageReplicationStatusCommand({ repositoryName: 'prod/api', imageId: { imageTag: 'nope' } })));
    expect(missing.name).toBe('ImageNotFoundException');
    const repo = await awsError(ecr.send(new DescribeImageReplicationStatusCommand({ repositoryName: 'no/such', imageId: { imageTag: 'v1' } })));
    expect(repo.name).toBe('RepositoryNotFoundException');
    const byTag = await ecr.send(new DescribeImageReplicationStatusCommand({ repositoryName: 'prod/api', imageId: { imageTag: 'v1' } }));
    expect(byTag.imageId?.imageTag).toBe('v1');
    expect(byTag.imageId?.imageDigest).toMatch(/^sha256:/);
  });

  it('does not replicate deletes', async () => {
    const pushed = await oci.pushImage('prod/deleted', 'v1');
    await drain();
    expect((await oci.request('DELETE', `/v2/prod/deleted/manifests/${pushed.digest}`)).status).toBe(202);
    await drain();
    expect((await westOci.request('HEAD', '/v2/prod/deleted/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(200);
  });
});

describe('cross-account replication to the peer region, decided by the peer', () => {
  const WEST_TEAM = '777788889999';
  const WEST_CLOSED = '888899990000';
  let westTeam: { ecr: ECRClient; oci: OciTestClient };

  beforeAll(async () => {
    westTeam = await account(west, WEST_TEAM);
    await account(west, WEST_CLOSED);
    await westTeam.ecr.send(new PutRegistryPolicyCommand({ policyText: replicationPolicy(WEST_TEAM, [SOURCE], 'eu-west-1') }));
    await ecr.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: {
          rules: [
            {
              destinations: [
                { region: 'eu-west-1', registryId: WEST_TEAM },
                { region: 'eu-west-1', registryId: WEST_CLOSED },
              ],
              repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'xacct/' }],
            },
          ],
        },
      }),
    );
  });

  it("copies into the peer's account that allows it, and reports FAILED for the one whose registry policy does not", async () => {
    const pushed = await oci.pushImage('xacct/app', 'v1', { layers: 2 });
    await drain();
    const there = await westTeam.oci.request('GET', `/v2/${WEST_TEAM}/xacct/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(there.status).toBe(200);
    expect(sha256(Buffer.from(await there.arrayBuffer()))).toBe(pushed.digest);
    expect(await statusOf('xacct/app', pushed.digest)).toEqual([
      { region: 'eu-west-1', registryId: WEST_TEAM, status: 'COMPLETE' },
      { region: 'eu-west-1', registryId: WEST_CLOSED, status: 'FAILED', failureCode: 'REGISTRY_POLICY_DENIED' },
    ]);
    const [, closedRow] = await east.app.services.replication.statuses(SOURCE, 'xacct/app', pushed.digest);
    expect(closedRow?.failureReason).toMatch(/registry policy of 888899990000 in eu-west-1 does not allow account 000000000000/);
    expect(await west.app.meta.repositories.get(WEST_CLOSED, 'xacct/app')).toBeUndefined();
  });

  it("refuses a tenant's key at the peer claiming another account's images", async () => {
    const res = await westTeam.oci.request('POST', `/_berth/replication/v1/from/${SOURCE}/prepare`, {
      body: JSON.stringify({ sourceRegion: 'us-east-1', registryId: WEST_TEAM, repositoryName: 'xacct/forged', digests: [] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ failureCode: 'DESTINATION_ACCESS_DENIED' });
    const anonymous = await fetch(`${west.url}/_berth/replication/v1/from/${SOURCE}/v2/${WEST_TEAM}/xacct/app/blobs/uploads/`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
  });
});

describe('replication backfill', () => {
  it('copies what existed before the rule, reports progress and per-image results', async () => {
    await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [] } }));
    const old = [await oci.pushImage('legacy/one', 'v1'), await oci.pushImage('legacy/one', 'v2'), await oci.pushImage('legacy/two', 'latest')];
    await oci.putManifest('legacy/two', 'also', old[2]!.body);
    await oci.pushImage('other/skip', 'v1');
    await drain();
    const destination = { region: 'eu-west-1', registryId: SOURCE };
    await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [{ destinations: [destination], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'legacy' }] }] } }));
    // Nothing moves until a backfill is asked for.
    expect((await westOci.request('HEAD', '/v2/legacy/one/manifests/v1')).status).toBe(404);

    const started = await ecr.send(new StartReplicationBackfillCommand({ destination }));
    expect(started.status).toBe('PREPARING');
    expect(started.destination).toEqual(destination);
    const dup = await awsError(ecr.send(new StartReplicationBackfillCommand({ destination })));
    expect(dup.name).toBe('ReplicationBackfillInProgressException');
    await drain();

    const out = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: started.replicationBackfillId! }));
    expect(out.status).toBe('COMPLETE');
    expect(out.progress).toEqual({ totalReplicationCount: 4, completedReplicationCount: 4, failedReplicationCount: 0, failureCodes: [] });
    expect(out.endedAt).toBeInstanceOf(Date);
    expect(out.results?.map((r) => `${r.repositoryName}:${r.imageId?.imageTag}:${r.status}`).sort()).toEqual(
      ['legacy/one:v1:COMPLETE', 'legacy/one:v2:COMPLETE', 'legacy/two:also:COMPLETE', 'legacy/two:latest:COMPLETE'].sort(),
    );
    for (const [repo, tag, image] of [['legacy/one', 'v1', old[0]!], ['legacy/one', 'v2', old[1]!], ['legacy/two', 'also', old[2]!]] as const) {
      const there = await westOci.request('HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(there.headers.get('docker-content-digest')).toBe(image.digest);
    }
    expect((await westOci.request('HEAD', '/v2/other/skip/manifests/v1')).status).toBe(404);
    expect(await statusOf('legacy/one', old[0]!.digest)).toEqual([{ region: 'eu-west-1', registryId: SOURCE, status: 'COMPLETE' }]);

    // Paging of results, and the listing.
    const first = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: started.replicationBackfillId!, maxResults: 3 }));
    expect(first.results).toHaveLength(3);
    const rest = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: started.replicationBackfillId!, maxResults: 3, nextToken: first.nextToken! }));
    expect(rest.results).toHaveLength(1);
    expect(rest.nextToken).toBeUndefined();
    const failedOnly = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: started.replicationBackfillId!, resultStatusFilter: 'FAILED' }));
    expect(failedOnly.results).toEqual([]);
    const listed = await ecr.send(new ListReplicationBackfillsCommand({}));
    expect(listed.backfills?.[0]).toMatchObject({ replicationBackfillId: started.replicationBackfillId, status: 'COMPLETE', destination });

    const ended = await awsError(ecr.send(new StopReplicationBackfillCommand({ replicationBackfillId: started.replicationBackfillId! })));
    expect(ended.name).toBe('ReplicationBackfillInvalidStatusException');
    const unknown = await awsError(ecr.send(new StopReplicationBackfillCommand({ replicationBackfillId: 'f0000000-0000-0000-0000-000000000000' })));
    expect(unknown.name).toBe('ReplicationBackfillNotFoundException');
  });

  it('stops a backfill on request; what was copied stays', async () => {
    const destination = { region: 'us-east-1', registryId: TEAM };
    await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [{ destinations: [destination], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'legacy' }] }] } }));
    const started = await ecr.send(new StartReplicationBackfillCommand({ destination }));
    const stopped = await ecr.send(new StopReplicationBackfillCommand({ replicationBackfillId: started.replicationBackfillId! }));
    expect(stopped.status).toBe('STOPPING');
    await drain();
    const out = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: started.replicationBackfillId! }));
    expect(out.status).toBe('STOPPED');
  });

  it('reports the failed platform images of an index (subImageFailureCodes) and leaves archived images out', async () => {
    await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [] } }));
    const repo = 'bfsub/multi';
    const children: { digest: string; size: number; layers: string[] }[] = [];
    for (const platform of ['amd64', 'arm64']) {
      const child = await oci.pushImage(repo, `tmp-${platform}`);
      expect((await oci.request('DELETE', `/v2/${repo}/manifests/tmp-${platform}`)).status).toBe(202);
      children.push({ digest: child.digest, size: child.body.length, layers: child.layers });
    }
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.size, platform: { os: 'linux', architecture: i ? 'arm64' : 'amd64' } })),
      }),
    );
    expect((await oci.putManifest(repo, 'v1', index, 'application/vnd.oci.image.index.v1+json')).status).toBe(201);
    // The arm64 image's layer is lost at the source (as after damage or a bad manual clean-up).
    const row = (await east.app.meta.repositories.get(SOURCE, repo))!;
    expect(await east.app.meta.blobs.unlink(row.id, children[1]!.layers[0]!)).toBe(true);
    // An archived image is not pullable, so not backfilled.
    const cold = await oci.pushImage('bfsub/cold', 'v1');
    await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: 'bfsub/cold', imageId: { imageDigest: cold.digest }, targetStorageClass: 'ARCHIVE' }));

    const destination = { region: 'eu-west-1', registryId: SOURCE };
    await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [{ destinations: [destination], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'bfsub' }] }] } }));
    const started = await ecr.send(new StartReplicationBackfillCommand({ destination }));
    await drain();
    const out = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: started.replicationBackfillId! }));
    expect(out.progress).toEqual({ totalReplicationCount: 1, completedReplicationCount: 0, failedReplicationCount: 1, failureCodes: ['SOURCE_IMAGE_NOT_FOUND'] });
    expect(out.results).toEqual([
      expect.objectContaining({ repositoryName: repo, imageId: { imageDigest: sha256(index), imageTag: 'v1' }, status: 'FAILED', failureCode: 'SOURCE_IMAGE_NOT_FOUND', subImageFailureCodes: ['SOURCE_IMAGE_NOT_FOUND'] }),
    ]);
    // The platform image that could be copied was; the index, which would be incomplete, was not.
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };
    expect((await westOci.request('HEAD', `/v2/${repo}/manifests/${children[0]!.digest}`, { headers: accept })).status).toBe(200);
    expect((await westOci.request('HEAD', `/v2/${repo}/manifests/${children[1]!.digest}`, { headers: accept })).status).toBe(404);
    expect((await westOci.request('HEAD', `/v2/${repo}/manifests/v1`, { headers: accept })).status).toBe(404);
    expect((await westOci.request('HEAD', '/v2/bfsub/cold/manifests/v1', { headers: accept })).status).toBe(404);
  });

  it('validates page sizes and tokens of the listings', async () => {
    const big = await awsError(ecr.send(new ListReplicationBackfillsCommand({ maxResults: 51 })));
    expect(big.name).toBe('InvalidParameterException');
    expect(big.message).toMatch(/maxResults.*less than or equal to 50/);
    const token = await awsError(ecr.send(new ListReplicationBackfillsCommand({ nextToken: 'bogus' })));
    expect(token.name).toBe('InvalidParameterException');
    const page = await ecr.send(new ListReplicationBackfillsCommand({ maxResults: 1 }));
    expect(page.backfills).toHaveLength(1);
    const next = await ecr.send(new ListReplicationBackfillsCommand({ maxResults: 1, nextToken: page.nextToken! }));
    expect(next.backfills?.[0]?.replicationBackfillId).not.toBe(page.backfills?.[0]?.replicationBackfillId);
    const results = await awsError(ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: 'nope' })));
    expect(results.name).toBe('ReplicationBackfillNotFoundException');
  });

  it('refuses a destination that is not in the configuration', async () => {
    const err = await awsError(ecr.send(new StartReplicationBackfillCommand({ destination: { region: 'eu-west-1', registryId: '999999999999' } })));
    expect(err.name).toBe('InvalidParameterException');
  });
});
