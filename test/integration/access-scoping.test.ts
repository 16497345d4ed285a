/**
 * Two scoping rules of the authorizer: a push that creates its repository (create-on-push) needs
 * ecr:CreateRepository as well, and DescribeRepositories with names is decided per repository.
 */
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsError, ECR_FULL_ACCESS, ecrClient, iamClient, userWithPolicies } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/test-server.js';

const POWER_USER = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ BERTH_CREATE_ON_PUSH: 'true' });
});
afterAll(() => server.close());

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
}

describe('create-on-push', () => {
  it('needs ecr:CreateRepository: a PowerUser may push to existing repositories but not create one by pushing', async () => {
    const power = await userWithPolicies(server, 'power', [POWER_USER]);
    const oci = new OciTestClient(server.url, basicAuth(power.accessKeyId, power.secretAccessKey));
    const refused = await oci.request('POST', '/v2/made-by-push/blobs/uploads/');
    expect(refused.status).toBe(403);
    const error = await errorOf(refused);
    expect(error.code).toBe('DENIED');
    expect(error.message).toContain('ecr:CreateRepository');
    expect(await server.app.meta.repositories.get('000000000000', 'made-by-push')).toBeUndefined();

    await ecrClient(server).send(new CreateRepositoryCommand({ repositoryName: 'made-by-api' }));
    expect((await oci.request('POST', '/v2/made-by-api/blobs/uploads/')).status).toBe(202);

    const full = await userWithPolicies(server, 'full', [ECR_FULL_ACCESS]);
    const creator = new OciTestClient(server.url, basicAuth(full.accessKeyId, full.secretAccessKey));
    expect((await creator.request('POST', '/v2/made-by-push/blobs/uploads/')).status).toBe(202);
    expect(await server.app.meta.repositories.get('000000000000', 'made-by-push')).toBeDefined();
  });
});

describe('DescribeRepositories', () => {
  it('decides named repositories on their own ARNs, and a registry-wide listing on *', async () => {
    const root = ecrClient(server);
    for (const name of ['scoped/xx', 'scoped/yy']) await root.send(new CreateRepositoryCommand({ repositoryName: name }));
    const iam = iamClient(server);
    await iam.send(new CreateUserCommand({ UserName: 'scoped' }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'scoped',
        PolicyName: 'one-repository',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: 'arn:aws:ecr:us-east-1:000000000000:repository/scoped/xx' }],
        }),
      }),
    );
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'scoped' }));
    const user = ecrClient(server, { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! });

    const one = await user.send(new DescribeRepositoriesCommand({ repositoryNames: ['scoped/xx'] }));
    expect(one.repositories?.map((r) => r.repositoryName)).toEqual(['scoped/xx']);
    const both = await awsError(user.send(new DescribeRepositoriesCommand({ repositoryNames: ['scoped/xx', 'scoped/yy'] })));
    expect(both.name).toBe('AccessDeniedException');
    expect(both.message).toContain('repository/scoped/yy');
    const all = await awsError(user.send(new DescribeRepositoriesCommand({})));
    expect(all.name).toBe('AccessDeniedException');
    expect(all.message).toContain('on resource: *');
  });
});
