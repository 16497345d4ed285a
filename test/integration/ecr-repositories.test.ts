import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  ListTagsForResourceCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsError, ecrClient, signedJsonPost } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
let ecr: ECRClient;

beforeAll(async () => {
  server = await startTestServer({ BERTH_CREATE_ON_PUSH: 'false' });
  ecr = ecrClient(server);
});
afterAll(() => server.close());

describe('CreateRepository and DescribeRepositories', () => {
  it('creates with ECR defaults and describes it', async () => {
    const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/api' }));
    expect(repository).toMatchObject({
      registryId: '000000000000',
      repositoryName: 'team/api',
      repositoryArn: 'arn:aws:ecr:us-east-1:000000000000:repository/team/api',
      repositoryUri: `${new URL(server.url).host}/team/api`,
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
    });
    expect(repository?.createdAt).toBeInstanceOf(Date);
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/api'] }));
    expect(described.repositories?.[0]).toEqual(repository);
  });

  it('refuses a duplicate, a bad name, and bad settings with AWS error names', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'dup' }));
    expect((await awsError(ecr.send(new CreateRepositoryCommand({ repositoryName: 'dup' })))).name).toBe('RepositoryAlreadyExistsException');
    const bad = await awsError(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Bad_Name' })));
    expect(bad.name).toBe('InvalidParameterException');
    expect(bad.status).toBe(400);
    expect(bad.message).toContain("'repositoryName'");
    const filters = await awsError(ecr.send(new CreateRepositoryCommand({ repositoryName: 'f', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' })));
    expect(filters.name).toBe('InvalidParameterException');
    const tags = await awsError(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'tagged-bad', tags: [{ Key: 'aws:reserved', Value: 'x' }] })),
    );
    expect(tags.name).toBe('InvalidTagParameterException');
    const many = await awsError(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'tagged-many', tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })),
    );
    expect(many.name).toBe('TooManyTagsException');
  });

  it('fails a name list wholesale when one is missing', async () => {
    const err = await awsError(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/api', 'absent'] })));
    expect(err.name).toBe('RepositoryNotFoundException');
    expect(err.message).toContain("'absent'");
  });

  it('pages through the registry with maxResults and nextToken, and refuses mixing names with paging', async () => {
    for (const n of ['page/a', 'page/b', 'page/c', 'page/d', 'page/e']) await ecr.send(new CreateRepositoryCommand({ repositoryName: n }));
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, nextToken }));
      expect(page.repositories!.length).toBeLessThanOrEqual(2);
      seen.push(...page.repositories!.map((r) => r.repositoryName!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(['page/a', 'page/b', 'page/c', 'page/d', 'page/e']));
    expect(new Set(seen).size).toBe(seen.length);
    const mixed = await awsError(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['page/a'], maxResults: 1 })));
    expect(mixed.name).toBe('InvalidParameterException');
    const badToken = await awsError(ecr.send(new DescribeRepositoriesCommand({ nextToken: 'garbage' })));
    expect(badToken.name).toBe('InvalidParameterException');
  });
});

describe('DeleteRepository', () => {
  it('refuses a repository with images unless forced, and returns it as it was', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'del/full' }));
    const oci = new OciTestClient(server.url, server.authHeader);
    await oci.pushImage('del/full', 'v1');
    expect((await awsError(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/full' })))).name).toBe('RepositoryNotEmptyException');
    const { repository } = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/full', force: true }));
    expect(repository?.repositoryName).toBe('del/full');
    expect((await oci.request('GET', '/v2/del/full/manifests/v1')).status).toBe(404);
    expect((await awsError(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/full' })))).name).toBe('RepositoryNotFoundException');
  });
});

describe('settings', () => {
  it('changes tag mutability with exclusion filters, and the registry enforces them', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut/app' }));
    const out = await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: 'mut/app',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest*' }],
      }),
    );
    expect(out).toMatchObject({ repositoryName: 'mut/app', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' });
    const oci = new OciTestClient(server.url, server.authHeader);
    await oci.pushImage('mut/app', 'v1');
    await oci.pushImage('mut/app', 'latest');
    await expect(oci.pushImage('mut/app', 'v1')).rejects.toThrow(/TAG_INVALID/);
    await oci.pushImage('mut/app', 'latest');
  });

  it('stores scan on push', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/app' }));
    const out = await ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: 'scan/app', imageScanningConfiguration: { scanOnPush: true } }));
    expect(out.imageScanningConfiguration).toEqual({ scanOnPush: true });
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['scan/app'] }));
    expect(described.repositories?.[0]?.imageScanningConfiguration).toEqual({ scanOnPush: true });
  });
});

describe('resource tags', () => {
  it('tags, merges, lists and untags a repository by ARN', async () => {
    const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'tags/app', tags: [{ Key: 'team', Value: 'a' }] }));
    const arn = repository!.repositoryArn!;
    await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'b' }] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'b' },
    ]);
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['env', 'absent'] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([{ Key: 'team', Value: 'b' }]);
    const bad = await awsError(ecr.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:s3:::bucket' })));
    expect(bad.name).toBe('InvalidParameterException');
    const missing = await awsError(ecr.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecr:us-east-1:000000000000:repository/nope' })));
    expect(missing.name).toBe('RepositoryNotFoundException');
  });
});

describe('explicit repository creation', () => {
  it('refuses a push to a repository that does not exist with NAME_UNKNOWN', async () => {
    const oci = new OciTestClient(server.url, server.authHeader);
    const res = await oci.request('POST', '/v2/never/created/blobs/uploads/');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_UNKNOWN');
  });
});

describe('GetAuthorizationToken', () => {
  it('returns AWS:<password> valid 12 hours that the registry accepts as Basic', async () => {
    const before = Date.now();
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = authorizationData![0]!;
    const decoded = Buffer.from(data.authorizationToken!, 'base64').toString();
    expect(decoded.startsWith('AWS:')).toBe(true);
    expect(decoded.split(':')).toHaveLength(2);
    expect(data.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 12 * 3600_000 - 1000);
    expect(data.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 12 * 3600_000 + 1000);
    expect(data.proxyEndpoint).toBe(server.url);

    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'token/app' }));
    const oci = new OciTestClient(server.url, `Basic ${data.authorizationToken}`);
    await oci.pushImage('token/app', 'v1');
    expect((await oci.request('GET', '/v2/token/app/manifests/v1')).status).toBe(200);
  });

  it('rejects a tampered token at the registry', async () => {
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const password = Buffer.from(authorizationData![0]!.authorizationToken!, 'base64').toString().slice(4);
    const tampered = password.slice(0, -2) + (password.endsWith('A') ? 'BB' : 'AA');
    const res = await new OciTestClient(server.url, `Basic ${Buffer.from(`AWS:${tampered}`).toString('base64')}`).request('GET', '/v2/');
    expect(res.status).toBe(401);
  });
});

describe('the wire protocol', () => {
  it('answers unknown operations, malformed JSON and unsigned calls the AWS way', async () => {
    const unknown = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.Nope' },
      body: '{}',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { __type: string }).__type).toBe('UnknownOperationException');
    const unsigned = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories' },
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    for (const [body, message] of [
      ['{"repositoryNames": [', 'The request body is not valid JSON'],
      ['["a list"]', 'The request body must be a JSON object'],
    ]) {
      const malformed = await signedJsonPost(server, 'ecr', 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories', body!);
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('x-amzn-errortype')).toBe('SerializationException');
      expect(await malformed.json()).toEqual({ __type: 'SerializationException', message });
    }
  });

  it('refuses a wrong secret, another region, and an unknown key', async () => {
    const wrongSecret = ecrClient(server, { accessKeyId: server.accessKeyId, secretAccessKey: 'x'.repeat(40) });
    expect((await awsError(wrongSecret.send(new DescribeRepositoriesCommand({})))).name).toBe('InvalidSignatureException');
    const otherRegion = ecrClient(server, { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, 'eu-west-1');
    const region = await awsError(otherRegion.send(new DescribeRepositoriesCommand({})));
    expect(region.name).toBe('InvalidSignatureException');
    expect(region.message).toMatch(/region/);
    const unknownKey = ecrClient(server, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: server.secretAccessKey });
    expect((await awsError(unknownKey.send(new DescribeRepositoriesCommand({})))).name).toBe('UnrecognizedClientException');
  });
});
