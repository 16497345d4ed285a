import { createHash, createHmac } from 'node:crypto';
import { ECRClient } from '@aws-sdk/client-ecr';
import { SignatureV4 } from '@smithy/signature-v4';
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import type { TestServer } from './test-server.js';

/** The real AWS SDK client, pointed at berth with an endpoint override. */
export function ecrClient(server: Pick<TestServer, 'url'>, credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region = 'us-east-1'): ECRClient {
  return new ECRClient({
    endpoint: server.url,
    region,
    credentials: credentials ?? { accessKeyId: (server as TestServer).accessKeyId, secretAccessKey: (server as TestServer).secretAccessKey },
    maxAttempts: 1,
  });
}

/** An AWS SDK service error as a user's code sees it, with its HTTP status at hand. */
export type AwsFailure = Error & { name: string; message: string; status: number | undefined; type: string | undefined; $fault: 'client' | 'server'; $metadata: { httpStatusCode?: number } };

/**
 * The error an AWS SDK call failed with (any service: ECR, IAM, STS), so tests assert the name,
 * message and status a caller would see. Fails the test when the call succeeds.
 */
export async function awsError(promise: Promise<unknown>): Promise<AwsFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error && '$metadata' in err && '$fault' in err) {
      const meta = (err as { $metadata: { httpStatusCode?: number } }).$metadata;
      return Object.assign(err, { status: meta.httpStatusCode, type: (err as { Type?: string }).Type }) as AwsFailure;
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** The real IAM client, as the root of the test server's default account. */
export function iamClient(server: Pick<TestServer, 'url' | 'accessKeyId' | 'secretAccessKey'>): IAMClient {
  return new IAMClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    maxAttempts: 1,
  });
}

/** AWS's managed ECR policies, which berth serves under their real ARNs. */
export const ECR_FULL_ACCESS = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess';
export const ECR_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly';

/**
 * An IAM user of the default account with an access key and the given managed policies attached
 * (users may do nothing their policies do not allow). Returns the key.
 */
export async function userWithPolicies(
  server: Pick<TestServer, 'url' | 'accessKeyId' | 'secretAccessKey'>,
  userName: string,
  policyArns: readonly string[] = [ECR_FULL_ACCESS],
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = iamClient(server);
  await iam.send(new CreateUserCommand({ UserName: userName }));
  for (const PolicyArn of policyArns) await iam.send(new AttachUserPolicyCommand({ UserName: userName, PolicyArn }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape @smithy/signature-v4 takes. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      secret === undefined || typeof secret === 'string'
        ? secret
        : secret instanceof ArrayBuffer
          ? Buffer.from(secret)
          : Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * A raw AWS JSON 1.1 call signed with the server's root key: for what the SDKs never send (a
 * malformed body, an unknown operation) or to read fields the SDK drops.
 */
export async function signedJsonPost(
  server: Pick<TestServer, 'url' | 'accessKeyId' | 'secretAccessKey'>,
  service: string,
  target: string,
  body: string,
): Promise<Response> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service,
    region: 'us-east-1',
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body,
    query: {},
  });
  return fetch(`${server.url}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
}
