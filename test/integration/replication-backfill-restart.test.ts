/**
 * A replication backfill survives a restart of the server in the middle: it resumes from its
 * cursor, copies every image x tag combination once, and counts each once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeReplicationBackfillResultsCommand,
  PutRegistryPolicyCommand,
  PutReplicationConfigurationCommand,
  StartReplicationBackfillCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { SecretBox } from '../../src/iam/index.js';
import { ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { basicAuth, TEST_ACCESS_KEY_ID, TEST_SECRET } from '../helpers/test-server.js';

const TEAM = '111122223333';
const IMAGES = 12;
let dataDir: string | undefined;
let app: App | undefined;

async function start(dir: string): Promise<{ app: App; url: string }> {
  const config = loadConfig({
    env: {
      BERTH_DATA_DIR: dir,
      BERTH_LISTEN: '127.0.0.1:0',
      BERTH_LOG_LEVEL: 'silent',
      BERTH_CREATE_ON_PUSH: 'true',
      BERTH_ROOT_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      BERTH_ROOT_SECRET_ACCESS_KEY: TEST_SECRET,
      BERTH_LIMITS_RATE_LIMITING: 'false',
      BERTH_GC_INTERVAL: '0',
    },
  });
  const started = await buildApp(config);
  await started.server.listen({ host: '127.0.0.1', port: 0 });
  return { app: started, url: `http://127.0.0.1:${(started.server.server.address() as AddressInfo).port}` };
}

afterAll(async () => {
  await app?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('resumes a backfill cut by a restart from its cursor, and counts each combination once', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'berth-repl-restart-'));
  let server = await start(dataDir);
  app = server.app;
  const root = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET };
  const oci = new OciTestClient(server.url, basicAuth(TEST_ACCESS_KEY_ID, TEST_SECRET));
  const team = { accessKeyId: `AKIAREPL${TEAM}`, secretAccessKey: randomBytes(30).toString('base64url') };
  await app.meta.accounts.ensure(TEAM, Date.now());
  await app.meta.accessKeys.create({ ...team, accountId: TEAM, userName: null, secretEnc: SecretBox.load(dataDir).seal(team.secretAccessKey), status: 'Active', createdAt: Date.now() });
  await ecrClient(server, team).send(
    new PutRegistryPolicyCommand({
      policyText: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: `arn:aws:ecr:us-east-1:${TEAM}:repository/*` }],
      }),
    }),
  );
  const pushed = [];
  for (let i = 0; i < IMAGES; i++) pushed.push(await oci.pushImage(`legacy/r${String(i).padStart(2, '0')}`, 'v1'));
  const destination = { region: 'us-east-1', registryId: TEAM };
  const ecr = ecrClient(server, root);
  await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [{ destinations: [destination], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'legacy/' }] }] } }));
  const { replicationBackfillId } = await ecr.send(new StartReplicationBackfillCommand({ destination }));

  // Let it copy a few, then restart the server under it.
  for (let done = 0; done < 3; ) {
    await new Promise((r) => setTimeout(r, 20));
    done = (await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: replicationBackfillId! }))).progress?.completedReplicationCount ?? 0;
  }
  await app.close();
  server = await start(dataDir);
  app = server.app;
  const afterRestart = await app.services.replication.backfill('000000000000', replicationBackfillId!);
  expect(afterRestart.status).toBe('IN_PROGRESS');
  expect(afterRestart.cursor).not.toBeNull();
  expect(afterRestart.completed).toBeLessThan(IMAGES);
  await app.jobs.drain(['replication.backfill', 'replication.copy'], { timeoutMs: 60_000 });

  const out = await ecrClient(server, root).send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: replicationBackfillId! }));
  expect(out.status).toBe('COMPLETE');
  expect(out.progress).toEqual({ totalReplicationCount: IMAGES, completedReplicationCount: IMAGES, failedReplicationCount: 0, failureCodes: [] });
  expect(out.results).toHaveLength(IMAGES);
  const teamOci = new OciTestClient(server.url, basicAuth(team.accessKeyId, team.secretAccessKey));
  for (let i = 0; i < IMAGES; i++) {
    const res = await teamOci.request('HEAD', `/v2/${TEAM}/legacy/r${String(i).padStart(2, '0')}/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.headers.get('docker-content-digest')).toBe(pushed[i]!.digest);
  }
}, 120_000);
