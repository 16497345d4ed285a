import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, parseListen, type Config, type ConfigSources } from './config.js';

let work: string;
let cwd: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-config-'));
  cwd = join(work, 'cwd');
  mkdirSync(cwd);
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

/** loadConfig with an explicit, empty environment unless given: never the real process env. */
function load(sources: Omit<ConfigSources, 'cwd'> & { cwd?: string } = {}): Config {
  return loadConfig({ env: {}, flags: {}, cwd, ...sources });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function writeYaml(relative: string, text: string): string {
  const path = join(work, relative);
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('defaults', () => {
  it('listens on 127.0.0.1:5000 as a parsed address when nothing sets listen', () => {
    expect(load().listen).toEqual({ host: '127.0.0.1', port: 5000 });
  });

  it('runs with nothing set', () => {
    const c = load();
    expect(c.dataDir).toBe(join(cwd, 'data'));
    expect(c.region).toBe('us-east-1');
    expect(c.accountId).toBe('000000000000');
    expect(c.createOnPush).toBe(false);
    expect(c.logLevel).toBe('info');
    expect(c.limits.maxManifestBytes).toBe(4 * 1024 * 1024);
    expect(c.uploadTtlSeconds).toBe(7 * 24 * 3600);
    expect(c.gc).toEqual({ intervalSeconds: 24 * 3600, graceSeconds: 24 * 3600 });
    expect(c.shutdownTimeoutSeconds).toBe(30);
    // ECR's default service quotas.
    expect(c.limits).toEqual({
      maxManifestBytes: 4 * 1024 * 1024,
      repositoriesPerRegistry: 100_000,
      imagesPerRepository: 100_000,
      tagsPerImage: 1000,
      layerPartsPerUpload: 4200,
      rateLimiting: true,
      rates: {
        BatchCheckLayerAvailability: 1000,
        BatchGetImage: 2000,
        CompleteLayerUpload: 100,
        GetAuthorizationToken: 500,
        GetDownloadUrlForLayer: 3000,
        InitiateLayerUpload: 100,
        PutImage: 10,
        UploadLayerPart: 500,
      },
    });
    expect(c.tls).toBeUndefined();
    expect(c.rootAccessKeyId).toBeUndefined();
    expect(c.rootSecretAccessKey).toBeUndefined();
    expect(c.masterKey).toBeUndefined();
  });

  it('does not read the process environment when an env is given', () => {
    const saved = process.env['BERTH_REGION'];
    process.env['BERTH_REGION'] = 'eu-west-3';
    try {
      expect(load().region).toBe('us-east-1');
    } finally {
      if (saved === undefined) delete process.env['BERTH_REGION'];
      else process.env['BERTH_REGION'] = saved;
    }
  });

  it('ignores empty environment variables', () => {
    expect(load({ env: { BERTH_REGION: '', BERTH_LISTEN: '' } }).region).toBe('us-east-1');
  });
});

describe('environment variables', () => {
  it('set every field', () => {
    const c = load({
      env: {
        BERTH_LISTEN: '0.0.0.0:8443',
        BERTH_DATA_DIR: 'var/berth',
        BERTH_REGION: 'eu-central-1',
        BERTH_TLS_CERT: 'tls/cert.pem',
        BERTH_TLS_KEY: 'tls/key.pem',
        BERTH_ACCOUNT_ID: '123456789012',
        BERTH_ROOT_ACCESS_KEY_ID: 'AKIAEXAMPLE0000000001',
        BERTH_ROOT_SECRET_ACCESS_KEY: 'secretsecretsecret0123',
        BERTH_MASTER_KEY: 'bWFzdGVy',
        BERTH_CREATE_ON_PUSH: 'false',
        BERTH_LOG_LEVEL: 'debug',
        BERTH_LIMITS_MAX_MANIFEST_BYTES: '65536',
        BERTH_LIMITS_REPOSITORIES_PER_REGISTRY: '10',
        BERTH_LIMITS_IMAGES_PER_REPOSITORY: '20',
        BERTH_LIMITS_TAGS_PER_IMAGE: '30',
        BERTH_LIMITS_LAYER_PARTS_PER_UPLOAD: '40',
        BERTH_LIMITS_RATE_LIMITING: 'false',
        BERTH_LIMITS_RATE_BATCH_CHECK_LAYER_AVAILABILITY: '1',
        BERTH_LIMITS_RATE_BATCH_GET_IMAGE: '2',
        BERTH_LIMITS_RATE_COMPLETE_LAYER_UPLOAD: '3',
        BERTH_LIMITS_RATE_GET_AUTHORIZATION_TOKEN: '4',
        BERTH_LIMITS_RATE_GET_DOWNLOAD_URL_FOR_LAYER: '5',
        BERTH_LIMITS_RATE_INITIATE_LAYER_UPLOAD: '6',
        BERTH_LIMITS_RATE_PUT_IMAGE: '7',
        BERTH_LIMITS_RATE_UPLOAD_LAYER_PART: '0',
        BERTH_UPLOAD_TTL_SECONDS: '60',
        BERTH_GC_INTERVAL: '15m',
        BERTH_GC_GRACE: '90',
        BERTH_SHUTDOWN_TIMEOUT: '1m30s',
        BERTH_LIFECYCLE_INTERVAL: '30s',
        BERTH_SCAN_MAX_LAYER_BYTES: '1048576',
        BERTH_SCAN_LAYER_TIMEOUT: '2m',
        BERTH_SCAN_BASIC_INTERVAL: '1h',
        BERTH_VULNDB_SOURCES: 'http://127.0.0.1:9/Debian/all.zip, http://127.0.0.1:9/PyPI/all.zip',
        BERTH_PEERS: '[{"region":"eu-west-1","endpoint":"http://127.0.0.1:5001/","accessKeyId":"AKIAPEER","secretAccessKey":"peersecret"}]',
        BERTH_ALLOW_HTTP_UPSTREAMS: 'true',
        BERTH_CACHE_FRESHNESS: '1h',
        BERTH_DATABASE_URL: 'postgres://berth@127.0.0.1:5432/berth',
        BERTH_S3_BUCKET: 'blobs',
        BERTH_S3_ENDPOINT: 'http://127.0.0.1:9000',
        BERTH_S3_REGION: 'eu-central-1',
        BERTH_S3_FORCE_PATH_STYLE: 'true',
        BERTH_S3_ACCESS_KEY_ID: 'S3KEY',
        BERTH_S3_SECRET_ACCESS_KEY: 'S3SECRET',
        BERTH_S3_REDIRECT: 'true',
        BERTH_AUDIT_RETENTION: '30d',
        BERTH_WEBHOOKS: '[{"url":"http://127.0.0.1:8080/hook","secret":"s","events":["ECR Image Action"]}]',
      },
    });
    expect(c).toEqual({
      listen: { host: '0.0.0.0', port: 8443 },
      dataDir: join(cwd, 'var', 'berth'),
      region: 'eu-central-1',
      tls: { cert: join(cwd, 'tls', 'cert.pem'), key: join(cwd, 'tls', 'key.pem') },
      accountId: '123456789012',
      rootAccessKeyId: 'AKIAEXAMPLE0000000001',
      rootSecretAccessKey: 'secretsecretsecret0123',
      masterKey: 'bWFzdGVy',
      createOnPush: false,
      logLevel: 'debug',
      limits: {
        maxManifestBytes: 65536,
        repositoriesPerRegistry: 10,
        imagesPerRepository: 20,
        tagsPerImage: 30,
        layerPartsPerUpload: 40,
        rateLimiting: false,
        rates: {
          BatchCheckLayerAvailability: 1,
          BatchGetImage: 2,
          CompleteLayerUpload: 3,
          GetAuthorizationToken: 4,
          GetDownloadUrlForLayer: 5,
          InitiateLayerUpload: 6,
          PutImage: 7,
          UploadLayerPart: 0,
        },
      },
      uploadTtlSeconds: 60,
      gc: { intervalSeconds: 900, graceSeconds: 90 },
      shutdownTimeoutSeconds: 90,
      lifecycle: { intervalSeconds: 30, previewTtlSeconds: 86400 },
      scan: { maxLayerBytes: 1048576, layerTimeoutSeconds: 120, basicScanIntervalSeconds: 3600, dailyScanLimit: 100000 },
      vulndb: { sources: ['http://127.0.0.1:9/Debian/all.zip', 'http://127.0.0.1:9/PyPI/all.zip'] },
      peers: [{ region: 'eu-west-1', endpoint: 'http://127.0.0.1:5001', accessKeyId: 'AKIAPEER', secretAccessKey: 'peersecret' }],
      cache: { allowHttpUpstreams: true, freshnessSeconds: 3600 },
      databaseUrl: 'postgres://berth@127.0.0.1:5432/berth',
      s3: {
        bucket: 'blobs',
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-central-1',
        forcePathStyle: true,
        accessKeyId: 'S3KEY',
        secretAccessKey: 'S3SECRET',
        redirect: true,
      },
      audit: { retentionSeconds: 30 * 86_400 },
      webhooks: [{ url: 'http://127.0.0.1:8080/hook', secret: 's', events: ['ECR Image Action'] }],
    });
  });

  it.each([
    ['BERTH_PEERS', 'not json', /BERTH_PEERS: not valid JSON/],
    ['BERTH_PEERS', '{"region":"eu-west-1"}', /BERTH_PEERS: expected a JSON array/],
    ['BERTH_PEERS', '[{"region":"eu-west-1","endpoint":"http://10.0.0.1:5000","accessKeyId":"A","secretAccessKey":"B"}]', /allowed only on a loopback address/],
    ['BERTH_PEERS', '[{"region":"eu-west-1","endpoint":"https://peer.example"}]', /"accessKeyId" is missing/],
    ['BERTH_WEBHOOKS', '[{"url":"ftp://x"}]', /"url" must be an http\(s\) URL/],
    ['BERTH_DATABASE_URL', 'mysql://db', /expected a postgres:\/\/ URL/],
    ['BERTH_S3_ACCESS_KEY_ID', 'ONLYKEY', /set both BERTH_S3_ACCESS_KEY_ID and BERTH_S3_SECRET_ACCESS_KEY/],
  ])('%s=%s is refused with a message that says what to fix', (name, value, message) => {
    expect(() => load({ env: { [name]: value, BERTH_S3_BUCKET: 'b' } })).toThrow(message);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('reads BERTH_CREATE_ON_PUSH=%s as %s', (value, expected) => {
    expect(load({ env: { BERTH_CREATE_ON_PUSH: value } }).createOnPush).toBe(expected);
  });
});

describe('precedence: flags > env > file > defaults', () => {
  it('lets flags win over the environment', () => {
    const c = load({
      env: { BERTH_REGION: 'eu-west-1', BERTH_LISTEN: '127.0.0.1:6000', BERTH_DATA_DIR: 'from-env', BERTH_CREATE_ON_PUSH: 'true' },
      flags: { region: 'ap-south-1', listen: '127.0.0.1:7000', data: 'from-flag', 'create-on-push': false },
    });
    expect(c.region).toBe('ap-south-1');
    expect(c.listen.port).toBe(7000);
    expect(c.dataDir).toBe(join(cwd, 'from-flag'));
    expect(c.createOnPush).toBe(false);
  });

  it('lets the environment win over the file, and the file over the defaults', () => {
    const file = writeYaml('etc/berth.yaml', 'region: eu-west-2\nlogLevel: warn\naccountId: "111111111111"\n');
    const c = load({ env: { BERTH_REGION: 'ca-central-1' }, flags: { config: file } });
    expect(c.region).toBe('ca-central-1');
    expect(c.logLevel).toBe('warn');
    expect(c.accountId).toBe('111111111111');
    expect(c.createOnPush).toBe(false);
  });

  it('applies all four layers at once', () => {
    const file = writeYaml('berth.yaml', 'region: eu-west-2\nlogLevel: warn\nlisten: "127.0.0.1:6001"\n');
    const c = load({
      env: { BERTH_LOG_LEVEL: 'error', BERTH_LISTEN: '127.0.0.1:6002' },
      flags: { config: file, listen: '127.0.0.1:6003' },
    });
    expect(c.listen.port).toBe(6003); // flag
    expect(c.logLevel).toBe('error'); // env
    expect(c.region).toBe('eu-west-2'); // file
    expect(c.accountId).toBe('000000000000'); // default
  });

  it('ignores flags whose value is undefined', () => {
    expect(load({ env: { BERTH_REGION: 'eu-west-1' }, flags: { region: undefined } }).region).toBe('eu-west-1');
  });
});

describe('YAML config file', () => {
  it('is found through BERTH_CONFIG, relative to cwd', () => {
    writeYaml('cwd/conf/b.yaml', 'region: sa-east-1\n');
    expect(load({ env: { BERTH_CONFIG: 'conf/b.yaml' } }).region).toBe('sa-east-1');
  });

  it('prefers --config over BERTH_CONFIG', () => {
    const a = writeYaml('a.yaml', 'region: eu-north-1\n');
    const b = writeYaml('b.yaml', 'region: me-south-1\n');
    expect(load({ env: { BERTH_CONFIG: b }, flags: { config: a } }).region).toBe('eu-north-1');
  });

  it('resolves its paths relative to its own folder, not the working directory', () => {
    const absoluteKey = join(work, 'abs', 'k.pem');
    writeYaml('cwd/conf/berth.yaml', `dataDir: ../store\ntls:\n  cert: certs/c.pem\n  key: ${absoluteKey}\n`);
    const c = load({ flags: { config: 'conf/berth.yaml' } });
    expect(c.dataDir).toBe(join(cwd, 'store'));
    expect(c.tls).toEqual({ cert: join(cwd, 'conf', 'certs', 'c.pem'), key: absoluteKey });
  });

  it('resolves environment and flag paths relative to cwd even when a file is used', () => {
    const file = writeYaml('elsewhere/berth.yaml', 'dataDir: file-data\n');
    expect(load({ flags: { config: file }, env: { BERTH_DATA_DIR: 'env-data' } }).dataDir).toBe(join(cwd, 'env-data'));
    expect(load({ flags: { config: file, data: 'flag-data' } }).dataDir).toBe(join(cwd, 'flag-data'));
  });

  it('leaves the default data folder relative to the working directory when the file does not set it', () => {
    // `--data DIR  data folder, default ./data`: a default is not a path written in the file.
    const file = writeYaml('etc/berth/berth.yaml', 'region: eu-west-1\n');
    expect(load({ flags: { config: file } }).dataDir).toBe(join(cwd, 'data'));
  });

  it('reads every setting, nested ones included', () => {
    const file = writeYaml(
      'full.yaml',
      [
        'listen: "[::1]:5443"',
        'dataDir: d',
        'region: us-west-2',
        'accountId: "222222222222"',
        'createOnPush: false',
        'logLevel: trace',
        'limits:',
        '  maxManifestBytes: 2048',
        '  repositoriesPerRegistry: 5',
        '  rates:',
        '    PutImage: 3',
        'uploadTtlSeconds: 30',
        'gc:',
        '  interval: 0',
        '  grace: 2h',
        'shutdownTimeout: 5',
        'rootAccessKeyId: AKIAFILEKEY000000001',
        'rootSecretAccessKey: filesecretfilesecret',
      ].join('\n'),
    );
    const c = load({ flags: { config: file } });
    expect(c.listen).toEqual({ host: '::1', port: 5443 });
    expect(c.dataDir).toBe(join(work, 'd'));
    expect(c.region).toBe('us-west-2');
    expect(c.accountId).toBe('222222222222');
    expect(c.createOnPush).toBe(false);
    expect(c.logLevel).toBe('trace');
    expect(c.limits.maxManifestBytes).toBe(2048);
    expect(c.limits.repositoriesPerRegistry).toBe(5);
    expect(c.limits.rates.PutImage).toBe(3);
    expect(c.limits.rates.BatchGetImage).toBe(2000);
    expect(c.uploadTtlSeconds).toBe(30);
    expect(c.gc).toEqual({ intervalSeconds: 0, graceSeconds: 7200 });
    expect(c.shutdownTimeoutSeconds).toBe(5);
    expect(c.rootAccessKeyId).toBe('AKIAFILEKEY000000001');
    expect(c.rootSecretAccessKey).toBe('filesecretfilesecret');
  });

  it('accepts an empty file', () => {
    const file = writeYaml('empty.yaml', '');
    expect(load({ flags: { config: file } }).region).toBe('us-east-1');
  });

  it.each([
    ['a top-level key', 'regoin: us-east-1\n', 'regoin'],
    ['a nested key', 'limits:\n  maxManifestSize: 10\n', 'limits.maxManifestSize'],
    ['a key under tls', 'tls:\n  cert: a\n  ca: b\n', 'tls.ca'],
    ['an env-style name', 'BERTH_REGION: us-east-1\n', 'BERTH_REGION'],
  ])('rejects %s and names it', (_label, text, key) => {
    const file = writeYaml('bad.yaml', text);
    const err = configError(() => load({ flags: { config: file } }));
    expect(err.message).toContain(`"${key}"`);
  });

  it.each([
    ['a list', '- a\n- b\n'],
    ['a scalar', 'just text\n'],
  ])('rejects a file that is %s', (_label, text) => {
    const file = writeYaml('bad.yaml', text);
    expect(configError(() => load({ flags: { config: file } })).message).toMatch(/mapping/);
  });

  it('rejects a missing file, naming it', () => {
    expect(configError(() => load({ flags: { config: 'nope.yaml' } })).message).toContain('nope.yaml');
  });

  it('rejects malformed YAML', () => {
    const file = writeYaml('bad.yaml', 'region: [unclosed\n');
    configError(() => load({ flags: { config: file } }));
  });

  it('rejects a value of the wrong type, naming the key', () => {
    const file = writeYaml('bad.yaml', 'createOnPush: maybe\n');
    expect(configError(() => load({ flags: { config: file } })).message).toContain('createOnPush');
    const file2 = writeYaml('bad2.yaml', 'region:\n  - us-east-1\n');
    expect(configError(() => load({ flags: { config: file2 } })).message).toContain('region');
  });
});

describe('validation names the variable at fault', () => {
  it.each([
    ['BERTH_LISTEN', 'localhost'],
    ['BERTH_LISTEN', '5000'],
    ['BERTH_LISTEN', 'localhost:'],
    ['BERTH_LISTEN', 'localhost:65536'],
    ['BERTH_LISTEN', 'localhost:port'],
    ['BERTH_LISTEN', '::1:5000'],
    ['BERTH_REGION', 'US-EAST-1'],
    ['BERTH_REGION', 'useast1'],
    ['BERTH_REGION', 'us-east'],
    ['BERTH_ACCOUNT_ID', '12345'],
    ['BERTH_ACCOUNT_ID', '1234567890123'],
    ['BERTH_ACCOUNT_ID', 'abcdefghijkl'],
    ['BERTH_CREATE_ON_PUSH', 'maybe'],
    ['BERTH_CREATE_ON_PUSH', 'tru'],
    ['BERTH_LOG_LEVEL', 'verbose'],
    ['BERTH_LIMITS_MAX_MANIFEST_BYTES', 'lots'],
    ['BERTH_LIMITS_MAX_MANIFEST_BYTES', '-5'],
    ['BERTH_LIMITS_MAX_MANIFEST_BYTES', '1.5'],
    ['BERTH_LIMITS_MAX_MANIFEST_BYTES', '100'],
    ['BERTH_UPLOAD_TTL_SECONDS', 'soon'],
  ])('%s=%s', (variable, value) => {
    expect(configError(() => load({ env: { [variable]: value } })).message).toContain(variable);
  });

  it.each([
    ['listen', 'nope', '--listen'],
    ['region', 'Moon-1', '--region'],
    ['account-id', '42', '--account-id'],
    ['create-on-push', 'perhaps', '--create-on-push'],
    ['log-level', 'loud', '--log-level'],
  ])('--%s=%s names the flag', (flag, value, named) => {
    expect(configError(() => load({ flags: { [flag]: value } })).message).toContain(named);
  });

  it('names the file and key of a bad region from the file', () => {
    const file = writeYaml('r.yaml', 'region: mars\n');
    const message = configError(() => load({ flags: { config: file } })).message;
    expect(message).toContain('r.yaml');
  });
});

describe('durations (BERTH_GC_INTERVAL, BERTH_GC_GRACE, BERTH_SHUTDOWN_TIMEOUT)', () => {
  it.each([
    ['30s', 30],
    ['15m', 900],
    ['24h', 86_400],
    ['7d', 604_800],
    ['1h30m', 5400],
    ['3600', 3600],
    ['0', 0],
    [' 2m ', 120],
  ])('reads %j as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '1.5h', '-5', '10 m', '5w', 'h', '1h 30m', 'forever'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('names the variable of a bad duration', () => {
    expect(configError(() => load({ env: { BERTH_GC_GRACE: 'a day' } })).message).toMatch(/^BERTH_GC_GRACE: expected a duration/);
  });

  it('takes --gc-interval and --gc-grace flags over the environment', () => {
    const c = load({ env: { BERTH_GC_INTERVAL: '1h', BERTH_GC_GRACE: '1h' }, flags: { 'gc-interval': '0', 'gc-grace': '30s' } });
    expect(c.gc).toEqual({ intervalSeconds: 0, graceSeconds: 30 });
  });

  it('refuses a quota of 0, which would refuse everything', () => {
    expect(configError(() => load({ env: { BERTH_LIMITS_REPOSITORIES_PER_REGISTRY: '0' } })).message).toMatch(/BERTH_LIMITS_REPOSITORIES_PER_REGISTRY: must be at least 1/);
  });
});

describe('listen addresses', () => {
  it.each([
    ['127.0.0.1:5000', { host: '127.0.0.1', port: 5000 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    [':5000', { host: '0.0.0.0', port: 5000 }],
    ['[::1]:5000', { host: '::1', port: 5000 }],
    ['[::]:5000', { host: '::', port: 5000 }],
    ['[::ffff:127.0.0.1]:8080', { host: '::ffff:127.0.0.1', port: 8080 }],
  ])('parses %s', (value, expected) => {
    expect(parseListen(value)).toEqual(expected);
    expect(load({ env: { BERTH_LISTEN: value } }).listen).toEqual(expected);
  });

  it.each(['[::1]', '[::1]5000', '[]:5000', 'host:99999', 'a:b:5000', '', '[::1]:'])('rejects %j', (value) => {
    expect(() => parseListen(value, 'where')).toThrow(ConfigError);
  });
});

describe('pairs', () => {
  it.each([
    ['only a cert', { BERTH_TLS_CERT: 'c.pem' }],
    ['only a key', { BERTH_TLS_KEY: 'k.pem' }],
  ])('TLS with %s is rejected', (_label, env) => {
    expect(configError(() => load({ env })).message).toMatch(/TLS needs both/);
  });

  it('TLS with a cert from the file and a key from a flag is accepted', () => {
    const file = writeYaml('conf/t.yaml', 'tls:\n  cert: c.pem\n');
    const c = load({ flags: { config: file, 'tls-key': 'k.pem' } });
    expect(c.tls).toEqual({ cert: join(work, 'conf', 'c.pem'), key: join(cwd, 'k.pem') });
  });

  it.each([
    ['only the key id', { BERTH_ROOT_ACCESS_KEY_ID: 'AKIAEXAMPLE0000000001' }],
    ['only the secret', { BERTH_ROOT_SECRET_ACCESS_KEY: 'secretsecretsecret0123' }],
  ])('root credentials with %s are rejected', (_label, env) => {
    expect(configError(() => load({ env })).message).toMatch(/both BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY/);
  });

  it.each([
    ['a lowercase key id', 'akiaexample000000001', 'secretsecretsecret0123', 'BERTH_ROOT_ACCESS_KEY_ID'],
    ['a short key id', 'AKIA1', 'secretsecretsecret0123', 'BERTH_ROOT_ACCESS_KEY_ID'],
    ['a short secret', 'AKIAEXAMPLE0000000001', 'short', 'BERTH_ROOT_SECRET_ACCESS_KEY'],
    ['a secret with a colon', 'AKIAEXAMPLE0000000001', 'secret:secretsecret0123', 'BERTH_ROOT_SECRET_ACCESS_KEY'],
  ])('root credentials with %s are rejected', (_label, id, secret, variable) => {
    const message = configError(() => load({ env: { BERTH_ROOT_ACCESS_KEY_ID: id, BERTH_ROOT_SECRET_ACCESS_KEY: secret } })).message;
    expect(message).toContain(variable);
  });
});

describe('result', () => {
  it('is deeply frozen', () => {
    const c = load({ env: { BERTH_TLS_CERT: 'c', BERTH_TLS_KEY: 'k' } });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.listen)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
    expect(Object.isFrozen(c.tls)).toBe(true);
    expect(() => {
      (c as { region: string }).region = 'eu-west-1';
    }).toThrow(TypeError);
    expect(() => {
      (c.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(c.region).toBe('us-east-1');
  });

  it('does not share state between calls', () => {
    const a = load({ env: { BERTH_LIMITS_MAX_MANIFEST_BYTES: '2048' } });
    const b = load();
    expect(a.limits.maxManifestBytes).toBe(2048);
    expect(b.limits.maxManifestBytes).toBe(4 * 1024 * 1024);
  });
});
