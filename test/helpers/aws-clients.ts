import { ECRClient } from '@aws-sdk/client-ecr';
import type { TestServer } from './test-server.js';

/** The real AWS SDK client, pointed at berth with an endpoint override. */
export function ecrClient(server: Pick<TestServer, 'url'>, credentials?: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1'): ECRClient {
  return new ECRClient({
    endpoint: server.url,
    region,
    credentials: credentials ?? { accessKeyId: (server as TestServer).accessKeyId, secretAccessKey: (server as TestServer).secretAccessKey },
    maxAttempts: 1,
  });
}
