/**
 * The real `aws` command (Debian's awscli, botocore) against berth's IAM and STS doors with
 * `--endpoint-url`: the root creates a user and its key, the user's key works from a shared
 * credentials file, errors come back with AWS's codes, and a deactivated key fails at once.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** Debian's package installs it here; elsewhere, whatever `aws` is on PATH. */
const AWS = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const ACCOUNT = '000000000000';
const TIMEOUT = 60_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let server: TestServer;
let home: string;

/**
 * Run `aws ...args --endpoint-url <berth> --output json` in an environment made from nothing the
 * developer's shell holds: no profile, config file or instance metadata, region us-east-1.
 */
function aws(args: readonly string[], credentials: Record<string, string>): Promise<Result> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_PAGER: '',
    ...credentials,
  };
  return new Promise((resolveRun) => {
    execFile(AWS, [...args, '--endpoint-url', server.url, '--output', 'json'], { env, timeout: TIMEOUT, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

function rootEnv(): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey };
}

/** Parse a successful command's JSON, or fail the test with what the command printed. */
function json<T>(result: Result): T {
  if (result.code !== 0) throw new Error(`aws exited ${result.code}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'berth-aws-cli-'));
  server = await startTestServer();
}, TIMEOUT);

afterAll(async () => {
  await server?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('aws iam and aws sts with --endpoint-url', () => {
  let aliceCredentialsFile: string;
  let aliceKeyId: string;

  it('identifies the root from environment credentials', async () => {
    const who = json<{ Account: string; Arn: string; UserId: string }>(await aws(['sts', 'get-caller-identity'], rootEnv()));
    expect(who).toEqual({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root`, UserId: ACCOUNT });
  }, TIMEOUT);

  it('creates a user, refuses it twice with EntityAlreadyExists, and lists it', async () => {
    const { User } = json<{ User: { UserName: string; Arn: string; UserId: string; Path: string; CreateDate: string } }>(
      await aws(['iam', 'create-user', '--user-name', 'alice', '--path', '/devs/'], rootEnv()),
    );
    expect(User).toMatchObject({ UserName: 'alice', Path: '/devs/', Arn: `arn:aws:iam::${ACCOUNT}:user/devs/alice` });
    expect(User.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(Number.isNaN(Date.parse(User.CreateDate))).toBe(false);

    const again = await aws(['iam', 'create-user', '--user-name', 'alice'], rootEnv());
    expect(again.code).toBe(254);
    expect(again.stderr).toContain('An error occurred (EntityAlreadyExists) when calling the CreateUser operation: User with name alice already exists.');

    const { Users } = json<{ Users: { UserName: string }[] }>(await aws(['iam', 'list-users', '--path-prefix', '/devs/'], rootEnv()));
    expect(Users.map((u) => u.UserName)).toEqual(['alice']);
  }, TIMEOUT);

  it('pages list-users with the CLI paginator', async () => {
    for (const name of ['page-1', 'page-2', 'page-3']) json(await aws(['iam', 'create-user', '--user-name', name, '--path', '/pages/'], rootEnv()));
    // --page-size 1 makes the CLI follow two Markers to collect all three.
    const all = json<{ Users: { UserName: string }[] }>(await aws(['iam', 'list-users', '--path-prefix', '/pages/', '--page-size', '1'], rootEnv()));
    expect(all.Users.map((u) => u.UserName)).toEqual(['page-1', 'page-2', 'page-3']);
    const first = json<{ Users: { UserName: string }[]; NextToken?: string }>(
      await aws(['iam', 'list-users', '--path-prefix', '/pages/', '--max-items', '2'], rootEnv()),
    );
    expect(first.Users.map((u) => u.UserName)).toEqual(['page-1', 'page-2']);
    expect(first.NextToken).toBeTruthy();
  }, TIMEOUT);

  it('creates an access key whose credentials file makes the CLI act as the user', async () => {
    const { AccessKey } = json<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string; UserName: string; Status: string } }>(
      await aws(['iam', 'create-access-key', '--user-name', 'alice'], rootEnv()),
    );
    expect(AccessKey).toMatchObject({ UserName: 'alice', Status: 'Active' });
    aliceKeyId = AccessKey.AccessKeyId;
    aliceCredentialsFile = join(home, 'alice-credentials');
    await writeFile(
      aliceCredentialsFile,
      `[default]\naws_access_key_id = ${AccessKey.AccessKeyId}\naws_secret_access_key = ${AccessKey.SecretAccessKey}\n`,
      { mode: 0o600 },
    );
    const asAlice = { AWS_SHARED_CREDENTIALS_FILE: aliceCredentialsFile };
    const who = json<{ Account: string; Arn: string; UserId: string }>(await aws(['sts', 'get-caller-identity'], asAlice));
    expect(who).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/devs/alice` });
    expect(who.UserId).toMatch(/^AIDA/);
    const me = json<{ User: { UserName: string } }>(await aws(['iam', 'get-user'], asAlice));
    expect(me.User.UserName).toBe('alice');
    const keys = json<{ AccessKeyMetadata: { AccessKeyId: string }[] }>(await aws(['iam', 'list-access-keys'], asAlice));
    expect(keys.AccessKeyMetadata.map((k) => k.AccessKeyId)).toEqual([aliceKeyId]);
  }, TIMEOUT);

  it('answers a user acting on others with AccessDenied, and a missing user with NoSuchEntity', async () => {
    const asAlice = { AWS_SHARED_CREDENTIALS_FILE: aliceCredentialsFile };
    const denied = await aws(['iam', 'create-user', '--user-name', 'mallory'], asAlice);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain(`An error occurred (AccessDenied) when calling the CreateUser operation: User: arn:aws:iam::${ACCOUNT}:user/alice`);
    const missing = await aws(['iam', 'get-user', '--user-name', 'nobody'], rootEnv());
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain('An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name nobody cannot be found.');
  }, TIMEOUT);

  it('refuses to delete a user with keys; a deactivated key fails at once; then both go', async () => {
    const conflict = await aws(['iam', 'delete-user', '--user-name', 'alice'], rootEnv());
    expect(conflict.code).toBe(254);
    expect(conflict.stderr).toContain('(DeleteConflict)');

    const update = await aws(['iam', 'update-access-key', '--user-name', 'alice', '--access-key-id', aliceKeyId, '--status', 'Inactive'], rootEnv());
    expect(update).toMatchObject({ code: 0, stdout: '' });
    const refused = await aws(['sts', 'get-caller-identity'], { AWS_SHARED_CREDENTIALS_FILE: aliceCredentialsFile });
    expect(refused.code).toBe(254);
    expect(refused.stderr).toContain('An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation');

    const keys = json<{ AccessKeyMetadata: { Status: string }[] }>(await aws(['iam', 'list-access-keys', '--user-name', 'alice'], rootEnv()));
    expect(keys.AccessKeyMetadata.map((k) => k.Status)).toEqual(['Inactive']);
    expect((await aws(['iam', 'delete-access-key', '--user-name', 'alice', '--access-key-id', aliceKeyId], rootEnv())).code).toBe(0);
    expect((await aws(['iam', 'delete-user', '--user-name', 'alice'], rootEnv())).code).toBe(0);
    const gone = await aws(['iam', 'get-user', '--user-name', 'alice'], rootEnv());
    expect(gone.stderr).toContain('(NoSuchEntity)');
  }, TIMEOUT);

  it('reports a bad signature as SignatureDoesNotMatch', async () => {
    const res = await aws(['sts', 'get-caller-identity'], { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
    expect(res.code).toBe(254);
    expect(res.stderr).toContain('(SignatureDoesNotMatch)');
  }, TIMEOUT);
});
