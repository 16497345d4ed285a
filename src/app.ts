import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { BerthError, parseAccountId } from './core/index.js';
import { Authenticator, SecretBox, bootstrapRootCredentials, type BootstrapResult } from './iam/index.js';
import { ecrPlugin } from './ecr/index.js';
import { ociPlugin, sendOciError } from './oci/index.js';
import { Registry } from './registry/index.js';
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
  const registry = new Registry(meta, blobs, { createOnPush: config.createOnPush, maxManifestBytes: config.limits.maxManifestBytes });
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
  await server.register(ociPlugin, { registry, auth, defaultAccount: accountId, maxManifestBytes: config.limits.maxManifestBytes });
  await server.register(ecrPlugin, {
    registry,
    auth,
    region: config.region,
    defaultAccount: accountId,
    isTls: Boolean(config.tls),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  });

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
      await meta.close();
    },
  };
}

/** The data folder exists before anything is written: the master key is the first file in it. */
function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
