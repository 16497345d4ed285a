/**
 * Image scanning end to end: a real berth process, its vulnerability database imported with
 * `berth vulndb import` beside it, an image built from the real package databases of
 * shared/vulndata/fixtures pushed with skopeo to a repository with scan on push, and the
 * findings read with @aws-sdk/client-ecr (and its ImageScanComplete waiter), compared with
 * shared/vulndata/expected-findings.json. Then `berth scan sbom --attach` and the referrers API.
 *
 * Needs skopeo on PATH and `npm run build` first (bin/berth.js runs dist/).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  ListImageReferrersCommand,
  paginateDescribeImageScanFindings,
  waitUntilImageScanComplete,
  type ImageScanFinding,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_BIN, runCommand, startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { VULNDATA, buildImage, expectedFindings, fixtureFiles, writeLayout, type BuiltImage } from '../integration/scan-fixtures.js';

const TIMEOUT = 180_000;
const REPO = 'e2e/scanned';

/** Fixture folders in the image, as expected-findings.json names them. */
const FIXTURES = [
  'fixtures/apk/alpine-3.18/',
  'fixtures/python/debian12-site-packages/',
  'fixtures/npm/osv-fix/',
  'fixtures/rust/net2/',
  'fixtures/go/binary/',
];

let berth: BerthProcess;
let ecr: ECRClient;
let work: string;
let emptyAuthFile: string;
let image: BuiltImage;

function berthCli(args: string[]) {
  return runCommand(process.execPath, [BERTH_BIN, ...args, '--data', berth.dataDir], {
    env: { BERTH_ROOT_ACCESS_KEY_ID: berth.accessKeyId, BERTH_ROOT_SECRET_ACCESS_KEY: berth.secretAccessKey, BERTH_LOG_LEVEL: 'silent' },
    timeout: TIMEOUT,
  });
}

function skopeo(args: string[]) {
  return runCommand('skopeo', args, { env: { REGISTRY_AUTH_FILE: emptyAuthFile } });
}

function attr(f: ImageScanFinding, key: string): string | undefined {
  return f.attributes?.find((a) => a.key === key)?.value;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-scan-'));
  emptyAuthFile = join(work, 'empty-auth.json');
  await writeFile(emptyAuthFile, '{}');
  image = await buildImage([
    await fixtureFiles('apk/alpine-3.18'),
    await fixtureFiles('python/debian12-site-packages'),
    [...(await fixtureFiles('npm/osv-fix', 'srv/app')), ...(await fixtureFiles('rust/net2', 'srv/tool'))],
    (await fixtureFiles('go/binary/gofixture-go1.19.8-linux-amd64', 'usr/local/bin/gofixture')).map((f) => ({ ...f, mode: 0o755 })),
  ]);
  await writeLayout(join(work, 'layout'), image, 'v1');
  berth = await startBerth();
  ecr = new ECRClient({ endpoint: berth.url, region: 'us-east-1', credentials: { accessKeyId: berth.accessKeyId, secretAccessKey: berth.secretAccessKey }, maxAttempts: 1 });
}, TIMEOUT);

afterAll(async () => {
  ecr?.destroy();
  try {
    await berth?.cleanup();
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}, TIMEOUT);

describe('scan on push, end to end', () => {
  it('berth vulndb import fills the database of the running server', async () => {
    const { stdout } = await berthCli(['vulndb', 'import', '--quiet', join(VULNDATA, 'osv'), join(VULNDATA, 'osv-derived')]);
    expect(stdout).toMatch(/^\d+ records read: \d+ added/);
    const status = await berthCli(['vulndb', 'status', '--json']);
    const parsed = JSON.parse(status.stdout) as { records: number; ecosystems: { ecosystem: string }[] };
    expect(parsed.records).toBeGreaterThan(900);
    expect(parsed.ecosystems.map((e) => e.ecosystem)).toEqual(expect.arrayContaining(['Alpine', 'Debian', 'Go', 'Maven', 'PyPI', 'crates.io', 'npm']));
  }, TIMEOUT);

  it('an image pushed with skopeo is scanned, and DescribeImageScanFindings returns the expected advisories', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: REPO, imageScanningConfiguration: { scanOnPush: true } }));
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${berth.accessKeyId}:${berth.secretAccessKey}`, `oci:${join(work, 'layout')}:v1`, `docker://${berth.host}/${REPO}:v1`]);

    // The SDK's own waiter polls imageScanStatus.status until COMPLETE (FAILED fails it).
    const waited = await waitUntilImageScanComplete({ client: ecr, maxWaitTime: 120, minDelay: 1, maxDelay: 2 }, { repositoryName: REPO, imageId: { imageTag: 'v1' } });
    expect(waited.state).toBe('SUCCESS');

    const findings: ImageScanFinding[] = [];
    let counts: Record<string, number> = {};
    for await (const page of paginateDescribeImageScanFindings({ client: ecr, pageSize: 50 }, { repositoryName: REPO, imageId: { imageTag: 'v1' } })) {
      expect(page.imageScanStatus?.status).toBe('COMPLETE');
      findings.push(...(page.imageScanFindings?.findings ?? []));
      counts = page.imageScanFindings?.findingSeverityCounts ?? counts;
    }
    const expected = (await expectedFindings()).filter((e) => FIXTURES.some((f) => e.fixture.startsWith(f)));
    // Sets: a package found at two paths (cryptography's dist-info and egg-info) is one package here.
    const want = [...new Set(expected.map((e) => `${e.advisoryId} ${e.package.toLowerCase()} ${e.installedVersion}`))].sort();
    const got = [...new Set(findings.map((f) => `${attr(f, 'advisory_id')} ${attr(f, 'package_name')?.toLowerCase()} ${attr(f, 'package_version')}`))].sort();
    expect(got).toEqual(want);
    // Severities and names as ECR gives them; fixed versions where the advisory has one.
    for (const f of findings) expect(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED']).toContain(f.severity);
    const byId = new Map(findings.map((f) => [attr(f, 'advisory_id'), f]));
    for (const e of expected) {
      const f = byId.get(e.advisoryId)!;
      if (e.fixedVersion) expect(attr(f, 'fixed_in_version')).toBe(e.fixedVersion);
    }
    expect(byId.get('ALPINE-CVE-2025-26519')).toMatchObject({ name: 'CVE-2025-26519' });
    expect(attr(byId.get('GO-2023-1751')!, 'package_name')).toBe('stdlib');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(findings.length);
    expect(findings.some((f) => f.severity !== 'UNDEFINED')).toBe(true);

    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: REPO }));
    expect(images.imageDetails?.[0]?.imageScanStatus?.status).toBe('COMPLETE');
  }, TIMEOUT);

  it('berth scan sbom prints CycloneDX and SPDX from the stored inventory, and --attach pushes it as a referrer', async () => {
    const { stdout } = await berthCli(['scan', 'sbom', '--repository', REPO, '--tag', 'v1']);
    const bom = JSON.parse(stdout) as { bomFormat: string; specVersion: string; components: { name: string; version?: string; purl?: string }[] };
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5' });
    expect(bom.components).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'musl', version: '1.2.4-r0', purl: expect.stringMatching(/^pkg:apk\/alpine\/musl@1\.2\.4-r0/) })]));
    expect(bom.components.find((c) => c.name === 'net2')).toMatchObject({ purl: 'pkg:cargo/net2@0.2.33' });

    const spdx = JSON.parse((await berthCli(['scan', 'sbom', '--repository', REPO, '--digest', image.manifestDigest, '--format', 'spdx'])).stdout) as {
      spdxVersion: string;
      packages: { name: string }[];
    };
    expect(spdx.spdxVersion).toBe('SPDX-2.3');
    expect(spdx.packages.map((p) => p.name)).toContain('musl');

    await berthCli(['scan', 'sbom', '--repository', REPO, '--tag', 'v1', '--attach']);
    const referrers = await ecr.send(new ListImageReferrersCommand({ repositoryName: REPO, subjectId: { imageDigest: image.manifestDigest } }));
    expect(referrers.referrers?.map((r) => r.artifactType)).toEqual(['application/vnd.cyclonedx+json']);
    // An SBOM is an artifact, not an image: its push is not scanned.
    const all = await ecr.send(new DescribeImagesCommand({ repositoryName: REPO }));
    const sbom = all.imageDetails?.find((d) => d.imageDigest !== image.manifestDigest);
    expect(sbom?.imageScanStatus).toBeUndefined();
  }, TIMEOUT);
});
