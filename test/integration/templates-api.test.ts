import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateRepositoryCreationTemplateCommand,
  DeleteRepositoryCreationTemplateCommand,
  DescribeRepositoriesCommand,
  DescribeRepositoryCreationTemplatesCommand,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  UpdateRepositoryCreationTemplateCommand,
} from '@aws-sdk/client-ecr';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { awsError, ecrClient, userWithPolicies, ECR_READ_ONLY } from '../helpers/aws-clients.js';
import { OciTestClient } from '../helpers/oci-client.js';
import { parseAccountId, parseRepositoryName } from '../../src/core/index.js';

let server: TestServer;

const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'all', Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage'] }] });
const LIFECYCLE = JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }] });

beforeAll(async () => {
  // ECR's default: a push to a missing repository is refused unless a CREATE_ON_PUSH template matches.
  server = await startTestServer({ BERTH_CREATE_ON_PUSH: 'false' });
});

afterAll(async () => {
  await server?.close();
});

describe('repository creation templates (ECR API)', () => {
  it('creates, describes, updates and deletes templates', async () => {
    const ecr = ecrClient(server);
    const created = await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'prod',
        description: 'production',
        appliedFor: ['REPLICATION', 'PULL_THROUGH_CACHE'],
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
        resourceTags: [{ Key: 'env', Value: 'prod' }],
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abcd-1234' },
        repositoryPolicy: POLICY,
        lifecyclePolicy: LIFECYCLE,
      }),
    );
    expect(created.registryId).toMatch(/^[0-9]{12}$/);
    expect(created.repositoryCreationTemplate).toMatchObject({
      prefix: 'prod',
      description: 'production',
      appliedFor: ['REPLICATION', 'PULL_THROUGH_CACHE'],
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      resourceTags: [{ Key: 'env', Value: 'prod' }],
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abcd-1234' },
      repositoryPolicy: POLICY,
      lifecyclePolicy: LIFECYCLE,
    });
    expect(created.repositoryCreationTemplate!.createdAt).toBeInstanceOf(Date);
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['REPLICATION'] }));

    const all = await ecr.send(new DescribeRepositoryCreationTemplatesCommand({}));
    expect(all.repositoryCreationTemplates!.map((t) => t.prefix)).toEqual(['ROOT', 'prod']);
    const named = await ecr.send(new DescribeRepositoryCreationTemplatesCommand({ prefixes: ['prod', 'unknown'] }));
    expect(named.repositoryCreationTemplates!.map((t) => t.prefix)).toEqual(['prod']);
    const paged = await ecr.send(new DescribeRepositoryCreationTemplatesCommand({ maxResults: 1 }));
    expect(paged.nextToken).toBeTruthy();

    const updated = await ecr.send(new UpdateRepositoryCreationTemplateCommand({ prefix: 'prod', imageTagMutability: 'MUTABLE', description: 'changed' }));
    expect(updated.repositoryCreationTemplate).toMatchObject({ prefix: 'prod', imageTagMutability: 'MUTABLE', description: 'changed', resourceTags: [{ Key: 'env', Value: 'prod' }] });
    expect(updated.repositoryCreationTemplate!.imageTagMutabilityExclusionFilters).toBeUndefined();

    const deleted = await ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'ROOT' }));
    expect(deleted.repositoryCreationTemplate!.prefix).toBe('ROOT');
    expect((await awsError(ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'ROOT' })))).name).toBe('TemplateNotFoundException');
    expect((await awsError(ecr.send(new UpdateRepositoryCreationTemplateCommand({ prefix: 'gone', description: 'x' })))).name).toBe('TemplateNotFoundException');
  });

  it('refuses what ECR refuses', async () => {
    const ecr = ecrClient(server);
    const dup = await awsError(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'prod', appliedFor: ['REPLICATION'] })));
    expect(dup.name).toBe('TemplateAlreadyExistsException');
    const noApplied = await awsError(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'x1' } as never)));
    expect(noApplied.name).toBe('InvalidParameterException');
    const badApplied = await awsError(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'x2', appliedFor: ['SOMETIMES' as never] })));
    expect(badApplied.name).toBe('InvalidParameterException');
    const badPolicy = await awsError(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'x3', appliedFor: ['REPLICATION'], repositoryPolicy: '{"nope":1}' })));
    expect(badPolicy.name).toBe('InvalidParameterException');
    const badLifecycle = await awsError(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'x4', appliedFor: ['REPLICATION'], lifecyclePolicy: '{}' })));
    expect(badLifecycle.name).toBe('InvalidParameterException');
    const badPrefix = await awsError(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'Upper', appliedFor: ['REPLICATION'] })));
    expect(badPrefix.name).toBe('InvalidParameterException');
    const exclusions = await awsError(
      ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'x5', appliedFor: ['REPLICATION'], imageTagMutability: 'IMMUTABLE', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'x' }] })),
    );
    expect(exclusions.name).toBe('InvalidParameterException');
    const reader = await userWithPolicies(server, 'tpl-reader', [ECR_READ_ONLY]);
    const denied = await awsError(ecrClient(server, reader).send(new CreateRepositoryCreationTemplateCommand({ prefix: 'x6', appliedFor: ['REPLICATION'] })));
    expect(denied.name).toBe('AccessDeniedException');
  });

  it('applies the longest matching prefix, then ROOT, for the creation path named (services.templates)', async () => {
    const ecr = ecrClient(server);
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'prod/team', appliedFor: ['REPLICATION'], imageTagMutability: 'IMMUTABLE' }));
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['REPLICATION'], resourceTags: [{ Key: 'root', Value: 'yes' }] }));
    const templates = server.app.services.templates;
    const account = (await ecr.send(new DescribeRepositoryCreationTemplatesCommand({}))).registryId!;
    expect((await templates.settingsFor(account, 'prod/team/app', 'REPLICATION'))!.prefix).toBe('prod/team');
    expect((await templates.settingsFor(account, 'prod/other', 'REPLICATION'))!.prefix).toBe('prod');
    // `prod` covers `prod/...`, not `production/...`.
    expect((await templates.settingsFor(account, 'production/app', 'REPLICATION'))!.prefix).toBe('ROOT');
    expect(await templates.settingsFor(account, 'production/app', 'CREATE_ON_PUSH')).toBeUndefined();

    // Replication creates a destination repository through the service: template applied.
    const repo = await templates.createRepository(parseAccountId(account), parseRepositoryName('prod/svc'), 'REPLICATION');
    expect(repo.row.tagMutability).toBe('MUTABLE');
    expect(repo.row.encryptionType).toBe('KMS');
    const { repositories } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['prod/svc'] }));
    expect(repositories![0]!.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abcd-1234' });
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: repositories![0]!.repositoryArn }))).tags).toEqual([{ Key: 'env', Value: 'prod' }]);
    expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'prod/svc' }))).policyText).toBe(POLICY);
    // The lifecycle policy is stored where the lifecycle capability evaluates it.
    const lifecycle = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'prod/svc' }));
    expect(JSON.parse(lifecycle.lifecyclePolicyText!)).toEqual(JSON.parse(LIFECYCLE));
    const plain = await templates.createRepository(parseAccountId(account), parseRepositoryName('misc/svc'), 'REPLICATION');
    expect(plain.row.tagMutability).toBe('MUTABLE');
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecr:us-east-1:${account}:repository/misc/svc` }))).tags).toEqual([{ Key: 'root', Value: 'yes' }]);
  });

  it('create-on-push: refused without a CREATE_ON_PUSH template, created and shaped with one', async () => {
    const oci = new OciTestClient(server.url, server.authHeader);
    const refused = await oci.request('POST', '/v2/dev/app/blobs/uploads/');
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_UNKNOWN');

    const ecr = ecrClient(server);
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'dev',
        appliedFor: ['CREATE_ON_PUSH'],
        imageTagMutability: 'IMMUTABLE',
        resourceTags: [{ Key: 'made-by', Value: 'push' }],
        repositoryPolicy: POLICY,
      }),
    );
    await oci.pushImage('dev/app', 'v1');
    const { repositories } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['dev/app'] }));
    expect(repositories![0]!.imageTagMutability).toBe('IMMUTABLE');
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: repositories![0]!.repositoryArn }))).tags).toEqual([{ Key: 'made-by', Value: 'push' }]);
    expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'dev/app' }))).policyText).toBe(POLICY);
    // The template's immutability holds from the first push on.
    await expect(oci.pushImage('dev/app', 'v1')).rejects.toThrow(/push manifest: 400/);
    // Templates apply at creation only: an update leaves dev/app alone.
    await ecr.send(new UpdateRepositoryCreationTemplateCommand({ prefix: 'dev', imageTagMutability: 'MUTABLE' }));
    expect((await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['dev/app'] }))).repositories![0]!.imageTagMutability).toBe('IMMUTABLE');
  });
});
