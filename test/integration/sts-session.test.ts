/**
 * Temporary credentials: STS GetSessionToken, then SigV4 calls signed with the ASIA key and its
 * session token at the ECR, IAM and STS doors, and the registry token they can get.
 */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { IAMClient, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsError, ecrClient, userWithPolicies } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

let server: TestServer;
let root: Credentials;

const sts = (credentials: Credentials) => new STSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
const iam = (credentials: Credentials) => new IAMClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });

async function sessionOf(credentials: Credentials, durationSeconds?: number): Promise<Credentials & { expiration: Date }> {
  const { Credentials: c } = await sts(credentials).send(new GetSessionTokenCommand(durationSeconds ? { DurationSeconds: durationSeconds } : {}));
  return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken!, expiration: c!.Expiration! };
}

beforeAll(async () => {
  server = await startTestServer();
  root = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
});
afterAll(() => server.close());

describe('GetSessionToken', () => {
  it('gives a root 1 hour by default, and refuses more than 1 hour for a root', async () => {
    const session = await sessionOf(root);
    expect(session.accessKeyId).toMatch(/^ASIA/);
    expect(Math.abs(session.expiration.getTime() - (Date.now() + 3600_000))).toBeLessThan(5000);
    expect((await awsError(sts(root).send(new GetSessionTokenCommand({ DurationSeconds: 7200 })))).name).toBe('ValidationError');
  });

  it('acts as the caller at every door: STS, ECR and the registry', async () => {
    const user = await userWithPolicies(server, 'builder');
    const session = await sessionOf(user);
    expect(Math.abs(session.expiration.getTime() - (Date.now() + 12 * 3600_000))).toBeLessThan(5000);

    const identity = await sts(session).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe(`arn:aws:iam::000000000000:user/builder`);

    const ecr = ecrClient(server, session);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'session/app' }));
    expect((await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['session/app'] }))).repositories).toHaveLength(1);

    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const oci = new OciTestClient(server.url, `Basic ${authorizationData![0]!.authorizationToken}`);
    await oci.pushImage('session/app', 'v1');

    // Temporary credentials cannot mint more temporary credentials (as AWS).
    expect((await awsError(sts(session).send(new GetSessionTokenCommand({})))).name).toBe('AccessDenied');

    // Deactivating the long-term key ends the session too.
    await iam(root).send(new UpdateAccessKeyCommand({ UserName: 'builder', AccessKeyId: user.accessKeyId, Status: 'Inactive' }));
    expect((await awsError(ecr.send(new DescribeRepositoriesCommand({})))).name).toBe('UnrecognizedClientException');
  });

  it('refuses an ASIA key without its token, with an altered token, or with the token of another session', async () => {
    const a = await sessionOf(root);
    const b = await sessionOf(root);
    const noToken = ecrClient(server, { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey });
    expect((await awsError(noToken.send(new DescribeRepositoriesCommand({})))).name).toBe('UnrecognizedClientException');
    const altered = a.sessionToken!.slice(0, -4) + (a.sessionToken!.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const tampered = ecrClient(server, { ...a, sessionToken: altered });
    expect((await awsError(tampered.send(new DescribeRepositoriesCommand({})))).name).toBe('UnrecognizedClientException');
    const swapped = ecrClient(server, { ...a, sessionToken: b.sessionToken });
    expect((await awsError(swapped.send(new DescribeRepositoriesCommand({})))).name).toBe('UnrecognizedClientException');
    const wrongSecret = ecrClient(server, { ...a, secretAccessKey: b.secretAccessKey });
    expect((await awsError(wrongSecret.send(new DescribeRepositoriesCommand({})))).name).toBe('InvalidSignatureException');
  });
});
