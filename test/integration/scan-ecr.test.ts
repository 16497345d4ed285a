import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  BatchGetRepositoryScanningConfigurationCommand,
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  GetRegistryScanningConfigurationCommand,
  PutImageScanningConfigurationCommand,
  PutRegistryScanningConfigurationCommand,
  StartImageScanCommand,
  paginateDescribeImageScanFindings,
  type ECRClient,
  type ImageScanFinding,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsError, ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { VULNDATA, buildImage, expectedFindings, fixtureFiles, mixedImageLayers, pushImage, type BuiltImage } from './scan-fixtures.js';

/** The fixtures the mixed image holds, as expected-findings.json names them. */
const MIXED_FIXTURES = [
  'fixtures/apk/alpine-3.18/',
  'fixtures/python/debian12-site-packages/',
  'fixtures/npm/osv-fix/',
  'fixtures/rust/net2/',
];

let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;
let mixed: BuiltImage;

beforeAll(async () => {
  server = await startTestServer();
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
  const scanning = server.app.services.scanning;
  await scanning.importVulnDb(join(VULNDATA, 'osv'));
  await scanning.importVulnDb(join(VULNDATA, 'osv-derived'));
  mixed = await buildImage(await mixedImageLayers());
}, 120_000);

afterAll(async () => {
  ecr?.destroy();
  await server?.close();
});

async function allFindings(repositoryName: string, imageDigest: string, pageSize?: number): Promise<ImageScanFinding[]> {
  const out: ImageScanFinding[] = [];
  for await (const page of paginateDescribeImageScanFindings({ client: ecr, ...(pageSize ? { pageSize } : {}) }, { repositoryName, imageId: { imageDigest } })) {
    out.push(...(page.imageScanFindings?.findings ?? []));
  }
  return out;
}

function attr(f: ImageScanFinding, key: string): string | undefined {
  return f.attributes?.find((a) => a.key === key)?.value;
}

describe('scan on push', () => {
  it('scans an image pushed to a repository with scanOnPush and reports exactly the expected advisories', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/mixed', imageScanningConfiguration: { scanOnPush: true } }));
    const digest = await pushImage(oci, 'scan/mixed', 'v1', mixed);
    await server.app.jobs.drain(['scan.image']);

    const first = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: { imageTag: 'v1' } }));
    expect(first.imageScanStatus?.status).toBe('COMPLETE');
    expect(first.imageId).toEqual({ imageDigest: digest, imageTag: 'v1' });
    expect(first.imageScanFindings?.imageScanCompletedAt).toBeInstanceOf(Date);
    expect(first.imageScanFindings?.vulnerabilitySourceUpdatedAt).toBeInstanceOf(Date);

    const findings = await allFindings('scan/mixed', digest);
    const expected = (await expectedFindings()).filter((e) => MIXED_FIXTURES.some((f) => e.fixture.startsWith(f)));
    expect(expected.length).toBeGreaterThan(15);
    // Each finding names its advisory (and the advisories grouped into it as aliases).
    const got = findings.flatMap((f) => [attr(f, 'advisory_id'), ...(attr(f, 'aliases')?.split(',') ?? [])].map((id) => `${id} ${attr(f, 'package_name')?.toLowerCase()}`));
    const want = expected.map((e) => `${e.advisoryId} ${e.package.toLowerCase()}`);
    for (const w of want) expect(got).toContain(w);
    // No extra finding: every reported advisory id is an expected one for that package.
    const reported = findings.map((f) => `${attr(f, 'advisory_id')} ${attr(f, 'package_name')?.toLowerCase()}`);
    for (const r of reported) expect(want).toContain(r);
    for (const f of findings) {
      expect(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED']).toContain(f.severity);
      expect(f.name).toBeTruthy();
      expect(attr(f, 'package_version')).toBeTruthy();
    }
    const musl = findings.find((f) => attr(f, 'advisory_id') === 'ALPINE-CVE-2025-26519');
    expect(musl?.name).toBe('CVE-2025-26519');
    expect(attr(musl!, 'package_name')).toBe('musl');
    expect(attr(musl!, 'fixed_in_version')).toBe('1.2.4-r3');
    // The counts add up to the findings, and only non-zero severities are listed.
    const counts = first.imageScanFindings?.findingSeverityCounts ?? {};
    expect(Object.values(counts).reduce((a, b) => a + (b ?? 0), 0)).toBe(findings.length);
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(0);
  });

  it('pages findings with maxResults and nextToken, the paginator concatenating every page', async () => {
    const digest = mixed.manifestDigest;
    const all = await allFindings('scan/mixed', digest);
    const paged = await allFindings('scan/mixed', digest, 4);
    expect(paged).toEqual(all);
    const page = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: { imageDigest: digest }, maxResults: 4 }));
    expect(page.imageScanFindings?.findings).toHaveLength(4);
    expect(page.nextToken).toBeTruthy();
  });

  it('shows the scan status and summary in DescribeImages', async () => {
    const res = await ecr.send(new DescribeImagesCommand({ repositoryName: 'scan/mixed' }));
    const detail = res.imageDetails?.find((d) => d.imageDigest === mixed.manifestDigest);
    expect(detail?.imageScanStatus?.status).toBe('COMPLETE');
    expect(Object.keys(detail?.imageScanFindingsSummary?.findingSeverityCounts ?? {}).length).toBeGreaterThan(0);
  });

  it('refuses a second basic scan of the image within 24 hours (LimitExceededException)', async () => {
    const err = await awsError(ecr.send(new StartImageScanCommand({ repositoryName: 'scan/mixed', imageId: { imageTag: 'v1' } })));
    expect(err.name).toBe('LimitExceededException');
    expect(err.status).toBe(400);
  });

  it('does not scan on push where scanOnPush is off, and answers ScanNotFoundException until StartImageScan', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/manual' }));
    const digest = await pushImage(oci, 'scan/manual', 'v1', mixed);
    await server.app.jobs.drain(['scan.image']);
    const missing = await awsError(ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/manual', imageId: { imageDigest: digest } })));
    expect(missing.name).toBe('ScanNotFoundException');

    const started = await ecr.send(new StartImageScanCommand({ repositoryName: 'scan/manual', imageId: { imageDigest: digest } }));
    expect(started.imageScanStatus?.status).toBe('IN_PROGRESS');
    expect(started.imageId?.imageDigest).toBe(digest);
    await server.app.jobs.drain(['scan.image']);
    const done = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/manual', imageId: { imageDigest: digest } }));
    expect(done.imageScanStatus?.status).toBe('COMPLETE');
    expect(done.imageScanFindings?.findings?.length).toBeGreaterThan(15);
  });

  it('reports UNSUPPORTED_IMAGE for an image with no known OS or package, and refuses to scan an artifact', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/other', imageScanningConfiguration: { scanOnPush: true } }));
    const empty = await buildImage([[{ path: 'srv/readme.txt', data: Buffer.from('nothing to see') }]]);
    const digest = await pushImage(oci, 'scan/other', 'plain', empty);
    await server.app.jobs.drain(['scan.image']);
    const res = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/other', imageId: { imageDigest: digest } }));
    expect(res.imageScanStatus?.status).toBe('UNSUPPORTED_IMAGE');
    expect(res.imageScanFindings).toBeUndefined();

    const blob = await oci.pushBlob('scan/other', Buffer.from('{}'));
    const artifact = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.thing',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: blob, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: blob, size: 2 }],
    };
    expect((await oci.putManifest('scan/other', 'artifact', artifact)).status).toBe(201);
    const err = await awsError(ecr.send(new StartImageScanCommand({ repositoryName: 'scan/other', imageId: { imageTag: 'artifact' } })));
    expect(err.name).toBe('UnsupportedImageTypeException');
  });

  it('scans the platform images of an index, and reports their findings for the index with a platform attribute', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/multi' }));
    const arm = await buildImage([await fixtureFiles('apk/alpine-3.18')], { os: 'linux', architecture: 'arm64' });
    await pushImage(oci, 'scan/multi', mixed.manifestDigest, mixed);
    await pushImage(oci, 'scan/multi', arm.manifestDigest, arm);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: mixed.manifestDigest, size: mixed.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.manifestDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    };
    expect((await oci.putManifest('scan/multi', 'v1', index)).status).toBe(201);
    const started = await ecr.send(new StartImageScanCommand({ repositoryName: 'scan/multi', imageId: { imageTag: 'v1' } }));
    expect(started.imageScanStatus?.status).toBe('IN_PROGRESS');
    await server.app.jobs.drain(['scan.image']);
    const res = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/multi', imageId: { imageTag: 'v1' }, maxResults: 1000 }));
    expect(res.imageScanStatus?.status).toBe('COMPLETE');
    const findings = res.imageScanFindings?.findings ?? [];
    const platforms = findings.map((f) => attr(f, 'platform'));
    expect(platforms.filter((p) => p === 'linux/arm64')).toHaveLength(1);
    expect(platforms.filter((p) => p === 'linux/amd64').length).toBeGreaterThan(15);
    expect(Object.values(res.imageScanFindings?.findingSeverityCounts ?? {}).reduce((a, b) => a + (b ?? 0), 0)).toBe(findings.length);
    // Each platform image has its own scan too.
    const own = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/multi', imageId: { imageDigest: arm.manifestDigest } }));
    expect(own.imageScanFindings?.findings?.map((f) => f.name)).toEqual(['CVE-2025-26519']);
  });

  it('a corrupt layer gives partial results with a status that says so, and scan.completed carries the counts', async () => {
    const events: { type: string; repository: string; detail?: Record<string, unknown> }[] = [];
    server.app.events.on((e) => {
      if (e.type.startsWith('scan.')) events.push(e as (typeof events)[number]);
    });
    const good = await buildImage([await fixtureFiles('apk/alpine-3.18')]);
    // A second layer that claims gzip but is not: the scan reads what it can.
    const junk = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(4096, 7)]);
    const manifest = JSON.parse(good.manifest.toString()) as { layers: { mediaType: string; digest: string; size: number }[] };
    manifest.layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${createHash('sha256').update(junk).digest('hex')}`, size: junk.length });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/partial', imageScanningConfiguration: { scanOnPush: true } }));
    for (const data of [...good.blobs.values(), junk]) await oci.pushBlob('scan/partial', data);
    expect((await oci.putManifest('scan/partial', 'v1', manifest)).status).toBe(201);
    await server.app.jobs.drain(['scan.image']);
    const res = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/partial', imageId: { imageTag: 'v1' } }));
    expect(res.imageScanStatus?.status).toBe('COMPLETE');
    expect(res.imageScanStatus?.description).toMatch(/partial/);
    expect(res.imageScanFindings?.findings?.map((f) => f.name)).toEqual(['CVE-2025-26519']);
    const completed = events.find((e) => e.type === 'scan.completed' && e.repository === 'scan/partial');
    expect(completed?.detail).toMatchObject({ scanType: 'BASIC', status: 'COMPLETE', partial: true, findings: 1 });
    expect(Object.values(completed?.detail?.['findingSeverityCounts'] as object)).toEqual([1]);
  });

  it('answers ImageNotFoundException, RepositoryNotFoundException and InvalidParameterException for bad input', async () => {
    const unknown = `sha256:${'0'.repeat(64)}`;
    expect((await awsError(ecr.send(new StartImageScanCommand({ repositoryName: 'scan/mixed', imageId: { imageDigest: unknown } })))).name).toBe('ImageNotFoundException');
    expect((await awsError(ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/nope', imageId: { imageTag: 'v1' } })))).name).toBe(
      'RepositoryNotFoundException',
    );
    expect((await awsError(ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: {} })))).name).toBe('InvalidParameterException');
    expect(
      (await awsError(ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: { imageTag: 'v1' }, maxResults: 0 })))).name,
    ).toBe('InvalidParameterException');
    expect(
      (await awsError(ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: { imageTag: 'v1' }, nextToken: 'garbage' })))).name,
    ).toBe('InvalidParameterException');
    expect((await awsError(ecr.send(new StartImageScanCommand({ repositoryName: 'scan/mixed', imageId: { imageDigest: 'sha256:nothex' } })))).name).toBe(
      'InvalidParameterException',
    );
  });
});

describe('registry scanning configuration', () => {
  it('starts as BASIC with no rules', async () => {
    const res = await ecr.send(new GetRegistryScanningConfigurationCommand({}));
    expect(res.registryId).toBe('000000000000');
    expect(res.scanningConfiguration).toEqual({ scanType: 'BASIC', rules: [] });
  });

  it('resolves each repository’s frequency from wildcard filters, with the legacy scanOnPush honoured', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/repo-prod' }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/prod-repo' }));
    await ecr.send(
      new PutRegistryScanningConfigurationCommand({
        scanType: 'BASIC',
        rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: '*prod', filterType: 'WILDCARD' }] }],
      }),
    );
    const res = await ecr.send(
      new BatchGetRepositoryScanningConfigurationCommand({ repositoryNames: ['team/repo-prod', 'team/prod-repo', 'scan/mixed', 'team/missing'] }),
    );
    const byName = Object.fromEntries((res.scanningConfigurations ?? []).map((c) => [c.repositoryName, c]));
    expect(byName['team/repo-prod']).toMatchObject({
      scanFrequency: 'SCAN_ON_PUSH',
      scanOnPush: true,
      appliedScanFilters: [{ filter: '*prod', filterType: 'WILDCARD' }],
      repositoryArn: 'arn:aws:ecr:us-east-1:000000000000:repository/team/repo-prod',
    });
    expect(byName['team/prod-repo']).toMatchObject({ scanFrequency: 'MANUAL', scanOnPush: false, appliedScanFilters: [] });
    expect(byName['scan/mixed']).toMatchObject({ scanFrequency: 'SCAN_ON_PUSH', scanOnPush: true });
    expect(res.failures).toEqual([{ repositoryName: 'team/missing', failureCode: 'REPOSITORY_NOT_FOUND', failureReason: 'REPOSITORY_NOT_FOUND' }]);

    // A substring filter (no '*') matches any name containing it; turning the legacy flag off leaves the rule.
    await ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: 'scan/mixed', imageScanningConfiguration: { scanOnPush: false } }));
    const after = await ecr.send(new BatchGetRepositoryScanningConfigurationCommand({ repositoryNames: ['scan/mixed'] }));
    expect(after.scanningConfigurations?.[0]?.scanFrequency).toBe('MANUAL');
  });

  it('scans on push where a registry rule matches, without the repository flag', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app-prod' }));
    const digest = await pushImage(oci, 'team/app-prod', 'v1', mixed);
    await server.app.jobs.drain(['scan.image']);
    const res = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'team/app-prod', imageId: { imageDigest: digest } }));
    expect(res.imageScanStatus?.status).toBe('COMPLETE');
  });

  it('refuses bad configurations with InvalidParameterException', async () => {
    const bad = [
      { scanType: 'BASIC' as const, rules: [{ scanFrequency: 'CONTINUOUS_SCAN' as const, repositoryFilters: [{ filter: 'x', filterType: 'WILDCARD' as const }] }] },
      { scanType: 'ENHANCED' as const, rules: [{ scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [{ filter: 'Bad Filter', filterType: 'WILDCARD' as const }] }] },
      {
        scanType: 'ENHANCED' as const,
        rules: [
          { scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [{ filter: 'a', filterType: 'WILDCARD' as const }] },
          { scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [{ filter: 'b', filterType: 'WILDCARD' as const }] },
        ],
      },
    ];
    for (const input of bad) {
      const err = await awsError(ecr.send(new PutRegistryScanningConfigurationCommand(input)));
      expect(err.name).toBe('InvalidParameterException');
    }
    // Nothing stored by the refused calls.
    const res = await ecr.send(new GetRegistryScanningConfigurationCommand({}));
    expect(res.scanningConfiguration?.rules?.[0]?.repositoryFilters).toEqual([{ filter: '*prod', filterType: 'WILDCARD' }]);
  });

  it('with ENHANCED continuous scanning: enhancedFindings, ACTIVE status, no manual scans; switching back shows the basic results', async () => {
    await ecr.send(
      new PutRegistryScanningConfigurationCommand({
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: 'enhanced', filterType: 'WILDCARD' }] }],
      }),
    );
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/enhanced' }));
    const digest = await pushImage(oci, 'scan/enhanced', 'v1', mixed);
    await server.app.jobs.drain(['scan.image']);
    const res = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/enhanced', imageId: { imageDigest: digest } }));
    expect(res.imageScanStatus?.status).toBe('ACTIVE');
    const enhanced = res.imageScanFindings?.enhancedFindings ?? [];
    expect(enhanced.length).toBeGreaterThan(15);
    expect(res.imageScanFindings?.findings).toBeUndefined();
    const musl = enhanced.find((f) => f.packageVulnerabilityDetails?.vulnerabilityId === 'CVE-2025-26519');
    expect(musl).toMatchObject({
      awsAccountId: '000000000000',
      type: 'PACKAGE_VULNERABILITY',
      status: 'ACTIVE',
      fixAvailable: 'YES',
      packageVulnerabilityDetails: { vulnerablePackages: [{ name: 'musl', version: '1.2.4-r0', fixedInVersion: '1.2.4-r3', packageManager: 'OS' }] },
      resources: [{ type: 'AWS_ECR_CONTAINER_IMAGE', details: { awsEcrContainerImage: { imageHash: digest, repositoryName: 'scan/enhanced', imageTags: ['v1'] } } }],
    });
    const manual = await awsError(ecr.send(new StartImageScanCommand({ repositoryName: 'scan/enhanced', imageId: { imageDigest: digest } })));
    expect(manual.name).toBe('ValidationException');
    // The basic scan of scan/mixed is hidden under ENHANCED, and shown again under BASIC.
    const hidden = await awsError(ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: { imageTag: 'v1' } })));
    expect(hidden.name).toBe('ScanNotFoundException');
    await ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC', rules: [] }));
    const shown = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'scan/mixed', imageId: { imageTag: 'v1' } }));
    expect(shown.imageScanStatus?.status).toBe('COMPLETE');
  });
});

describe("ECR's quota of image scans per registry per day", () => {
  it('scans no more images a day than the quota: a push beyond it is LIMIT_EXCEEDED, a manual scan LimitExceededException', async () => {
    const small = await startTestServer({ BERTH_SCAN_DAILY_LIMIT: '2' });
    const client = ecrClient(small);
    try {
      const push = new OciTestClient(small.url, small.authHeader);
      await client.send(new CreateRepositoryCommand({ repositoryName: 'quota/app', imageScanningConfiguration: { scanOnPush: true } }));
      const digests: string[] = [];
      for (const tag of ['a', 'b', 'c']) digests.push((await push.pushImage('quota/app', tag)).digest);
      await small.app.jobs.drain(['scan.image']);
      const statuses = [];
      for (const imageDigest of digests) {
        statuses.push((await client.send(new DescribeImageScanFindingsCommand({ repositoryName: 'quota/app', imageId: { imageDigest } }))).imageScanStatus);
      }
      expect(statuses.slice(0, 2).map((s) => s?.status)).not.toContain('LIMIT_EXCEEDED');
      expect(statuses[2]).toEqual({ status: 'LIMIT_EXCEEDED', description: expect.stringContaining('quota of 2 image scans per registry per 24 hours') });

      // A manual scan is refused too, and refused again: a refusal is not a scan of the day.
      await client.send(new CreateRepositoryCommand({ repositoryName: 'quota/manual' }));
      const other = (await push.pushImage('quota/manual', 'x')).digest;
      for (let i = 0; i < 2; i++) {
        const err = await awsError(client.send(new StartImageScanCommand({ repositoryName: 'quota/manual', imageId: { imageDigest: other } })));
        expect(err).toMatchObject({ name: 'LimitExceededException', message: expect.stringContaining('quota of 2 image scans') });
      }
    } finally {
      client.destroy();
      await small.close();
    }
  });
});
