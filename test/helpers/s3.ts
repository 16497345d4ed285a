import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';

/**
 * An S3 protocol server for the tests: `fauxqs` from npm, in memory, on a loopback port, spoken to
 * path-style. Chosen because it passes PutObject, multipart uploads, CopyObject, DeleteObjects and
 * paginated ListObjectsV2 with AWS SDK v3 (s3rver does not; MinIO and Ceph are not on npm or
 * Debian here). It lacks ListParts and UploadPartCopy, which the S3 blob store does not use, and
 * does not check signatures. The PostgreSQL run of the suite starts one for the whole run
 * (BERTH_TEST_S3_ENDPOINT); a file run on its own starts a private one on first use.
 */
export interface RunningS3 {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startS3(): Promise<RunningS3> {
  const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
  return { endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() };
}

let privateServer: Promise<RunningS3> | undefined;

export async function s3Endpoint(): Promise<string> {
  const shared = process.env['BERTH_TEST_S3_ENDPOINT'];
  if (shared) return shared;
  privateServer ??= startS3();
  return (await privateServer).endpoint;
}

export async function stopPrivateS3(): Promise<void> {
  const server = privateServer;
  privateServer = undefined;
  await (await server)?.stop();
}

/** The BERTH_S3_* settings of a new, empty bucket on the test server. */
export async function createTestBucket(): Promise<Record<string, string>> {
  const endpoint = await s3Endpoint();
  const bucket = `berth-${randomBytes(6).toString('hex')}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return {
    BERTH_S3_BUCKET: bucket,
    BERTH_S3_ENDPOINT: endpoint,
    BERTH_S3_REGION: 'us-east-1',
    BERTH_S3_FORCE_PATH_STYLE: 'true',
    BERTH_S3_ACCESS_KEY_ID: 'test',
    BERTH_S3_SECRET_ACCESS_KEY: 'test',
  };
}
