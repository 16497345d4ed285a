import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, PutLifecyclePolicyCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleCommand } from '../../src/cli/lifecycle.js';
import { ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const DAY = 86_400_000;
let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;
const repo = 'cli/app';
const d: Record<string, string> = {};

/** Run `berth lifecycle ...` in-process beside the server, on its data folder. */
async function berth(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await lifecycleCommand([...args, '--data', server.dataDir, '--log-level', 'silent'], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

function policyText(keep: number): string {
  return JSON.stringify({
    rules: [{ rulePriority: 1, description: 'keep the newest releases', selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: keep }, action: { type: 'expire' } }],
  });
}

beforeAll(async () => {
  server = await startTestServer({ BERTH_LIFECYCLE_INTERVAL: '0' });
  // On PostgreSQL and S3 (npm run test:postgres) the command must open the same deployment.
  Object.assign(process.env, server.storageEnv);
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
  const db = server.app.meta.kysely;
  for (let i = 1; i <= 4; i++) {
    const { digest } = await oci.pushImage(repo, `v${i}`, { layers: 2 });
    d[`v${i}`] = digest;
    await db.updateTable('manifests').set({ pushed_at: Date.now() - (10 - i) * DAY }).where('digest', '=', digest).execute();
  }
});
afterAll(async () => {
  for (const key of Object.keys(server.storageEnv)) delete process.env[key];
  await server.close();
});

describe('berth lifecycle', () => {
  it('preview without a policy says so', async () => {
    const r = await berth('preview', '--repository', repo);
    expect(r.code).toBe(1);
    expect(r.err).toContain('has no lifecycle policy');
  });

  it('preview --policy FILE prints the plan as a table with the bytes freed, changing nothing', async () => {
    const file = join(server.dataDir, 'keep2.json');
    await writeFile(file, policyText(2));
    const r = await berth('preview', '--repository', repo, '--policy', file);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^DIGEST\s+TAGS\s+PUSHED\s+ACTION\s+RULE\s+WHY$/);
    expect(lines[1]).toContain(d['v2']!.slice(0, 19));
    expect(lines[1]).toMatch(/v2\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+expire\s+1\s+rule 1: number 3 of 4/);
    expect(lines[2]).toContain(d['v1']!.slice(0, 19));
    // Two images of one config and two layers each, none shared: 6 blobs.
    expect(r.out).toMatch(/2 images would expire and 0 would be archived, of 4; [\d.]+ KiB of blobs only they reference/);
    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: repo }))).imageDetails).toHaveLength(4);
  });

  it('preview --compare shows what the new policy does differently', async () => {
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: policyText(3) }));
    const file = join(server.dataDir, 'keep1.json');
    await writeFile(file, policyText(1));
    const r = await berth('preview', '--repository', repo, '--policy', file);
    expect(r.code).toBe(0);
    expect(r.out).toContain('compared with the stored policy: 2 images treated differently');
    expect(r.out).toMatch(new RegExp(`${d['v2']!.slice(0, 19)}\\s+v2\\s+keep\\s+expire \\(rule 1\\)`));
    const other = join(server.dataDir, 'keep2.json');
    const r2 = await berth('preview', '--repository', repo, '--policy', file, '--compare', other);
    expect(r2.out).toContain(`compared with ${other}: 1 image treated differently`);
  });

  it('run applies the stored policy now and prints what it did', async () => {
    const r = await berth('run', '--repository', repo);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${repo}: expired ${d['v1']} [v1] by rule 1: rule 1: number 4 of 4`);
    expect(r.out).toContain(`${repo}: 1 expired, 0 archived, 0 left alone`);
    const left = (await ecr.send(new DescribeImagesCommand({ repositoryName: repo }))).imageDetails!.map((i) => i.imageDigest).sort();
    expect(left).toEqual([d['v2'], d['v3'], d['v4']].sort());
  });

  it('run without --repository applies every stored policy', async () => {
    const r = await berth('run');
    expect(r.code).toBe(0);
    expect(r.out).toContain('applied the lifecycle policies of 1 repository: 0 images expired or archived');
  });

  it('refuses wrong usage and invalid policy files', async () => {
    expect((await berth('preview')).code).toBe(2);
    expect((await berth('frobnicate')).code).toBe(2);
    const bad = join(server.dataDir, 'bad.json');
    await writeFile(bad, JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } }] }));
    const r = await berth('preview', '--repository', repo, '--policy', bad);
    expect(r.code).toBe(2);
    expect(r.err).toContain('countType "sinceImagePulled" can only be used with a "transition" action');
  });
});
