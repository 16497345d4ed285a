import {
  DescribeImagesCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;

beforeAll(async () => {
  // The schedule alone applies the policy: no admin command, no runPeriodic.
  server = await startTestServer({ BERTH_LIFECYCLE_INTERVAL: '1s', BERTH_LIFECYCLE_PREVIEW_TTL: '1s' });
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
});
afterAll(() => server.close());

describe('BERTH_LIFECYCLE_INTERVAL and BERTH_LIFECYCLE_PREVIEW_TTL', () => {
  it('applies every stored policy on its schedule, as durable jobs', async () => {
    const repo = 'sched/app';
    const digests: string[] = [];
    for (const tag of ['a1', 'a2', 'a3']) digests.push((await oci.pushImage(repo, tag)).digest);
    // Distinct push times, oldest first, whatever the clock's resolution.
    for (const [i, digest] of digests.entries()) {
      await server.app.meta.kysely.updateTable('manifests').set({ pushed_at: Date.now() - (3 - i) * 60_000 }).where('digest', '=', digest).execute();
    }
    await ecr.send(
      new PutLifecyclePolicyCommand({
        repositoryName: repo,
        lifecyclePolicyText: JSON.stringify({
          rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['a'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }],
        }),
      }),
    );
    // Wait (polling, with a generous bound) until the scheduled run has evaluated the policy.
    let evaluated: Date | undefined;
    for (let i = 0; i < 600 && !evaluated; i++) {
      evaluated = (await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }))).lastEvaluatedAt;
      if (!evaluated) await new Promise((r) => setTimeout(r, 100));
    }
    expect(evaluated).toBeInstanceOf(Date);
    const left = (await ecr.send(new DescribeImagesCommand({ repositoryName: repo }))).imageDetails!.map((i) => i.imageDigest);
    expect(left).toEqual([digests[2]]);
    const jobs = await server.app.meta.kysely.selectFrom('jobs').select(['kind', 'state']).where('kind', '=', 'lifecycle.run').execute();
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((j) => j.state === 'done' || j.state === 'queued' || j.state === 'running')).toBe(true);
  });

  it('a finished preview reports EXPIRED after BERTH_LIFECYCLE_PREVIEW_TTL, without its results', async () => {
    const repo = 'sched/app';
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    let status: string | undefined = 'IN_PROGRESS';
    let out;
    for (let i = 0; i < 300 && status !== 'EXPIRED'; i++) {
      out = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
      status = out.status;
      if (status !== 'EXPIRED') await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('EXPIRED');
    expect(out!.previewResults).toEqual([]);
    expect(out!.summary).toBeUndefined();
  });
});
