/**
 * Replication between two real deployments: two `berth serve` processes on loopback (us-east-1
 * and eu-west-1, own data folders, BERTH_PEERS naming each other) and three accounts, driven the
 * way an operator and a user would: `berth account create`, the AWS SDK, skopeo. Then the faults:
 * the peer down during pushes, a destination whose registry policy does not allow the source,
 * and the source killed (SIGKILL) in the middle of a copy.
 *
 * Needs `npm run build` first, and skopeo on PATH.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeImageReplicationStatusCommand,
  DescribeImagesCommand,
  PutRegistryPolicyCommand,
  PutReplicationConfigurationCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, writeMultiPlatform, type ImageResult, type MultiPlatformResult } from '../fixtures/oci-layout.js';
import { ecrClient } from '../helpers/aws-clients.js';
import {
  BERTH_BIN,
  generateAccessKeyId,
  generateSecretAccessKey,
  runCommand,
  startBerth,
  type BerthProcess,
} from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { basicAuth } from '../helpers/test-server.js';

const TIMEOUT = 180_000;
const SOURCE = '000000000000';
const WEST_TEAM = '111122223333';
const EAST_CLOSED = '444455556666';

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

interface Deployment {
  region: string;
  port: number;
  dataDir: string;
  root: Key;
  process?: BerthProcess;
}

let work: string;
let east: Deployment;
let west: Deployment;
let westTeam: Key;
let single: ImageResult;
let multi: MultiPlatformResult;
let emptyAuthFile: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function peerOf(d: Deployment): object {
  return { region: d.region, endpoint: `http://127.0.0.1:${d.port}`, accessKeyId: d.root.accessKeyId, secretAccessKey: d.root.secretAccessKey };
}

/** Start (or restart, on the same folder, port and keys) one deployment. */
async function start(d: Deployment, peer: Deployment): Promise<BerthProcess> {
  d.process = await startBerth({
    dataDir: d.dataDir,
    ...d.root,
    env: { BERTH_REGION: d.region, BERTH_LISTEN: `127.0.0.1:${d.port}`, BERTH_PEERS: JSON.stringify([peerOf(peer)]), BERTH_GC_INTERVAL: '0' },
  });
  return d.process;
}

async function createAccount(d: Deployment, accountId: string): Promise<Key> {
  const clean: Record<string, string> = {};
  for (const key of Object.keys(process.env)) if (key.startsWith('BERTH_')) clean[key] = '';
  const { stdout } = await runCommand(process.execPath, [BERTH_BIN, 'account', 'create', accountId], { env: { ...clean, BERTH_DATA_DIR: d.dataDir, BERTH_REGION: d.region } });
  const id = /access key id:\s+(AKIA[A-Z2-7]{16})\s*$/m.exec(stdout);
  const secret = /secret access key:\s+(\S{40})\s*$/m.exec(stdout);
  if (!id || !secret) throw new Error(`no key printed:\n${stdout}`);
  return { accessKeyId: id[1]!, secretAccessKey: secret[1]! };
}

function ecrOf(d: Deployment, key: Key = d.root): ECRClient {
  return ecrClient({ url: `http://127.0.0.1:${d.port}` }, key, d.region);
}

function skopeo(args: string[]) {
  return runCommand('skopeo', args, { env: { REGISTRY_AUTH_FILE: emptyAuthFile }, timeout: 120_000 });
}

async function inspectDigest(d: Deployment, ref: string, key: Key = d.root): Promise<string> {
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${key.accessKeyId}:${key.secretAccessKey}`, `docker://127.0.0.1:${d.port}/${ref}`]);
  return sha256(stdout);
}

type Status = { registryId?: string; region?: string; status?: string; failureCode?: string };

async function statuses(repositoryName: string, imageDigest: string): Promise<Status[]> {
  const out = await ecrOf(east).send(new DescribeImageReplicationStatusCommand({ repositoryName, imageId: { imageDigest } }));
  return (out.replicationStatuses ?? []).map((s) => ({ region: s.region, registryId: s.registryId, status: s.status, ...(s.failureCode ? { failureCode: s.failureCode } : {}) }));
}

/** Poll the status until no destination is IN_PROGRESS (replication is asynchronous, as in ECR). */
async function settled(repositoryName: string, imageDigest: string, timeoutMs = 90_000): Promise<Status[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await statuses(repositoryName, imageDigest);
    if (now.length > 0 && now.every((s) => s.status !== 'IN_PROGRESS')) return now.sort((a, b) => `${a.region}${a.registryId}`.localeCompare(`${b.region}${b.registryId}`));
    if (Date.now() > deadline) throw new Error(`replication of ${repositoryName}@${imageDigest} still in progress: ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const EXPECTED_OK: Status[] = [
  { region: 'eu-west-1', registryId: SOURCE, status: 'COMPLETE' },
  { region: 'eu-west-1', registryId: WEST_TEAM, status: 'COMPLETE' },
  { region: 'us-east-1', registryId: EAST_CLOSED, status: 'FAILED', failureCode: 'REGISTRY_POLICY_DENIED' },
];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-repl-'));
  emptyAuthFile = join(work, 'empty-auth.json');
  await writeFile(emptyAuthFile, '{}');
  east = { region: 'us-east-1', port: await freePort(), dataDir: join(work, 'east'), root: { accessKeyId: generateAccessKeyId(), secretAccessKey: generateSecretAccessKey() } };
  west = { region: 'eu-west-1', port: await freePort(), dataDir: join(work, 'west'), root: { accessKeyId: generateAccessKeyId(), secretAccessKey: generateSecretAccessKey() } };
  await start(west, east);
  await start(east, west);
  // Three accounts: the source (east's default account, also present in the west), a team account
  // in the west whose registry policy lets the source replicate, one in the east whose policy does not.
  westTeam = await createAccount(west, WEST_TEAM);
  await createAccount(east, EAST_CLOSED);
  await ecrOf(west, westTeam).send(
    new PutRegistryPolicyCommand({
      policyText: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ReplicationFromEast',
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${SOURCE}:root` },
            Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
            Resource: `arn:aws:ecr:eu-west-1:${WEST_TEAM}:repository/*`,
          },
        ],
      }),
    }),
  );
  await ecrOf(east).send(
    new PutReplicationConfigurationCommand({
      replicationConfiguration: {
        rules: [
          {
            destinations: [
              { region: 'eu-west-1', registryId: SOURCE },
              { region: 'eu-west-1', registryId: WEST_TEAM },
              { region: 'us-east-1', registryId: EAST_CLOSED },
            ],
            repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'app/' }],
          },
        ],
      },
    }),
  );
  single = await writeImage(join(work, 'layout-single'), { seed: 'repl-single', tag: 'v1', layers: 3 });
  multi = await writeMultiPlatform(join(work, 'layout-multi'), { seed: 'repl-multi', tag: 'multi', platforms: ['linux/amd64', 'linux/arm64'] });
}, TIMEOUT);

afterAll(async () => {
  try {
    await east?.process?.stop().catch(() => undefined);
    await west?.process?.stop().catch(() => undefined);
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}, TIMEOUT);

const rootCreds = (d: Deployment) => `${d.root.accessKeyId}:${d.root.secretAccessKey}`;

describe('two deployments, three accounts', () => {
  it('replicates a skopeo push to the peer region and the peer account, with the same digest and tag, pullable there', async () => {
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', rootCreds(east), `oci:${join(work, 'layout-single')}:v1`, `docker://127.0.0.1:${east.port}/app/web:v1`]);
    expect(await settled('app/web', single.manifestDigest)).toEqual(EXPECTED_OK);

    expect(await inspectDigest(west, 'app/web:v1')).toBe(single.manifestDigest);
    expect(await inspectDigest(west, `${WEST_TEAM}/app/web:v1`, westTeam)).toBe(single.manifestDigest);
    // A full pull from the peer account with skopeo: every blob comes back and verifies.
    await skopeo([
      'copy', '--src-tls-verify=false', '--src-creds', `${westTeam.accessKeyId}:${westTeam.secretAccessKey}`,
      `docker://127.0.0.1:${west.port}/${WEST_TEAM}/app/web:v1`, `oci:${join(work, 'pulled-team')}:v1`,
    ]);
    // The destination that does not allow the source got nothing.
    const closed = await ecrOf(east).send(new DescribeImagesCommand({ registryId: EAST_CLOSED, repositoryName: 'app/web' })).catch((err: Error) => err);
    expect((closed as Error).name).toMatch(/RepositoryNotFoundException|AccessDeniedException/);
  }, TIMEOUT);

  it('replicates a multi-platform index with its children', async () => {
    await skopeo(['copy', '--all', '--dest-tls-verify=false', '--dest-creds', rootCreds(east), `oci:${join(work, 'layout-multi')}:multi`, `docker://127.0.0.1:${east.port}/app/multi:multi`]);
    expect(await settled('app/multi', multi.indexDigest)).toEqual(EXPECTED_OK);
    expect(await inspectDigest(west, 'app/multi:multi')).toBe(multi.indexDigest);
    await skopeo(['copy', '--all', '--src-tls-verify=false', '--src-creds', rootCreds(west), `docker://127.0.0.1:${west.port}/app/multi:multi`, `oci:${join(work, 'pulled-multi')}:multi`]);
  }, TIMEOUT);

  it('leaves out what the filters exclude', async () => {
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', rootCreds(east), `oci:${join(work, 'layout-single')}:v1`, `docker://127.0.0.1:${east.port}/tools/web:v1`]);
    // Give replication the time it would need, then check that nothing was queued at all.
    expect(await statuses('tools/web', single.manifestDigest)).toEqual([]);
    const west404 = new OciTestClient(`http://127.0.0.1:${west.port}`, basicAuth(west.root.accessKeyId, west.root.secretAccessKey));
    expect((await west404.request('HEAD', '/v2/tools/web/manifests/v1')).status).toBe(404);
  }, TIMEOUT);
});

describe('faults', () => {
  it('catches up once a peer that was down comes back', async () => {
    await west.process!.stop();
    const late = await writeImage(join(work, 'layout-late'), { seed: 'repl-late', tag: 'v1', layers: 2 });
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', rootCreds(east), `oci:${join(work, 'layout-late')}:v1`, `docker://127.0.0.1:${east.port}/app/late:v1`]);
    // While the peer is down the copies wait and retry; the local destination is decided at once.
    await new Promise((r) => setTimeout(r, 3000));
    const waiting = await statuses('app/late', late.manifestDigest);
    expect(waiting.filter((s) => s.region === 'eu-west-1').map((s) => s.status)).toEqual(['IN_PROGRESS', 'IN_PROGRESS']);
    await start(west, east);
    expect(await settled('app/late', late.manifestDigest)).toEqual(EXPECTED_OK);
    expect(await inspectDigest(west, 'app/late:v1')).toBe(late.manifestDigest);
    expect(await inspectDigest(west, `${WEST_TEAM}/app/late:v1`, westTeam)).toBe(late.manifestDigest);
  }, TIMEOUT);

  it('completes a copy cut by killing the source (SIGKILL) after the restart, without duplicate or corrupt content', async () => {
    const oci = new OciTestClient(`http://127.0.0.1:${east.port}`, basicAuth(east.root.accessKeyId, east.root.secretAccessKey));
    // Large layers, so that the copy to the peer is still sending when the source dies.
    const layers = Array.from({ length: 3 }, () => randomBytes(40 * 1024 * 1024));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
    const configDigest = await oci.pushBlob('app/big', config);
    const layerDigests: string[] = [];
    for (const l of layers) layerDigests.push(await oci.pushBlob('app/big', l));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigests[i], size: l.length })),
      }),
    );
    const uploads = join(west.dataDir, 'uploads');
    const put = await oci.putManifest('app/big', 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
    expect(put.status).toBe(201);
    // Kill the source as soon as the peer holds part of an upload.
    const deadline = Date.now() + 30_000;
    let cut = false;
    while (!cut && Date.now() < deadline) {
      for (const f of await readdir(uploads).catch(() => [] as string[])) {
        if ((await stat(join(uploads, f)).catch(() => undefined))?.size) cut = true;
      }
      if (!cut) await new Promise((r) => setTimeout(r, 10));
    }
    await east.process!.kill();
    await start(east, west);
    const digest = sha256(manifest);
    expect(await settled('app/big', digest, 150_000)).toEqual(EXPECTED_OK);

    // The peer holds exactly the image, once, and every byte verifies.
    const westOci = new OciTestClient(`http://127.0.0.1:${west.port}`, basicAuth(west.root.accessKeyId, west.root.secretAccessKey));
    const got = await westOci.request('GET', '/v2/app/big/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(digest);
    for (const d of [configDigest, ...layerDigests]) {
      const blob = await westOci.request('GET', `/v2/app/big/blobs/${d}`);
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(d);
    }
    const images = await ecrOf(west).send(new DescribeImagesCommand({ repositoryName: 'app/big' }));
    expect(images.imageDetails?.map((i) => [i.imageDigest, i.imageTags])).toEqual([[digest, ['v1']]]);
    // And the peer's integrity check finds nothing wrong.
    const fsck = await runCommand(process.execPath, [BERTH_BIN, 'fsck', '--data', west.dataDir], { env: { BERTH_DATA_DIR: west.dataDir } });
    expect(fsck.stdout).not.toMatch(/damaged|missing/i);
    expect(cut).toBe(true);
  }, TIMEOUT + 60_000);
});
