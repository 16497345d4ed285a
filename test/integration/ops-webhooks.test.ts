import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateRepositoryCommand, PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { ecrClient } from '../helpers/aws-clients.js';
import { VULNDATA, buildImage, fixtureFiles, pushImage } from './scan-fixtures.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { verifySignature, type EcrEvent } from '../../src/webhooks/index.js';

const SECRET = 'webhook-secret-for-tests';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  event: EcrEvent;
}

/** A webhook receiver on a loopback port that can go down and come back on the same port. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ path: req.url ?? '', headers: req.headers, body, event: JSON.parse(body) as EcrEvent });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Wait until an event matching `match` arrived at `path`. */
  async waitFor(path: string, match: (e: EcrEvent) => boolean, timeoutMs = 30_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find((r) => r.path === path && match(r.event));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no event at ${path} within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((r) => r.event.detail))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function signed(r: Received): boolean {
  return verifySignature(SECRET, { signature: r.headers['x-berth-signature'] as string, timestamp: r.headers['x-berth-timestamp'] as string }, r.body);
}

describe('operations: ECR events delivered to webhooks', () => {
  const receiver = new Receiver();
  let server: TestServer;
  let oci: OciTestClient;

  beforeAll(async () => {
    await receiver.start();
    server = await startTestServer({
      BERTH_WEBHOOKS: JSON.stringify([
        { url: `http://127.0.0.1:${receiver.port}/all`, secret: SECRET },
        { url: `http://127.0.0.1:${receiver.port}/scans?token=abc`, secret: SECRET, events: ['ECR Image Scan'] },
      ]),
    });
    oci = new OciTestClient(server.url, server.authHeader);
  });
  afterAll(async () => {
    await server?.close();
    await receiver.stop();
  });

  it('delivers a push as an ECR Image Action, signed, tied to the request in the audit trail', async () => {
    const { body } = await oci.pushImage('team/app', 'v1');
    // A second tag on the same manifest is a push too (a tag moved): ECR announces it.
    const res = await oci.putManifest('team/app', 'v1-again', body);
    const requestId = res.headers.get('x-request-id')!;
    const digest = res.headers.get('docker-content-digest')!;
    const got = await receiver.waitFor('/all', (e) => e.detail['action-type'] === 'PUSH' && e.detail['image-tag'] === 'v1-again');
    expect(got.event).toMatchObject({
      version: '0',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '000000000000',
      region: 'us-east-1',
      resources: [],
      detail: { result: 'SUCCESS', 'repository-name': 'team/app', 'image-digest': digest, 'action-type': 'PUSH', 'image-tag': 'v1-again', 'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(got.event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-berth-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signed(got)).toBe(true);
    // A tampered body or a stale timestamp does not verify.
    expect(verifySignature(SECRET, { signature: got.headers['x-berth-signature'] as string, timestamp: got.headers['x-berth-timestamp'] as string }, got.body.replace('team/app', 'team/evil'))).toBe(false);
    expect(verifySignature(SECRET, { signature: got.headers['x-berth-signature'] as string, timestamp: got.headers['x-berth-timestamp'] as string }, got.body, { now: Date.now() + 3600_000 })).toBe(false);
    // Only scan events go to the second webhook.
    expect(receiver.received.some((r) => r.path.startsWith('/scans'))).toBe(false);
    // The delivery is in the audit trail, with the id of the request that caused it.
    await server.app.jobs.drain(['webhook.deliver'], { timeoutMs: 10_000 });
    const deliveries = await server.app.services.operations.audit.query({ eventName: 'WebhookDelivery' });
    const mine = deliveries.find((d) => d.serviceEventDetails?.['eventId'] === got.event.id);
    expect(mine).toMatchObject({ eventSource: 'webhooks.berth', requestID: requestId, serviceEventDetails: { delivered: true, status: 204, detailType: 'ECR Image Action', url: `http://127.0.0.1:${receiver.port}/all` } });
  });

  it('delivers deletes of manifests and tags', async () => {
    const { digest } = await oci.pushImage('team/del', 'gone');
    expect((await oci.request('DELETE', `/v2/team/del/manifests/${digest}`)).status).toBe(202);
    const got = await receiver.waitFor('/all', (e) => e.detail['action-type'] === 'DELETE' && e.detail['repository-name'] === 'team/del');
    expect(got.event.detail).toEqual({ result: 'SUCCESS', 'repository-name': 'team/del', 'image-digest': digest, 'action-type': 'DELETE', 'image-tag': 'gone' });
    expect(signed(got)).toBe(true);
  });

  it('delivers scan results and lifecycle actions, and audits them as service events', async () => {
    const { digest } = await oci.pushImage('team/scanned', 'v1');
    const { app } = server;
    // As the scanning and lifecycle capabilities report them: in the transaction of their change, or after it.
    let deliver: () => void = () => undefined;
    await app.meta.transaction(async (tx) => {
      deliver = await app.events.record(tx, {
        type: 'scan.completed',
        accountId: '000000000000',
        repository: 'team/scanned',
        digest,
        at: Date.now(),
        detail: { imageTags: ['v1'], findingSeverityCounts: { HIGH: 2, LOW: 1 } },
      });
    });
    deliver();
    app.events.emit({ type: 'lifecycle.expired', accountId: '000000000000', repository: 'team/scanned', digest, at: Date.now(), detail: { actionType: 'EXPIRE', rulePriority: 1, imageTags: ['v1'] } });

    for (const path of ['/all', '/scans?token=abc']) {
      const scan = await receiver.waitFor(path, (e) => e['detail-type'] === 'ECR Image Scan');
      expect(scan.event.detail).toEqual({
        'scan-status': 'COMPLETE',
        'repository-name': 'team/scanned',
        'image-digest': digest,
        'image-tags': ['v1'],
        'finding-severity-counts': { HIGH: 2, LOW: 1 },
      });
      expect(scan.event.resources).toEqual(['arn:aws:ecr:us-east-1:000000000000:repository/team/scanned']);
      expect(signed(scan)).toBe(true);
    }
    const lifecycle = await receiver.waitFor('/all', (e) => e['detail-type'] === 'ECR Lifecycle Action');
    expect(lifecycle.event.detail).toEqual({ result: 'SUCCESS', 'repository-name': 'team/scanned', 'image-digest': digest, 'action-type': 'EXPIRE', 'rule-priority': 1, 'image-tags': ['v1'] });
    expect(signed(lifecycle)).toBe(true);

    const service = await app.services.operations.audit.query({ repository: 'team/scanned' });
    expect(service.find((r) => r.eventName === 'ImageScan')).toMatchObject({ eventType: 'AwsServiceEvent', userIdentity: { type: 'AWSService', invokedBy: 'berth.scan' } });
    expect(service.find((r) => r.eventName === 'PolicyExecutionEvent')).toMatchObject({ eventType: 'AwsServiceEvent', userIdentity: { invokedBy: 'berth.lifecycle' } });
    // The URL's query string (which may carry a token) never reaches the audit trail.
    expect(JSON.stringify(await app.services.operations.audit.query({ eventName: 'WebhookDelivery', limit: 1000 }))).not.toContain('token=abc');
  });

  it('delivers again, later, what a receiver that was down missed', async () => {
    await receiver.stop();
    const { digest } = await oci.pushImage('team/late', 'v1');
    // The first attempt fails, and says so in the audit trail.
    const deadline = Date.now() + 15_000;
    let failed;
    while (!failed && Date.now() < deadline) {
      failed = (await server.app.services.operations.audit.query({ eventName: 'WebhookDelivery', repository: 'team/late' })).find((r) => r.errorCode);
      if (!failed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(failed).toMatchObject({ serviceEventDetails: { delivered: false } });
    expect(receiver.received.some((r) => r.event.detail['repository-name'] === 'team/late')).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    await receiver.start();
    const got = await receiver.waitFor('/all', (e) => e.detail['repository-name'] === 'team/late' && e.detail['action-type'] === 'PUSH');
    expect(got.event.detail['image-digest']).toBe(digest);
    expect(Number(got.headers['x-berth-delivery-attempt'])).toBeGreaterThan(1);
    expect(signed(got)).toBe(true);
  });
});

describe('operations: events of the real scanning and lifecycle capabilities', () => {
  const receiver = new Receiver();
  let server: TestServer;
  let oci: OciTestClient;

  beforeAll(async () => {
    await receiver.start();
    server = await startTestServer({ BERTH_WEBHOOKS: JSON.stringify([{ url: `http://127.0.0.1:${receiver.port}/hook`, secret: SECRET }]) });
    oci = new OciTestClient(server.url, server.authHeader);
    await server.app.services.scanning.importVulnDb(join(VULNDATA, 'osv'));
  });
  afterAll(async () => {
    await server?.close();
    await receiver.stop();
  });

  it('delivers the ECR Image Scan event of a scan on push, with the tags and severity counts', async () => {
    await ecrClient(server).send(new CreateRepositoryCommand({ repositoryName: 'scan/alpine', imageScanningConfiguration: { scanOnPush: true } }));
    const image = await buildImage([await fixtureFiles('apk/alpine-3.18')]);
    const digest = await pushImage(oci, 'scan/alpine', 'v1', image);
    await server.app.jobs.drain(['scan.image']);
    const got = await receiver.waitFor('/hook', (e) => e['detail-type'] === 'ECR Image Scan');
    expect(got.event.detail).toMatchObject({ 'scan-status': 'COMPLETE', 'repository-name': 'scan/alpine', 'image-digest': digest, 'image-tags': ['v1'] });
    const counts = got.event.detail['finding-severity-counts'] as Record<string, number>;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(signed(got)).toBe(true);
    const audited = await server.app.services.operations.audit.query({ eventName: 'ImageScan', repository: 'scan/alpine' });
    expect(audited[0]).toMatchObject({ eventType: 'AwsServiceEvent', userIdentity: { invokedBy: 'berth.scan' }, serviceEventDetails: { type: 'scan.completed', digest } });
  });

  it('delivers the actions of a lifecycle run: the expiry and the image delete', async () => {
    const ecr = ecrClient(server);
    const older = await oci.pushImage('team/lc', 'old-1');
    await new Promise((r) => setTimeout(r, 20));
    const newer = await oci.pushImage('team/lc', 'old-2');
    await ecr.send(
      new PutLifecyclePolicyCommand({
        repositoryName: 'team/lc',
        lifecyclePolicyText: JSON.stringify({
          rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['old'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }],
        }),
      }),
    );
    expect(await server.app.jobs.runPeriodic('lifecycle')).toBe(true);
    await server.app.jobs.drain(['lifecycle.run']);
    const expiry = await receiver.waitFor('/hook', (e) => e['detail-type'] === 'ECR Lifecycle Action');
    expect(expiry.event.detail).toMatchObject({ result: 'SUCCESS', 'repository-name': 'team/lc', 'image-digest': older.digest, 'action-type': 'EXPIRE', 'rule-priority': 1 });
    const deleted = await receiver.waitFor('/hook', (e) => e['detail-type'] === 'ECR Image Action' && e.detail['action-type'] === 'DELETE');
    expect(deleted.event.detail).toMatchObject({ 'repository-name': 'team/lc', 'image-digest': older.digest, 'image-tag': 'old-1' });
    expect(receiver.received.some((r) => r.event.detail['action-type'] === 'DELETE' && r.event.detail['image-digest'] === newer.digest)).toBe(false);
    expect(signed(expiry) && signed(deleted)).toBe(true);
    const audited = await server.app.services.operations.audit.query({ repository: 'team/lc' });
    expect(audited.find((r) => r.eventName === 'PolicyExecutionEvent')).toMatchObject({ userIdentity: { invokedBy: 'berth.lifecycle' } });
    expect(audited.find((r) => r.eventName === 'BatchDeleteImage' && r.eventType === 'AwsServiceEvent')).toMatchObject({ userIdentity: { invokedBy: 'berth.jobs' } });
  });
});
