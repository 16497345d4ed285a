import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  PutRegistryScanningConfigurationCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCommand } from '../../src/cli/scan.js';
import { vulndbCommand } from '../../src/cli/vulndb.js';
import { ecrClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { TEST_STORAGE, scaleOutEnv, startTestServer, type TestServer } from '../helpers/test-server.js';
import { VULNDATA, buildImage, corpusEntries, fixtureFiles, mixedImageLayers, pushImage, zipOf } from './scan-fixtures.js';

/** A loopback mirror of osv.dev's exports: `/<Ecosystem>/all.zip`, with ETags, counting downloads. */
class Mirror {
  readonly files = new Map<string, Buffer>();
  readonly downloads: string[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const body = this.files.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      this.downloads.push(req.url!);
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length, etag }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface Captured {
  status: number;
  out: string;
  err: string;
}

/** `berth vulndb ARGS` beside the running server, with the server's data folder and configuration file. */
async function berthVulndb(args: string[], dataDir: string): Promise<Captured> {
  return berthCommand(vulndbCommand, args, dataDir);
}

async function berthCommand(command: typeof vulndbCommand, args: string[], dataDir: string): Promise<Captured> {
  let out = '';
  let err = '';
  // In scale-out test runs the command needs the server's database and key, as an operator gives them.
  const saved = Object.fromEntries(Object.keys(scale?.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, scale?.env ?? {});
  let status: number;
  try {
    status = await command([...args, '--data', dataDir, '--config', configFile], { out: (t) => (out += t), err: (t) => (err += t) });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { status, out, err };
}

const mirror = new Mirror();
let server: TestServer;
let ecr: ECRClient;
let oci: OciTestClient;
let alpine: { name: string; data: Buffer }[];
let configFile: string;
let scale: { env: Record<string, string>; drop: () => Promise<void> } | undefined;

beforeAll(async () => {
  await mirror.start();
  alpine = await corpusEntries('osv/Alpine');
  mirror.files.set('/Alpine/all.zip', zipOf(alpine));
  mirror.files.set('/npm/all.zip', zipOf(await corpusEntries('osv/npm')));
  mirror.files.set('/PyPI/all.zip', zipOf(await corpusEntries('osv/PyPI')));
  const sources = ['Alpine', 'npm', 'PyPI'].map((e) => `${mirror.url}/${e}/all.zip`);
  if (TEST_STORAGE === 'postgres') scale = await scaleOutEnv();
  server = await startTestServer({ ...scale?.env, BERTH_VULNDB_SOURCES: sources.join(',') });
  configFile = join(server.dataDir, 'berth.yaml');
  await writeFile(configFile, `vulndb:\n  sources:\n${sources.map((s) => `    - ${s}\n`).join('')}`);
  ecr = ecrClient(server);
  oci = new OciTestClient(server.url, server.authHeader);
}, 60_000);

afterAll(async () => {
  ecr?.destroy();
  await server?.close();
  await scale?.drop();
  await mirror.close();
});

describe('berth vulndb update against a mirror', () => {
  let digest: string;

  it('re-matches a continuously scanned image when the running server’s database is updated beside it', async () => {
    await ecr.send(
      new PutRegistryScanningConfigurationCommand({
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: 'watched', filterType: 'WILDCARD' }] }],
      }),
    );
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'watched/app' }));
    digest = await pushImage(oci, 'watched/app', 'v1', await buildImage(await mixedImageLayers()));
    await server.app.jobs.drain(['scan.image']);
    const before = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'watched/app', imageId: { imageDigest: digest } }));
    expect(before.imageScanStatus?.status).toBe('ACTIVE');
    expect(before.imageScanFindings?.enhancedFindings ?? []).toEqual([]);

    const first = await berthVulndb(['update', '--quiet'], server.dataDir);
    expect(first.err).toBe('');
    expect(first.status).toBe(0);
    const total = alpine.length + (await readdir(join(VULNDATA, 'osv/npm'))).length + (await readdir(join(VULNDATA, 'osv/PyPI'))).length;
    expect(first.out).toContain(`${total} records read: ${total} added, 0 updated`);
    expect(mirror.downloads.sort()).toEqual(['/Alpine/all.zip', '/PyPI/all.zip', '/npm/all.zip']);

    // The server runs the re-match that the command queued; no layer is read again.
    await server.app.jobs.drain(['scan.rematch']);
    const after = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'watched/app', imageId: { imageDigest: digest } }));
    const found = (after.imageScanFindings?.enhancedFindings ?? []).map((f) => f.packageVulnerabilityDetails?.vulnerabilityId);
    expect(found).toContain('CVE-2025-26519');
    expect(found.length).toBeGreaterThan(15);
  });

  it('updates incrementally: an unchanged export is not downloaded, only newer records change, a withdrawn one disappears', async () => {
    mirror.downloads.length = 0;
    const musl = JSON.parse(alpine.find((e) => e.name === 'ALPINE-CVE-2025-26519.json')!.data.toString()) as Record<string, unknown>;
    const withdrawn = { ...musl, modified: '2030-01-01T00:00:00Z', withdrawn: '2030-01-01T00:00:00Z' };
    // An older copy of a record changes nothing, whatever its content.
    mirror.files.set(
      '/Alpine/all.zip',
      zipOf([
        { name: 'ALPINE-CVE-2025-26519.json', data: Buffer.from(JSON.stringify(withdrawn)) },
        { name: 'OLD.json', data: Buffer.from(JSON.stringify({ ...musl, id: 'ALPINE-CVE-2025-26519', modified: '2000-01-01T00:00:00Z', withdrawn: undefined })) },
      ]),
    );
    const second = await berthVulndb(['update', '--quiet'], server.dataDir);
    expect(second.status).toBe(0);
    expect(second.out).toContain('2 records read: 0 added, 1 updated, 1 withdrawn, 1 unchanged');
    expect(mirror.downloads).toEqual(['/Alpine/all.zip']);

    await server.app.jobs.drain(['scan.rematch']);
    const after = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: 'watched/app', imageId: { imageDigest: digest } }));
    const found = (after.imageScanFindings?.enhancedFindings ?? []).map((f) => f.packageVulnerabilityDetails?.vulnerabilityId);
    expect(found).not.toContain('CVE-2025-26519');
    expect(found.length).toBeGreaterThan(15);

    const third = await berthVulndb(['update', '--quiet'], server.dataDir);
    expect(third.out).toContain('0 records read');
  });

  it('reports the database in berth vulndb status', async () => {
    const res = await berthVulndb(['status', '--json'], server.dataDir);
    expect(res.status).toBe(0);
    const status = JSON.parse(res.out) as { records: number; withdrawn: number; generation: number; ecosystems: { ecosystem: string; records: number }[]; sources: { url: string }[] };
    expect(status.withdrawn).toBe(1);
    expect(status.generation).toBeGreaterThanOrEqual(2);
    expect(status.sources.map((s) => s.url).sort()).toEqual(['Alpine', 'PyPI', 'npm'].map((e) => `${mirror.url}/${e}/all.zip`));
    // The withdrawn record leaves the lookup index: Alpine has no record left.
    expect(status.ecosystems.map((e) => e.ecosystem)).toEqual(expect.arrayContaining(['PyPI', 'npm']));
    expect(status.ecosystems.find((e) => e.ecosystem === 'Alpine')).toBeUndefined();
    const text = await berthVulndb(['status'], server.dataDir);
    expect(text.out).toMatch(/records: \d+ \(1 withdrawn\)/);
  });
});

describe('berth scan', () => {
  it('scans an image now and prints its findings; prints an SBOM; refuses bad usage', async () => {
    const image = await buildImage([await fixtureFiles('python/debian12-site-packages')]);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'cli/python' }));
    const digest = await pushImage(oci, 'cli/python', 'v1', image);
    const noScan = await berthCommand(scanCommand, ['sbom', '--repository', 'cli/python', '--digest', digest], server.dataDir);
    expect(noScan.status).toBe(1);
    expect(noScan.err).toContain('has no completed scan');

    const text = await berthCommand(scanCommand, ['image', '--repository', 'cli/python', '--tag', 'v1'], server.dataDir);
    expect(text.status).toBe(0);
    expect(text.out).toContain(`cli/python@${digest}: COMPLETE`);
    const json = await berthCommand(scanCommand, ['image', '--repository', 'cli/python', '--digest', digest, '--json'], server.dataDir);
    const parsed = JSON.parse(json.out) as { imageScanStatus: { status: string }; imageScanFindings: { findings: { name: string }[] } };
    expect(parsed.imageScanStatus.status).toBe('COMPLETE');
    expect(parsed.imageScanFindings.findings.length).toBeGreaterThan(5);

    const spdx = await berthCommand(scanCommand, ['sbom', '--repository', 'cli/python', '--digest', digest, '--format', 'spdx'], server.dataDir);
    const doc = JSON.parse(spdx.out) as { spdxVersion: string; packages: { name: string; externalRefs?: { referenceLocator: string }[] }[] };
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.packages.find((p) => p.name === 'urllib3')?.externalRefs?.[0]?.referenceLocator).toBe('pkg:pypi/urllib3@1.26.12');

    expect((await berthCommand(scanCommand, ['sbom', '--repository', 'cli/python'], server.dataDir)).status).toBe(2);
    expect((await berthCommand(scanCommand, ['sbom', '--repository', 'cli/python', '--tag', 'v1', '--format', 'xml'], server.dataDir)).status).toBe(2);
    const missing = await berthCommand(scanCommand, ['image', '--repository', 'cli/none', '--tag', 'v1'], server.dataDir);
    expect(missing.status).toBe(1);
    expect(missing.err).toContain('cli/none');
  });
});

describe('berth vulndb import', () => {
  it('imports the corpus folders, and a second import of the same records changes nothing', async () => {
    const first = await berthVulndb(['import', '--quiet', join(VULNDATA, 'osv'), join(VULNDATA, 'osv-derived')], server.dataDir);
    expect(first.err).toBe('');
    expect(first.status).toBe(0);
    const count = async (dir: string): Promise<number> => {
      let n = 0;
      for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile() && entry.name.endsWith('.json')) n++;
      return n;
    };
    const files = (await count(join(VULNDATA, 'osv'))) + (await count(join(VULNDATA, 'osv-derived')));
    expect(first.out).toMatch(new RegExp(`^${files} records read`));
    const again = await berthVulndb(['import', '--quiet', join(VULNDATA, 'osv-derived')], server.dataDir);
    expect(again.out).toMatch(/records read: 0 added, 0 updated, 0 withdrawn, \d+ unchanged/);
  });

  it('imports a zip and a JSON file, skips what is not an OSV record, and refuses a missing source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-vulndb-'));
    try {
      const record = JSON.parse(await readFile(join(VULNDATA, 'osv/npm', (await readdir(join(VULNDATA, 'osv/npm')))[0]!), 'utf8')) as Record<string, unknown>;
      await writeFile(
        join(dir, 'records.zip'),
        zipOf([
          { name: 'A.json', data: Buffer.from(JSON.stringify({ ...record, id: 'BERTH-TEST-1' })) },
          { name: 'bad.json', data: Buffer.from('{not json') },
          { name: 'noid.json', data: Buffer.from('{"modified":"2024-01-01T00:00:00Z"}') },
          { name: 'README.txt', data: Buffer.from('ignored') },
        ]),
      );
      await mkdir(join(dir, 'one'));
      await writeFile(join(dir, 'one', 'B.json'), JSON.stringify({ ...record, id: 'BERTH-TEST-2' }));
      const res = await berthVulndb(['import', '--quiet', join(dir, 'records.zip'), join(dir, 'one', 'B.json')], server.dataDir);
      expect(res.status).toBe(0);
      expect(res.out).toContain('3 records read: 2 added, 0 updated, 0 withdrawn, 0 unchanged, 2 invalid');
      expect(await server.app.services.scanning.vulndb.record('BERTH-TEST-1')).toMatchObject({ id: 'BERTH-TEST-1', withdrawn: null });

      const missing = await berthVulndb(['import', '--quiet', join(dir, 'nothing-here')], server.dataDir);
      expect(missing.status).toBe(1);
      expect(missing.err).toContain('no such file or folder');
      const usage = await berthVulndb(['import'], server.dataDir);
      expect(usage.status).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
