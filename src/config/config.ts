import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * berth's configuration: one schema with defaults that run with nothing else installed
 * (SQLite + files under one data folder). Sources, later ones winning: defaults, the YAML file
 * (`--config` / `BERTH_CONFIG`), `BERTH_*` environment variables, command-line flags.
 * Only this module reads `process.env`; the result is frozen and passed down explicitly.
 */
export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly region: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The account that exists from the first start and that bare `<host>/<repo>` names address. */
  readonly accountId: string;
  readonly rootAccessKeyId?: string;
  readonly rootSecretAccessKey?: string;
  /** Base64 of 32 bytes that encrypts stored secrets; generated into `<data>/master.key` when unset. */
  readonly masterKey?: string;
  /** A push to a missing repository creates it. ECR refuses such pushes, and so does berth by default. */
  readonly createOnPush: boolean;
  /**
   * Scheme and host clients reach the registry at (`https://registry.example.com`), used in
   * `repositoryUri` and `proxyEndpoint`. Unset: taken from each request's Host header.
   */
  readonly publicUrl?: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** ECR's service quotas, with ECR's defaults (docs/configuration.md, "Limits"). */
  readonly limits: Limits;
  /** Seconds an idle upload session is kept before it may be cleaned up. */
  readonly uploadTtlSeconds: number;
  /** Garbage collection of unreferenced blobs (docs/operations.md, "Garbage collection"). */
  readonly gc: {
    /** Seconds between two collections by the server; 0: the server never collects (`berth gc` still does). */
    readonly intervalSeconds: number;
    /** Seconds an unreferenced blob is kept after it was last uploaded or linked. */
    readonly graceSeconds: number;
  };
  /** Seconds that requests in flight get to finish after SIGTERM before their connections are cut. */
  readonly shutdownTimeoutSeconds: number;
  /**
   * Lifecycle policies (docs/lifecycle.md): seconds between two scheduled runs of every policy, and
   * how long a finished preview stays readable before GetLifecyclePolicyPreview reports EXPIRED.
   */
  readonly lifecycle: { readonly intervalSeconds: number; readonly previewTtlSeconds: number };
  /** Image scanning (docs/scanning.md). */
  readonly scan: {
    /** Decompressed bytes one layer may expand to before its scan stops (archive bombs). */
    readonly maxLayerBytes: number;
    /** Seconds one layer's reading may take. */
    readonly layerTimeoutSeconds: number;
    /** ECR's limit of one basic scan per image per this many seconds (StartImageScan, scan on push); 0 turns it off. */
    readonly basicScanIntervalSeconds: number;
    /** ECR's quota of image scans per registry (account) per 24 hours; 0 turns it off. */
    readonly dailyScanLimit: number;
  };
  /** The vulnerability database's sources: OSV zip or folder URLs that `berth vulndb update` reads. */
  readonly vulndb: { readonly sources: readonly string[] };
  /** Other regions' deployments, the destinations of cross-region replication (docs/replication.md). */
  readonly peers: readonly Peer[];
  /** Pull-through cache (docs/pull-through-cache.md). */
  readonly cache: {
    /** Accept `http://` upstream registry URLs (ECR requires https); for loopback tests. */
    readonly allowHttpUpstreams: boolean;
    /** Seconds after which a cached tag is checked upstream again. */
    readonly freshnessSeconds: number;
  };
  /** `postgres://...` selects PostgreSQL for metadata and jobs; unset keeps SQLite in the data folder. */
  readonly databaseUrl?: string;
  /** S3-compatible blob storage, used when `bucket` is set; otherwise blobs live in the data folder. */
  readonly s3?: S3Config;
  /** The audit trail (docs/operations.md): seconds its records are kept. */
  readonly audit: { readonly retentionSeconds: number };
  /** Where ECR-shaped events are delivered (docs/operations.md, "Events and webhooks"). */
  readonly webhooks: readonly Webhook[];
}

/** A deployment of another region that this one replicates to. */
export interface Peer {
  readonly region: string;
  /** Base URL, e.g. `https://registry.eu-west-1.example.com`; `http://` only for loopback addresses. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface S3Config {
  readonly bucket: string;
  readonly endpoint?: string;
  readonly region: string;
  readonly forcePathStyle: boolean;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** Answer blob GETs with a redirect to a presigned URL instead of streaming through berth. */
  readonly redirect: boolean;
}

export interface Webhook {
  readonly url: string;
  /** Key of the HMAC-SHA256 signature header; unsigned when absent. */
  readonly secret?: string;
  /** ECR event detail-types to deliver (e.g. "ECR Image Action"); all when absent. */
  readonly events?: readonly string[];
}

/** Requests per second of one account, by ECR operation, as ECR's per-Region rate quotas (0: no limit). */
export interface RateLimits {
  readonly BatchCheckLayerAvailability: number;
  readonly BatchGetImage: number;
  readonly CompleteLayerUpload: number;
  readonly GetAuthorizationToken: number;
  readonly GetDownloadUrlForLayer: number;
  readonly InitiateLayerUpload: number;
  readonly PutImage: number;
  readonly UploadLayerPart: number;
}

export interface Limits {
  readonly maxManifestBytes: number;
  /** Repositories per account ("registry" in ECR's quota table). */
  readonly repositoriesPerRegistry: number;
  readonly imagesPerRepository: number;
  readonly tagsPerImage: number;
  /** Parts of one upload through ECR's UploadLayerPart. */
  readonly layerPartsPerUpload: number;
  /** false turns every rate limit off, whatever `rates` says. */
  readonly rateLimiting: boolean;
  readonly rates: RateLimits;
}

type Kind = 'string' | 'boolean' | 'integer' | 'duration' | 'listen' | 'logLevel' | 'list' | 'json';
interface Field {
  path: string;
  kind: Kind;
  env: string;
  flag?: string;
}

/** ECR's per-Region rate quotas, requests per second (ECR service quotas; shared/spec/ecr-api.md section 4). */
const ECR_RATES: RateLimits = {
  BatchCheckLayerAvailability: 1000,
  BatchGetImage: 2000,
  CompleteLayerUpload: 100,
  GetAuthorizationToken: 500,
  GetDownloadUrlForLayer: 3000,
  InitiateLayerUpload: 100,
  PutImage: 10,
  UploadLayerPart: 500,
};

/** Every setting, its type and the names that set it. The env and flag names are fixed: tools rely on them. */
const FIELDS: readonly Field[] = [
  { path: 'listen', kind: 'listen', env: 'BERTH_LISTEN', flag: 'listen' },
  { path: 'dataDir', kind: 'string', env: 'BERTH_DATA_DIR', flag: 'data' },
  { path: 'region', kind: 'string', env: 'BERTH_REGION', flag: 'region' },
  { path: 'tls.cert', kind: 'string', env: 'BERTH_TLS_CERT', flag: 'tls-cert' },
  { path: 'tls.key', kind: 'string', env: 'BERTH_TLS_KEY', flag: 'tls-key' },
  { path: 'accountId', kind: 'string', env: 'BERTH_ACCOUNT_ID', flag: 'account-id' },
  { path: 'rootAccessKeyId', kind: 'string', env: 'BERTH_ROOT_ACCESS_KEY_ID' },
  { path: 'rootSecretAccessKey', kind: 'string', env: 'BERTH_ROOT_SECRET_ACCESS_KEY' },
  { path: 'masterKey', kind: 'string', env: 'BERTH_MASTER_KEY' },
  { path: 'createOnPush', kind: 'boolean', env: 'BERTH_CREATE_ON_PUSH', flag: 'create-on-push' },
  { path: 'publicUrl', kind: 'string', env: 'BERTH_PUBLIC_URL', flag: 'public-url' },
  { path: 'logLevel', kind: 'logLevel', env: 'BERTH_LOG_LEVEL', flag: 'log-level' },
  { path: 'limits.maxManifestBytes', kind: 'integer', env: 'BERTH_LIMITS_MAX_MANIFEST_BYTES' },
  { path: 'limits.repositoriesPerRegistry', kind: 'integer', env: 'BERTH_LIMITS_REPOSITORIES_PER_REGISTRY' },
  { path: 'limits.imagesPerRepository', kind: 'integer', env: 'BERTH_LIMITS_IMAGES_PER_REPOSITORY' },
  { path: 'limits.tagsPerImage', kind: 'integer', env: 'BERTH_LIMITS_TAGS_PER_IMAGE' },
  { path: 'limits.layerPartsPerUpload', kind: 'integer', env: 'BERTH_LIMITS_LAYER_PARTS_PER_UPLOAD' },
  { path: 'limits.rateLimiting', kind: 'boolean', env: 'BERTH_LIMITS_RATE_LIMITING' },
  ...(Object.keys(ECR_RATES) as (keyof RateLimits)[]).map(
    (op): Field => ({ path: `limits.rates.${op}`, kind: 'integer', env: `BERTH_LIMITS_RATE_${op.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase()}` }),
  ),
  { path: 'uploadTtlSeconds', kind: 'integer', env: 'BERTH_UPLOAD_TTL_SECONDS' },
  { path: 'gc.interval', kind: 'duration', env: 'BERTH_GC_INTERVAL', flag: 'gc-interval' },
  { path: 'gc.grace', kind: 'duration', env: 'BERTH_GC_GRACE', flag: 'gc-grace' },
  { path: 'shutdownTimeout', kind: 'duration', env: 'BERTH_SHUTDOWN_TIMEOUT' },
  { path: 'lifecycle.interval', kind: 'duration', env: 'BERTH_LIFECYCLE_INTERVAL', flag: 'lifecycle-interval' },
  { path: 'lifecycle.previewTtl', kind: 'duration', env: 'BERTH_LIFECYCLE_PREVIEW_TTL' },
  { path: 'scan.maxLayerBytes', kind: 'integer', env: 'BERTH_SCAN_MAX_LAYER_BYTES' },
  { path: 'scan.layerTimeout', kind: 'duration', env: 'BERTH_SCAN_LAYER_TIMEOUT' },
  { path: 'scan.basicScanInterval', kind: 'duration', env: 'BERTH_SCAN_BASIC_INTERVAL' },
  { path: 'scan.dailyLimit', kind: 'integer', env: 'BERTH_SCAN_DAILY_LIMIT' },
  { path: 'vulndb.sources', kind: 'list', env: 'BERTH_VULNDB_SOURCES' },
  { path: 'peers', kind: 'json', env: 'BERTH_PEERS' },
  { path: 'cache.allowHttpUpstreams', kind: 'boolean', env: 'BERTH_ALLOW_HTTP_UPSTREAMS' },
  { path: 'cache.freshness', kind: 'duration', env: 'BERTH_CACHE_FRESHNESS' },
  { path: 'databaseUrl', kind: 'string', env: 'BERTH_DATABASE_URL' },
  { path: 's3.bucket', kind: 'string', env: 'BERTH_S3_BUCKET' },
  { path: 's3.endpoint', kind: 'string', env: 'BERTH_S3_ENDPOINT' },
  { path: 's3.region', kind: 'string', env: 'BERTH_S3_REGION' },
  { path: 's3.forcePathStyle', kind: 'boolean', env: 'BERTH_S3_FORCE_PATH_STYLE' },
  { path: 's3.accessKeyId', kind: 'string', env: 'BERTH_S3_ACCESS_KEY_ID' },
  { path: 's3.secretAccessKey', kind: 'string', env: 'BERTH_S3_SECRET_ACCESS_KEY' },
  { path: 's3.redirect', kind: 'boolean', env: 'BERTH_S3_REDIRECT' },
  { path: 'audit.retention', kind: 'duration', env: 'BERTH_AUDIT_RETENTION' },
  { path: 'webhooks', kind: 'json', env: 'BERTH_WEBHOOKS' },
];

export const CONFIG_FLAGS: readonly string[] = FIELDS.flatMap((f) => (f.flag ? [f.flag] : []));

const DEFAULTS = {
  listen: '127.0.0.1:5000',
  dataDir: './data',
  region: 'us-east-1',
  accountId: '000000000000',
  createOnPush: false,
  logLevel: 'info',
  limits: {
    maxManifestBytes: 4 * 1024 * 1024,
    repositoriesPerRegistry: 100_000,
    imagesPerRepository: 100_000,
    tagsPerImage: 1000,
    layerPartsPerUpload: 4200,
    rateLimiting: true,
    rates: ECR_RATES,
  },
  uploadTtlSeconds: 7 * 24 * 3600,
  gc: { interval: 24 * 3600, grace: 24 * 3600 },
  shutdownTimeout: 30,
  lifecycle: { interval: 24 * 3600, previewTtl: 24 * 3600 },
  scan: { maxLayerBytes: 8 * 1024 ** 3, layerTimeout: 300, basicScanInterval: 24 * 3600, dailyLimit: 100_000 },
  // The public OSV exports of the ecosystems berth's inventory reads; an air-gapped site points this at a mirror.
  vulndb: {
    sources: ['Debian', 'Ubuntu', 'Alpine', 'Red Hat', 'AlmaLinux', 'Rocky Linux', 'npm', 'PyPI', 'Go', 'Maven', 'crates.io', 'RubyGems'].map(
      (ecosystem) => `https://osv-vulnerabilities.storage.googleapis.com/${encodeURIComponent(ecosystem)}/all.zip`,
    ),
  },
  peers: [] as unknown[],
  cache: { allowHttpUpstreams: false, freshness: 24 * 3600 },
  s3: { region: 'us-east-1', forcePathStyle: false, redirect: false },
  audit: { retention: 90 * 86_400 },
  webhooks: [] as unknown[],
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string | boolean | undefined>;
  /** Directory that relative paths in the environment and flags resolve against. */
  cwd?: string;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const raw: Record<string, unknown> = structuredClone(DEFAULTS);
  const origin: Record<string, string> = {};

  const file = (flags['config'] as string | undefined) ?? env['BERTH_CONFIG'];
  let fileDir = cwd;
  if (file) {
    const path = resolve(cwd, file);
    fileDir = resolve(path, '..');
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file} must be a YAML mapping`);
      for (const [path, value] of flatten(doc as Record<string, unknown>)) {
        const field = FIELDS.find((f) => f.path === path);
        if (!field) throw new ConfigError(`config file ${file}: unknown setting "${path}"`);
        setPath(raw, path, coerce(field, value, `${file}: ${path}`));
        origin[path] = `config file ${file}`;
      }
      resolvePaths(raw, fileDir, origin);
    }
  }
  for (const field of FIELDS) {
    const value = env[field.env];
    if (value !== undefined && value !== '') {
      setPath(raw, field.path, coerce(field, value, field.env));
      origin[field.path] = field.env;
    }
  }
  for (const field of FIELDS) {
    const value = field.flag ? flags[field.flag] : undefined;
    if (value !== undefined) {
      setPath(raw, field.path, coerce(field, value, `--${field.flag}`));
      origin[field.path] = `--${field.flag}`;
    }
  }
  return validate(raw, origin, cwd);
}

function validate(raw: Record<string, unknown>, origin: Record<string, string>, cwd: string): Config {
  const named = (path: string) => origin[path] ?? `default ${path}`;
  const region = raw['region'] as string;
  if (!REGION.test(region)) throw new ConfigError(`${named('region')}: "${region}" is not a region name such as us-east-1`);
  const accountId = raw['accountId'] as string;
  if (!/^[0-9]{12}$/.test(accountId)) throw new ConfigError(`${named('accountId')}: an account id is exactly 12 digits`);
  const tls = raw['tls'] as { cert?: string; key?: string } | undefined;
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new ConfigError('TLS needs both --tls-cert and --tls-key (BERTH_TLS_CERT / BERTH_TLS_KEY)');
  }
  const id = raw['rootAccessKeyId'] as string | undefined;
  const secret = raw['rootSecretAccessKey'] as string | undefined;
  if (Boolean(id) !== Boolean(secret)) {
    throw new ConfigError('set both BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY, or neither');
  }
  if (id && !/^[A-Z0-9]{16,128}$/.test(id)) {
    throw new ConfigError('BERTH_ROOT_ACCESS_KEY_ID: an access key id is 16 to 128 uppercase letters and digits');
  }
  if (secret && (secret.length < 16 || secret.includes(':'))) {
    throw new ConfigError('BERTH_ROOT_SECRET_ACCESS_KEY: a secret is at least 16 characters and has no ":"');
  }
  const limits = raw['limits'] as Limits;
  if (limits.maxManifestBytes < 1024) throw new ConfigError(`${named('limits.maxManifestBytes')}: must be at least 1024`);
  for (const key of ['repositoriesPerRegistry', 'imagesPerRepository', 'tagsPerImage', 'layerPartsPerUpload'] as const) {
    if (limits[key] < 1) throw new ConfigError(`${named(`limits.${key}`)}: must be at least 1`);
  }
  const gc = raw['gc'] as { interval: number; grace: number };
  const listen = typeof raw['listen'] === 'string' ? parseListen(raw['listen'], named('listen')) : (raw['listen'] as Config['listen']);
  const config: Config = {
    listen,
    dataDir: resolve(cwd, raw['dataDir'] as string),
    region,
    ...(tls?.cert && tls.key ? { tls: { cert: resolve(cwd, tls.cert), key: resolve(cwd, tls.key) } } : {}),
    accountId,
    ...(id ? { rootAccessKeyId: id, rootSecretAccessKey: secret } : {}),
    ...(raw['masterKey'] ? { masterKey: raw['masterKey'] as string } : {}),
    createOnPush: raw['createOnPush'] as boolean,
    ...(raw['publicUrl'] ? { publicUrl: checkPublicUrl(raw['publicUrl'] as string, named('publicUrl')) } : {}),
    logLevel: raw['logLevel'] as Config['logLevel'],
    limits: {
      maxManifestBytes: limits.maxManifestBytes,
      repositoriesPerRegistry: limits.repositoriesPerRegistry,
      imagesPerRepository: limits.imagesPerRepository,
      tagsPerImage: limits.tagsPerImage,
      layerPartsPerUpload: limits.layerPartsPerUpload,
      rateLimiting: limits.rateLimiting,
      rates: { ...limits.rates },
    },
    uploadTtlSeconds: raw['uploadTtlSeconds'] as number,
    gc: { intervalSeconds: gc.interval, graceSeconds: gc.grace },
    shutdownTimeoutSeconds: raw['shutdownTimeout'] as number,
    lifecycle: {
      intervalSeconds: (raw['lifecycle'] as { interval: number }).interval,
      previewTtlSeconds: (raw['lifecycle'] as { previewTtl: number }).previewTtl,
    },
    scan: {
      maxLayerBytes: (raw['scan'] as { maxLayerBytes: number }).maxLayerBytes,
      layerTimeoutSeconds: (raw['scan'] as { layerTimeout: number }).layerTimeout,
      basicScanIntervalSeconds: (raw['scan'] as { basicScanInterval: number }).basicScanInterval,
      dailyScanLimit: (raw['scan'] as { dailyLimit: number }).dailyLimit,
    },
    vulndb: { sources: [...(raw['vulndb'] as { sources: string[] }).sources] },
    peers: parsePeers(raw['peers'], named('peers')),
    cache: {
      allowHttpUpstreams: (raw['cache'] as { allowHttpUpstreams: boolean }).allowHttpUpstreams,
      freshnessSeconds: (raw['cache'] as { freshness: number }).freshness,
    },
    ...(raw['databaseUrl'] ? { databaseUrl: checkDatabaseUrl(raw['databaseUrl'] as string, named('databaseUrl')) } : {}),
    ...s3Of(raw['s3'] as Record<string, unknown>),
    audit: { retentionSeconds: (raw['audit'] as { retention: number }).retention },
    webhooks: parseWebhooks(raw['webhooks'], named('webhooks')),
  };
  return deepFreeze(config);
}

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?$/;

function parsePeers(value: unknown, where: string): Peer[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where}: expected a JSON array of {"region", "endpoint", "accessKeyId", "secretAccessKey"}`);
  return value.map((item, i) => {
    const p = item as Record<string, unknown>;
    for (const key of ['region', 'endpoint', 'accessKeyId', 'secretAccessKey']) {
      if (typeof p?.[key] !== 'string' || p[key] === '') throw new ConfigError(`${where}[${i}]: "${key}" is missing or not a string`);
    }
    const region = p['region'] as string;
    if (!REGION.test(region)) throw new ConfigError(`${where}[${i}]: "${region}" is not a region name such as eu-west-1`);
    const m = /^(https?):\/\/([^/?#]+)\/?$/.exec(p['endpoint'] as string);
    if (!m) throw new ConfigError(`${where}[${i}]: endpoint must be a scheme and host such as https://registry.eu-west-1.example.com`);
    if (m[1] === 'http' && !LOOPBACK_HOST.test(m[2]!)) {
      throw new ConfigError(`${where}[${i}]: an http:// endpoint is allowed only on a loopback address; use https://`);
    }
    return { region, endpoint: `${m[1]}://${m[2]}`, accessKeyId: p['accessKeyId'] as string, secretAccessKey: p['secretAccessKey'] as string };
  });
}

function parseWebhooks(value: unknown, where: string): Webhook[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where}: expected a JSON array of {"url", "secret"?, "events"?}`);
  return value.map((item, i) => {
    const w = item as Record<string, unknown>;
    if (typeof w?.['url'] !== 'string' || !/^https?:\/\//.test(w['url'])) throw new ConfigError(`${where}[${i}]: "url" must be an http(s) URL`);
    if (w['secret'] !== undefined && typeof w['secret'] !== 'string') throw new ConfigError(`${where}[${i}]: "secret" must be a string`);
    if (w['events'] !== undefined && !(Array.isArray(w['events']) && w['events'].every((e) => typeof e === 'string'))) {
      throw new ConfigError(`${where}[${i}]: "events" must be an array of strings`);
    }
    return {
      url: w['url'],
      ...(w['secret'] ? { secret: w['secret'] as string } : {}),
      ...(w['events'] ? { events: [...(w['events'] as string[])] } : {}),
    };
  });
}

function checkDatabaseUrl(value: string, where: string): string {
  if (!/^postgres(ql)?:\/\//.test(value)) throw new ConfigError(`${where}: expected a postgres:// URL (unset it to use SQLite in the data folder)`);
  return value;
}

function s3Of(s3: Record<string, unknown>): { s3?: S3Config } {
  if (!s3['bucket']) return {};
  if (Boolean(s3['accessKeyId']) !== Boolean(s3['secretAccessKey'])) {
    throw new ConfigError('set both BERTH_S3_ACCESS_KEY_ID and BERTH_S3_SECRET_ACCESS_KEY, or neither (the SDK then finds credentials itself)');
  }
  return {
    s3: {
      bucket: s3['bucket'] as string,
      ...(s3['endpoint'] ? { endpoint: s3['endpoint'] as string } : {}),
      region: s3['region'] as string,
      forcePathStyle: s3['forcePathStyle'] as boolean,
      ...(s3['accessKeyId'] ? { accessKeyId: s3['accessKeyId'] as string, secretAccessKey: s3['secretAccessKey'] as string } : {}),
      redirect: s3['redirect'] as boolean,
    },
  };
}

function checkPublicUrl(value: string, where: string): string {
  const m = /^(https?):\/\/([^/?#]+)\/?$/.exec(value);
  if (!m) throw new ConfigError(`${where}: expected a scheme and host such as https://registry.example.com, got "${value}"`);
  return `${m[1]}://${m[2]}`;
}

function coerce(field: Field, value: unknown, where: string): unknown {
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(`${where}: expected a string`);
      return String(value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (/^(true|1|yes|on)$/i.test(String(value))) return true;
      if (/^(false|0|no|off)$/i.test(String(value))) return false;
      throw new ConfigError(`${where}: expected true or false, got "${String(value)}"`);
    case 'integer': {
      const n = typeof value === 'number' ? value : Number(String(value));
      if (!Number.isSafeInteger(n) || n < 0 || (typeof value === 'string' && !/^\d+$/.test(value.trim()))) throw new ConfigError(`${where}: expected a whole number, got "${String(value)}"`);
      return n;
    }
    case 'duration': {
      const seconds = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : parseDuration(String(value));
      if (seconds === undefined) throw new ConfigError(`${where}: expected a duration such as 30s, 15m, 24h, 7d or a number of seconds, got "${String(value)}"`);
      return seconds;
    }
    case 'logLevel':
      if (!LOG_LEVELS.includes(String(value))) throw new ConfigError(`${where}: expected one of ${LOG_LEVELS.join(', ')}`);
      return String(value);
    case 'listen':
      return parseListen(String(value), where);
    case 'list':
      if (Array.isArray(value)) return value.map(String);
      return String(value)
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
    case 'json':
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value);
      } catch (err) {
        throw new ConfigError(`${where}: not valid JSON (${(err as Error).message})`);
      }
  }
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Whole seconds of a duration written `30s`, `15m`, `24h`, `7d`, a combination such as `1h30m`,
 * or a plain number of seconds; undefined when it is none of these.
 */
export function parseDuration(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+[smhd])+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(n) * DURATION_UNITS[unit!]!;
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListen(value: string, where = 'listen'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${where}: expected host:port such as 127.0.0.1:5000, got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !FIELDS.some((f) => f.path === path)) {
      out.push(...flatten(value as Record<string, unknown>, path));
    } else {
      out.push([path, value]);
    }
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node = (node[part] ??= {}) as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Paths in the config file are relative to the file, not to the working directory. */
function resolvePaths(raw: Record<string, unknown>, dir: string, origin: Record<string, string>): void {
  // Only paths the file wrote; the default ./data stays relative to the working directory.
  if (origin['dataDir']) raw['dataDir'] = resolve(dir, raw['dataDir'] as string);
  const tls = raw['tls'] as { cert?: string; key?: string } | undefined;
  if (tls?.cert) tls.cert = resolve(dir, tls.cert);
  if (tls?.key) tls.key = resolve(dir, tls.key);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
