import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { BerthError, parseAccountId } from './core/index.js';
import { Authenticator, SecretBox, bootstrapRootCredentials, type BootstrapResult } from './iam/index.js';
import { awsRouter } from './aws-router.js';
import { ecrDoor } from './ecr/index.js';
import { queryDoor } from './iam-api/index.js';
import { ociPlugin, sendOciError } from './oci/index.js';
import { Registry, RegistrySettings } from './registry/index.js';
import { FsBlobStore } from './storage/blobs/index.js';
import { openSqliteMetadata, type MetadataStore } from './storage/metadata/index.js';

export interface App {
  readonly server: FastifyInstance;
  readonly registry: Registry;
  readonly meta: MetadataStore;
  /** What the first start created: the root key, and its secret when berth generated it. */
  readonly bootstrap: BootstrapResult | undefined;
  close(): Promise<void>;
}

/**
 * The composition root: the only place that picks concrete implementations (SQLite and the
 * filesystem in the embedded mode) and wires them into the front doors.
 */
export async function buildApp(config: Config): Promise<App> {
  const box = SecretBox.load(ensureDir(config.dataDir), config.masterKey);
  const meta = await openSqliteMetadata(join(config.dataDir, 'metadata.db'));
  const blobs = new FsBlobStore(config.dataDir);
  await blobs.init();
  const accountId = parseAccountId(config.accountId);
  const bootstrap = await bootstrapRootCredentials({
    meta,
    box,
    dataDir: config.dataDir,
    accountId,
    region: config.region,
    ...(config.rootAccessKeyId && config.rootSecretAccessKey
      ? { configured: { accessKeyId: config.rootAccessKeyId, secretAccessKey: config.rootSecretAccessKey } }
      : {}),
    now: Date.now(),
  });
  const registry = new Registry(meta, blobs, {
    createOnPush: config.createOnPush,
    maxManifestBytes: config.limits.maxManifestBytes,
    // Signs the blob URLs of ECR GetDownloadUrlForLayer; derived, so the master key itself signs nothing.
    downloadUrlKey: box.deriveKey('berth blob-download-url v1'),
  });
  const settings = new RegistrySettings(meta);
  const auth = new Authenticator(meta, box, config.region);

  const server = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
    },
    // Access lines are written by the onResponse hook below: one line per request, not two.
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: true,
    ...(config.tls ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}),
  });
  server.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const line = { method: req.method, url: req.url.split('?')[0], status, durationMs: Math.round(reply.elapsedTime) };
    if (status >= 500) req.log.error(line, 'request');
    else if (status >= 400 && status !== 401) req.log.info(line, 'request');
    else req.log.debug(line, 'request');
    done();
  });
  server.setNotFoundHandler((_req, reply) => sendOciError(reply, new BerthError('UNSUPPORTED', 'no such endpoint')));
  await server.register(ociPlugin, { registry, settings, auth, defaultAccount: accountId, maxManifestBytes: config.limits.maxManifestBytes });
  // ECR (JSON 1.1) and IAM/STS (Query) share `POST /`, told apart by content type.
  const ecr = ecrDoor({
    registry,
    settings,
    auth,
    region: config.region,
    defaultAccount: accountId,
    isTls: Boolean(config.tls),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  });
  await server.register(awsRouter, { doors: [ecr, queryDoor({ meta, box, auth, region: config.region })] });

  // Upload sessions idle past their TTL go: at start (after a crash) and then every hour.
  const ttlMs = config.uploadTtlSeconds * 1000;
  const sweep = () =>
    registry.sweepUploads(ttlMs).then(
      ({ removed }) => removed > 0 && server.log.info({ removed }, 'expired upload sessions removed'),
      (err) => server.log.error({ err }, 'upload sweep failed'),
    );
  await sweep();
  const sweeper = setInterval(sweep, Math.min(ttlMs, 3600_000)).unref();

  return {
    server,
    registry,
    meta,
    bootstrap,
    async close() {
      clearInterval(sweeper);
      await server.close();
      await registry.close();
      await meta.close();
    },
  };
}

/** What the admin commands work on: a data folder's metadata and the box that opens its secrets. */
export interface DataDir {
  readonly meta: MetadataStore;
  readonly box: SecretBox;
  close(): Promise<void>;
}

/**
 * The metadata and secrets of `config.dataDir`, without a server: the bootstrap path of the
 * `berth account` commands, which must work before any credential exists (there is no admin API
 * yet). It is safe beside a running server: SQLite in WAL mode lets processes share the file,
 * each write transaction waits for the other's (busy_timeout), and the server reads key rows on
 * every signed request rather than caching them.
 *
 * With `create: false`, a folder without a database is an error rather than a new deployment.
 * Refuses a master key that does not open the stored secrets (a `BERTH_MASTER_KEY` the server has
 * but this command lacks), rather than sealing new secrets with another key.
 */
export async function openDataDir(config: Config, opts: { create: boolean }): Promise<DataDir> {
  const dbPath = join(config.dataDir, 'metadata.db');
  const hasDb = existsSync(dbPath);
  if (!hasDb && !opts.create) {
    throw new Error(`no berth data in ${config.dataDir}; pass --data DIR (or BERTH_DATA_DIR) with the folder the server uses`);
  }
  if (hasDb && !config.masterKey && !existsSync(join(config.dataDir, 'master.key'))) {
    throw new Error(`${config.dataDir} has a database but no master.key: set BERTH_MASTER_KEY to the key the server uses`);
  }
  const box = SecretBox.load(ensureDir(config.dataDir), config.masterKey);
  const meta = await openSqliteMetadata(dbPath);
  try {
    for (const account of await meta.accounts.list()) {
      const [key] = await meta.accessKeys.list(account.id, null);
      if (!key) continue;
      try {
        box.open(key.secretEnc);
      } catch {
        throw new Error(`the master key does not open the secrets stored in ${config.dataDir}: use the server's BERTH_MASTER_KEY`);
      }
      break;
    }
  } catch (err) {
    await meta.close();
    throw err;
  }
  return { meta, box, close: () => meta.close() };
}

/** The data folder exists before anything is written: the master key is the first file in it. */
function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
