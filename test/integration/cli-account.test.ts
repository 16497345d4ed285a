/**
 * The `berth account` admin commands, run as an operator runs them (the built `bin/berth.js`; run
 * `npm run build` first), on a data folder that a real server then serves, and beside a server
 * that is running: the keys they print work at once through the AWS SDKs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecrClient } from '../helpers/aws-clients.js';
import { BERTH_BIN, PROJECT_ROOT, startBerth, type BerthProcess } from '../helpers/berth-process.js';

const ACCOUNT = '123456789012';
const LATE_ACCOUNT = '555566667777';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

let work: string;
let dataDir: string;
let created: CliResult;
let berth: BerthProcess | undefined;

/** `node bin/berth.js ...args` with no BERTH_* from the developer's shell, on `dataDir`. */
function berthCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) clean[key] = value;
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [BERTH_BIN, ...args],
      { cwd: PROJECT_ROOT, env: { ...clean, BERTH_DATA_DIR: dataDir, ...env }, timeout: 30_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}

/** The key printed as `access key id: …` / `secret access key: …`. */
function printedKey(stdout: string): Key {
  const id = /access key id:\s+(AKIA[A-Z2-7]{16})\s*$/m.exec(stdout);
  const secret = /secret access key:\s+(\S{40})\s*$/m.exec(stdout);
  if (!id || !secret) throw new Error(`no key in the output:\n${stdout}`);
  return { accessKeyId: id[1]!, secretAccessKey: secret[1]! };
}

function sts(url: string, key: Key): STSClient {
  return new STSClient({ endpoint: url, region: 'us-east-1', credentials: key, maxAttempts: 1 });
}

beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
  work = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  dataDir = join(work, 'data');
  // Before any server ever ran on the folder: the bootstrap path.
  created = await berthCli(['account', 'create', ACCOUNT, '--credentials-file', join(work, 'credentials')]);
});

afterAll(async () => {
  try {
    await berth?.cleanup();
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
});

describe('berth account create', () => {
  it('creates the account and prints its root key once, with what to do next', () => {
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`created account ${ACCOUNT} and its root access key`);
    expect(created.stdout).toContain(`berth account root-key ${ACCOUNT}`);
    printedKey(created.stdout);
  });

  it('writes the key in the AWS shared-credentials format with the region, readable by the owner only', async () => {
    const key = printedKey(created.stdout);
    const file = join(work, 'credentials');
    expect(await readFile(file, 'utf8')).toBe(
      `[default]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\nregion = us-east-1\n`,
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(created.stdout).toContain(`saved to ${file}`);
  });

  it('gives a key that works against a server started on the data folder', async () => {
    berth = await startBerth({ dataDir });
    const key = printedKey(created.stdout);
    const who = await sts(berth.url, key).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root`, UserId: ACCOUNT });
    const { repository } = await ecrClient(berth, key).send(new CreateRepositoryCommand({ repositoryName: 'cli/app' }));
    expect(repository).toMatchObject({ registryId: ACCOUNT, repositoryArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/cli/app` });
    // The server's own default account is another account.
    const defaultRoot = { accessKeyId: berth.accessKeyId, secretAccessKey: berth.secretAccessKey };
    expect((await sts(berth.url, defaultRoot).send(new GetCallerIdentityCommand({}))).Account).toBe('000000000000');
  });

  it('creates another account while the server runs, and the server accepts its key at once', async () => {
    const late = await berthCli(['account', 'create', LATE_ACCOUNT]);
    expect(late.code).toBe(0);
    const key = printedKey(late.stdout);
    expect((await sts(berth!.url, key).send(new GetCallerIdentityCommand({}))).Account).toBe(LATE_ACCOUNT);
    expect((await ecrClient(berth!, key).send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
  });

  it('refuses an account that already has a root key, and says how to see it', async () => {
    const again = await berthCli(['account', 'create', ACCOUNT]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`berth: account ${ACCOUNT} already exists and has a root access key; print it with: berth account root-key ${ACCOUNT}\n`);
  });

  it('refuses an id that is not 12 digits, with a usage status', async () => {
    for (const bad of ['12345', '1234567890123', 'abcdefghijkl']) {
      const res = await berthCli(['account', 'create', bad]);
      expect(res.code, bad).toBe(2);
      expect(res.stderr).toContain('exactly 12 digits');
    }
    expect((await berthCli(['account', 'create'])).code).toBe(2);
  });

  it('refuses to overwrite a credentials file, and then creates nothing', async () => {
    const existing = join(work, 'existing-credentials');
    await writeFile(existing, '[default]\n');
    const res = await berthCli(['account', 'create', '999988887777', '--credentials-file', existing]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('already exists; choose another --credentials-file or remove it first');
    expect(await readFile(existing, 'utf8')).toBe('[default]\n');
    expect((await berthCli(['account', 'list'])).stdout).not.toContain('999988887777');
  });
});

describe('berth account root-key', () => {
  it('prints the same key as create', async () => {
    const res = await berthCli(['account', 'root-key', ACCOUNT]);
    expect(res.code).toBe(0);
    expect(printedKey(res.stdout)).toEqual(printedKey(created.stdout));
  });

  it('says how to create an account that does not exist', async () => {
    const res = await berthCli(['account', 'root-key', '888877776666']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('berth account create 888877776666');
  });

  it('refuses to run with a master key that does not open the stored secrets', async () => {
    const res = await berthCli(['account', 'root-key', ACCOUNT], { BERTH_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('master key does not open the secrets');
    expect(res.stdout).toBe('');
  });

  it('refuses a folder that holds no berth data instead of creating one', async () => {
    const res = await berthCli(['account', 'root-key', ACCOUNT], { BERTH_DATA_DIR: join(work, 'elsewhere') });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no berth data in');
    expect(existsSync(join(work, 'elsewhere'))).toBe(false);
  });
});

describe('berth account list', () => {
  it('lists every account with its root key', async () => {
    const res = await berthCli(['account', 'list']);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT\s+CREATED\s+ROOT KEYS\s+USERS$/);
    const ids = lines.slice(1).map((line) => line.split(/\s+/)[0]);
    expect(ids).toEqual(['000000000000', ACCOUNT, LATE_ACCOUNT]);
    expect(res.stdout).toContain(printedKey(created.stdout).accessKeyId);
    expect(res.stdout).not.toContain(printedKey(created.stdout).secretAccessKey);
  });

  it('rejects unknown subcommands with the usage', async () => {
    const res = await berthCli(['account', 'frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('usage: berth account');
  });
});
