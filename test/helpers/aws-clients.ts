import { ECRClient } from '@aws-sdk/client-ecr';
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
