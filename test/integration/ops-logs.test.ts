import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { execFile } from 'node:child_process';
import { BERTH_BIN, PROJECT_ROOT, startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { ecrClient, iamClient } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';

/** Run `berth <args>` and resolve with its exit status and output, whatever the status. */
function berthCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_') && !k.startsWith('AWS_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [BERTH_BIN, ...args], { cwd: PROJECT_ROOT, env: { ...clean, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// A real `berth serve` (run `npm run build` first), logging at debug level to its stdout.
describe('operations: structured logs, request ids, secrets, berth status', () => {
  let berth: BerthProcess;

  beforeAll(async () => {
    berth = await startBerth({
      env: {
        BERTH_LOG_LEVEL: 'debug',
        // Nothing listens on the discard port: deliveries fail and are retried, and say so in the log.
        BERTH_WEBHOOKS: JSON.stringify([{ url: 'http://127.0.0.1:9/hook', secret: 'hook-secret-value' }]),
      },
    });
  });
  afterAll(() => berth?.cleanup());

  it('logs JSON lines with a request id, carries it into the jobs a request causes, and never logs secrets', async () => {
    const iam = iamClient(berth);
    await iam.send(new CreateUserCommand({ UserName: 'builder' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'builder' }));
    const token = (await ecrClient(berth).send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!.authorizationToken!;
    const oci = new OciTestClient(berth.url, berth.authHeader);
    const { body } = await oci.pushImage('team/app', 'v1');
    const push = await oci.putManifest('team/app', 'v2', body);
    const requestId = push.headers.get('x-request-id')!;
    // A request with a session token and a caller's own request id.
    await fetch(`${berth.url}/v2/`, { headers: { authorization: berth.authHeader, 'x-amz-security-token': 'SESSION-TOKEN-VALUE', 'x-request-id': 'caller-chosen-id' } });
    const unauthorized = await fetch(`${berth.url}/v2/team/app/tags/list`, { headers: { authorization: `Basic ${Buffer.from('AKIAUNKNOWN000000000:wrong-secret-value').toString('base64')}` } });
    expect(unauthorized.status).toBe(401);

    // The push's webhook delivery fails and is retried; the job's log line names the push's request.
    const deadline = Date.now() + 20_000;
    const lines = () =>
      berth
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Output through a pipe may lag behind the responses: wait for the last request's line too.
    const seen = () => {
      const now = lines();
      return now.some((l) => l['job'] === 'webhook.deliver' && l['requestId'] === requestId) && now.some((l) => l['msg'] === 'request' && l['status'] === 401);
    };
    while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const all = lines();
    const jobLine = all.find((l) => l['job'] === 'webhook.deliver' && l['requestId'] === requestId);
    expect(jobLine).toMatchObject({ msg: 'job attempt failed; will retry' });

    const requests = all.filter((l) => l['msg'] === 'request');
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.every((l) => typeof l['reqId'] === 'string' && typeof l['time'] === 'number' && typeof l['level'] === 'number')).toBe(true);
    expect(requests.find((l) => l['reqId'] === requestId)).toMatchObject({ method: 'PUT', url: '/v2/team/app/manifests/v2', status: 201 });
    expect(requests.some((l) => l['reqId'] === 'caller-chosen-id'), JSON.stringify(requests.filter((l) => l['url'] === '/v2/'))).toBe(true);

    const output = berth.output();
    for (const secret of [AccessKey!.SecretAccessKey!, token, berth.secretAccessKey, berth.authHeader.slice(6), 'SESSION-TOKEN-VALUE', 'wrong-secret-value', 'hook-secret-value']) {
      expect(output).not.toContain(secret);
    }
  });

  it('berth status summarises the running server and its data folder', async () => {
    const viaUrl = await berthCli(['status', '--url', berth.url, '--json'], { AWS_ACCESS_KEY_ID: berth.accessKeyId, AWS_SECRET_ACCESS_KEY: berth.secretAccessKey });
    expect(viaUrl.code).toBe(0);
    const status = JSON.parse(viaUrl.stdout) as { version: string; mode: unknown; accounts: { accountId: string; repositories: number; images: number; storageBytes: number }[]; jobs: { kind: string; state: string }[]; webhookBacklog: number };
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(status.mode).toEqual({ metadata: 'sqlite', blobs: 'fs' });
    expect(status.accounts[0]).toMatchObject({ accountId: '000000000000', repositories: 1, images: 1 });
    expect(status.accounts[0]!.storageBytes).toBeGreaterThan(1024);
    expect(status.jobs.some((j) => j.kind === 'webhook.deliver')).toBe(true);
    expect(status.webhookBacklog).toBeGreaterThanOrEqual(1);

    const table = await berthCli(['status', '--data', berth.dataDir]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('metadata sqlite, blobs fs');
    expect(table.stdout).toMatch(/000000000000\s+1\s+1\s+/);
    expect(table.stdout).toMatch(/webhook\.deliver\s+queued/);
    expect(table.stdout).toMatch(/webhook backlog: [1-9]/);

    const wrongKey = await berthCli(['status', '--url', berth.url], { AWS_ACCESS_KEY_ID: berth.accessKeyId, AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('401');
  });
});
