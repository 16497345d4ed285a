import { ECRClient } from '@aws-sdk/client-ecr';
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
