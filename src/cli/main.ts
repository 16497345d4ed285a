import { parseArgs } from 'node:util';
import { buildApp } from '../app.js';
import { CONFIG_FLAGS, ConfigError, loadConfig } from '../config/index.js';
import { accountCommand } from './account.js';
import { fsckCommand } from './fsck.js';
import { auditCommand } from './audit.js';
import { gcCommand } from './gc.js';
import { lifecycleCommand } from './lifecycle.js';
import { scanCommand } from './scan.js';
import { statusCommand } from './status.js';
import { vulndbCommand } from './vulndb.js';

const USAGE = `usage: berth <command> [options]

commands:
  serve            run the registry: OCI Distribution API under /v2/, ECR, IAM and STS APIs at POST /
  account          create accounts and print their root keys ("berth account help")
  gc               remove unreferenced blobs; --dry-run lists them ("berth gc --help")
  fsck             check blobs, manifests and tags; --repair fixes what is safe ("berth fsck --help")
  lifecycle        preview lifecycle policies and run them now ("berth lifecycle --help")
  vulndb           import and update the vulnerability database ("berth vulndb --help")
  scan             scan an image now and print its findings or SBOM ("berth scan --help")
  audit            read the audit trail ("berth audit --help")
  status           summarise a deployment: storage, jobs, replication, scans ("berth status --help")
  help             show this text

options of serve (each also settable by environment and config file; see docs/configuration.md):
  --config FILE        YAML config file                        (BERTH_CONFIG)
  --listen HOST:PORT   address to listen on, default 127.0.0.1:5000 (BERTH_LISTEN)
  --data DIR           data folder, default ./data             (BERTH_DATA_DIR)
  --region NAME        region this deployment serves, default us-east-1 (BERTH_REGION)
  --account-id ID      default account, default 000000000000   (BERTH_ACCOUNT_ID)
  --tls-cert FILE      TLS certificate (PEM); with --tls-key serves HTTPS
  --tls-key FILE       TLS private key (PEM)
  --create-on-push     create a repository on first push; off by default, as in ECR (BERTH_CREATE_ON_PUSH)
  --public-url URL     scheme and host clients use, for repositoryUri and proxyEndpoint (BERTH_PUBLIC_URL)
  --log-level LEVEL    fatal|error|warn|info|debug|trace|silent (BERTH_LOG_LEVEL)
  --gc-interval DUR    collect unreferenced blobs every DUR (30s, 15m, 24h; 0: never), default 24h (BERTH_GC_INTERVAL)
  --gc-grace DUR       keep unreferenced blobs uploaded or linked within DUR, default 24h (BERTH_GC_GRACE)
`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'account':
      process.exitCode = await accountCommand(rest);
      return;
    case 'gc':
      process.exitCode = await gcCommand(rest);
      return;
    case 'fsck':
      process.exitCode = await fsckCommand(rest);
      return;
    case 'lifecycle':
      process.exitCode = await lifecycleCommand(rest);
      return;
    case 'vulndb':
      process.exitCode = await vulndbCommand(rest);
      return;
    case 'scan':
      process.exitCode = await scanCommand(rest);
      return;
    case 'audit':
      process.exitCode = await auditCommand(rest);
      return;
    case 'status':
      process.exitCode = await statusCommand(rest);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`berth: unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

async function serve(argv: string[]): Promise<void> {
  let config;
  try {
    const options = Object.fromEntries(
      [...CONFIG_FLAGS, 'config'].map((flag) => [flag, { type: flag === 'create-on-push' ? ('boolean' as const) : ('string' as const) }]),
    );
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    config = loadConfig({ flags: values });
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`berth: ${(err as Error).message}\nrun "berth help" for the options\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }

  const app = await buildApp(config);
  if (app.bootstrap?.generatedSecret) {
    // The only time the secret is shown; it is also in the credentials file (mode 0600).
    process.stdout.write(
      `berth: created the root access key of account ${config.accountId}\n` +
        `  access key id:     ${app.bootstrap.accessKeyId}\n` +
        `  secret access key: ${app.bootstrap.generatedSecret}\n` +
        `  saved to ${app.bootstrap.credentialsFile} (use AWS_SHARED_CREDENTIALS_FILE=${app.bootstrap.credentialsFile})\n`,
    );
  } else if (app.bootstrap?.credentialsFile) {
    process.stdout.write(`berth: root access key ${app.bootstrap.accessKeyId} saved to ${app.bootstrap.credentialsFile}\n`);
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.server.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.server.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.server.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  // Scripts and tests wait for this exact line (and read the port from it when listening on port 0).
  process.stdout.write(`berth listening on ${config.tls ? 'https' : 'http'}://${host}:${port}\n`);
}
