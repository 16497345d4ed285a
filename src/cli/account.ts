import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDataDir } from '../app.js';
import { CONFIG_FLAGS, ConfigError, loadConfig, type Config } from '../config/index.js';
import { isAccountId } from '../core/index.js';
import { generateAccessKeyId, generateSecretAccessKey } from '../iam/index.js';

export const ACCOUNT_USAGE = `usage: berth account <command> [options]

commands:
  create ID [--credentials-file FILE]
                   create account ID (12 digits) and its root access key, and print the key;
                   with --credentials-file, also write it there in the AWS shared-credentials
                   format (profile default, with the deployment's region)
  root-key ID      print the root access key id and secret of account ID
  list             list the accounts, their root key ids and their number of users

These commands open the data folder directly, with the configuration "berth serve" uses
(--config, --data / BERTH_DATA_DIR, BERTH_MASTER_KEY, ...); they are safe while the server runs.
`;

/** Output streams and the exit status, so that tests and main share one path. */
interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** A failure to report in one plain sentence that says what to do next. */
class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `berth account ...`; returns the exit status (0 ok, 1 failed, 2 usage). */
export async function accountCommand(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'create':
        return await create(rest, io);
      case 'root-key':
        return await rootKey(rest, io);
      case 'list':
        return await list(rest, io);
      case undefined:
        io.err(ACCOUNT_USAGE);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        io.out(ACCOUNT_USAGE);
        return 0;
      default:
        throw new CommandFailure(`unknown command "account ${sub}"\n\n${ACCOUNT_USAGE}`, 2);
    }
  } catch (err) {
    if (err instanceof CommandFailure) {
      io.err(`berth: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth: ${(err as Error).message}\nrun "berth account help" for the options\n`);
      return 2;
    }
    // Opening the data folder explains itself (wrong folder, missing master key).
    io.err(`berth: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The command's positionals and the configuration `serve` would load from the same flags and environment. */
function parse(argv: readonly string[], extra: Record<string, { type: 'string' }> = {}) {
  const options = {
    ...Object.fromEntries([...CONFIG_FLAGS, 'config'].map((flag) => [flag, { type: flag === 'create-on-push' ? ('boolean' as const) : ('string' as const) }])),
    ...extra,
  };
  const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  const config = loadConfig({ flags: values as Record<string, string | boolean | undefined> });
  return { values: values as Record<string, string | boolean | undefined>, positionals, config };
}

function accountIdArg(positionals: readonly string[], command: string): string {
  if (positionals.length !== 1) throw new CommandFailure(`usage: berth account ${command} ID (one 12-digit account id)`, 2);
  const id = positionals[0]!;
  if (!isAccountId(id)) throw new CommandFailure(`"${id.slice(0, 40)}" is not an account id: an account id is exactly 12 digits, e.g. 123456789012`, 2);
  return id;
}

async function create(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals, config } = parse(argv, { 'credentials-file': { type: 'string' } });
  const accountId = accountIdArg(positionals, 'create');
  const credentialsFile = typeof values['credentials-file'] === 'string' ? resolve(values['credentials-file']) : undefined;
  // Checked first, so that a refused file leaves no account behind.
  if (credentialsFile && existsSync(credentialsFile)) {
    throw new CommandFailure(`${credentialsFile} already exists; choose another --credentials-file or remove it first`);
  }
  const data = await openDataDir(config, { create: true });
  let key: { accessKeyId: string; secretAccessKey: string };
  let existed: boolean;
  try {
    ({ key, existed } = await data.meta.transaction(async (tx) => {
      const existed = await tx.accounts.exists(accountId);
      if (existed && (await tx.accessKeys.count(accountId, null)) > 0) {
        throw new CommandFailure(`account ${accountId} already exists and has a root access key; print it with: berth account root-key ${accountId}`);
      }
      const now = Date.now();
      await tx.accounts.ensure(accountId, now);
      let accessKeyId = generateAccessKeyId();
      while (await tx.accessKeys.get(accessKeyId)) accessKeyId = generateAccessKeyId();
      const secretAccessKey = generateSecretAccessKey();
      await tx.accessKeys.create({
        accessKeyId,
        accountId,
        userName: null,
        secretEnc: data.box.seal(secretAccessKey),
        status: 'Active',
        createdAt: now,
      });
      return { key: { accessKeyId, secretAccessKey }, existed };
    }));
  } finally {
    await data.close();
  }

  // An account that existed without a root key (made by a push to it) just gets its key.
  io.out(
    `${existed ? `account ${accountId} existed without a root access key; created one` : `created account ${accountId} and its root access key`}\n` +
      keyLines(key),
  );
  if (credentialsFile) {
    try {
      writeCredentialsFile(credentialsFile, key, config);
    } catch (err) {
      throw new CommandFailure(
        `the account was created, but ${credentialsFile} could not be written (${(err as Error).message}); ` +
          `print the key again with: berth account root-key ${accountId}`,
      );
    }
    io.out(`  saved to ${credentialsFile} (use AWS_SHARED_CREDENTIALS_FILE=${credentialsFile})\n`);
  }
  io.out(`print the key again with: berth account root-key ${accountId}\n`);
  return 0;
}

async function rootKey(argv: readonly string[], io: Io): Promise<number> {
  const { positionals, config } = parse(argv);
  const accountId = accountIdArg(positionals, 'root-key');
  const data = await openDataDir(config, { create: false });
  try {
    if (!(await data.meta.accounts.exists(accountId))) {
      throw new CommandFailure(`there is no account ${accountId} in ${config.dataDir}; create it with: berth account create ${accountId}`);
    }
    const keys = await data.meta.accessKeys.list(accountId, null);
    if (keys.length === 0) {
      throw new CommandFailure(`account ${accountId} has no root access key; create one with: berth account create ${accountId}`);
    }
    io.out(`root access key${keys.length > 1 ? 's' : ''} of account ${accountId}\n`);
    for (const key of keys) {
      io.out(keyLines({ accessKeyId: key.accessKeyId, secretAccessKey: data.box.open(key.secretEnc) }, key.status));
    }
    return 0;
  } finally {
    await data.close();
  }
}

async function list(argv: readonly string[], io: Io): Promise<number> {
  const { positionals, config } = parse(argv);
  if (positionals.length > 0) throw new CommandFailure('usage: berth account list (no arguments)', 2);
  const data = await openDataDir(config, { create: false });
  try {
    const rows = [['ACCOUNT', 'CREATED', 'ROOT KEYS', 'USERS']];
    for (const account of await data.meta.accounts.list()) {
      const keys = await data.meta.accessKeys.list(account.id, null);
      rows.push([
        account.id,
        new Date(account.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        keys.map((k) => (k.status === 'Active' ? k.accessKeyId : `${k.accessKeyId} (Inactive)`)).join(', ') || '-',
        String(await data.meta.users.count(account.id)),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) io.out(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
    return 0;
  } finally {
    await data.close();
  }
}

function keyLines(key: { accessKeyId: string; secretAccessKey: string }, status: 'Active' | 'Inactive' = 'Active'): string {
  return (
    `  access key id:     ${key.accessKeyId}${status === 'Active' ? '' : ' (Inactive)'}\n` +
    `  secret access key: ${key.secretAccessKey}\n`
  );
}

/** The AWS shared-credentials format, as the first start writes `<data>/credentials`; mode 0600, never over an existing file. */
function writeCredentialsFile(path: string, key: { accessKeyId: string; secretAccessKey: string }, config: Config): void {
  writeFileSync(
    path,
    `[default]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\nregion = ${config.region}\n`,
    { mode: 0o600, flag: 'wx' },
  );
  chmodSync(path, 0o600);
}
