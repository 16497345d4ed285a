import {
  BatchCheckLayerAvailabilityCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  type GetLifecyclePolicyPreviewCommandOutput,
  ListImageReferrersCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RegistryEvent } from '../../src/events/index.js';
import { awsError, ecrClient, signedJsonPost } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const DAY = 86_400_000;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;
const events: RegistryEvent[] = [];

beforeAll(async () => {
  // No scheduled run behind the tests' back: they trigger it with runPeriodic('lifecycle').
  server = await startTestServer({ BERTH_LIFECYCLE_INTERVAL: '0' });
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
  server.app.events.on((e) => events.push(e));
});
afterAll(() => server.close());

/** The default account's id. */
async function accountId(): Promise<string> {
  return (await server.app.meta.accounts.list())[0]!.id;
}

/** Set a manifest's push time (and optionally last pull) to `ageDays` ago, as if pushed then. */
async function age(repo: string, digest: string, ageDays: number, pulledDaysAgo?: number): Promise<void> {
  const db = server.app.meta.kysely;
  const row = await db.selectFrom('repositories').select('id').where('name', '=', repo).executeTakeFirstOrThrow();
  await db
    .updateTable('manifests')
    .set({ pushed_at: Date.now() - ageDays * DAY, ...(pulledDaysAgo !== undefined ? { last_pulled_at: Date.now() - pulledDaysAgo * DAY } : {}) })
    .where('repository_id', '=', Number(row.id))
    .where('digest', '=', digest)
    .execute();
}

async function pushAged(repo: string, ref: string, ageDays: number): Promise<string> {
  const { digest } = await oci.pushImage(repo, ref);
  await age(repo, digest, ageDays);
  return digest;
}

/** An index of two fresh untagged images, pushed under `tag`. */
async function pushIndex(repo: string, tag: string, ageDays: number): Promise<{ index: string; children: string[] }> {
  const children: { digest: string; size: number }[] = [];
  for (let i = 0; i < 2; i++) {
    const child = await oci.pushImage(repo, `tmp-${tag}-${i}`);
    const res = await oci.request('DELETE', `/v2/${repo}/manifests/tmp-${tag}-${i}`);
    expect(res.status).toBe(202);
    children.push({ digest: child.digest, size: child.body.length });
    await age(repo, child.digest, ageDays);
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...c, platform: { os: 'linux', architecture: i ? 'arm64' : 'amd64' } })),
    }),
  );
  const res = await oci.putManifest(repo, tag, index, OCI_INDEX);
  expect(res.status).toBe(201);
  await age(repo, sha256(index), ageDays);
  return { index: sha256(index), children: children.map((c) => c.digest) };
}

function policy(rules: object[]): string {
  return JSON.stringify({ rules }, null, 2).padEnd(100, ' ');
}

async function previewToComplete(repositoryName: string): Promise<GetLifecyclePolicyPreviewCommandOutput> {
  for (let i = 0; i < 400; i++) {
    const out = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName }));
    if (out.status !== 'IN_PROGRESS') return out;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('preview did not complete');
}

async function allPreviewDigests(repositoryName: string, pageSize: number): Promise<string[]> {
  const digests: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName, maxResults: pageSize, ...(nextToken ? { nextToken } : {}) }));
    digests.push(...(page.previewResults ?? []).map((r) => r.imageDigest!));
    nextToken = page.nextToken;
  } while (nextToken);
  return digests.sort();
}

async function describeAll(repositoryName: string, imageStatus?: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING' | 'ANY') {
  const out = await ecr.send(new DescribeImagesCommand({ repositoryName, ...(imageStatus ? { filter: { imageStatus } } : {}) }));
  return out.imageDetails ?? [];
}

async function runNow(): Promise<void> {
  await server.app.jobs.runPeriodic('lifecycle');
  await server.app.jobs.drain(['lifecycle.run', 'lifecycle.restore']);
}

describe('preview, then the run does exactly what the preview showed', () => {
  const repo = 'lc/app';
  const d: Record<string, string> = {};
  let index: { index: string; children: string[] };

  beforeAll(async () => {
    for (let i = 1; i <= 5; i++) d[`v${i}`] = await pushAged(repo, `v${i}`, 10 - i);
    d['latest'] = await pushAged(repo, 'latest', 0.5);
    // Untagged: one old, one young.
    d['old-untagged'] = await pushAged(repo, 'u1', 8);
    await oci.request('DELETE', `/v2/${repo}/manifests/u1`);
    d['young-untagged'] = await pushAged(repo, 'u2', 1);
    await oci.request('DELETE', `/v2/${repo}/manifests/u2`);
    // A multi-arch release kept by the v rule: its untagged children must survive the untagged rule.
    index = await pushIndex(repo, 'v0-multi', 20);
    // A signature of v1 (which goes): it goes with it. A signature of v5 (which stays) stays.
    for (const subject of ['v1', 'v5']) {
      const sig = await oci.pushImage(repo, `sig-${subject}`, { extra: { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d[subject], size: 1 } } });
      await oci.request('DELETE', `/v2/${repo}/manifests/sig-${subject}`);
      await age(repo, sig.digest, 30);
      d[`sig-${subject}`] = sig.digest;
    }
  });

  const rules = [
    { rulePriority: 1, description: 'untagged after 3 days', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: { type: 'expire' } },
    { rulePriority: 2, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 3 }, action: { type: 'expire' } },
  ];

  it('stores the policy canonically and reports no evaluation yet', async () => {
    const put = await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: policy([rules[1]!, rules[0]!]) }));
    expect(JSON.parse(put.lifecyclePolicyText!)).toEqual({ rules });
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }));
    expect(got.lifecyclePolicyText).toBe(put.lifecyclePolicyText);
    expect(got.lastEvaluatedAt).toBeUndefined();
  });

  let expected: string[];
  it('previews the stored policy: the expected plan, with summary, pages and filters', async () => {
    const started = await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    expect(started.status).toBe('IN_PROGRESS');
    const preview = await previewToComplete(repo);
    expect(preview.status).toBe('COMPLETE');
    // The v rule ranks v0-multi (20 d), v1..v5: keeps v5, v4, v3; v2, v1 and the index go (with its
    // children and v1's signature); the untagged rule takes the old untagged image only.
    expected = [d['v1']!, d['v2']!, index.index, ...index.children, d['sig-v1']!, d['old-untagged']!].sort();
    expect((preview.previewResults ?? []).map((r) => r.imageDigest).sort()).toEqual(expected);
    expect(preview.summary).toEqual({ expiringImageTotalCount: expected.length });
    const v1 = preview.previewResults!.find((r) => r.imageDigest === d['v1'])!;
    expect(v1).toMatchObject({ imageTags: ['v1'], action: { type: 'EXPIRE' }, appliedRulePriority: 2, storageClass: 'STANDARD' });
    expect(v1.imagePushedAt).toBeInstanceOf(Date);
    expect(preview.previewResults!.find((r) => r.imageDigest === d['old-untagged'])!.appliedRulePriority).toBe(1);
    // Pages of 2 walk the same set.
    expect(await allPreviewDigests(repo, 2)).toEqual(expected);
    const tagged = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, filter: { tagStatus: 'TAGGED' } }));
    expect(tagged.previewResults!.map((r) => r.imageDigest).sort()).toEqual([d['v1']!, d['v2']!, index.index].sort());
    expect(tagged.summary!.expiringImageTotalCount).toBe(expected.length);
    const byId = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v2' }, { imageDigest: d['v5'] }] }));
    expect(byId.previewResults!.map((r) => r.imageDigest)).toEqual([d['v2']]);
  });

  it('reports the bytes freed beyond ECR, in a field the SDK ignores', async () => {
    const res = await fetchPreviewRaw(repo);
    expect(res.berth.bytesFreed).toBeGreaterThan(0);
  });

  it('runs: exactly the previewed images are gone, the rest still pull, each action is an event with its rule', async () => {
    const before = (await describeAll(repo, 'ANY')).map((i) => i.imageDigest!);
    events.length = 0;
    await runNow();
    const after = (await describeAll(repo, 'ANY')).map((i) => i.imageDigest!);
    expect(before.filter((x) => !after.includes(x)).sort()).toEqual(expected);
    for (const digest of after) {
      const res = await oci.request('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: '*/*' } });
      expect(res.status).toBe(200);
    }
    const expiredEvents = events.filter((e) => e.type === 'lifecycle.expired') as (RegistryEvent & { detail: { rulePriority: number } })[];
    expect(expiredEvents.map((e) => (e as { digest?: string }).digest).sort()).toEqual(expected);
    expect(expiredEvents.find((e) => (e as { digest?: string }).digest === d['old-untagged'])!.detail.rulePriority).toBe(1);
    expect(events.filter((e) => e.type === 'image.deleted')).toHaveLength(expected.length);
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }));
    expect(got.lastEvaluatedAt).toBeInstanceOf(Date);
  });

  it('a second run finds nothing more to do', async () => {
    const before = (await describeAll(repo, 'ANY')).length;
    await runNow();
    expect((await describeAll(repo, 'ANY')).length).toBe(before);
  });

  it('previews an inline policy compared with the stored one', async () => {
    const stricter = [rules[0]!, { ...rules[1]!, selection: { ...rules[1]!.selection, countNumber: 1 } }];
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: policy(stricter) }));
    const preview = await previewToComplete(repo);
    expect(preview.previewResults!.map((r) => r.imageDigest).sort()).toEqual([d['v3']!, d['v4']!].sort());
    const raw = await fetchPreviewRaw(repo);
    expect(raw.berth.comparison.differences.map((x: { digest: string }) => x.digest).sort()).toEqual([d['v3']!, d['v4']!].sort());
    // The stored policy did not change.
    expect(JSON.parse((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }))).lifecyclePolicyText!)).toEqual({ rules });
  });

  it('DeleteLifecyclePolicy returns the policy; then there is none', async () => {
    const deleted = await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: repo }));
    expect(JSON.parse(deleted.lifecyclePolicyText!)).toEqual({ rules });
    expect(deleted.lastEvaluatedAt).toBeInstanceOf(Date);
    const err = await awsError(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo })));
    expect(err.name).toBe('LifecyclePolicyNotFoundException');
  });
});

/** GetLifecyclePolicyPreview as raw JSON, to read berth's extra fields. */
async function fetchPreviewRaw(repositoryName: string): Promise<any> {
  const res = await signedJsonPost(server, 'ecr', 'AmazonEC2ContainerRegistry_V20150921.GetLifecyclePolicyPreview', JSON.stringify({ repositoryName }));
  expect(res.status).toBe(200);
  return res.json();
}

describe('images that change after the plan are re-checked before they are touched', () => {
  const repo = 'lc/race';

  it('an image tagged between the plan and the action stays; the rest of the plan goes ahead', async () => {
    const old1 = await pushAged(repo, 'u-a', 9);
    await oci.request('DELETE', `/v2/${repo}/manifests/u-a`);
    const old2 = await pushAged(repo, 'u-b', 8);
    await oci.request('DELETE', `/v2/${repo}/manifests/u-b`);
    const row = (await server.app.meta.repositories.get(await accountId(), repo))!;
    const oldBody = (await server.app.meta.manifests.get(row.id, old1))!.body;
    await ecr.send(
      new PutLifecyclePolicyCommand({
        repositoryName: repo,
        lifecyclePolicyText: policy([{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } }]),
      }),
    );
    const service = server.app.services.lifecycle;
    const original = service.evaluateRepository.bind(service);
    // A push that tags old1 lands right after the plan was made (both were untagged then).
    const spy = vi.spyOn(service, 'evaluateRepository').mockImplementation(async (...args) => {
      const plan = await original(...args);
      expect((await oci.putManifest(repo, 'rescued', oldBody)).status).toBe(201);
      return plan;
    });
    try {
      const report = await service.runRepository({ accountId: row.accountId, name: repo, repositoryId: row.id });
      expect(report!.expired.map((a) => a.digest)).toEqual([old2]);
      expect(report!.skipped).toEqual([{ digest: old1, reason: 'changed since the plan was made' }]);
    } finally {
      spy.mockRestore();
    }
    const left = (await describeAll(repo)).map((i) => i.imageDigest);
    expect(left).toEqual([old1]);
  });
});

describe('the archive storage class', () => {
  const repo = 'lc/archive';
  let kept: string;
  let cold: string;
  let restoredByPush: { digest: string; body: Buffer };

  beforeAll(async () => {
    kept = await pushAged(repo, 'hot', 40);
    await age(repo, kept, 40, 1);
    cold = await pushAged(repo, 'cold', 40);
    await age(repo, cold, 40, 35);
  });

  it('a transition rule archives what was not pulled for N days: hidden, listed on request, not pullable', async () => {
    await ecr.send(
      new PutLifecyclePolicyCommand({
        repositoryName: repo,
        lifecyclePolicyText: policy([
          { rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }, action: { type: 'transition', targetStorageClass: 'archive' } },
          { rulePriority: 2, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: { type: 'expire' } },
        ]),
      }),
    );
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    const preview = await previewToComplete(repo);
    expect(preview.previewResults).toEqual([
      expect.objectContaining({ imageDigest: cold, action: { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' }, appliedRulePriority: 1, storageClass: 'STANDARD' }),
    ]);
    expect(preview.summary).toEqual({ expiringImageTotalCount: 0, transitioningImageTotalCounts: [{ targetStorageClass: 'ARCHIVE', imageTotalCount: 1 }] });
    await runNow();
    expect((await describeAll(repo)).map((i) => i.imageDigest)).toEqual([kept]);
    const archived = await describeAll(repo, 'ARCHIVED');
    expect(archived.map((i) => i.imageDigest)).toEqual([cold]);
    expect(archived[0]!.imageStatus).toBe('ARCHIVED');
    expect(archived[0]!.lastArchivedAt).toBeInstanceOf(Date);
    expect((await describeAll(repo, 'ANY')).length).toBe(2);
    expect((await oci.request('GET', `/v2/${repo}/manifests/cold`)).status).toBe(404);
    const batch = await ecr.send(new BatchGetImageCommand({ repositoryName: repo, imageIds: [{ imageTag: 'cold' }, { imageTag: 'hot' }] }));
    expect(batch.images!.map((i) => i.imageId!.imageDigest)).toEqual([kept]);
    expect(batch.failures).toEqual([expect.objectContaining({ imageId: { imageTag: 'cold' }, failureCode: 'ImageInaccessible' })]);
  });

  it('UpdateImageStorageClass restores: ACTIVATING, then ACTIVE with lastActivatedAt, and pullable', async () => {
    const err = await awsError(ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageTag: 'cold' }, targetStorageClass: 'ARCHIVE' })));
    expect(err.name).toBe('ImageStorageClassUpdateNotSupportedException');
    const out = await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageTag: 'cold' }, targetStorageClass: 'STANDARD' }));
    expect(out).toMatchObject({ repositoryName: repo, imageId: { imageDigest: cold, imageTag: 'cold' } });
    expect(['ACTIVATING', 'ACTIVE']).toContain(out.imageStatus);
    await server.app.jobs.drain(['lifecycle.restore']);
    const [detail] = (await ecr.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageDigest: cold }] }))).imageDetails!;
    expect(detail!.imageStatus).toBe('ACTIVE');
    expect(detail!.lastActivatedAt).toBeInstanceOf(Date);
    expect((await oci.request('GET', `/v2/${repo}/manifests/cold`, { headers: { accept: '*/*' } })).status).toBe(200);
    const again = await awsError(ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageDigest: cold }, targetStorageClass: 'STANDARD' })));
    expect(again.name).toBe('ImageStorageClassUpdateNotSupportedException');
  });

  it('archiving by hand is immediate, and pushing the image again restores it', async () => {
    restoredByPush = await oci.pushImage(repo, 'again');
    const out = await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageDigest: restoredByPush.digest }, targetStorageClass: 'ARCHIVE' }));
    expect(out.imageStatus).toBe('ARCHIVED');
    expect((await oci.request('GET', `/v2/${repo}/manifests/again`)).status).toBe(404);
    const res = await oci.putManifest(repo, 'again-2', restoredByPush.body);
    expect(res.status).toBe(201);
    expect((await oci.request('GET', `/v2/${repo}/manifests/again`, { headers: { accept: '*/*' } })).status).toBe(200);
  });

  it('an index is archived with its children, which cannot change class alone, and a push of the index restores them all', async () => {
    const { index, children } = await pushIndex(repo, 'multi', 1);
    const child = await awsError(ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageDigest: children[0] }, targetStorageClass: 'ARCHIVE' })));
    expect(child.name).toBe('ImageStorageClassUpdateNotSupportedException');
    const out = await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageTag: 'multi' }, targetStorageClass: 'ARCHIVE' }));
    expect(out.imageStatus).toBe('ARCHIVED');
    const archived = (await describeAll(repo, 'ARCHIVED')).map((i) => i.imageDigest);
    expect(archived).toEqual(expect.arrayContaining([index, ...children]));
    expect((await oci.request('GET', `/v2/${repo}/manifests/${children[0]}`)).status).toBe(404);
    const body = (await server.app.meta.manifests.get((await server.app.meta.repositories.get(await accountId(), repo))!.id, index))!.body;
    expect((await oci.putManifest(repo, 'multi-again', body, OCI_INDEX)).status).toBe(201);
    const active = (await describeAll(repo)).map((i) => i.imageDigest);
    expect(active).toEqual(expect.arrayContaining([index, ...children]));
  });

  it('layers that only archived images use are ARCHIVED and not served; referrers are listed by their status', async () => {
    const archive = (imageDigest: string) => ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageDigest }, targetStorageClass: 'ARCHIVE' }));
    const check = async (digests: string[]) =>
      (await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: repo, layerDigests: digests }))).layers!.map((l) => [l.layerDigest, l.layerAvailability]);
    const image = await oci.pushImage(repo, 'layers-a');
    const [layer] = image.layers as [string];
    // A second image with the same config and layer (another digest: an annotation).
    const twin = Buffer.from(JSON.stringify({ ...JSON.parse(image.body.toString()), annotations: { twin: 'yes' } }));
    expect((await oci.putManifest(repo, 'layers-b', twin)).status).toBe(201);
    const signature = await oci.pushImage(repo, 'layers-a-sig', {
      extra: { artifactType: 'application/vnd.example.signature', subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: image.body.length } },
    });

    // The twin still uses the layer: it stays AVAILABLE and served.
    await archive(image.digest);
    expect(await check([layer])).toEqual([[layer, 'AVAILABLE']]);
    expect((await oci.request('GET', `/v2/${repo}/blobs/${layer}`)).status).toBe(200);

    // The referrer went to the archive with its subject: listed only when asked for.
    const referrers = (artifactStatus?: 'ARCHIVED' | 'ANY') =>
      ecr.send(new ListImageReferrersCommand({ repositoryName: repo, subjectId: { imageDigest: image.digest }, ...(artifactStatus ? { filter: { artifactStatus } } : {}) }));
    expect((await referrers()).referrers).toEqual([]);
    expect((await referrers('ARCHIVED')).referrers).toEqual([expect.objectContaining({ digest: signature.digest, artifactStatus: 'ARCHIVED' })]);
    expect((await referrers('ANY')).referrers!.map((r) => r.digest)).toEqual([signature.digest]);
    const oci11 = await oci.request('GET', `/v2/${repo}/referrers/${image.digest}`);
    expect(((await oci11.json()) as { manifests: unknown[] }).manifests).toEqual([]);

    // Now no active image uses the layer: ARCHIVED, neither served nor given a download URL.
    await archive(sha256(twin));
    expect(await check([layer])).toEqual([[layer, 'ARCHIVED']]);
    for (const method of ['GET', 'HEAD'] as const) expect((await oci.request(method, `/v2/${repo}/blobs/${layer}`)).status).toBe(404);
    const url = await awsError(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: repo, layerDigest: layer })));
    expect(url).toMatchObject({ name: 'LayerInaccessibleException', message: expect.stringContaining('archived') });

    // Restoring one image serves the layer again.
    await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageTag: 'layers-b' }, targetStorageClass: 'STANDARD' }));
    await server.app.jobs.drain(['lifecycle.restore']);
    expect(await check([layer])).toEqual([[layer, 'AVAILABLE']]);
    expect((await oci.request('GET', `/v2/${repo}/blobs/${layer}`)).status).toBe(200);
  });

  it('refuses unknown images and bad targets', async () => {
    const missing = await awsError(ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageTag: 'nope' }, targetStorageClass: 'ARCHIVE' })));
    expect(missing.name).toBe('ImageNotFoundException');
    const bad = await awsError(ecr.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageTag: 'hot' }, targetStorageClass: 'GLACIER' as 'ARCHIVE' })));
    expect(bad.name).toBe('InvalidParameterException');
    const noRepo = await awsError(ecr.send(new UpdateImageStorageClassCommand({ repositoryName: 'lc/none', imageId: { imageTag: 'hot' }, targetStorageClass: 'ARCHIVE' })));
    expect(noRepo.name).toBe('RepositoryNotFoundException');
  });
});

describe('bad input gets the exceptions ECR returns', () => {
  const repo = 'lc/bad';
  beforeAll(async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
  });

  const invalid: [string, string][] = [
    ['not JSON', '{"rules": [ { "rulePriority": 1 '.padEnd(100, ' ')],
    ['any before tagged', policy([
      { rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
      { rulePriority: 2, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
    ])],
    ['null targetStorageClass', policy([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire', targetStorageClass: null } }])],
    ['sinceImagePulled expire', policy([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } }])],
    ['countNumber 0', policy([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 0 }, action: { type: 'expire' } }])],
    ['too short', '{"rules":[]}'],
  ];

  it.each(invalid)('PutLifecyclePolicy and StartLifecyclePolicyPreview refuse %s', async (_name, text) => {
    for (const call of [
      () => ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: text })),
      () => ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text })),
    ]) {
      const err = await awsError(call());
      expect(err.name).toBe('InvalidParameterException');
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/Lifecycle policy validation failure|Member must have length/);
    }
  });

  it('names the offending rule', async () => {
    const err = await awsError(
      ecr.send(
        new PutLifecyclePolicyCommand({
          repositoryName: repo,
          lifecyclePolicyText: policy([
            { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
            { rulePriority: 7, selection: { tagStatus: 'tagged', tagPatternList: ['*a*b*c*d*e'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
          ]),
        }),
      ),
    );
    expect(err.message).toBe(
      "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: rules[1] (rulePriority 7): tag pattern \"*a*b*c*d*e\" has 5 wildcards; at most 4 are allowed at \"/rules/1/selection/tagPatternList/0\"'",
    );
  });

  it('no policy: LifecyclePolicyNotFoundException; no preview: LifecyclePolicyPreviewNotFoundException', async () => {
    for (const call of [
      () => ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo })),
      () => ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: repo })),
      () => ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo })),
    ]) {
      const err = await awsError(call());
      expect(err.name).toBe('LifecyclePolicyNotFoundException');
      expect(err.message).toMatch(new RegExp(`^Lifecycle policy does not exist for the repository with name '${repo}' in the registry with id '\\d{12}'$`));
    }
    const err = await awsError(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo })));
    expect(err.name).toBe('LifecyclePolicyPreviewNotFoundException');
  });

  it('a preview in progress refuses another', async () => {
    const db = server.app.meta.kysely;
    const row = await db.selectFrom('repositories').select('id').where('name', '=', repo).executeTakeFirstOrThrow();
    // A preview whose job has not run yet, written through the metadata store.
    await db
      .insertInto('lifecycle_previews')
      .values({ repository_id: Number(row.id), policy_text: 'x', compare_text: null, status: 'IN_PROGRESS', started_at: Date.now(), finished_at: null, summary: null, error: null })
      .execute();
    const text = policy([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }]);
    const err = await awsError(ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text })));
    expect(err.name).toBe('LifecyclePolicyPreviewInProgressException');
    expect((await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }))).status).toBe('IN_PROGRESS');
  });

  it('paging and imageIds are exclusive; maxResults is 1-100', async () => {
    const both = await awsError(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, maxResults: 5, imageIds: [{ imageTag: 'a' }] })));
    expect(both.name).toBe('InvalidParameterException');
    const big = await awsError(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, maxResults: 101 })));
    expect(big.name).toBe('InvalidParameterException');
  });

  it('the policy and the preview go with their repository', async () => {
    const name = 'lc/gone';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    const text = policy([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }]);
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: text }));
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }));
    await previewToComplete(name);
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    expect((await awsError(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name })))).name).toBe('LifecyclePolicyNotFoundException');
    expect((await awsError(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: name })))).name).toBe('LifecyclePolicyPreviewNotFoundException');
  });

  it('a missing repository is RepositoryNotFoundException', async () => {
    const text = policy([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }]);
    for (const call of [
      () => ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/missing', lifecyclePolicyText: text })),
      () => ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/missing' })),
      () => ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/missing' })),
      () => ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lc/missing' })),
    ]) {
      expect((await awsError(call())).name).toBe('RepositoryNotFoundException');
    }
  });
});
