import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Capability, CapabilityContext, Services } from './capabilities.js';
import type { Config } from './config/index.js';
import {
  BerthError,
  bindRequestContext,
  isBerthError,
  parseAccountId,
  parseRepositoryName,
  type RequestContext,
} from './core/index.js';
import { Authenticator, Authorizer, SecretBox, bootstrapRootCredentials, type BootstrapResult } from './iam/index.js';
import { awsRouter } from './aws-router.js';
import { pullThroughCacheCapability } from './cache/capability.js';
import { ecrDoor } from './ecr/index.js';
import { secretsDoor } from './secrets/index.js';
import { EventBus } from './events/index.js';
import { operationsCapability } from './events/capability.js';
import { JobRunner } from './jobs/index.js';
import { lifecycleCapability } from './lifecycle/capability.js';
import { replicationCapability } from './replication/capability.js';
import { scanningCapability } from './scan/capability.js';
import { GarbageCollector, GcSchedule } from './gc/index.js';
import { identityPoliciesOf, invalidateIdentityPolicies, queryDoor, requestPrincipalOf } from './iam-api/index.js';
import { RateLimiter } from './limits/index.js';
import { ociPlugin, sendOciError } from './oci/index.js';
import { Registry, RegistrySettings, RepositoryPolicies } from './registry/index.js';
import { openBlobStore, type BlobInventory, type BlobStore } from './storage/blobs/index.js';
import { openMetadata, usesSharedDatabase, type MetadataStore } from './storage/metadata/index.js';
import { LocalInvalidator, PgInvalidator, withClusterLock, withLeadership } from './cluster/index.js';

export interface App {
  readonly server: FastifyInstance;
  readonly registry: Registry;
  readonly meta: MetadataStore;
  /** The blob store the configuration chose (the data folder, or the S3 bucket). */
  readonly blobs: BlobStore & BlobInventory;
  /** Garbage collection of unreferenced blobs; the server also runs it every `gc.interval`. */
  readonly gc: GarbageCollector;
  /** What the first start created: the root key, and its secret when berth generated it. */
  readonly bootstrap: BootstrapResult | undefined;
  /** The durable job queue that the capabilities' work runs on. */
  readonly jobs: JobRunner;
  readonly events: EventBus;
  /** The capabilities' services (lifecycle, scanning, replication, cache, operations). */
  readonly services: Services;
  close(): Promise<void>;
}

export interface BuildOptions {
  /**
   * Run background work: the job queue, periodic tasks, upload sweeps and garbage collection.
   * Admin commands that open the data folder beside a running server pass false and run only what
   * they are asked to.
   */
  background?: boolean;
}

/**
 * The capabilities, in start order: operations first (its hooks see every request and every
 * event), then those whose services others use (the cache creates repositories that templates
 * shape; replication and scanning react to pushes).
 */
const CAPABILITIES: readonly Capability[] = [
  operationsCapability,
  pullThroughCacheCapability,
  lifecycleCapability,
  scanningCapability,
  replicationCapability,
];

/**
 * The composition root: the only place that picks concrete implementations (SQLite and the
 * filesystem in the embedded mode) and wires them into the front doors.
 */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const background = opts.background ?? true;
  const box = loadBox(config);
  const meta = await openMetadata(config);
  const blobs = await openBlobStore(config).catch(async (err: unknown) => {
    await meta.close();
    throw err;
  });
  const accountId = parseAccountId(config.accountId);
  // Scale-out: nodes starting together bootstrap one at a time (the second finds the first's key).
  const bootstrap = await withClusterLock(meta, 'bootstrap', (tx) => bootstrapRootCredentials({
    meta: tx,
    box,
    dataDir: config.dataDir,
    accountId,
    region: config.region,
    ...(config.rootAccessKeyId && config.rootSecretAccessKey
      ? { configured: { accessKeyId: config.rootAccessKeyId, secretAccessKey: config.rootSecretAccessKey } }
      : {}),
    now: Date.now(),
  }));
  if (usesSharedDatabase(config)) await checkMasterKey(meta, box, 'the shared database');
  // A server alone on its database (SQLite) gives back the upload sessions that writes of its last
  // run held (Registry.appendUpload): a SIGKILL mid-write must not block the session until the lease
  // runs out. Nodes sharing a database cannot tell a dead writer from a live one but by its lease.
  else if (background) await meta.uploads.releaseAllWriters();
  // Cached repository rows, resource tags and policies: other nodes are told of changes (src/cluster/).
  const invalidator = usesSharedDatabase(config) ? new PgInvalidator(config.databaseUrl!) : new LocalInvalidator();
  if (invalidator instanceof PgInvalidator) await invalidator.start();
  const events = new EventBus();
  const registry = new Registry(meta, blobs, {
    events,
    invalidator,
    redirectBlobDownloads: config.s3?.redirect ?? false,
    createOnPush: config.createOnPush,
    maxManifestBytes: config.limits.maxManifestBytes,
    maxRepositoriesPerRegistry: config.limits.repositoriesPerRegistry,
    maxImagesPerRepository: config.limits.imagesPerRepository,
    maxTagsPerImage: config.limits.tagsPerImage,
    maxLayerPartsPerUpload: config.limits.layerPartsPerUpload,
    // Signs the blob URLs of ECR GetDownloadUrlForLayer; derived, so the master key itself signs nothing.
    downloadUrlKey: box.deriveKey('berth blob-download-url v1'),
  });
  const settings = new RegistrySettings(meta);
  const policies = new RepositoryPolicies(meta, { invalidator });
  const auth = new Authenticator(meta, box, config.region);
  // An IAM change on any node (src/iam-api/plugin.ts): forget the principals' policies and the
  // verified headers, so a detached policy or a deactivated key stops applying at once everywhere.
  invalidator.on('identity', () => {
    invalidateIdentityPolicies();
    auth.forgetAll();
  });
  // ECR's request-rate quotas per account, in memory; both doors count against the same buckets.
  const rateLimits = config.limits.rateLimiting ? new RateLimiter(new Map(Object.entries(config.limits.rates))) : undefined;

  const server = Fastify({
    logger: {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-amz-security-token"]'],
        censor: '[redacted]',
      },
    },
    // One id per request, in every log line (`reqId`), in `x-request-id` and ECR's `x-amzn-RequestId`,
    // and in the jobs the request causes. A caller's (or proxy's) own `x-request-id` is kept when it is sane.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
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
  // Requests being handled, so that shutdown can wait for those whose connections it had to cut.
  let inFlight = 0;
  server.addHook('onRequest', (req, reply, done) => {
    inFlight++;
    // The request's context: the doors fill in its call facts and hand it to the authorizer and the
    // registry, which stamps the events of the request's changes with it (src/core/request-context.ts).
    const context: RequestContext = { requestId: req.id, sourceIp: req.ip, call: {} };
    bindRequestContext(req.raw, context);
    reply.header('x-request-id', req.id);
    done();
  });
  server.addHook('onResponse', (_req, _reply, done) => {
    inFlight--;
    done();
  });
  server.setNotFoundHandler((_req, reply) => sendOciError(reply, new BerthError('UNSUPPORTED', 'no such endpoint')));
  // One authorizer for both doors: identity policies, repository policies, AWS's evaluation logic.
  const authorizer = new Authorizer(
    {
      identityPolicies: (principal) => identityPoliciesOf(meta, principal),
      requestPrincipal: (principal) => requestPrincipalOf(meta, principal),
      repositoryPolicy: async (account, name) => {
        const repo = await registry.repository(parseAccountId(account), parseRepositoryName(name)).catch((err: unknown) => {
          if (isBerthError(err, 'REPOSITORY_NOT_FOUND')) return undefined;
          throw err;
        });
        return repo ? policies.resourcePolicyOf(repo) : undefined;
      },
      repositoryTags: (account, name) => registry.resourceTags(`arn:aws:ecr:${config.region}:${account}:repository/${name}`),
    },
    config.region,
    server.log,
  );
  const jobs = new JobRunner(meta, { log: server.log });
  const services = {} as Services;
  const capabilityCtx: CapabilityContext = {
    config,
    meta,
    blobs,
    registry,
    settings,
    policies,
    box,
    auth,
    authorizer,
    jobs,
    events,
    server,
    log: server.log,
    services,
    background,
  };
  const stops: (() => Promise<void>)[] = [];
  for (const capability of CAPABILITIES) {
    const started = await capability.start(capabilityCtx);
    if (started?.close) stops.push(started.close.bind(started));
  }

  await server.register(ociPlugin, {
    registry,
    settings,
    auth,
    authorizer,
    defaultAccount: accountId,
    maxManifestBytes: config.limits.maxManifestBytes,
    ...(rateLimits ? { rateLimits } : {}),
    ...(services.pullThroughCache ? { pullThrough: services.pullThroughCache } : {}),
  });
  // ECR (JSON 1.1) and IAM/STS (Query) share `POST /`, told apart by content type.
  const ecr = ecrDoor({
    registry,
    settings,
    policies,
    auth,
    authorizer,
    region: config.region,
    defaultAccount: accountId,
    isTls: Boolean(config.tls),
    services,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(rateLimits ? { rateLimits } : {}),
  });
  // Secrets Manager (JSON 1.1 too) is told from ECR by its X-Amz-Target prefix.
  const secrets = services.secrets ? [secretsDoor({ secrets: services.secrets, auth, authorizer, isTls: Boolean(config.tls) })] : [];
  await server.register(awsRouter, { doors: [ecr, queryDoor({ meta, box, auth, region: config.region, isTls: Boolean(config.tls), invalidator }), ...secrets] });

  // Upload sessions idle past their TTL go: at start (after a crash) and then every hour.
  const ttlMs = config.uploadTtlSeconds * 1000;
  const sweep = () =>
    registry.sweepUploads(ttlMs).then(
      ({ removed }) => removed > 0 && server.log.info({ removed }, 'expired upload sessions removed'),
      (err) => server.log.error({ err }, 'upload sweep failed'),
    );
  const gc = new GarbageCollector(meta, blobs);
  const gcSchedule = new GcSchedule(gc, {
    intervalMs: config.gc.intervalSeconds * 1000,
    graceMs: config.gc.graceSeconds * 1000,
    logger: server.log,
    // Several nodes: the one holding the advisory lock collects; the others skip that round. A
    // finished collection is noted with the periodic tasks' runs, which `berth status` lists.
    leader: (fn) =>
      withLeadership(meta, 'gc', async () => {
        const report = await fn();
        await meta.jobs.recordRun('periodic:gc', Date.now()).catch((err: unknown) => server.log.warn({ err }, 'garbage collection run not recorded'));
        return report;
      }),
  });
  let sweeper: NodeJS.Timeout | undefined;
  if (background) {
    await sweep();
    sweeper = setInterval(sweep, Math.min(ttlMs, 3600_000)).unref();
    gcSchedule.start();
    jobs.start();
  }

  return {
    server,
    registry,
    meta,
    blobs,
    gc,
    bootstrap,
    jobs,
    events,
    services,
    /**
     * Graceful shutdown: stop the timers and any collection in progress, stop accepting, let the
     * requests in flight finish for up to `shutdownTimeoutSeconds`, then cut the connections
     * still open (an upload cut there keeps the bytes that reached the disk: its session stays
     * resumable), write what is held in memory (pull times), and close the database.
     */
    async close() {
      clearInterval(sweeper);
      await gcSchedule.stop();
      // Jobs stop first (their attempts are given back), then the capabilities, newest first.
      await jobs.stop();
      for (const stop of stops.reverse()) await stop();
      const timeoutMs = config.shutdownTimeoutSeconds * 1000;
      const cut = setTimeout(() => {
        server.log.warn({ inFlight, timeoutMs }, 'requests still in flight at the shutdown timeout; closing their connections');
        server.server.closeAllConnections();
      }, timeoutMs);
      try {
        await server.close();
      } finally {
        clearTimeout(cut);
      }
      // Handlers whose connection was cut may still be finishing a database write.
      for (let waited = 0; inFlight > 0 && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      await registry.close();
      await invalidator.close();
      await meta.close();
      blobs.close?.();
    },
  };
}

/** What the admin commands work on: a data folder's metadata and the box that opens its secrets. */
export interface DataDir {
  readonly meta: MetadataStore;
  readonly box: SecretBox;
  /** The blob area (a folder or the S3 bucket), for `berth gc` and `berth fsck`. */
  readonly blobs: BlobStore & BlobInventory;
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
  const shared = usesSharedDatabase(config);
  if (!shared) {
    const dbPath = join(config.dataDir, 'metadata.db');
    const hasDb = existsSync(dbPath);
    if (!hasDb && !opts.create) {
      throw new Error(`no berth data in ${config.dataDir}; pass --data DIR (or BERTH_DATA_DIR) with the folder the server uses`);
    }
    if (hasDb && !config.masterKey && !existsSync(join(config.dataDir, 'master.key'))) {
      throw new Error(`${config.dataDir} has a database but no master.key: set BERTH_MASTER_KEY to the key the server uses`);
    }
  }
  const box = loadBox(config);
  const meta = await openMetadata(config, { applicationName: 'berth-admin' });
  let blobs: (BlobStore & BlobInventory & { close?(): void }) | undefined;
  try {
    await checkMasterKey(meta, box, shared ? 'the shared database' : config.dataDir);
    blobs = await openBlobStore(config);
  } catch (err) {
    await meta.close();
    throw err;
  }
  const store = blobs;
  return {
    meta,
    box,
    blobs: store,
    close: async () => {
      await meta.close();
      store.close?.();
    },
  };
}

/**
 * The master key. With a shared database (scale-out) it must come from BERTH_MASTER_KEY, the same
 * on every node: a key file in one node's data folder would seal secrets the others cannot open.
 */
function loadBox(config: Config): SecretBox {
  if (usesSharedDatabase(config) && !config.masterKey) {
    throw new Error('BERTH_DATABASE_URL is set (several nodes share the database): set BERTH_MASTER_KEY to the same key on every node (openssl rand -base64 32)');
  }
  return SecretBox.load(ensureDir(config.dataDir), config.masterKey);
}

/** Refuse a master key that does not open the stored secrets, rather than sealing new ones under another key. */
async function checkMasterKey(meta: MetadataStore, box: SecretBox, where: string): Promise<void> {
  for (const account of await meta.accounts.list()) {
    const [key] = await meta.accessKeys.list(account.id, null);
    if (!key) continue;
    try {
      box.open(key.secretEnc);
    } catch {
      throw new Error(`the master key does not open the secrets stored in ${where}: use the server's BERTH_MASTER_KEY`);
    }
    return;
  }
}

/** The data folder exists before anything is written: the master key is the first file in it. */
function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
