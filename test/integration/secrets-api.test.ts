import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { TEST_STORAGE, startTestServer, type TestServer } from '../helpers/test-server.js';
import { awsError, ecrClient, signedJsonPost, userWithPolicies } from '../helpers/aws-clients.js';

let server: TestServer;
let sm: SecretsManagerClient;

function smClient(credentials?: { accessKeyId: string; secretAccessKey: string }): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: credentials ?? { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    maxAttempts: 1,
  });
}

beforeAll(async () => {
  server = await startTestServer();
  sm = smClient();
});

afterAll(async () => {
  await server?.close();
});

describe('Secrets Manager subset', () => {
  it('answers unknown operations, malformed bodies and unsigned calls the AWS way', async () => {
    const unknown = await signedJsonPost(server, 'secretsmanager', 'secretsmanager.RotateSecret', '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ __type: 'UnknownOperationException', message: 'Unknown operation RotateSecret' });
    const malformed = await signedJsonPost(server, 'secretsmanager', 'secretsmanager.ListSecrets', '{"MaxResults": ');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-amzn-errortype')).toBe('SerializationException');
    expect(await malformed.json()).toEqual({ __type: 'SerializationException', message: 'The request body is not valid JSON' });
    const unsigned = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('creates a secret with an AWS-shaped ARN and reads its value back', async () => {
    const created = await sm.send(
      new CreateSecretCommand({ Name: 'ecr-pullthroughcache/hub', SecretString: '{"username":"u","accessToken":"t0ken"}', Description: 'hub creds' }),
    );
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:[0-9]{12}:secret:ecr-pullthroughcache\/hub-[A-Za-z0-9]{6}$/);
    expect(created.Name).toBe('ecr-pullthroughcache/hub');
    expect(created.VersionId).toBeTruthy();
    const byName = await sm.send(new GetSecretValueCommand({ SecretId: 'ecr-pullthroughcache/hub' }));
    expect(byName.SecretString).toBe('{"username":"u","accessToken":"t0ken"}');
    expect(byName.VersionStages).toEqual(['AWSCURRENT']);
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.ARN).toBe(created.ARN);
    // A partial ARN (without the random suffix) names it too.
    const partial = created.ARN!.slice(0, -7);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: partial }))).Name).toBe('ecr-pullthroughcache/hub');
  });

  it('keeps the value sealed at rest', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'sealed-check', SecretString: 'very-distinctive-plaintext-4242' }));
    const rows = await server.app.meta.kysely.selectFrom('secrets').select(['name', 'value_enc']).where('name', '=', 'sealed-check').execute();
    expect(rows[0]!.value_enc).not.toContain('very-distinctive');
    // The whole database holds no plaintext: the SQLite file, or every column of the row on PostgreSQL.
    const stored =
      TEST_STORAGE === 'sqlite'
        ? await readFile(join(server.dataDir, 'metadata.db'))
        : Buffer.from(JSON.stringify(await server.app.meta.kysely.selectFrom('secrets').selectAll().execute()));
    expect(stored.includes(Buffer.from('very-distinctive-plaintext-4242'))).toBe(false);
  });

  it('puts a new value with a new version and describes the secret', async () => {
    const before = await sm.send(new DescribeSecretCommand({ SecretId: 'ecr-pullthroughcache/hub' }));
    const put = await sm.send(new PutSecretValueCommand({ SecretId: 'ecr-pullthroughcache/hub', SecretString: '{"username":"u","accessToken":"new"}' }));
    expect(put.VersionId).not.toBe(Object.keys(before.VersionIdsToStages ?? {})[0]);
    const after = await sm.send(new DescribeSecretCommand({ SecretId: 'ecr-pullthroughcache/hub' }));
    expect(after.Description).toBe('hub creds');
    expect(after.VersionIdsToStages).toEqual({ [put.VersionId!]: ['AWSCURRENT'] });
    expect(after.CreatedDate).toBeInstanceOf(Date);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'ecr-pullthroughcache/hub' }))).SecretString).toContain('new');
  });

  it('refuses a duplicate name and reports a missing secret', async () => {
    const dup = await awsError(sm.send(new CreateSecretCommand({ Name: 'ecr-pullthroughcache/hub', SecretString: 'x' })));
    expect(dup.name).toBe('ResourceExistsException');
    expect(dup.status).toBe(400);
    const missing = await awsError(sm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.message).toBe("Secrets Manager can't find the specified secret.");
  });

  it('lists secrets with pagination and a name filter', async () => {
    for (const n of ['list/a', 'list/b', 'list/c']) await sm.send(new CreateSecretCommand({ Name: n, SecretString: n }));
    const first = await sm.send(new ListSecretsCommand({ MaxResults: 2 }));
    expect(first.SecretList).toHaveLength(2);
    expect(first.NextToken).toBeTruthy();
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await sm.send(new ListSecretsCommand({ MaxResults: 2, ...(token ? { NextToken: token } : {}) }));
      names.push(...page.SecretList!.map((s) => s.Name!));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['list/a', 'list/b', 'list/c', 'ecr-pullthroughcache/hub']));
    const filtered = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['list/'] }] }));
    expect(filtered.SecretList!.map((s) => s.Name)).toEqual(['list/a', 'list/b', 'list/c']);
  });

  it('schedules a deletion (value unreadable, name taken) or deletes at once', async () => {
    const scheduled = await sm.send(new DeleteSecretCommand({ SecretId: 'list/a', RecoveryWindowInDays: 7 }));
    expect(scheduled.DeletionDate!.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const read = await awsError(sm.send(new GetSecretValueCommand({ SecretId: 'list/a' })));
    expect(read.name).toBe('InvalidRequestException');
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'list/a' }))).DeletedDate).toBeInstanceOf(Date);
    expect((await awsError(sm.send(new CreateSecretCommand({ Name: 'list/a', SecretString: 'again' })))).name).toBe('InvalidRequestException');
    expect((await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['list/'] }] }))).SecretList!.map((s) => s.Name)).toEqual(['list/b', 'list/c']);

    await sm.send(new DeleteSecretCommand({ SecretId: 'list/b', ForceDeleteWithoutRecovery: true }));
    expect((await awsError(sm.send(new DescribeSecretCommand({ SecretId: 'list/b' })))).name).toBe('ResourceNotFoundException');
    const bad = await awsError(sm.send(new DeleteSecretCommand({ SecretId: 'list/c', RecoveryWindowInDays: 3 })));
    expect(bad.name).toBe('InvalidParameterException');
  });

  it('validates names', async () => {
    const bad = await awsError(sm.send(new CreateSecretCommand({ Name: 'has space', SecretString: 'x' })));
    expect(bad.name).toBe('ValidationException');
  });

  it('authorizes with secretsmanager:* actions through IAM', async () => {
    const key = await userWithPolicies(server, 'no-secrets');
    const denied = await awsError(smClient(key).send(new GetSecretValueCommand({ SecretId: 'ecr-pullthroughcache/hub' })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('secretsmanager:GetSecretValue');
    // The ECR door on the same endpoint still answers ECR targets.
    await ecrClient(server, key).send(new DescribeRepositoriesCommand({}));
  });

  it('rejects a bad signature', async () => {
    const wrong = smClient({ accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret00' });
    const err = await awsError(wrong.send(new ListSecretsCommand({})));
    expect(err.name).toBe('InvalidSignatureException');
  });
});
